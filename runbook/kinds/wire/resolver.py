"""DNS lookups for the wire checks: ask servers directly, walk NS, follow CNAME chains.

Everything here talks to name servers with dnspython's ``dns.query`` rather than
``dns.resolver``: the checks need to tell NXDOMAIN from SERVFAIL from silence, to see
the CNAME chain and the TTLs, and to ask the zone's own servers without recursion so that
no cache answers for them. dnspython is imported inside functions (``runbook --help``
imports this package's kinds modules, and dnspython is slow to import).

A server is ``(ip, port)``. A name server found by walking NS has no port of its own and
is asked on the port of the server that named it, so loopback test servers on high
ports can delegate to each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dns.message

Server = tuple[str, int]

MAX_CHAIN = 10  # CNAME links followed before calling it a loop-in-disguise
MAX_REFERRALS = 6  # delegations followed below the zone the resolvers named


@dataclass
class Answer:
    """The end of a lookup: what a person would want to know about one name and type."""

    outcome: str  # "ok" (records or none), "nxdomain", "servfail", "timeout", "refused", "error"
    chain: list[str]  # the asked name, then every CNAME target followed
    values: list[str] = field(default_factory=list)
    ttl: int | None = None
    server: str = ""  # who gave the final answer, "ip:port"
    detail: str = ""  # why, for anything but "ok"

    @property
    def name(self) -> str:
        return self.chain[-1]


def parse_server(text: str, default_port: int = 53) -> Server:
    """``ip``, ``ip:port``, ``[v6]:port`` or a bare IPv6 address; ValueError otherwise."""
    import ipaddress

    text = text.strip()
    host, port = text, default_port
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{text!r} is not ip or ip:port")
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, p = text.partition(":")
        port = int(p)
    ipaddress.ip_address(host)  # name servers are addresses: a name here would need a resolver
    if not 0 < port < 65536:
        raise ValueError(f"port {port} out of range in {text!r}")
    return host, port


def show(server: Server) -> str:
    host, port = server
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def system_servers(configured: Sequence[str]) -> list[Server]:
    """The context's resolvers, or the operating system's when none are configured."""
    if configured:
        return [parse_server(s) for s in configured]
    import dns.resolver

    from runbook.errors import NetworkError

    try:
        found = dns.resolver.Resolver(configure=True).nameservers
    except dns.resolver.NoResolverConfiguration as exc:
        raise NetworkError("no DNS resolvers: the system has none configured and the "
                           "environment sets no `resolvers`") from exc
    return [parse_server(str(s)) for s in found]


def _norm(name: str) -> str:
    return name.rstrip(".").lower() + "."


def text_of(rdata: object, rdtype: str) -> str:
    """A record's value as plans write it: no trailing dots, TXT strings joined unquoted."""
    if rdtype == "TXT":
        strings: Iterable[bytes] = getattr(rdata, "strings", ())
        return b"".join(strings).decode("utf-8", "replace")
    if rdtype == "CAA":
        value = getattr(rdata, "value", b"").decode("utf-8", "replace")
        tag = getattr(rdata, "tag", b"").decode("ascii", "replace")
        return f"{getattr(rdata, 'flags', 0)} {tag} {value}"
    text = str(rdata)
    return text.rstrip(".").lower() if rdtype in ("CNAME", "NS") else text


@dataclass
class _Reply:
    msg: dns.message.Message | None
    server: Server
    outcome: str  # "ok" when msg is usable
    detail: str = ""


