"""Shared plumbing of the AWS kinds: calls with error translation, pagination, JSON
clean-up, ARN and name helpers.

Every call a kind makes to AWS goes through :func:`call`, :func:`call_or_none` or
:func:`pages`, so botocore's exceptions are translated here, once, into
:class:`AwsApiError` (an :class:`~runbook.errors.AwsError`) with one paragraph a person
can act on at 2 a.m. botocore is imported inside the functions only: the registry
imports every kinds module to validate a plan, and that must stay fast.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from runbook.context import ClientNotMade
from runbook.errors import AwsError
from runbook.kinds.base import CheckResult
from runbook.words import count

if TYPE_CHECKING:
    from runbook.context import RunContext

C = TypeVar("C")

CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"
"""The hosted zone id of every CloudFront distribution, for Route53 alias records."""

_THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException",
              "RequestLimitExceeded", "SlowDown", "PriorRequestNotComplete",
              "RequestThrottled", "RequestThrottledException"}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
           "AuthorizationError", "Forbidden", "403"}
_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
_BAD_KEYS = {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
             "InvalidAccessKeyId", "AuthFailure"}


class AwsApiError(AwsError):
    """An AWS call failed. ``code`` is AWS's error code ("" for transport and credential
    trouble), ``operation`` the API operation ("UpdateDistribution")."""

    def __init__(self, message: str, *, code: str = "", operation: str = "",
                 resource: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.operation = operation
        self.resource = resource

    @property
    def missing(self) -> str | None:
        found = self.code in NOT_FOUND or self.code in ("404", "NotFound", "NoSuchKey")
        return (self.resource or None) if found else None  # HeadBucket: a bare 404


NOT_FOUND = frozenset({"NoSuchDistribution", "NoSuchBucket", "NoSuchHostedZone",
                       "ResourceNotFoundException", "NoSuchOriginAccessControl"})


def missing_fails(run: Callable[[C, RunContext], CheckResult]
                  ) -> Callable[[C, RunContext], CheckResult]:
    """For a check's ``run``: a resource that does not exist is a failed check ("distribution
    E1 does not exist"), which ``within`` may wait out, not an error that stops the run."""

    @functools.wraps(run)
    def wrapper(self: C, ctx: RunContext) -> CheckResult:
        try:
            return run(self, ctx)
        except AwsApiError as exc:
            if exc.code not in NOT_FOUND:
                raise
            return CheckResult.failed(f"{exc.resource or 'the resource'} does not exist "
                                      f"({exc.code})", "missing", code=exc.code)

    return wrapper


def _api_name(client: Any, method: str) -> tuple[str, str]:
    """("cloudfront", "UpdateDistribution") for a client and its snake_case method."""
    try:
        prefix = str(client.meta.service_model.signing_name)
        op = str(client.meta.method_to_api_mapping.get(method, method))
    except (AttributeError, ClientNotMade):  # a test double, or a client never made
        return str(getattr(client, "service", "aws")), method.title().replace("_", "")
    return prefix, op


def translate(exc: Exception, *, service: str, operation: str, resource: str) -> AwsApiError:
    """The one-paragraph AwsError for a botocore exception raised by ``operation``.

    Every class in ``botocore.exceptions`` has its own paragraph below (a test walks the
    module): most are something a person can fix (a profile, a login, a region, a setting,
    a value in the plan); the rest say plainly what broke and that nothing was sent.
    """
    err = _translate(exc, service=service, operation=operation, resource=resource)
    err.resource = resource
    return err


def _translate(exc: Exception, *, service: str, operation: str, resource: str) -> AwsApiError:
    from botocore import exceptions as bx

    where = f"{service}:{operation} on {resource}"
    if isinstance(exc, ClientNotMade):  # the client itself could not be made
        if not isinstance(exc.cause, bx.BotoCoreError | bx.ClientError):
            return AwsApiError(
                f"the AWS client for {where} could not be made: {_text(exc.cause)}. Check "
                "the environment's `aws:` (`endpoint_url` is a URL like "
                "https://host:port).", operation=operation)
        exc = exc.cause
    if isinstance(exc, bx.ClientError):
        return _client_error(exc, service=service, operation=operation, resource=resource)
    for names, say in _BOTOCORE:
        kinds = tuple(c for c in (getattr(bx, n, None) for n in names) if isinstance(c, type))
        if kinds and isinstance(exc, kinds):
            return AwsApiError(say(exc, where), operation=operation)
    return AwsApiError(f"{where} failed: {type(exc).__name__}: {_text(exc)}",
                       operation=operation)


