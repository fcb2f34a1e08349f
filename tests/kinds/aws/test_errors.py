"""botocore's errors become one paragraph a person can act on, naming the API action and
the resource; nothing of botocore escapes a kind."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from botocore import exceptions as bx
from botocore.stub import Stubber

from runbook.context import AwsSettings, RunContext
from runbook.errors import AwsError
from runbook.kinds.aws.acm import Certificate
from runbook.kinds.aws.cloudfront import DistributionCheck, Update
from runbook.kinds.aws.common import AwsApiError, translate
from runbook.kinds.aws.s3 import S3BucketPolicy, S3Object

from .conftest import FakeClock


def _check(dist: str = "E2STAGE") -> DistributionCheck:
    return DistributionCheck(DistributionCheck.Params(id=dist))


def test_no_credentials() -> None:
    ctx = RunContext(aws=AwsSettings(region="us-east-1", endpoint_url="http://127.0.0.1:9",
                                     max_attempts=1))
    with pytest.raises(AwsError) as err:
        S3Object(S3Object.Params(bucket="site-blue", key="index.html")).run(ctx)
    assert str(err.value).startswith("no AWS credentials were found for s3:HeadBucket on "
                                     "bucket site-blue. Set the environment's `aws.profile`, "
                                     "run `aws sso login --profile NAME`")
    assert isinstance(err.value.__cause__, bx.NoCredentialsError)


@pytest.mark.parametrize("exc", [
    bx.TokenRetrievalError(provider="sso", error_msg="Token has expired and refresh failed"),
    bx.UnauthorizedSSOTokenError(),
    bx.SSOTokenLoadError(error_msg="Token for tis does not exist"),
])
def test_expired_sso_session(exc: Exception) -> None:
    got = translate(exc, service="cloudfront", operation="GetDistribution",
                    resource="distribution E1")
    assert str(got).startswith(
        f"the AWS SSO session has expired or is not logged in ({type(exc).__name__}), so "
        "cloudfront:GetDistribution on distribution E1 could not be signed. Run `aws sso "
        "login --profile NAME`")


def test_access_denied_names_the_action_and_resource(ctx: RunContext) -> None:
    action = S3BucketPolicy(S3BucketPolicy.Params(bucket="site-blue", allow_cloudfront="E1"))
    with Stubber(ctx.client("s3")) as stub:
        stub.add_client_error("get_bucket_policy", "AccessDenied", "Access Denied", 403)
        with pytest.raises(AwsApiError) as err:
            action.snapshot(ctx)
    assert str(err.value) == (
        "AWS denied s3:GetBucketPolicy on bucket site-blue: Access Denied. The credentials in "
        "use lack that permission: grant s3:GetBucketPolicy on bucket site-blue to the role "
        "or user, or use an environment profile that has it.")
    assert err.value.code == "AccessDenied" and err.value.operation == "GetBucketPolicy"


def test_other_client_errors_say_code_message_and_operation(ctx: RunContext) -> None:
    action = Update(Update.Params(id="E404", enabled=False))
    with pytest.raises(AwsError) as err:
        action.snapshot(ctx)
    assert str(err.value) == ("AWS refused cloudfront:GetDistributionConfig on distribution "
                              "E404: NoSuchDistribution: The specified distribution does not "
                              "exist.")


def test_a_check_of_something_missing_fails_rather_than_errs(ctx: RunContext) -> None:
    got = _check("E404").run(ctx)
    assert not got.ok and got.outcome == "missing"
    assert got.summary == "distribution E404 does not exist (NoSuchDistribution)"
    cert = Certificate(Certificate.Params(
        arn="arn:aws:acm:us-east-1:123456789012:certificate/nope")).run(ctx)
    assert cert.summary == ("certificate arn:aws:acm:us-east-1:123456789012:certificate/nope "
                            "does not exist (ResourceNotFoundException)")


class _Throttler(BaseHTTPRequestHandler):
    calls = 0

    def do_GET(self) -> None:
        type(self).calls += 1
        body = (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                b"<Message>Rate exceeded</Message></Error><RequestId>1</RequestId>"
                b"</ErrorResponse>")
        self.send_response(400)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def throttling_endpoint() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Throttler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_throttling_that_outlasts_retries(throttling_endpoint: str) -> None:
    ctx = RunContext(aws=AwsSettings(endpoint_url=throttling_endpoint, region="us-east-1",
                                     access_key_id="k", secret_access_key="s", max_attempts=2),
                     clock=FakeClock(), sleep=FakeClock().sleep)
    _Throttler.calls = 0
    with pytest.raises(AwsError) as err:
        _check().run(ctx)
    assert _Throttler.calls == 2  # max_attempts counts attempts in all: one retry
    assert str(err.value).startswith(
        "AWS kept throttling cloudfront:GetDistribution on distribution E2STAGE (Throttling) "
        "after 2 attempts with backoff.")


def test_unreachable_endpoint() -> None:
    with socket.socket() as s:  # a loopback port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = RunContext(aws=AwsSettings(endpoint_url=f"http://127.0.0.1:{port}", region="us-east-1",
                                     access_key_id="k", secret_access_key="s", max_attempts=1))
    with pytest.raises(AwsError) as err:
        _check().run(ctx)
    assert str(err.value) == (
        f"could not reach http://127.0.0.1:{port}/2020-05-31/distribution/E2STAGE for "
        "cloudfront:GetDistribution on distribution E2STAGE: the endpoint is unreachable "
        "(network, VPN, proxy, or a wrong `aws.endpoint_url`). Nothing was changed by this "
        "call.")


def test_no_region() -> None:
    got = translate(bx.NoRegionError(), service="acm", operation="DescribeCertificate",
                    resource="certificate arn:x")
    assert str(got) == ("no AWS region is set for acm:DescribeCertificate on certificate "
                        "arn:x: give the environment `aws.region` (or set AWS_REGION).")
