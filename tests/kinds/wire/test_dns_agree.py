"""dns.record `agree`: a list of resolvers asked one by one, and their disagreement
reported (one still serving the old answer). Two DNS servers on loopback."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import ValidationError

from runbook.sandbox.dnsserver import DNSServer, Record, Zone
from tests.kinds.wire.helpers import network, run_check

NEW = Zone("example.test", [Record("www.example.test", "A", "192.0.2.2", ttl=60)])
OLD = Zone("example.test", [Record("www.example.test", "A", "192.0.2.1", ttl=3600)])


def test_resolvers_that_disagree_are_reported(dns_server: Callable[..., DNSServer]) -> None:
    new, old, also_new = dns_server([NEW]), dns_server([OLD]), dns_server([NEW])
    servers = [new.resolver, old.resolver]
    got = run_check("dns.record", {"name": "www.example.test", "resolvers": servers,
                                   "agree": True}, network())
    assert not got.ok and got.outcome == "disagree"
    assert got.summary == (f"www.example.test A: the resolvers disagree: {new.resolver}: "
                           f"192.0.2.2 (TTL 60); {old.resolver}: 192.0.2.1 (TTL 3600)")
    same = run_check("dns.record", {"name": "www.example.test", "agree": True,
                                    "resolvers": [new.resolver, also_new.resolver],
                                    "values": ["192.0.2.2"]}, network())
    assert same.ok, same.summary


def test_agree_needs_a_list_of_resolvers() -> None:
    from runbook.kinds.wire.dns import DnsRecordParams

    with pytest.raises(ValidationError, match="`agree: true` needs `resolvers` to be a list"):
        DnsRecordParams(name="www.example.test", agree=True)