def _text(exc: BaseException) -> str:
    return " ".join(str(exc).split()).rstrip(".") or type(exc).__name__


def _arg(exc: BaseException, name: str, default: str = "") -> str:
    return str(getattr(exc, "kwargs", {}).get(name) or default)


def _profile(exc: BaseException, where: str) -> str:
    import os

    config = os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    return (f"the AWS profile {_arg(exc, 'profile', '?')!r} does not exist in {config}, so "
            f"{where} could not be sent. Check the environment's `aws.profile` (or "
            "AWS_PROFILE), or create the profile with `aws configure sso` or `aws configure "
            "--profile NAME`.")


def _sso(exc: BaseException, where: str) -> str:
    login = "aws login" if "Login" in type(exc).__name__ else "aws sso login --profile NAME"
    return (f"the AWS SSO session has expired or is not logged in ({type(exc).__name__}), so "
            f"{where} could not be signed. Run `{login}` for the environment's profile and "
            "resume the run.")


def _unreachable(exc: BaseException, where: str) -> str:
    url = _arg(exc, "endpoint_url") or _arg(exc, "proxy_url") or "the AWS endpoint"
    return (f"could not reach {url} for {where}: the endpoint is unreachable (network, VPN, "
            f"proxy, or a wrong `aws.endpoint_url`). Nothing was changed by this call.")


# (botocore exception class names, paragraph). Order matters: subclasses before their
# bases. Names, not classes, so that a botocore without one of them still imports.
_Say = Callable[[BaseException, str], str]
_BOTOCORE: tuple[tuple[tuple[str, ...], _Say], ...] = (
    (("NoCredentialsError", "PartialCredentialsError", "NoAuthTokenError",
      "UnknownCredentialError", "UnknownTokenProviderError"),
     lambda e, w: f"no AWS credentials were found for {w}. Set the environment's "
     "`aws.profile`, run `aws sso login --profile NAME` or `aws configure`, or export "
     "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, then try again."),
    (("TokenRetrievalError", "SSOError", "LoginError"), _sso),
    (("RefreshWithMFAUnsupportedError",),
     lambda e, w: f"the AWS profile needs a fresh MFA code to renew its credentials for {w}, "
     "and runbook cannot type one. Get temporary credentials first (for example `aws sts "
     "get-session-token` or an SSO profile) and resume the run."),
    (("ProfileNotFound",), _profile),
    (("ConfigNotFound", "ConfigParseError", "InvalidConfigError"),
     lambda e, w: f"the AWS configuration cannot be used for {w}: {_text(e)}. Fix the file "
     "(AWS_CONFIG_FILE or ~/.aws/config) or the profile it names."),
    (("CredentialRetrievalError", "MetadataRetrievalError"),
     lambda e, w: f"AWS credentials could not be loaded for {w}: {_text(e)}. Check the "
     "profile's credential source (credential_process, role, instance metadata)."),
    (("NoRegionError",),
     lambda e, w: f"no AWS region is set for {w}: give the environment `aws.region` (or "
     "set AWS_REGION)."),
    (("InvalidRegionError", "UnknownRegionError", "ServiceNotInRegionError",
      "UnknownEndpointError", "UnknownFIPSEndpointError", "BaseEndpointResolverError"),
     lambda e, w: f"the AWS region does not work for {w}: {_text(e)}. Check the "
     "environment's `aws.region` (or AWS_REGION), like eu-west-2."),
    (("EndpointConnectionError", "ConnectTimeoutError", "ProxyConnectionError"), _unreachable),
    (("SSLError",),
     lambda e, w: f"the TLS connection for {w} failed: {_text(e)}. A proxy that intercepts "
     "TLS needs its CA in AWS_CA_BUNDLE. Nothing was changed by this call."),
    (("ReadTimeoutError", "ConnectionClosedError", "ResponseStreamingError",
      "IncompleteReadError", "ChecksumError", "FlexibleChecksumError",
      "AwsChunkedWrapperError", "HTTPClientError", "ConnectionError"),
     lambda e, w: f"the connection to AWS broke during {w} ({type(e).__name__}). The call "
     "may or may not have taken effect: check the resource before retrying."),
    (("CapacityNotAvailableError",),
     lambda e, w: f"{w} was not sent: botocore's retry budget is spent after many failed "
     "calls. Wait a minute and resume the run."),
    (("DataNotFoundError", "ApiVersionNotFoundError", "OperationNotPageableError",
      "UnknownClientMethodError", "UnknownServiceStyle", "UnsupportedServiceProtocolsError",
      "UndefinedModelAttributeError", "WaiterConfigError", "WaiterError",
      "PaginationError", "StubResponseError", "UnseekableStreamError",
      "InvalidExpressionError", "UnknownParameterError",
      "AliasConflictParameterError"),
     lambda e, w: f"the installed botocore cannot do {w} ({type(e).__name__}: {_text(e)}). "
     "It may be older or newer than runbook expects: `pip show botocore` says which; "
     "report it with that version. Nothing was sent."),
    (("ParamValidationError", "ValidationError", "MissingParametersError",
      "InvalidDNSNameError", "InvalidHostLabelError", "UnsupportedS3ArnError",
      "UnsupportedS3ControlArnError", "UnsupportedOutpostResourceError"),
     lambda e, w: f"the AWS SDK refused the parameters of {w} before sending it: "
     f"{_text(e)}. Check that value in the plan (a bucket name, an ARN, a domain). "
     "Nothing was sent."),
    (("InvalidEndpointConfigurationError", "InvalidS3AddressingStyleError",
      "InvalidRetryConfigurationError", "InvalidS3UsEast1RegionalEndpointConfigError",
      "InvalidSTSRegionalEndpointsConfigError", "InvalidIMDSEndpointError",
      "InvalidIMDSEndpointModeError", "InvalidDefaultsMode", "InvalidProxiesConfigError",
      "InvalidChecksumConfigError", "InvalidEndpointDiscoveryConfigurationError",
      "UnsupportedS3ConfigurationError", "UnsupportedS3AccesspointConfigurationError",
      "UnsupportedS3ControlConfigurationError", "UnknownSignatureVersionError",
      "UnsupportedSignatureVersionError", "EndpointProviderError", "MD5UnavailableError",
      "MissingDependencyException"),
     lambda e, w: f"an AWS setting does not work for {w}: {_text(e)}. Check the profile in "
     "AWS_CONFIG_FILE (or ~/.aws/config), the AWS_* environment variables and the "
     "environment's `aws:`. Nothing was sent."),
    (("BotoCoreError",),
     lambda e, w: f"botocore failed before {w} was answered ({type(e).__name__}: "
     f"{_text(e)}). Check the resource before retrying."),
)


