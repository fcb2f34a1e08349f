"""The twin on its own: what the proxy refuses, what the edge serves, what DNS answers."""

from __future__ import annotations

import ssl

import botocore.exceptions
import httpx
import pytest

from runbook.errors import PlanError
from runbook.sandbox.world import load_world
from tests.sandbox.conftest import wait_for

pytestmark = pytest.mark.slow


def test_world_serves_as_the_seed_morning(look):
    assert look.a("trainee.tis-selfservice.nhs.uk") == ["127.0.0.1"]
    assert look.a("trainee.tis.nhs.uk") == []  # the new name does not exist yet
    live = look.get("trainee.tis-selfservice.nhs.uk")
    assert live.status_code == 200 and "live v1.41.0" in live.text
    # plain HTTP is redirected to HTTPS, as the distribution's viewer policy says
    plain = look.get("trainee.tis-selfservice.nhs.uk", "/x?y=1", https=False)
    assert plain.status_code == 301
    assert plain.headers["location"] == "https://trainee.tis-selfservice.nhs.uk/x?y=1"


def test_edge_403_for_a_missing_key_and_for_a_missing_grant(look):
    cf = look.client("cloudfront")
    # a version that was never built in the bucket CloudFront reads: S3 says AccessDenied
    missing = look.get("trainee.tis-selfservice.nhs.uk", "/no-such-page.html")
    assert missing.status_code == 403 and "AccessDenied" in missing.text
    # pointing the distribution at the hand-made bucket: it has the file but no grant
    got = cf.get_distribution_config(Id="E1PRODEXAMPLE")
    cfg = got["DistributionConfig"]
    cfg["Origins"]["Items"][0]["DomainName"] = "tis-trainee-ui-prod-new.s3.eu-west-2.amazonaws.com"
    cf.update_distribution(Id="E1PRODEXAMPLE", IfMatch=got["ETag"], DistributionConfig=cfg)
    # once the change is deployed (the edge serves the old origin until then)
    assert wait_for(lambda: look.get("trainee.tis-selfservice.nhs.uk").status_code == 403)
    denied = look.get("trainee.tis-selfservice.nhs.uk")
    assert denied.status_code == 403 and "AccessDenied" in denied.text


def test_edge_presents_only_covered_names(look, twin):
    # the redirect distribution has no alias: an unknown host gets CloudFront's 403 page
    # over the default certificate, which does not cover the name
    ctx = ssl.create_default_context(cafile=twin.ca_path)
    with pytest.raises(httpx.ConnectError, match=r"certificate|hostname"), \
            httpx.Client(verify=ctx) as client:
        client.get(f"https://127.0.0.1:{twin.edge.https.port}/",
                   headers={"Host": "nobody.example.org"},
                   extensions={"sni_hostname": "nobody.example.org"})


def test_proxy_refuses_a_stale_etag(look):
    cf = look.client("cloudfront")
    got = cf.get_distribution_config(Id="E2STAGEEXAMPLE")
    cfg = got["DistributionConfig"]
    cfg["Comment"] = "first"
    cf.update_distribution(Id="E2STAGEEXAMPLE", IfMatch=got["ETag"], DistributionConfig=cfg)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        cf.update_distribution(Id="E2STAGEEXAMPLE", IfMatch=got["ETag"],
                               DistributionConfig=cfg)
    assert err.value.response["Error"]["Code"] == "PreconditionFailed"


def test_proxy_refuses_an_alias_in_use(look):
    cf = look.client("cloudfront")
    got = cf.get_distribution_config(Id="E3REDIRECTEXAMPLE")
    cfg = got["DistributionConfig"]
    cfg["Aliases"] = {"Quantity": 1, "Items": ["trainee.tis-selfservice.nhs.uk"]}
    with pytest.raises(botocore.exceptions.ClientError) as err:
        cf.update_distribution(Id="E3REDIRECTEXAMPLE", IfMatch=got["ETag"],
                               DistributionConfig=cfg)
    assert err.value.response["Error"]["Code"] == "CNAMEAlreadyExists"
    assert "trainee.tis-selfservice.nhs.uk" in err.value.response["Error"]["Message"]


