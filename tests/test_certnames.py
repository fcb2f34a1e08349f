"""One answer to "does this certificate name cover this host?" (RFC 6125, 6.4.3): the
table, asked of the function and of every caller that judges a certificate, so a second
copy that answers differently fails here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from runbook.certnames import covers
from runbook.cli.newplan import Dist
from runbook.kinds.wire.x509 import Certificate, covering

TABLE = [
    ("*.example.com", "a.example.com", True),
    ("*.example.com", "A.Example.COM.", True),  # case and the trailing dot do not count
    ("*.Example.com", "www.example.com", True),
    ("*.example.com.", "www.example.com", True),
    ("*.example.com", "example.com", False),  # one label: not zero
    ("*.example.com", "a.b.example.com", False),  # nor two
    ("*.example.com", ".example.com", False),
    ("a*.example.com", "ab.example.com", False),  # the whole left-most label only
    ("*a.example.com", "ba.example.com", False),
    ("www.*.example.com", "www.a.example.com", False),
    ("*.*.example.com", "a.b.example.com", False),
    ("*.com", "example.com", False),  # never over a public suffix
    ("*.co.uk", "example.co.uk", False),
    ("*.nhs.uk", "tis.nhs.uk", False),
    ("*.tis.nhs.uk", "trainee.tis.nhs.uk", True),
    ("*.trainee.tis.nhs.uk", "stage.trainee.tis.nhs.uk", True),
    ("*.example.com", "*.example.com", True),  # a wildcard alias under the same wildcard
    ("*.example.com", "*.a.example.com", False),
    ("www.example.com", "WWW.example.com.", True),
    ("www.example.com", "www2.example.com", False),
    ("", "example.com", False),
    ("example.com", "", False),
]


def _x509(pattern: str, host: str) -> bool:
    now = datetime.now(UTC)
    return covering(Certificate("CN=x", "CN=ca", (pattern,), (), now, now), host)


def _wizard(pattern: str, host: str) -> bool:
    return Dist("E1", cert_domains=[pattern]).covers(host)


ASKERS: dict[str, Callable[[str, str], bool]] = {
    "certnames.covers": covers, "tls checks (x509.covering)": _x509,
    "runbook new (newplan.Dist.covers)": _wizard,
}


@pytest.mark.parametrize("asker", sorted(ASKERS))
@pytest.mark.parametrize(("pattern", "host", "ok"), TABLE)
def test_every_judge_of_a_certificate_name_answers_alike(asker: str, pattern: str, host: str,
                                                         ok: bool) -> None:
    assert ASKERS[asker](pattern, host) is ok