def _client_error(exc: Any, *, service: str, operation: str, resource: str) -> AwsApiError:
    action = f"{service}:{operation}"
    where = f"{action} on {resource}"
    err = exc.response.get("Error", {})
    code = str(err.get("Code", "") or "")
    msg = str(err.get("Message", "") or "").strip().rstrip(".")
    tries = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
    if code in _DENIED:
        return AwsApiError(
            f"AWS denied {action} on {resource}: {msg or code}. The credentials in use "
            f"lack that permission: grant {action} on {resource} to the role or user, "
            "or use an environment profile that has it.", code=code, operation=operation)
    if code in _THROTTLED:
        return AwsApiError(
            f"AWS kept throttling {where} ({code}) after {_attempts(int(tries) + 1)} "
            "with backoff. Another tool may be calling the same API hard; wait a minute "
            "and resume the run.", code=code, operation=operation)
    if code in _EXPIRED:
        return AwsApiError(
            f"the AWS credentials have expired ({code}) while calling {where}. Log in "
            "again (`aws sso login` or refresh the keys) and resume the run.",
            code=code, operation=operation)
    if code in _BAD_KEYS:
        return AwsApiError(
            f"AWS rejected the credentials ({code}) for {where}: {msg}. They are not "
            "valid for this account or endpoint.", code=code, operation=operation)
    return AwsApiError(f"AWS refused {where}: {code or type(exc).__name__}: "
                       f"{msg or 'no message'}.", code=code, operation=operation)


def _attempts(n: int) -> str:
    return count(n, "attempt")


def is_botocore(exc: BaseException) -> bool:
    """Whether ``exc`` is the SDK's (or a client that could not be made): what
    :func:`translate` turns into one paragraph."""
    from botocore.exceptions import BotoCoreError, ClientError, UndefinedModelAttributeError

    return isinstance(exc, BotoCoreError | ClientError | UndefinedModelAttributeError
                      | ClientNotMade)


def error_code(exc: BaseException) -> str:
    """AWS's error code of a failed call; the HTTP status when the answer had no code
    (S3 answers HEAD and some conditional requests so); "" when nothing was answered."""
    if isinstance(exc, AwsApiError):
        return exc.code
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    code = str(response.get("Error", {}).get("Code", "") or "")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code or (str(status) if status else "")


