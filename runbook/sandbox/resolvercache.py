"""The twin's caching resolver: what `system` lookups (and the HTTP checks that resolve
names through the twin) see, as a resolver on the internet would answer them.

A recursive query is answered from the cache while the answer lives: its TTL for an
answer, the SOA's negative TTL (the smaller of the SOA record's TTL and its minimum) for
NXDOMAIN and NODATA, in twin seconds scaled like every other time of the twin. So a record
changed in Route53 is seen by `system` resolvers only when the old answer has expired,
and a name looked up before it existed stays missing for the negative TTL.

A query without recursion desired is what runbook's ``authoritative`` lookups send to a
zone's own name servers: it goes to the twin's authoritative server as it is, uncached.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from runbook.sandbox.dnsserver import DNSServer


@dataclass
class _Cached:
    reply: dns.message.Message
    stored: float
    expires: float


class CachingResolver(DNSServer):
    def __init__(self, upstream: DNSServer, scale: float = 1.0) -> None:
        super().__init__([])
        self.upstream = upstream
        self.scale = scale
        self._cache: dict[tuple[str, int, int], _Cached] = {}
        self._lock = threading.Lock()

    def handle(self, wire: bytes, max_size: int) -> bytes | None:
        self.queries += 1
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if not query.flags & dns.flags.RD or not query.question:
            return self.upstream.handle(wire, max_size)
        q = query.question[0]
        key = (str(q.name).lower(), int(q.rdtype), int(q.rdclass))
        now = time.time()
        with self._lock:
            hit = self._cache.get(key)
        if hit is None or hit.expires <= now:
            # the zones' server lives in this process: ask it directly, not over UDP, so a
            # slow reading of Route53 on a busy machine delays the answer but never loses it
            raw = self.upstream.handle(wire, 65535)
            if raw is None:
                return None  # as a resolver whose upstream is silent: no answer
            try:
                reply = dns.message.from_wire(raw)
            except dns.exception.DNSException:
                return None
            ttl = _ttl(reply)
            hit = _Cached(reply, now, now + ttl * self.scale)
            if ttl > 0:
                with self._lock:
                    self._cache[key] = hit
        out = dns.message.make_response(query)
        out.set_rcode(hit.reply.rcode())
        out.flags |= dns.flags.RA
        left = max(0, int((hit.expires - now) / self.scale)) if self.scale else 0
        for section, source in ((out.answer, hit.reply.answer),
                                (out.authority, hit.reply.authority),
                                (out.additional, hit.reply.additional)):
            for rrset in source:
                copy = dns.rrset.RRset(rrset.name, rrset.rdclass, rrset.rdtype)
                # the time the answer has left, as resolvers tell it
                for rdata in rrset:
                    copy.add(rdata, min(rrset.ttl, left))
                section.append(copy)
        try:
            return out.to_wire(max_size=max(max_size, query.payload if query.edns >= 0 else 0))
        except dns.exception.TooBig:
            out.answer.clear()
            out.authority.clear()
            out.additional.clear()
            out.flags |= dns.flags.TC
            return out.to_wire()


def _ttl(reply: dns.message.Message) -> int:
    """How long ``reply`` may be reused: 0 for errors, which resolvers retry."""
    rcode = reply.rcode()
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return 0
    if reply.answer and rcode == dns.rcode.NOERROR:
        return min(rrset.ttl for rrset in reply.answer)
    soa = next((r for r in reply.authority if r.rdtype == dns.rdatatype.SOA), None)
    if soa is None:
        return 0
    return int(min(soa.ttl, min(r.minimum for r in soa)))
