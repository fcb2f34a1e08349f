"""The twin's `system` resolver caches as resolvers on the internet do: a changed record
is seen only when the old answer expires, a name looked up before it existed stays
missing for the SOA's negative TTL; the zone's own servers (`authoritative`) see changes
at once."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import wait_for, write_plan

pytestmark = pytest.mark.slow

WORLD = """\
sandbox: 1
zones:
  - name: example.org
    records:
      - {name: api.example.org, type: A, ttl: 3600, values: [192.0.2.1]}
"""

PLAN = """\
runbook: 1
name: move-api
environments:
  sandbox: {sandbox: world.yaml}
stages:
  - name: s
    steps:
      - id: move
        pre:
          - dns.record: {name: api.example.org, resolvers: system, values: [192.0.2.1]}
        action:
          route53.record: {zone: example.org, name: api.example.org, type: A, ttl: 3600,
                           values: [192.0.2.2]}
        post:
          - dns.record: {name: api.example.org, resolvers: RESOLVERS, values: [192.0.2.2]}
            within: 5m
            every: 30s
"""


def test_a_changed_record_is_seen_by_system_resolvers_only_when_its_ttl_ends(
        cli, tmp_path, small_twin):
    _twin, look = small_twin(WORLD)
    cached = write_plan(tmp_path, PLAN.replace("RESOLVERS", "system"))
    r = cli("run", cached, "--env", "sandbox", "--yes", "--state-dir", str(tmp_path / "s"))
    # a resolver that answered 192.0.2.1 keeps it for an hour: five minutes are not enough
    assert r.code == 1, r.stdout + r.stderr
    assert "192.0.2.1" in r.stdout and "step move rolled back and verified" in r.stdout
    fixed = write_plan(tmp_path, PLAN.replace("RESOLVERS", "authoritative"))
    ok = cli("run", fixed, "--env", "sandbox", "--yes", "--state-dir", str(tmp_path / "s"))
    assert ok.code == 0, ok.stdout + ok.stderr
    assert look.a("api.example.org") == ["192.0.2.2"]


def test_a_name_asked_before_it_exists_stays_missing_for_the_negative_ttl(small_twin):
    import dns.resolver

    twin, look = small_twin(WORLD)
    resolver = dns.resolver.Resolver(configure=False)
    assert twin.resolver is not None
    host, port = twin.resolver.address
    resolver.nameservers, resolver.port = [host], port
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("new.example.org", "A")
    r53 = look.client("route53")
    zone = r53.list_hosted_zones()["HostedZones"][0]["Id"]
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "CREATE", "ResourceRecordSet": {
            "Name": "new.example.org", "Type": "A", "TTL": 60,
            "ResourceRecords": [{"Value": "192.0.2.9"}]}}]})
    # the zone's own server answers at once (it reads Route53 every quarter second)
    assert wait_for(lambda: look.a("new.example.org") == ["192.0.2.9"])
    with pytest.raises(dns.resolver.NXDOMAIN):  # the resolver: not for 900 AWS seconds
        resolver.resolve("new.example.org", "A")
