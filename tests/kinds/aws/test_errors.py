"""botocore's errors become one paragraph a person can act on, naming the API action and
the resource; nothing of botocore escapes a kind."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from botocore import exceptions as bx
from botocore.stub import Stubber

from runbook.context import AwsSettings, RunContext
from runbook.errors import AwsError
from runbook.kinds.aws.acm import Certificate
from runbook.kinds.aws.cloudfront import DistributionCheck, Update
from runbook.kinds.aws.common import AwsApiError, call, translate
from runbook.kinds.aws.s3 import S3Object
from runbook.kinds.aws.s3site import S3BucketPolicy
from tests.conftest import CliResult, run_cli

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


# ---- every botocore exception is a paragraph ------------------------------------------


def _instances() -> list[Exception]:
    """One instance of every exception class botocore.exceptions defines (warnings aside:
    botocore issues those with warnings.warn, it never raises them)."""
    import inspect
    import string

    out: list[Exception] = []
    for _, cls in inspect.getmembers(bx, inspect.isclass):
        if not issubclass(cls, Exception) or issubclass(cls, Warning):
            continue
        fields = {f for _, f, _, _ in string.Formatter().parse(getattr(cls, "fmt", "") or "")
                  if f}
        if issubclass(cls, bx.ClientError):
            out.append(cls({"Error": {"Code": "Oops", "Message": "it broke"}}, "GetThing"))
        elif cls is bx.WaiterError:
            out.append(cls(name="Deployed", reason="Max attempts exceeded", last_response={}))
        else:
            out.append(cls(**{f: f"<{f}>" for f in fields}))
    return out


ALL_BOTOCORE = _instances()


def test_the_walk_covers_the_module() -> None:
    assert len(ALL_BOTOCORE) > 80
    names = {type(e).__name__ for e in ALL_BOTOCORE}
    assert {"ProfileNotFound", "NoCredentialsError", "NoRegionError", "SSOTokenLoadError",
            "EndpointConnectionError", "ParamValidationError", "ClientError"} <= names


class _Raising:
    """A client whose every call raises ``exc``: what a kind's ``call`` meets."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def get_distribution(self, **kw: object) -> None:
        raise self.exc


@pytest.mark.parametrize("exc", ALL_BOTOCORE, ids=lambda e: type(e).__name__)
def test_every_botocore_exception_is_translated(exc: Exception) -> None:
    """Through ``call``, as a kind meets it: an AwsError (a failed check, or a message
    before a run), one paragraph naming the action and resource; never botocore's bare
    words with the class name in front, which is what an untranslated error looks like."""
    with pytest.raises(AwsError) as err:
        call(_Raising(exc), "get_distribution", "distribution E1", Id="E1")
    text = str(err.value)
    assert "GetDistribution on distribution E1" in text, text
    assert "\n" not in text
    assert f"failed: {type(exc).__name__}:" not in text, text  # the untranslated fallback
    assert err.value.__cause__ is exc


@pytest.mark.parametrize("exc", [bx.ProfileNotFound(profile="tis-prod"), bx.NoRegionError(),
                                 ValueError("Invalid endpoint: not a url")],
                         ids=lambda e: type(e).__name__)
def test_a_client_that_could_not_be_made_fails_inside_the_call(exc: Exception) -> None:
    from runbook.context import UnmadeClient

    with pytest.raises(AwsError) as err:
        call(UnmadeClient("acm", exc), "describe_certificate", "certificate arn:x")
    assert "acm:DescribeCertificate on certificate arn:x" in str(err.value)
    assert {bx.ProfileNotFound: "the AWS profile 'tis-prod' does not exist",
            bx.NoRegionError: "no AWS region is set",
            ValueError: "could not be made: Invalid endpoint: not a url"}[type(exc)] \
        in str(err.value)


# ---- through the CLI: before a run, exit 2 and nothing changed --------------------------

CLI_PLAN = """\
runbook: 1
name: sdk
environments:
  prod:
    aws: {{{aws}}}
stages:
  - name: look
    checks:
      - {check}
"""


def _cli_plan(tmp_path: Path, aws: str,
              check: str = "cloudfront.distribution: {id: E1}") -> Path:
    (tmp_path / "p.yaml").write_text(CLI_PLAN.format(aws=aws, check=check))
    return tmp_path


