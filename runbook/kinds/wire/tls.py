"""``tls.certificate``: the certificate a server presents, judged as a browser would.

The check connects (through ``connect_to`` and the environment's port map and resolvers
when given), sends the host as SNI, and reads the certificate even when it is not
trusted, so that a failure says what is wrong with it: the name it does not cover, how
long ago it expired, who issued it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from runbook.context import RunContext
from runbook.durations import Duration
from runbook.kinds import register
from runbook.kinds.base import Check, CheckResult, Params
from runbook.kinds.wire.common import HostPort
from runbook.kinds.wire.net import WireError, is_ip
from runbook.words import count

if TYPE_CHECKING:
    import ssl

    from runbook.kinds.wire.net import Dialer
    from runbook.kinds.wire.x509 import Certificate


class TlsCertificateParams(Params):
    host: str = Field(description="the server's name: sent as SNI, and covered by default")
    port: int = Field(443, ge=1, le=65535, description="the server's port")
    connect_to: HostPort | None = Field(
        None, description="host[:port] or IP to connect to instead of `host` (SNI stays "
        "`host`): see a distribution's certificate before DNS points at it")
    covers: list[str] | None = Field(
        None, description="names the certificate must cover (default: `host`); wildcards "
        "match as browsers do, one left-most label only")
    days_left: int | None = Field(
        None, ge=0, description="the certificate must stay valid at least this many more days")
    issuer: str | None = Field(
        None, description="regular expression searched in the issuer, written like "
        "'CN=Amazon RSA 2048 M02, O=Amazon, C=US'")
    trusted: bool = Field(
        True, description="the chain must verify against the system CAs and the "
        "environment's CA bundle (names are judged by `covers`, not here)")
    timeout: Duration | None = Field(
        None, description="give up after this long (default: the environment's network "
        "timeout)")

    @field_validator("issuer")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a valid regular expression: {exc}") from exc
        return value


@register
class TlsCertificate(Check[TlsCertificateParams]):
    kind = "tls.certificate"
    Params = TlsCertificateParams
    summary = "the certificate a server presents: names, expiry, issuer, trust"

    def describe(self) -> str:
        p = self.params
        where = p.host if p.port == 443 else f"{p.host}:{p.port}"
        bits = [f"covers {', '.join(self._names())}"]
        if p.days_left is not None:
            bits.append(f"has at least {p.days_left} days left")
        if p.issuer:
            bits.append(f"is issued by /{p.issuer}/")
        if p.trusted:
            bits.append("is trusted")
        via = f" (via {p.connect_to})" if p.connect_to else ""
        return f"the certificate of {where}{via} " + ", ".join(bits[:-1]) + \
            (" and " if len(bits) > 1 else "") + bits[-1]

    def _names(self) -> list[str]:
        return self.params.covers if self.params.covers is not None else [self.params.host]

    def run(self, ctx: RunContext) -> CheckResult:
        from runbook.kinds.wire.x509 import CertificateError, covering, parse

        p = self.params
        try:
            der, version, verify_error = _fetch(ctx, p)
            cert = parse(der)
        except WireError as exc:
            return CheckResult.failed(exc.message, exc.outcome, host=p.host, port=p.port,
                                      connect_to=p.connect_to)
        except CertificateError as exc:
            return CheckResult.failed(f"{p.host}:{p.port} sent a certificate runbook cannot "
                                      f"read: {exc}", "tls", host=p.host, port=p.port)
        now = datetime.now(UTC)
        days = (cert.not_after - now).total_seconds() / 86400
        seen = _observed(cert, days, version, verify_error, p.host, p.port, p.connect_to)
        problems: list[str] = []
        shown = ", ".join(cert.names) or "no names"
        missing = [n for n in self._names() if not covering(cert, n)]
        if missing:
            problems.append(f"the certificate does not cover {', '.join(missing)} "
                            f"(it names {shown})")
        if cert.not_before > now:
            problems.append(f"the certificate is not valid before {cert.not_before:%Y-%m-%d}")
        if p.days_left is not None and days < p.days_left:
            if days < 0:
                problems.append(f"the certificate expired {_days(-days)} ago "
                                f"({cert.not_after:%Y-%m-%d})")
            else:
                problems.append(f"the certificate expires in {_days(days)} "
                                f"({cert.not_after:%Y-%m-%d}), fewer than {p.days_left}")
        if p.issuer and not re.search(p.issuer, cert.issuer):
            problems.append(f"issuer {cert.issuer!r} does not match /{p.issuer}/")
        if p.trusted and verify_error:
            problems.append(f"the certificate is not trusted: {verify_error}")
        if problems:
            return CheckResult.failed("; ".join(problems), **seen)
        return CheckResult.passed(f"{p.host} presents a certificate for {shown}, "
                                  f"{_days(days)} left, from {cert.issuer}", **seen)


def _days(days: float) -> str:
    return count(int(days), "day")


def _observed(cert: Certificate, days: float, version: str, verify_error: str | None,
              host: str, port: int, connect_to: str | None) -> dict[str, Any]:
    return {"host": host, "port": port, "connect_to": connect_to, "subject": cert.subject,
            "names": list(cert.names), "issuer": cert.issuer,
            "not_before": cert.not_before.isoformat(), "not_after": cert.not_after.isoformat(),
            "days_left": round(days, 1), "trusted": verify_error is None,
            "verify_error": verify_error, "tls_version": version}


def _fetch(ctx: RunContext, p: TlsCertificateParams) -> tuple[bytes, str, str | None]:
    """The server's certificate (DER), the TLS version, and why it is not trusted."""
    import ssl

    from runbook.kinds.wire.net import Dialer, pins_for, ssl_context

    timeout = p.timeout if p.timeout is not None else ctx.network.timeout
    dialer = Dialer(ctx.network, pins_for(p.host, p.connect_to))
    strict = ssl_context(ctx.network, True, ctx.plan_dir, check_hostname=False)
    try:
        return (*_handshake(dialer, p, strict, timeout), None)
    except ssl.SSLCertVerificationError as exc:
        why = str(exc.verify_message or exc.reason)
    lax = ssl_context(ctx.network, False, ctx.plan_dir, check_hostname=False)
    try:
        return (*_handshake(dialer, p, lax, timeout), why)
    except ssl.SSLError as exc:  # pragma: no cover - the strict try would have said so
        raise WireError("tls", f"TLS handshake with {p.host}:{p.port} failed: "
                               f"{exc.reason or exc}") from exc


def _handshake(dialer: Dialer, p: TlsCertificateParams, context: ssl.SSLContext,
               timeout: float) -> tuple[bytes, str]:
    import ssl

    sock = dialer.connect(p.host, p.port, timeout)
    try:
        sni = None if is_ip(p.host) else p.host
        with context.wrap_socket(sock, server_hostname=sni) as tls:
            der = tls.getpeercert(binary_form=True)
            version = tls.version() or ""
    except ssl.SSLCertVerificationError:
        raise
    except TimeoutError as exc:
        raise WireError("timeout", f"TLS handshake with {p.host}:{p.port} took over "
                                   f"{timeout:g}s") from exc
    except ssl.SSLError as exc:
        raise WireError("tls", f"TLS handshake with {p.host}:{p.port} failed: "
                               f"{exc.reason or exc}") from exc
    except OSError as exc:
        raise WireError("unreachable", f"{p.host}:{p.port} closed the connection during "
                                       f"the TLS handshake: {exc.strerror or exc}") from exc
    finally:
        sock.close()
    if not der:
        raise WireError("tls", f"{p.host}:{p.port} sent no certificate")
    return der, version