def test_proxy_refuses_certificates_that_do_not_fit(look):
    cf = look.client("cloudfront")
    got = cf.get_distribution_config(Id="E3REDIRECTEXAMPLE")
    cfg = got["DistributionConfig"]
    cfg["Aliases"] = {"Quantity": 1, "Items": ["www.example.org"]}
    with pytest.raises(botocore.exceptions.ClientError) as err:
        cf.update_distribution(Id="E3REDIRECTEXAMPLE", IfMatch=got["ETag"],
                               DistributionConfig=cfg)
    assert err.value.response["Error"]["Code"] == "InvalidViewerCertificate"
    assert "doesn't cover" in err.value.response["Error"]["Message"]
    cfg["Aliases"] = {"Quantity": 1, "Items": ["new.trainee.tis.nhs.uk"]}
    arn = cfg["ViewerCertificate"]["ACMCertificateArn"]
    cfg["ViewerCertificate"]["ACMCertificateArn"] = arn.replace("us-east-1", "eu-west-2")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        cf.update_distribution(Id="E3REDIRECTEXAMPLE", IfMatch=got["ETag"],
                               DistributionConfig=cfg)
    assert "isn't in us-east-1" in err.value.response["Error"]["Message"]


def test_distribution_in_progress_for_the_deploy_time_after_a_change(look):
    cf = look.client("cloudfront")
    assert cf.get_distribution(Id="E2STAGEEXAMPLE")["Distribution"]["Status"] == "Deployed"
    got = cf.get_distribution_config(Id="E2STAGEEXAMPLE")
    cfg = got["DistributionConfig"]
    cfg["Comment"] = "changed"
    new = cf.update_distribution(Id="E2STAGEEXAMPLE", IfMatch=got["ETag"],
                                 DistributionConfig=cfg)
    assert new["ETag"] != got["ETag"]
    assert new["Distribution"]["Status"] == "InProgress"
    assert cf.get_distribution(Id="E2STAGEEXAMPLE")["Distribution"]["Status"] == "InProgress"
    listed = cf.list_distributions()["DistributionList"]["Items"]
    assert {d["Id"]: d["Status"] for d in listed}["E2STAGEEXAMPLE"] == "InProgress"
    # the world's deploy time (180 AWS seconds, scaled 0.01) passes: Deployed
    assert wait_for(lambda: cf.get_distribution(Id="E2STAGEEXAMPLE")["Distribution"][
        "Status"] == "Deployed")


def test_s3_website_redirect_keeps_path_and_query(look):
    s3 = look.client("s3", "eu-west-2")
    s3.put_bucket_website(Bucket="tis-selfservice-redirect", WebsiteConfiguration={
        "RedirectAllRequestsTo": {"HostName": "trainee.tis.nhs.uk", "Protocol": "https"}})
    host = "tis-selfservice-redirect.s3-website.eu-west-2.amazonaws.com"
    assert look.a(host) == ["127.0.0.1"]
    # eu-west-2 spells it with a dot; the dash spelling resolves nowhere, as on AWS
    assert look.a(host.replace("s3-website.", "s3-website-")) == []
    r = look.get(host, "/a/b?c=1", https=False)
    assert r.status_code == 301 and r.headers["location"] == "https://trainee.tis.nhs.uk/a/b?c=1"


def test_bad_world_file_names_the_line(tmp_path):
    bad = tmp_path / "world.yaml"
    bad.write_text("sandbox: 1\ndistributions:\n  - id: E1\n    origin: {bucket: b}\n"
                   "    certificate: nope\n")
    with pytest.raises(PlanError) as err:
        load_world(bad)
    assert "names certificate 'nope'" in str(err.value) and "line 5" in str(err.value)
