"""Does a certificate name cover a host? The one answer, for the certificate checks
(``tls.*``, ``acm.certificate``), the CloudFront kinds, the twin's CloudFront and edge,
and ``runbook new``.

The rules are RFC 6125's (section 6.4.3) as browsers apply them:

* names compare case-insensitively, a trailing dot ignored;
* a wildcard is only the whole left-most label (``*.example.com``; ``a*.example.com`` and
  ``www.*.example.com`` cover nothing), and stands for exactly one label: not zero
  (``example.com``), not two (``a.b.example.com``);
* a wildcard directly over a public suffix covers nothing: ``*.com`` (a single label) and
  ``*.co.uk`` (a known multi-label suffix: ``PUBLIC_SUFFIXES``);
* a name equal to the pattern is covered, so a wildcard alias (``*.example.com``) is
  covered by the same wildcard in a certificate, as CloudFront accepts it.
"""

from __future__ import annotations

# Multi-label public suffixes where a wildcard certificate would claim every registrant
# (single-label ones, ``*.com``, are refused by shape). Not the whole Public Suffix List:
# the suffixes of the countries whose second level is where people register.
PUBLIC_SUFFIXES = frozenset({
    "co.uk", "org.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk", "ac.uk", "gov.uk", "nhs.uk",
    "com.au", "net.au", "org.au", "edu.au", "gov.au", "co.nz", "org.nz", "net.nz",
    "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "co.kr", "or.kr", "com.br", "net.br",
    "org.br", "com.cn", "net.cn", "org.cn", "com.mx", "co.in", "net.in", "org.in",
    "co.za", "org.za", "com.sg", "com.hk", "com.tw", "co.il", "com.tr", "com.ar",
})


def normal(name: str) -> str:
    """A DNS name as it is compared: lower case, without the trailing dot."""
    return name.strip().lower().rstrip(".")


def covers(pattern: str, host: str) -> bool:
    """Whether certificate name ``pattern`` covers ``host`` (the rules above)."""
    pattern, host = normal(pattern), normal(host)
    if not pattern or not host:
        return False
    if pattern == host:
        return True
    if not pattern.startswith("*."):
        return False
    parent = pattern[2:]
    if "*" in parent or "." not in parent or parent in PUBLIC_SUFFIXES:
        return False
    label, _, rest = host.partition(".")
    return bool(label) and label != "*" and rest == parent
