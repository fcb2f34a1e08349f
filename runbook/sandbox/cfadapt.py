"""What CloudFront takes in a distribution's configuration and moto refuses, adapted on
its way to moto (the proxy keeps the configuration as it was sent, which the edge and
GetDistributionConfig use): a cache behaviour whose ``TargetOriginId`` names an origin
group (moto answers NoSuchOrigin) targets the group's first member in moto's copy."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from runbook.sandbox.cfrules import DIST_CONFIG, DIST_LIST
from runbook.sandbox.kit import Call, Kit, Reply, Route


def install(kit: Kit) -> None:
    kit.proxy.checks += [Route("PUT", DIST_CONFIG, adapt), Route("POST", DIST_LIST, adapt)]


def adapt(call: Call) -> Reply | None:
    """Never refuses: rewrites ``call.body`` for moto, keeping the original in ``sent``."""
    try:
        root = ET.fromstring(call.body)
    except ET.ParseError:
        return None
    groups: dict[str, str] = {}
    for group in root.iterfind(".//{*}OriginGroups/{*}Items/{*}OriginGroup"):
        gid = group.findtext("{*}Id") or ""
        first = group.findtext("{*}Members/{*}Items/{*}OriginGroupMember/{*}OriginId")
        if gid and first:
            groups[gid] = first
    if not groups:
        return None
    body = call.body
    for gid, first in groups.items():
        body = re.sub(rb"<TargetOriginId>\s*" + re.escape(gid.encode()) +
                      rb"\s*</TargetOriginId>", b"<TargetOriginId>" + first.encode() +
                      b"</TargetOriginId>", body)
    if body != call.body:
        call.sent, call.body = call.sent or call.body, body
    return None