def _refused(result: CliResult, *words: str) -> None:
    assert result.code == 2, result.stdout + result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: environment prod cannot use AWS, so nothing was "
                                    "done: "), result.stderr
    assert result.stderr.rstrip().endswith("p.yaml, line 5, column 5"), result.stderr
    for w in words:
        assert w in result.stderr, result.stderr


def _each_command(folder: Path, *words: str) -> None:
    """`plan`, and `run` (which must leave no run, no lock, no state folder)."""
    _refused(run_cli("plan", "p.yaml", "--env", "prod", cwd=folder), *words)
    _refused(run_cli("run", "p.yaml", "--env", "prod", "--yes", cwd=folder), *words)
    assert not (folder / ".runbook").exists()


def test_cli_a_profile_that_does_not_exist(tmp_path: Path) -> None:
    # AWS_CONFIG_FILE points at a file that does not exist (the autouse fixture)
    folder = _cli_plan(tmp_path, "profile: tis-prod, region: eu-west-2")
    _each_command(folder, "the AWS profile 'tis-prod' does not exist in ",
                  "Check the environment's `aws.profile`")


def test_cli_a_profile_missing_from_an_empty_config(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    folder = _cli_plan(tmp_path, "profile: tis-prod")
    _each_command(folder, f"the AWS profile 'tis-prod' does not exist in {tmp_path}/config")


def test_cli_no_credentials(tmp_path: Path, moto_endpoint: str) -> None:
    folder = _cli_plan(tmp_path, f"endpoint_url: '{moto_endpoint}', region: us-east-1")
    _each_command(folder, "no AWS credentials were found for sts:GetCallerIdentity")


def test_cli_an_sso_login_that_has_expired(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # an SSO profile whose token cache (~/.aws/sso/cache) holds nothing: logged out
    (tmp_path / "config").write_text(
        "[profile tis-prod]\nsso_session = corp\nsso_account_id = 123456789012\n"
        "sso_role_name = Admin\nregion = eu-west-2\n\n[sso-session corp]\n"
        "sso_start_url = https://corp.example.test/start\nsso_region = eu-west-2\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("HOME", str(tmp_path))
    folder = _cli_plan(tmp_path, "profile: tis-prod")
    _each_command(folder, "the AWS SSO session has expired or is not logged in",
                  "Run `aws sso login --profile NAME`")


def test_cli_an_unreachable_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a loopback port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    folder = _cli_plan(tmp_path, f"endpoint_url: 'http://127.0.0.1:{port}', region: us-east-1")
    _each_command(folder, f"could not reach http://127.0.0.1:{port}/ for sts:GetCallerIdentity",
                  "the endpoint is unreachable")


def test_cli_a_malformed_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    folder = _cli_plan(tmp_path, "endpoint_url: 'moto:5000', region: us-east-1")
    _each_command(folder, "the AWS client for sts:GetCallerIdentity on the environment's "
                  "credentials could not be made: Invalid endpoint: moto:5000")


def test_cli_a_check_meets_an_sdk_error_as_a_failed_check(tmp_path: Path, moto_endpoint: str,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """The credentials work, but this check's client cannot be made: ACM is regional, the
    certificate's ARN names no region and the environment none either. The check fails
    with the translated paragraph; the run stops before changing anything."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    folder = _cli_plan(tmp_path, f"endpoint_url: '{moto_endpoint}'",
                       'acm.certificate: {arn: "arn:aws:acm::123456789012:certificate/c1"}')
    result = run_cli("run", "p.yaml", "--env", "prod", "--yes", cwd=folder)
    assert result.code == 1, result.stdout + result.stderr
    assert "FAIL gate: certificate arn:aws:acm::123456789012:certificate/c1 is ISSUED - no " \
        "AWS region is set for acm:DescribeCertificate on certificate arn:aws:acm::" \
        "123456789012:certificate/c1: give the environment `aws.region` (or set AWS_REGION)" \
        in " ".join(result.stdout.split())
    assert "NoRegionError" not in result.stdout
    assert "nothing had been changed" in result.stdout
