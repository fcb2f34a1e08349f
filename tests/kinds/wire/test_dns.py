"""dns.record against real DNS servers on loopback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from runbook.sandbox.dnsserver import DNSServer, Record, Zone
from tests.kinds.wire.helpers import PATIENCE, SILENCE, describe, network, run_check

ZONE = Zone(
    "example.test",
    [
        Record("example.test", "NS", "ns1.example.test"),
        Record("ns1.example.test", "A", "127.0.0.1"),
        Record("example.test", "CAA", '0 issue "amazon.com"'),
        Record("www.example.test", "CNAME", "edge.example.test"),
        Record("edge.example.test", "CNAME", "d111.cdn.test"),
        Record("site.example.test", "A", "192.0.2.1", ttl=60),
        Record("site.example.test", "A", "192.0.2.2", ttl=60),
        Record("site.example.test", "AAAA", "2001:db8::1"),
        Record("site.example.test", "TXT", "v=spf1 -all"),
        Record("gone.example.test", "CNAME", "nothere.example.test"),
        Record("slow.example.test", "A", "192.0.2.9"),
        Record("old.example.test", "A", "192.0.2.3", ttl=3600),
    ],
    servfail=frozenset({"broken.example.test"}),
    silent=frozenset({"slow.example.test"}),
)
CDN = Zone("cdn.test", [Record("d111.cdn.test", "A", "198.51.100.7", ttl=20)])

Start = Callable[..., DNSServer]


def two_on_one_port(start: Start, first: tuple[str, list[Zone]],
                    second: tuple[str, list[Zone]]) -> tuple[DNSServer, DNSServer]:
    """Two servers on different loopback addresses and the same port, as name servers
    found by walking NS are asked on the port of the server that named them."""
    for _ in range(20):
        a = start(first[1], host=first[0])
        try:
            return a, start(second[1], host=second[0], port=a.address[1])
        except OSError:  # that port is taken on the second address: try another
            a.stop()
    raise AssertionError("no port free on both addresses")


@pytest.fixture
def dns(dns_server: Start) -> DNSServer:
    return dns_server([ZONE, CDN])


def check(server: DNSServer, resolvers: Any = "system", wait: float = PATIENCE,
          **params: Any) -> Any:
    return run_check("dns.record", {"resolvers": resolvers, **params},
                     network(resolvers=(server.resolver,), timeout=wait))


# --- exists / absent ---------------------------------------------------------------------

def test_exists_passes_and_reports_values(dns: DNSServer) -> None:
    r = check(dns, name="site.example.test", type="A", exists=True)
    assert r.ok, r.summary
    assert sorted(r.observed["values"]) == ["192.0.2.1", "192.0.2.2"]
    assert r.observed["ttl"] == 60
    assert r.summary == "site.example.test A: 192.0.2.1, 192.0.2.2 (TTL 60)"


def test_exists_is_the_default_expectation(dns: DNSServer) -> None:
    r = check(dns, name="site.example.test", type="CAA")
    assert not r.ok
    assert r.summary == "site.example.test CAA: no records"


def test_exists_fails_on_nxdomain_with_its_own_outcome(dns: DNSServer) -> None:
    r = check(dns, name="nope.example.test", exists=True)
    assert not r.ok and r.outcome == "nxdomain"
    assert r.summary.startswith("nope.example.test: NXDOMAIN (nope.example.test does not exist")


def test_exists_false(dns: DNSServer) -> None:
    assert check(dns, name="site.example.test", type="CAA", exists=False).ok
    r = check(dns, name="site.example.test", type="A", exists=False)
    assert not r.ok and r.outcome == "mismatch"
    assert "expected no records, got 192.0.2." in r.summary


def test_absent_passes_on_nxdomain(dns: DNSServer) -> None:
    r = check(dns, name="new.example.test", absent=True)
    assert r.ok and r.summary == "new.example.test: NXDOMAIN, as expected"


def test_absent_fails_when_the_name_exists(dns: DNSServer) -> None:
    r = check(dns, name="site.example.test", type="CAA", absent=True)
    assert not r.ok
    assert r.summary == "site.example.test exists (no records of this type), expected NXDOMAIN"
    r = check(dns, name="site.example.test", type="A", absent=True)
    assert r.summary == "site.example.test exists (2 A record(s)), expected NXDOMAIN"


# --- values / contains / types -------------------------------------------------------------

def test_values_exact_set(dns: DNSServer) -> None:
    assert check(dns, name="site.example.test", values=["192.0.2.2", "192.0.2.1"]).ok
    r = check(dns, name="site.example.test", values=["192.0.2.1", "192.0.2.5"])
    assert not r.ok
    assert r.summary == ("site.example.test A: expected 192.0.2.1, 192.0.2.5, got 192.0.2.1, "
                         "192.0.2.2 (missing 192.0.2.5; unexpected 192.0.2.2)")


def test_contains_subset(dns: DNSServer) -> None:
    assert check(dns, name="site.example.test", contains=["192.0.2.2"]).ok
    r = check(dns, name="site.example.test", contains=["192.0.2.8"])
    assert r.summary == "site.example.test A: missing 192.0.2.8 (got 192.0.2.1, 192.0.2.2)"


@pytest.mark.parametrize(("rdtype", "value"), [
    ("AAAA", "2001:0db8:0:0::1"),  # compared as addresses, not as text
    ("TXT", "v=spf1 -all"),
    ("CAA", '0 issue "amazon.com"'),
    ("NS", "ns1.example.test."),
])
def test_types(dns: DNSServer, rdtype: str, value: str) -> None:
    name = "example.test" if rdtype in ("CAA", "NS") else "site.example.test"
    r = check(dns, name=name, type=rdtype, values=[value])
    assert r.ok, r.summary


def test_txt_mismatch_names_the_value(dns: DNSServer) -> None:
    r = check(dns, name="site.example.test", type="TXT", values=["v=spf1 include:x -all"])
    assert r.summary == ("site.example.test TXT: expected v=spf1 include:x -all, got "
                         "v=spf1 -all (missing v=spf1 include:x -all; unexpected v=spf1 -all)")


# --- CNAME chains ---------------------------------------------------------------------------

def test_follows_a_cname_chain_across_zones(dns: DNSServer) -> None:
    r = check(dns, name="www.example.test", values=["198.51.100.7"])
    assert r.ok, r.summary
    assert r.observed["chain"] == ["www.example.test", "edge.example.test", "d111.cdn.test"]
    assert r.summary == ("www.example.test A via edge.example.test -> d111.cdn.test: "
                         "198.51.100.7 (TTL 20)")


def test_cname_to(dns: DNSServer) -> None:
    assert check(dns, name="www.example.test", cname_to="edge.example.test.").ok
    r = check(dns, name="www.example.test", cname_to="d111.cdn.test")
    assert r.summary == "www.example.test A: is a CNAME to edge.example.test, not d111.cdn.test"
    r = check(dns, name="site.example.test", cname_to="d111.cdn.test")
    assert r.summary == "site.example.test A: is not a CNAME (expected one to d111.cdn.test)"


def test_type_cname_is_not_followed(dns: DNSServer) -> None:
    r = check(dns, name="www.example.test", type="CNAME", values=["edge.example.test"])
    assert r.ok and r.observed["chain"] == ["www.example.test"]


def test_cname_chain_to_nxdomain(dns: DNSServer) -> None:
    r = check(dns, name="gone.example.test", exists=True)
    assert not r.ok and r.outcome == "nxdomain"
    assert r.observed["chain"] == ["gone.example.test", "nothere.example.test"]
    assert r.summary.startswith(
        "gone.example.test -> nothere.example.test: NXDOMAIN (nothere.example.test does "
        "not exist")


def test_cname_loop_is_an_error(dns_server: Start) -> None:
    zone = Zone("loop.test", [Record("a.loop.test", "CNAME", "b.loop.test"),
                              Record("b.loop.test", "CNAME", "a.loop.test")])
    r = check(dns_server([zone]), name="a.loop.test")
    assert not r.ok and r.outcome == "error"
    assert r.summary == "a.loop.test A: CNAME loop"
    assert r.observed["chain"] == ["a.loop.test", "b.loop.test", "a.loop.test"]


def test_long_answers_come_over_tcp(dns_server: Start) -> None:
    """Forty TXT records do not fit a 512-byte UDP reply: truncated, then asked over TCP."""
    values = [f"token-{i:02d}-" + "x" * 40 for i in range(40)] + ["k=" + "y" * 600]
    server = dns_server([Zone("big.test", [Record("big.test", "TXT", v) for v in values])])
    r = check(server, name="big.test", type="TXT", values=values)
    assert r.ok, r.summary


# --- ttl_max --------------------------------------------------------------------------------

def test_ttl_max(dns: DNSServer) -> None:
    assert check(dns, name="site.example.test", ttl_max="1m").ok
    r = check(dns, name="old.example.test", ttl_max=300)
    assert r.summary == "old.example.test A: TTL 3600 is over the maximum 5m"


# --- failures of the servers ----------------------------------------------------------------

def test_servfail(dns: DNSServer) -> None:
    r = check(dns, name="broken.example.test")
    assert not r.ok and r.outcome == "servfail"
    assert r.summary == f"broken.example.test A: {dns.resolver} answered SERVFAIL"


def test_timeout_on_a_name_never_answered(dns: DNSServer) -> None:
    r = check(dns, name="slow.example.test", wait=SILENCE)
    assert not r.ok and r.outcome == "timeout"
    assert r.summary == f"slow.example.test A: {dns.resolver} did not answer within 0.4s"


def test_timeout_on_a_silent_server(dns: DNSServer) -> None:
    dns.silent = True
    r = check(dns, name="site.example.test", wait=SILENCE)
    assert r.outcome == "timeout"


def test_refused_for_a_zone_not_served(dns: DNSServer) -> None:
    r = check(dns, name="www.elsewhere.test")
    assert r.outcome == "refused"
    assert r.summary == f"www.elsewhere.test A: {dns.resolver} answered REFUSED"


def test_second_resolver_answers_when_the_first_is_silent(dns: DNSServer,
                                                          dns_server: Start) -> None:
    mute = dns_server([], silent=True)
    # one wait serves both resolvers: long enough for the second on a busy machine
    r = check(dns, [mute.resolver, dns.resolver], name="site.example.test", wait=1.0)
    assert r.ok and r.observed["server"] == dns.resolver


# --- resolvers: explicit list, system, authoritative ----------------------------------------

def test_explicit_resolvers_override_the_environment(dns: DNSServer,
                                                     dns_server: Start) -> None:
    other = dns_server([Zone("example.test", [Record("site.example.test", "A", "203.0.113.1")])])
    r = check(dns, [other.resolver], name="site.example.test", values=["203.0.113.1"])
    assert r.ok and r.observed["server"] == other.resolver


def test_authoritative_walks_ns_past_a_stale_resolver(dns_server: Start) -> None:
    """The environment's resolver still serves an old answer; the zone's own server,
    found through the NS records it hands out, has the new one."""
    truth, stale = two_on_one_port(dns_server, ("127.0.0.2", [Zone("example.test", [
        Record("example.test", "NS", "ns1.example.test"),
        Record("ns1.example.test", "A", "127.0.0.2"),
        Record("site.example.test", "A", "192.0.2.100"),
    ])]), ("127.0.0.1", [Zone("example.test", [
        Record("example.test", "NS", "ns1.example.test"),
        Record("ns1.example.test", "A", "127.0.0.2"),
        Record("site.example.test", "A", "192.0.2.1"),
    ])]))
    r = check(stale, "system", name="site.example.test", values=["192.0.2.100"])
    assert not r.ok
    r = check(stale, "authoritative", name="site.example.test", values=["192.0.2.100"])
    assert r.ok, r.summary
    assert r.observed["server"] == truth.resolver


def test_authoritative_follows_a_delegation(dns_server: Start) -> None:
    child, _ = two_on_one_port(dns_server, ("127.0.0.3", [Zone("sub.example.test", [
        Record("sub.example.test", "NS", "ns.sub.example.test"),
        Record("x.sub.example.test", "A", "192.0.2.50")])]), ("127.0.0.1", [Zone(
            "example.test", [
                Record("example.test", "NS", "ns1.example.test"),
                Record("ns1.example.test", "A", "127.0.0.1"),
                Record("sub.example.test", "NS", "ns.sub.example.test"),
                Record("ns.sub.example.test", "A", "127.0.0.3")])]))
    parent = f"127.0.0.1:{child.address[1]}"
    r = run_check("dns.record", {"name": "x.sub.example.test", "resolvers": "authoritative",
                                 "values": ["192.0.2.50"]}, network(resolvers=(parent,)))
    assert r.ok, r.summary
    assert r.observed["server"] == child.resolver


def test_authoritative_reports_silent_name_servers(dns_server: Start) -> None:
    parent = dns_server([Zone("example.test", [
        Record("example.test", "NS", "ns1.example.test"),
        Record("ns1.example.test", "A", "127.0.0.4"),  # nobody listens there
        Record("site.example.test", "A", "192.0.2.1")])])
    r = check(parent, "authoritative", name="site.example.test", wait=SILENCE)
    assert r.outcome == "timeout"
    assert r.summary.startswith("site.example.test A: 127.0.0.4:")


def test_zone_source_changes_are_seen_at_once(dns_server: Start) -> None:
    records = [Record("site.example.test", "A", "192.0.2.1")]
    server = dns_server(lambda: [Zone("example.test", list(records))])
    assert check(server, name="site.example.test", values=["192.0.2.1"]).ok
    records[0] = Record("site.example.test", "A", "192.0.2.2")
    assert check(server, name="site.example.test", values=["192.0.2.2"]).ok


# --- params and describe --------------------------------------------------------------------

@pytest.mark.parametrize(("params", "message"), [
    ({"name": "a.test", "absent": True, "values": ["1.2.3.4"]}, "cannot be combined"),
    ({"name": "a.test", "exists": False, "contains": ["1.2.3.4"]}, "cannot be combined"),
    ({"name": "a.test", "type": "CNAME", "cname_to": "b.test"}, "not cname_to"),
    ({"name": "a.test", "resolvers": ["dns.google"]}, "is not ip or ip:port"),
    ({"name": "a.test", "type": "MX"}, "Input should be"),
    ({"name": "a.test", "ttl": 5}, "Extra inputs are not permitted"),
])
def test_bad_params(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        describe("dns.record", params)


def test_describe() -> None:
    assert describe("dns.record", {"name": "trainee.tis.nhs.uk", "resolvers": "authoritative",
                                   "cname_to": "d1.cloudfront.net", "ttl_max": 300}) == \
        ("trainee.tis.nhs.uk A is a CNAME to d1.cloudfront.net and has a TTL of at most 5m "
         "(asked of its authoritative servers)")
    assert describe("dns.record", {"name": "x.test", "absent": True}) == \
        "x.test does not exist (asked of the resolvers)"
    assert describe("dns.record", {"name": "x.test", "resolvers": ["10.0.0.2:5353"]}) == \
        "x.test A exists (asked of 10.0.0.2:5353)"