def ask(servers: Sequence[Server], name: str, rdtype: str, *, timeout: float,
        recursion: bool) -> _Reply:
    """Ask each server in turn until one gives an answer (NOERROR or NXDOMAIN).

    When none does, the last failure is returned; SERVFAIL and REFUSED move on to the
    next server as resolvers do, so one broken name server does not fail a check.
    """
    import dns.exception
    import dns.flags
    import dns.message
    import dns.query
    import dns.rcode

    last = _Reply(None, servers[0] if servers else ("", 0), "error", "no servers to ask")
    try:
        query = dns.message.make_query(name, rdtype)
    except dns.exception.DNSException as exc:  # a label too long, an empty label...
        return _Reply(None, last.server, "error", f"{name!r} is not a valid DNS name: {exc}")
    if not recursion:
        query.flags &= ~dns.flags.RD
    for server in servers:
        host, port = server
        try:
            msg = dns.query.udp(query, host, port=port, timeout=timeout)
            if msg.flags & dns.flags.TC:
                msg = dns.query.tcp(query, host, port=port, timeout=timeout)
        except dns.exception.Timeout:
            last = _Reply(None, server, "timeout", f"{show(server)} did not answer within "
                                                   f"{timeout:g}s")
            continue
        except (OSError, dns.exception.DNSException) as exc:
            last = _Reply(None, server, "error", f"{show(server)}: {exc}")
            continue
        rcode = msg.rcode()
        if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            return _Reply(msg, server, "ok")
        text = dns.rcode.to_text(rcode)
        outcome = {"SERVFAIL": "servfail", "REFUSED": "refused"}.get(text, "error")
        last = _Reply(msg, server, outcome, f"{show(server)} answered {text}")
    return last


def _rrset(section: Iterable[object], name: str, rdtype: str) -> object | None:
    import dns.rdatatype

    want = dns.rdatatype.from_text(rdtype)
    for rrset in section:
        if getattr(rrset, "rdtype", None) == want and _norm(str(getattr(rrset, "name", ""))) == \
                _norm(name):
            return rrset
    return None


def _addresses(msg: dns.message.Message, names: Iterable[str]) -> dict[str, list[str]]:
    wanted = {_norm(n) for n in names}
    out: dict[str, list[str]] = {}
    for rrset in msg.additional:
        owner = _norm(str(rrset.name))
        if owner in wanted and rrset.rdtype in (1, 28):  # A, AAAA glue
            out.setdefault(owner, []).extend(str(r) for r in rrset)
    return out


def _servers_for(ns_names: list[str], glue: dict[str, list[str]], port: int,
                 resolvers: Sequence[Server], timeout: float) -> list[Server]:
    out: list[Server] = []
    for ns in ns_names:
        ips = glue.get(_norm(ns))
        if not ips:
            found = lookup(ns, "A", resolvers, timeout=timeout)
            ips = found.values if found.outcome == "ok" else []
        out.extend((ip, port) for ip in ips)
    return out


def _referral(msg: dns.message.Message) -> tuple[str, list[str]] | None:
    for rrset in msg.authority:
        if rrset.rdtype == 2:  # NS in authority without an answer: a delegation
            return _norm(str(rrset.name)), [str(r).rstrip(".") for r in rrset]
    return None


def zone_servers(name: str, resolvers: Sequence[Server], *, timeout: float
                 ) -> tuple[str, list[Server]] | _Reply:
    """The zone that holds ``name`` and its own name servers, asked of ``resolvers``.

    Walks up from ``name`` asking for NS, jumping to the zone named by an SOA in the
    authority section, and takes a referral (NS in authority) as the zone's servers.
    """
    candidate = _norm(name)
    while True:
        reply = ask(resolvers, candidate, "NS", timeout=timeout, recursion=True)
        if reply.msg is None or reply.outcome != "ok":
            return reply
        msg = reply.msg
        port = reply.server[1]
        ns = _rrset(msg.answer, candidate, "NS")
        if ns is not None:
            names = [str(r).rstrip(".") for r in ns]  # type: ignore[attr-defined]
            servers = _servers_for(names, _addresses(msg, names), port, resolvers, timeout)
            return candidate, servers
        ref = _referral(msg)
        if ref is not None and candidate.endswith(ref[0]):
            servers = _servers_for(ref[1], _addresses(msg, ref[1]), port, resolvers, timeout)
            return ref[0], servers
        has_cname = _rrset(msg.answer, candidate, "CNAME") is not None
        soa = next((r for r in msg.authority if r.rdtype == 6), None)
        if soa is not None and not has_cname:
            owner = _norm(str(soa.name))
            if owner != candidate and candidate.endswith("." + owner.lstrip(".")):
                candidate = owner
                continue
        if candidate == ".":
            return _Reply(None, reply.server, "error", f"found no name servers for {name}")
        candidate = candidate.split(".", 1)[1] or "."