# Codes that mean the credentials in use are the trouble (denied, expired, not valid).
CREDENTIAL_CODES = frozenset(_DENIED | _EXPIRED | _BAD_KEYS)
_NO_CREDENTIALS = ("NoCredentialsError", "PartialCredentialsError", "ProfileNotFound",
                   "TokenRetrievalError", "SSOError", "LoginError", "CredentialRetrievalError",
                   "NoAuthTokenError", "UnknownCredentialError")


def credential_trouble(exc: BaseException) -> bool:
    """Whether a failed call failed because of the credentials: AWS said so (a code of
    CREDENTIAL_CODES), or none could be found or loaded."""
    from botocore import exceptions as bx

    if isinstance(exc, ClientNotMade):
        exc = exc.cause
    if error_code(exc) in CREDENTIAL_CODES:
        return True
    kinds = tuple(c for c in (getattr(bx, n, None) for n in _NO_CREDENTIALS)
                  if isinstance(c, type))
    return isinstance(exc, kinds)


def account_of(ctx: RunContext) -> str:
    """The AWS account of the caller: the context's when the run already asked STS (the
    environment's ``aws.account`` check keeps its answer), else STS's, translated."""
    if ctx.caller is not None and ctx.caller.get("account"):
        return ctx.caller["account"]
    return str(call(ctx.client("sts"), "get_caller_identity", "the caller")
               .get("Account", ""))


def call(client: Any, method: str, resource: str, **kwargs: Any) -> dict[str, Any]:
    """``client.method(**kwargs)`` with errors translated; returns the response as JSON."""
    try:
        response = getattr(client, method)(**kwargs)
    except Exception as exc:
        if not is_botocore(exc):
            raise
        service, op = _api_name(client, method)
        raise translate(exc, service=service, operation=op, resource=resource) from exc
    out = jsonable(response)
    out.pop("ResponseMetadata", None)
    return dict(out)


def call_or_none(client: Any, method: str, resource: str, *, missing: Collection[str],
                 **kwargs: Any) -> dict[str, Any] | None:
    """Like :func:`call`, but None when AWS answers with one of the ``missing`` codes."""
    try:
        return call(client, method, resource, **kwargs)
    except AwsApiError as exc:
        if exc.code in missing:
            return None
        raise


def pages(client: Any, method: str, key: str, resource: str,
          **kwargs: Any) -> Iterator[Any]:
    """Every item under ``key`` (a dotted path like "DistributionList.Items") of every page."""
    try:
        paginator = client.get_paginator(method)
        for page in paginator.paginate(**kwargs):
            node: Any = page
            for part in key.split("."):
                node = node.get(part) if isinstance(node, Mapping) else None
            yield from jsonable(node or [])
    except Exception as exc:
        if not is_botocore(exc):
            raise
        service, op = _api_name(client, method)
        raise translate(exc, service=service, operation=op, resource=resource) from exc


def caller_identity(ctx: RunContext) -> dict[str, str]:
    """``{"account", "arn", "user_id"}`` from STS GetCallerIdentity with the environment's
    settings, or the translated AwsApiError. Every cause a person can fix before a run (a
    profile that does not exist, no credentials, an expired SSO login, an unreachable
    endpoint) shows here, before anything changes. One quick attempt: this must never hold
    a run up for long."""
    from botocore.config import Config

    cfg = Config(retries={"total_max_attempts": 1}, connect_timeout=3, read_timeout=5)
    kw: dict[str, Any] = {"config": cfg}
    if ctx.aws.endpoint_url:
        kw["endpoint_url"] = ctx.aws.endpoint_url
    try:
        session = ctx.boto_session()
        # STS is global: with a custom endpoint and no region it still needs one to sign
        kw["region_name"] = session.region_name or "us-east-1"
        got = session.client("sts", **kw).get_caller_identity()
    except Exception as exc:
        cause: Exception = exc
        if isinstance(exc, ValueError) and not is_botocore(exc):
            cause = ClientNotMade("sts", exc)  # botocore's "Invalid endpoint: ..."
        elif not is_botocore(exc):
            raise
        raise translate(cause, service="sts", operation="GetCallerIdentity",
                        resource="the environment's credentials") from exc
    return {"account": str(got.get("Account", "")), "arn": str(got.get("Arn", "")),
            "user_id": str(got.get("UserId", ""))}


