"""The twin's DNS zones, read from its Route53 (and CloudFront and S3) as they are now."""

from __future__ import annotations

import threading
import time
from typing import Any

from runbook.kinds.aws.common import CLOUDFRONT_ZONE_ID
from runbook.kinds.aws.s3common import website_domain
from runbook.sandbox.dnsserver import Record, Zone

CLOUDFRONT_ZONE = CLOUDFRONT_ZONE_ID  # aliases to CloudFront name this zone
EDGE_IP = "127.0.0.1"


class ZoneSource:
    """The zones the twin's DNS serves: its Route53 hosted zones (alias records to
    CloudFront or S3 websites answer with the edge's address), cloudfront.net and S3
    website names, and the hosts of the zones' name servers (all on this server)."""

    TTL = 0.25  # seconds a reading of Route53 is reused: a plan's polls see changes at once

    def __init__(self, route53: Any, cloudfront: Any, client: Any) -> None:
        self.r53 = route53
        self.cf = cloudfront
        self.client = client
        self._cache: tuple[float, list[Zone]] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> list[Zone]:
        with self._lock:
            if self._cache and time.monotonic() - self._cache[0] < self.TTL:
                return self._cache[1]
            zones = self._read()
            self._cache = (time.monotonic(), zones)
            return zones

    def _read(self) -> list[Zone]:
        zones: list[Zone] = []
        ns_hosts: set[str] = set()
        for page in self.r53.get_paginator("list_hosted_zones").paginate():
            for hz in page["HostedZones"]:
                records: list[Record] = []
                for rpage in self.r53.get_paginator("list_resource_record_sets").paginate(
                        HostedZoneId=hz["Id"]):
                    for rr in rpage["ResourceRecordSets"]:
                        records.extend(self._records(rr, ns_hosts))
                # Route53's SOA: TTL 900, so NXDOMAIN and NODATA are cached 15 minutes
                zones.append(Zone(hz["Name"], tuple(records), soa_ttl=900))
        edge_names = [Record(d["DomainName"], "A", EDGE_IP, 60)
                      for page in self.cf.get_paginator("list_distributions").paginate()
                      for d in page.get("DistributionList", {}).get("Items", []) or []]
        zones.append(Zone("cloudfront.net", tuple(edge_names)))
        zones.append(Zone("amazonaws.com", tuple(self._website_names())))
        for host in ns_hosts:
            zones.append(Zone(host, (Record(host, "A", EDGE_IP, 3600),)))
        return zones

    def _website_names(self) -> list[Record]:
        """Every bucket's S3 website endpoint, answered by the edge: only the spelling
        AWS's table gives for the bucket's region (a dash or a dot before it), as the
        other spelling resolves nowhere on AWS."""
        s3 = self.client("s3")
        out = []
        for b in s3.list_buckets().get("Buckets", []):
            region = s3.get_bucket_location(Bucket=b["Name"]).get("LocationConstraint") \
                or "us-east-1"
            out.append(Record(website_domain(b["Name"], region), "A", EDGE_IP, 60))
        return out

    @staticmethod
    def _records(rr: dict[str, Any], ns_hosts: set[str]) -> list[Record]:
        name, rtype = rr["Name"], rr["Type"]
        alias = rr.get("AliasTarget")
        if alias:
            # an alias to CloudFront or an S3 website: the edge answers for both
            return [Record(name, rtype, EDGE_IP if rtype == "A" else "::1", 60)]
        out = [Record(name, rtype, v["Value"], int(rr.get("TTL", 300)))
               for v in rr.get("ResourceRecords", [])]
        if rtype == "NS":
            ns_hosts.update(v["Value"].rstrip(".").lower() for v in rr.get("ResourceRecords",
                                                                            []))
        return out
