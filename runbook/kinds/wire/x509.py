"""Just enough X.509 for tls.certificate: names, issuer, validity, from DER bytes.

The standard library only decodes a certificate it has verified, and a check must also
describe the certificates it rejects (expired, wrong name, unknown CA), so the few fields
needed are read here from the DER encoding instead of adding a dependency.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime

from runbook.certnames import covers

_NAMES = {"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST",
          "2.5.4.10": "O", "2.5.4.11": "OU"}
_SAN = "2.5.29.17"


class CertificateError(ValueError):
    pass


@dataclass(frozen=True)
class Certificate:
    subject: str  # "CN=www.example.test, O=..." in certificate order
    issuer: str
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    not_before: datetime
    not_after: datetime

    @property
    def names(self) -> tuple[str, ...]:
        return self.dns_names + self.ip_addresses


def _read(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """The TLV at ``pos``: (tag, content, position after it)."""
    if pos + 2 > len(data):
        raise CertificateError("truncated DER")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise CertificateError("truncated DER")
    return tag, data[pos:pos + length], pos + length


def _items(data: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(data):
        tag, content, pos = _read(data, pos)
        out.append((tag, content))
    return out


def _oid(content: bytes) -> str:
    parts = [content[0] // 40, content[0] % 40]
    value = 0
    for byte in content[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)


def _name(content: bytes) -> str:
    out = []
    for _, rdn in _items(content):
        for _, attr in _items(rdn):
            (_, oid), (tag, value) = _items(attr)[:2]
            text = value.decode("utf-16-be" if tag == 0x1E else "utf-8", "replace")
            out.append(f"{_NAMES.get(_oid(oid), _oid(oid))}={text}")
    return ", ".join(out)


def _time(tag: int, content: bytes) -> datetime:
    text = content.decode("ascii")
    fmt = "%y%m%d%H%M%SZ" if tag == 0x17 else "%Y%m%d%H%M%SZ"
    return datetime.strptime(text, fmt).replace(tzinfo=UTC)


def _san(extensions: bytes) -> tuple[list[str], list[str]]:
    dns: list[str] = []
    ips: list[str] = []
    for _, ext in _items(extensions):
        fields = _items(ext)
        if _oid(fields[0][1]) != _SAN:
            continue
        (_, seq), = _items(fields[-1][1])
        for tag, value in _items(seq):
            if tag == 0x82:
                dns.append(value.decode("ascii", "replace").lower())
            elif tag == 0x87:
                ips.append(str(ipaddress.ip_address(value)))
    return dns, ips


def parse(der: bytes) -> Certificate:
    """Decode a certificate; CertificateError when it is not one."""
    try:
        (_, cert), = _items(der)
        (_, tbs) = _items(cert)[0]
        fields = _items(tbs)
        if fields[0][0] == 0xA0:  # explicit version
            fields = fields[1:]
        issuer, validity, subject = fields[2][1], fields[3][1], fields[4][1]
        (t1, nb), (t2, na) = _items(validity)
        dns: list[str] = []
        ips: list[str] = []
        for tag, content in fields[6:]:
            if tag == 0xA3:
                (_, exts), = _items(content)
                dns, ips = _san(exts)
        return Certificate(_name(subject), _name(issuer), tuple(dns), tuple(ips),
                           _time(t1, nb), _time(t2, na))
    except (IndexError, ValueError) as exc:
        raise CertificateError(f"cannot decode the certificate: {exc}") from exc


def covering(cert: Certificate, name: str) -> bool:
    try:
        ip = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return any(covers(p, name) for p in cert.dns_names)
    return str(ip) in cert.ip_addresses