def jsonable(value: Any) -> Any:
    """``value`` with datetimes as ISO strings and bytes decoded: safe for the journal."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


# --- names ----------------------------------------------------------------------------

_OCTAL = re.compile(r"\\(\d{3})")


def fqdn(name: str) -> str:
    """Lower case with one trailing dot; Route53's octal escapes (``\\052``) decoded."""
    name = _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), name.strip()).lower()
    return name.rstrip(".") + "."


def bare(name: str) -> str:
    """Lower case without the trailing dot: how browsers and CloudFront write names."""
    return fqdn(name).rstrip(".")


# --- S3 and CloudFront ----------------------------------------------------------------

_S3_DOMAIN = re.compile(
    r"^(?P<bucket>[a-z0-9][a-z0-9.\-]*?)\.s3(?:[.\-](?:website[.\-])?(?P<region>[a-z0-9\-]+))?"
    r"\.amazonaws\.com(?:\.cn)?\.?$")


def bucket_of(domain: str) -> str | None:
    """The bucket an origin domain names (REST or website endpoint), or None."""
    m = _S3_DOMAIN.match(domain.lower())
    return m.group("bucket") if m else None


def is_website_domain(domain: str) -> bool:
    return ".s3-website" in domain.lower()


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def region_of_arn(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 else ""


def read_distribution(ctx: RunContext, dist_id: str) -> tuple[dict[str, Any], str]:
    """(Distribution, ETag) from GetDistribution: config, ARN, DomainName, Status."""
    got = call(ctx.client("cloudfront"), "get_distribution", f"distribution {dist_id}",
               Id=dist_id)
    return dict(got["Distribution"]), str(got.get("ETag", ""))


def items(node: Any) -> list[Any]:
    """The ``Items`` of a CloudFront ``{Quantity, Items}`` list (absent when empty)."""
    if isinstance(node, Mapping):
        return list(node.get("Items") or [])
    return []


def default_origin(config: Mapping[str, Any]) -> dict[str, Any]:
    """The origin the default cache behaviour sends requests to."""
    origins = items(config.get("Origins"))
    target = config.get("DefaultCacheBehavior", {}).get("TargetOriginId")
    for origin in origins:
        if origin.get("Id") == target:
            return dict(origin)
    if origins:
        return dict(origins[0])
    raise AwsApiError("the distribution has no origins")


def origin_key(origin_path: str, key: str) -> str:
    """The bucket key CloudFront reads for ``key`` under an origin path ("/v1" + "a")."""
    path = origin_path.strip("/")
    key = key.lstrip("/")
    return f"{path}/{key}" if path else key


# --- diffs ----------------------------------------------------------------------------

_KEYS = ("Id", "Sid")


def _keyed(seq: list[Any]) -> dict[str, Any] | None:
    """A list of mappings keyed by their Id/Sid, if every element has a distinct one."""
    out: dict[str, Any] = {}
    for i, element in enumerate(seq):
        if not isinstance(element, Mapping):
            return None
        key = next((str(element[k]) for k in _KEYS if element.get(k)), None)
        if key is None:
            key = f"#{i}"
        if key in out:
            return None
        out[key] = element
    return out


def deep_diff(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(path, old, new) for every leaf that differs. Lists of mappings with an Id or Sid
    are matched by it ("Origins.Items[S3-site].OriginPath"); other lists compare whole.
    CloudFront's ``Quantity`` counters are skipped: they follow their ``Items``."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(set(old) | set(new), key=str):
            if key == "Quantity":
                continue
            sub = f"{path}.{key}" if path else str(key)
            out.extend(deep_diff(old.get(key), new.get(key), sub))
        return out
    if isinstance(old, list) and isinstance(new, list) and old != new:
        a, b = _keyed(old), _keyed(new)
        if a is not None and b is not None and (len(a) > 1 or len(b) > 1 or set(a) == set(b)):
            out = []
            for key in list(a) + [k for k in b if k not in a]:
                out.extend(deep_diff(a.get(key), b.get(key), f"{path}[{key}]"))
            return out
    if old == new:
        return []
    return [(path or "(value)", old, new)]


def describe_drift(what: str, changes: list[tuple[str, Any, Any]], limit: int = 3) -> str:
    """One line: "distribution E1 changed since this run applied: Aliases.Items (...)"."""
    shown = "; ".join(f"{p} is now {n!r}, was {o!r}" for p, o, n in changes[:limit])
    more = f" and {len(changes) - limit} more" if len(changes) > limit else ""
    return f"{what} changed since this run applied it: {shown}{more}"