def lookup(name: str, rdtype: str, servers: Sequence[Server], *, timeout: float,
           authoritative: bool = False) -> Answer:
    """Look ``name`` up, following CNAMEs (unless asking for CNAME itself).

    With ``authoritative``, ``servers`` are the resolvers used to find each zone's own
    name servers, which are then asked without recursion, following delegations.
    """
    chain = [name.rstrip(".").lower()]
    current = _norm(name)
    while True:
        if authoritative:
            found = zone_servers(current, servers, timeout=timeout)
            if isinstance(found, _Reply):
                return Answer(found.outcome, chain, server=show(found.server),
                              detail=found.detail)
            if not found[1]:
                return Answer("error", chain, detail=f"no address for the name servers of "
                                                     f"{found[0].rstrip('.')}")
            reply = _ask_following(found[1], current, rdtype, timeout, recursion=False)
        else:
            reply = _ask_following(servers, current, rdtype, timeout, recursion=True)
        if reply.msg is None or reply.outcome != "ok":
            return Answer(reply.outcome, chain, server=show(reply.server), detail=reply.detail)
        msg = reply.msg
        asked = current
        # Walk the answer: a server follows a chain as far as its own data goes.
        while True:
            rrset = _rrset(msg.answer, current, rdtype)
            if rrset is not None:
                values = sorted(text_of(r, rdtype) for r in rrset)  # type: ignore[attr-defined]
                return Answer("ok", chain, values, int(getattr(rrset, "ttl", 0)),
                              show(reply.server))
            cname = _rrset(msg.answer, current, "CNAME") if rdtype != "CNAME" else None
            if cname is None:
                break
            target = _norm(str(next(iter(cname))))  # type: ignore[call-overload]
            if target.rstrip(".") in chain:
                return Answer("error", [*chain, target.rstrip(".")], server=show(reply.server),
                              detail="CNAME loop")
            chain.append(target.rstrip("."))
            current = target
            if len(chain) > MAX_CHAIN:
                return Answer("error", chain, server=show(reply.server),
                              detail=f"CNAME chain longer than {MAX_CHAIN}")
        if msg.rcode() == 3:  # NXDOMAIN, which is about the last name of the chain
            return Answer("nxdomain", chain, server=show(reply.server),
                          detail=f"{chain[-1]} does not exist")
        if current == asked:  # the name exists without records of this type: NODATA
            return Answer("ok", chain, server=show(reply.server))
        # The chain left this server's data: ask again for where it now points.


def _ask_following(servers: Sequence[Server], name: str, rdtype: str, timeout: float, *,
                   recursion: bool) -> _Reply:
    """Ask, then follow referrals down: an authoritative-only server answers a name
    below one of its delegations with the delegated zone's servers, not the records."""
    reply = ask(servers, name, rdtype, timeout=timeout, recursion=recursion)
    for _ in range(MAX_REFERRALS):
        msg = reply.msg
        if msg is None or reply.outcome != "ok" or msg.answer or msg.rcode() != 0:
            return reply
        ref = _referral(msg)
        if ref is None:
            return reply
        glue = _addresses(msg, ref[1])
        nxt = [(ip, reply.server[1]) for ns in ref[1] for ip in glue.get(_norm(ns), [])]
        if not nxt:
            return reply
        reply = ask(nxt, name, rdtype, timeout=timeout, recursion=recursion)
    return reply
