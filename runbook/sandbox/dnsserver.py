"""A small authoritative DNS server on loopback, for tests and the sandbox.

It serves :class:`Zone` s over UDP and TCP on one port. The zones come from a callable
asked on every query, so the sandbox can serve its Route53 twin's zones as they are at
that moment (with their TTLs) and tests can change answers while a check polls::

    zones = [Zone("example.test", [Record("www.example.test", "A", "192.0.2.1")])]
    with DNSServer(zones) as server:          # port 0: a free port is picked
        host, port = server.address           # ("127.0.0.1", 53535)

Like a real authoritative server it follows CNAME chains inside the zones it serves,
answers a name below a delegation (NS records not at a zone's apex) with a referral and
its glue, NODATA and NXDOMAIN with the zone's SOA, and REFUSED for names it does not
serve. For failure tests, ``Zone.servfail`` names get SERVFAIL, ``Zone.silent`` names and
a server with ``silent = True`` get no answer at all.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from types import TracebackType

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset


def absolute(name: str) -> str:
    """``name`` lower-cased with its trailing dot."""
    return name.rstrip(".").lower() + "."


@dataclass(frozen=True)
class Record:
    """One record. ``name`` is absolute (the trailing dot is optional); ``value`` is in
    zone-file form: ``192.0.2.1``, ``target.example.test``, ``v=spf1 -all`` (TXT,
    quoted for you), ``0 issue "amazon.com"`` (CAA)."""

    name: str
    type: str
    value: str
    ttl: int = 300


@dataclass(frozen=True)
class Zone:
    """The records of one zone, and the names that misbehave on purpose.

    A zone is immutable (``records`` becomes a tuple) and indexed by name the first time
    it answers; to change what is served, have the source return a new Zone.
    """

    origin: str
    records: tuple[Record, ...] | list[Record] = ()
    servfail: frozenset[str] = field(default_factory=frozenset)
    silent: frozenset[str] = field(default_factory=frozenset)
    soa_ttl: int = 60

    def __post_init__(self) -> None:
        object.__setattr__(self, "records", tuple(self.records))
        object.__setattr__(self, "servfail", frozenset(absolute(n) for n in self.servfail))
        object.__setattr__(self, "silent", frozenset(absolute(n) for n in self.silent))

    def contains(self, name: str) -> bool:
        origin = absolute(self.origin)
        return name == origin or name.endswith("." + origin)

    @cached_property
    def by_name(self) -> dict[str, list[Record]]:
        out: dict[str, list[Record]] = {}
        for record in self.records:
            out.setdefault(absolute(record.name), []).append(record)
        return out

    @cached_property
    def existing(self) -> frozenset[str]:
        """Every name that exists: owners of records and the empty names between them
        and the apex (a name with no records but children answers NODATA, not NXDOMAIN)."""
        origin = absolute(self.origin)
        out = {origin}
        for name in self.by_name:
            while name != origin and name.endswith("." + origin):
                out.add(name)
                name = name.split(".", 1)[1]
        return frozenset(out)

    @cached_property
    def cuts(self) -> frozenset[str]:
        """Names below the apex with NS records: delegations to other servers."""
        origin = absolute(self.origin)
        return frozenset(n for n, rs in self.by_name.items()
                         if n != origin and any(r.type.upper() == "NS" for r in rs))


ZoneSource = Callable[[], Iterable[Zone]]


def _rdata(record: Record) -> dns.rdata.Rdata:
    rdtype = dns.rdatatype.from_text(record.type)
    value = record.value
    if record.type.upper() == "TXT" and not value.startswith('"'):
        # A TXT string holds 255 bytes at most: longer values (DKIM keys) are split.
        chunks = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
        value = " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"'
                         for c in chunks)
    elif record.type.upper() in ("CNAME", "NS"):
        value = absolute(value)
    return dns.rdata.from_text(dns.rdataclass.IN, rdtype, value)


def _delegation(zone: Zone, qname: str) -> str | None:
    """The deepest delegation at or above ``qname``, if any."""
    hits = [c for c in zone.cuts if qname == c or qname.endswith("." + c)]
    return max(hits, key=len) if hits else None


class _Answerer:
    """Builds the reply to one query from the zones as they are now."""

    def __init__(self, zones: ZoneSource) -> None:
        self.zones = zones

    def reply(self, query: dns.message.Message) -> dns.message.Message | None:
        response = dns.message.make_response(query)
        response.flags &= ~dns.flags.RA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        qname = absolute(question.name.to_text())
        zones = [z for z in self.zones() if z.contains(qname)]
        if not zones:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        zone = max(zones, key=lambda z: len(absolute(z.origin)))
        if qname in zone.silent:
            return None
        if qname in zone.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        self._answer(response, zone, qname, question.rdtype)
        return response

    def _answer(self, response: dns.message.Message, zone: Zone, qname: str,
                rdtype: int) -> None:
        cut = _delegation(zone, qname)
        if cut is not None:  # below a delegation (NS at the cut too): not ours to answer
            self._refer(response, zone, cut)
            return
        response.flags |= dns.flags.AA
        name = qname
        seen: set[str] = set()
        while True:
            here = zone.by_name.get(name, [])
            match = [r for r in here if dns.rdatatype.from_text(r.type) == rdtype]
            if match:
                response.answer.append(self._rrset(name, match))
                return
            cnames = [r for r in here if r.type.upper() == "CNAME"]
            if cnames and rdtype != dns.rdatatype.CNAME and name not in seen:
                seen.add(name)
                response.answer.append(self._rrset(name, cnames[:1]))
                name = absolute(cnames[0].value)
                if not zone.contains(name) or _delegation(zone, name):
                    return  # the rest of the chain is someone else's to answer
                continue
            if name not in zone.existing:
                response.set_rcode(dns.rcode.NXDOMAIN)
            response.authority.append(self._soa(zone))
            return

    def _refer(self, response: dns.message.Message, zone: Zone, cut: str) -> None:
        ns = [r for r in zone.by_name[cut] if r.type.upper() == "NS"]
        response.authority.append(self._rrset(cut, ns))
        for target in sorted({absolute(r.value) for r in ns}):
            glue = zone.by_name.get(target, [])
            for rtype in ("A", "AAAA"):
                same = [g for g in glue if g.type.upper() == rtype]
                if same:
                    response.additional.append(self._rrset(target, same))

    @staticmethod
    def _rrset(name: str, records: list[Record]) -> dns.rrset.RRset:
        rrset = dns.rrset.RRset(dns.name.from_text(name), dns.rdataclass.IN,
                                dns.rdatatype.from_text(records[0].type))
        for r in records:
            rrset.add(_rdata(r), r.ttl)
        return rrset

    @staticmethod
    def _soa(zone: Zone) -> dns.rrset.RRset:
        origin = absolute(zone.origin)
        rrset = dns.rrset.RRset(dns.name.from_text(origin), dns.rdataclass.IN,
                                dns.rdatatype.SOA)
        text = f"ns.{origin} hostmaster.{origin} 1 7200 900 1209600 {zone.soa_ttl}"
        rrset.add(dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.SOA, text),
                  zone.soa_ttl)
        return rrset


class DNSServer:
    """Serves ``zones`` on ``host``: UDP and TCP on the same port, each in a thread.

    ``zones`` is a collection of :class:`Zone` or a callable returning the current ones.
    ``silent`` (settable while running) makes the server swallow every query.
    """

    def __init__(self, zones: Iterable[Zone] | ZoneSource, host: str = "127.0.0.1",
                 port: int = 0, *, silent: bool = False) -> None:
        if callable(zones):
            source: ZoneSource = zones
        else:
            fixed = list(zones)
            source = lambda: fixed  # noqa: E731 - a source that never changes
        self._answerer = _Answerer(source)
        self.silent = silent
        self.queries = 0
        self._host = host
        self._port = port
        self._udp: socketserver.UDPServer | None = None
        self._tcp: socketserver.TCPServer | None = None
        self._threads: list[threading.Thread] = []

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` the server is bound to; valid after ``start()``."""
        if self._udp is None:
            raise RuntimeError("the DNS server is not started")
        host, port = self._udp.server_address[:2]
        return str(host), int(port)

    @property
    def resolver(self) -> str:
        """The address as ``ip:port``, for NetworkSettings.resolvers."""
        host, port = self.address
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def handle(self, wire: bytes, max_size: int) -> bytes | None:
        """The reply to one query in wire form, or None to stay silent."""
        self.queries += 1
        if self.silent:
            return None
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        response = self._answerer.reply(query)
        if response is None:
            return None
        if query.edns >= 0:
            max_size = max(max_size, query.payload)
        try:
            return response.to_wire(max_size=max_size)
        except dns.exception.TooBig:
            response.answer.clear()
            response.authority.clear()
            response.additional.clear()
            response.flags |= dns.flags.TC
            return response.to_wire()

    def start(self) -> DNSServer:
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        # UDP answers in one thread: building a reply is quicker than starting a thread.
        udp_cls = type("_UDP", (socketserver.UDPServer,), {"address_family": family})
        tcp_cls = type("_TCP", (socketserver.ThreadingMixIn, socketserver.TCPServer),
                       {"address_family": family, "daemon_threads": True,
                        "allow_reuse_address": True})
        for _ in range(20):  # port 0: UDP picks, TCP must get the same number
            udp = udp_cls((self._host, self._port), _udp_handler(self))
            port = udp.server_address[1]
            try:
                tcp = tcp_cls((self._host, port), _tcp_handler(self))
            except OSError:
                udp.server_close()
                if self._port:
                    raise
                continue
            break
        else:  # pragma: no cover - twenty busy ports in a row
            raise OSError("could not bind UDP and TCP to one free port")
        self._udp, self._tcp = udp, tcp
        for server in (udp, tcp):
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                                      name=f"dns-{port}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        servers = [s for s in (self._udp, self._tcp) if s is not None]
        # Both loops wait out a poll interval before they notice: stop them together.
        stoppers = [threading.Thread(target=s.shutdown) for s in servers]
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join()
        for server in servers:
            server.server_close()
        self._udp = self._tcp = None
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads.clear()

    def __enter__(self) -> DNSServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _udp_handler(server: DNSServer) -> type[socketserver.BaseRequestHandler]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            data, sock = self.request
            reply = server.handle(data, 512)
            if reply is not None:
                sock.sendto(reply, self.client_address)

    return Handler


def _tcp_handler(server: DNSServer) -> type[socketserver.BaseRequestHandler]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock: socket.socket = self.request
            with contextlib.suppress(OSError):
                while True:
                    head = _read(sock, 2)
                    if head is None:
                        return
                    data = _read(sock, struct.unpack("!H", head)[0])
                    if data is None:
                        return
                    reply = server.handle(data, 65535)
                    if reply is None:
                        return
                    sock.sendall(struct.pack("!H", len(reply)) + reply)

    return Handler


def _read(sock: socket.socket, size: int) -> bytes | None:
    buf = b""
    while len(buf) < size:
        chunk = sock.recv(size - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf

