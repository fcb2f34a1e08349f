"""How two worlds differ where a plan cares: ``runbook sandbox diff A B``.

Stage and prod name different resources (``tis-trainee-ui-stage``, ``tis-trainee-ui-prod``),
so resources are paired by the role the plan gives them: two captures of one plan record,
for every parameter that names a resource, which resource it named (``captured.roles``).
What is not paired by a role is paired by its name. Then each pair is compared on what
decides a migration: which bucket a distribution reads and whether that bucket lets it,
ownership and public access, versions served, records and their TTLs, certificates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runbook.sandbox.world import Bucket, Distribution, RecordSpec, World


@dataclass
class Pairs:
    """A's resource -> B's, per kind ("distribution", "bucket", "record", "certificate")."""

    of: dict[str, dict[str, str]] = field(default_factory=dict)
    roles: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add(self, kind: str, a: str, b: str, role: str | None = None) -> None:
        self.of.setdefault(kind, {}).setdefault(a, b)
        if role:
            self.roles.setdefault((kind, a), []).append(role)

    def get(self, kind: str, a: str) -> str | None:
        return self.of.get(kind, {}).get(a)


def pair(a: World, b: World) -> Pairs:
    pairs = Pairs()
    ra = a.captured.roles if a.captured else {}
    rb = b.captured.roles if b.captured else {}
    for role in sorted(set(ra) & set(rb)):
        kind_a, _, id_a = ra[role].partition(" ")
        kind_b, _, id_b = rb[role].partition(" ")
        if kind_a == kind_b:
            pairs.add(kind_a, id_a, id_b, role)
    for kind, names_a, names_b in (
        ("distribution", [d.id for d in a.distributions], {d.id for d in b.distributions}),
        ("bucket", [x.name for x in a.buckets], {x.name for x in b.buckets}),
        ("certificate", [c.arn or c.ref for c in a.certificates],
         {c.arn or c.ref for c in b.certificates}),
        ("record", [r.name for z in a.zones for r in z.records],
         {r.name for z in b.zones for r in z.records}),
    ):
        for name in names_a:
            if name in names_b:
                pairs.add(kind, name, name)
    return pairs


def _label(kind: str, a: str, b: str) -> str:
    return f"{kind} {a}" if a == b else f"{kind} {a} ~ {b}"


def _show(value: Any) -> str:
    if value is None or value == [] or value == "":
        return "none"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _origin_access(d: Distribution) -> str:
    config = d.config or {}
    origins = (config.get("Origins") or {}).get("Items") or []
    for o in origins:
        if o.get("OriginAccessControlId"):
            return "OAC"
        if (o.get("S3OriginConfig") or {}).get("OriginAccessIdentity"):
            return "OAI"
    return "unknown" if not config else "none"


def differences(a: World, b: World, *, names: tuple[str, str] = ("A", "B")) -> list[str]:
    """Lines of ``what: A's value vs B's value``, paired resource by paired resource."""
    pairs = pair(a, b)
    na, nb = names
    out: list[str] = []

    def differ(label: str, what: str, va: Any, vb: Any) -> None:
        if va != vb:
            out.append(f"{label}: {what}: {_show(va)} in {na}, {_show(vb)} in {nb}")

    dists_a = {d.id: d for d in a.distributions}
    dists_b = {d.id: d for d in b.distributions}
    buckets_a = {x.name: x for x in a.buckets}
    buckets_b = {x.name: x for x in b.buckets}
    for ida, idb in sorted(pairs.of.get("distribution", {}).items()):
        da, db = dists_a.get(ida), dists_b.get(idb)
        label = _label("distribution", ida, idb)
        if da is None or db is None:
            out.append(f"{label}: exists only in {na if da else nb}")
            continue
        ba, bb = da.origin.bucket, db.origin.bucket
        if ba and bb and pairs.get("bucket", ba) != bb:
            role = "a bucket the plan names" if bb in pairs.of.get("bucket", {}).values() \
                else "a bucket the plan does not name"
            out.append(f"{label}: reads bucket {ba} in {na}, but {bb} in {nb} ({role}; the "
                       f"plan's counterpart of {ba} there is "
                       f"{pairs.get('bucket', ba) or 'none'})")
        elif (ba is None) != (bb is None) or (ba is None and da.origin.domain != db.origin.domain
                                              and ida == idb):
            differ(label, "origin", ba or da.origin.domain, bb or db.origin.domain)
        # the first outage of the incident: a bucket that does not let CloudFront read it
        ga, gb = (_granted(dist, buckets) for dist, buckets in ((da, buckets_a),
                                                               (db, buckets_b)))
        if ga is not None and gb is not None and ga != gb:
            out.append(f"{label}: the bucket it reads lets it read (a CloudFront grant): "
                       f"{'yes' if ga else 'no'} in {na}, {'yes' if gb else 'no'} in {nb}")
        differ(label, "origin path (the version served)", da.origin.path, db.origin.path)
        differ(label, "origin access", _origin_access(da), _origin_access(db))
        differ(label, "enabled", da.enabled, db.enabled)
        differ(label, "default root object", da.default_root_object, db.default_root_object)
        if ida == idb:
            differ(label, "aliases", sorted(da.aliases), sorted(db.aliases))
        else:
            differ(label, "number of aliases", len(da.aliases), len(db.aliases))
    for xa, xb in sorted(pairs.of.get("bucket", {}).items()):
        out += _bucket(buckets_a.get(xa), buckets_b.get(xb), pairs, (na, nb))
    out += _records(a, b, pairs, (na, nb))
    certs_a = {c.arn or c.ref: c for c in a.certificates}
    certs_b = {c.arn or c.ref: c for c in b.certificates}
    for ca, cb in sorted(pairs.of.get("certificate", {}).items()):
        x, y = certs_a.get(ca), certs_b.get(cb)
        if x is None or y is None:
            continue
        label = _label("certificate", ca, cb)
        differ(label, "status", x.status, y.status)
        if (x.days < 30) != (y.days < 30):
            out.append(f"{label}: expires in {x.days} day(s) in {na}, {y.days} in {nb}")
    return out


def _granted(d: Distribution, buckets: dict[str, Bucket]) -> bool | None:
    """Whether the bucket ``d`` reads grants it; None when it reads no bucket we hold."""
    bucket = buckets.get(d.origin.bucket or "")
    return None if bucket is None else d.id in bucket.grant


def _bucket(x: Bucket | None, y: Bucket | None, pairs: Pairs,
            names: tuple[str, str]) -> list[str]:
    na, nb = names
    if x is None or y is None:
        return []
    label = _label("bucket", x.name, y.name)
    out: list[str] = []
    # a grant names a distribution: compare them through the distribution pairs
    granted = {pairs.get("distribution", g) or f"?{g}" for g in x.grant}
    if granted != set(y.grant):
        if not x.grant or not y.grant:
            none, some = (na, nb) if not x.grant else (nb, na)
            who = y.grant if not x.grant else x.grant
            out.append(f"{label}: no CloudFront grant in {none}; grants {_show(sorted(who))} "
                       f"in {some}")
        else:
            out.append(f"{label}: CloudFront grants {_show(sorted(x.grant))} in {na}, "
                       f"{_show(sorted(y.grant))} in {nb}")
    for what, va, vb in (("object ownership", x.ownership, y.ownership),
                         ("block public access", x.block_public_access, y.block_public_access),
                         ("versioning", x.versioning, y.versioning),
                         ("region", x.region, y.region),
                         ("website redirect", x.website_redirect is not None,
                          y.website_redirect is not None)):
        if va != vb:
            out.append(f"{label}: {what}: {_show(va)} in {na}, {_show(vb)} in {nb}")
    if x.name == y.name:
        keys_a, keys_b = set(x.listing) | set(x.objects), set(y.listing) | set(y.objects)
        for only, where in ((keys_a - keys_b, na), (keys_b - keys_a, nb)):
            if only:
                shown = ", ".join(sorted(only)[:5]) + (" ..." if len(only) > 5 else "")
                out.append(f"{label}: {len(only)} object(s) only in {where}: {shown}")
    return out


def _records(a: World, b: World, pairs: Pairs, names: tuple[str, str]) -> list[str]:
    na, nb = names

    def table(w: World) -> dict[str, list[RecordSpec]]:
        out: dict[str, list[RecordSpec]] = {}
        for z in w.zones:
            for r in z.records:
                out.setdefault(r.name.rstrip(".").lower(), []).append(r)
        return out

    ta, tb = table(a), table(b)
    out: list[str] = []
    for ra_name, rb_name in sorted(pairs.of.get("record", {}).items()):
        xs, ys = ta.get(ra_name.rstrip(".").lower(), []), tb.get(rb_name.rstrip(".").lower(), [])
        label = _label("record", ra_name.rstrip("."), rb_name.rstrip("."))
        types_a = {r.type: r for r in xs}
        types_b = {r.type: r for r in ys}
        if set(types_a) != set(types_b):
            out.append(f"{label}: types {_show(sorted(types_a))} in {na}, "
                       f"{_show(sorted(types_b))} in {nb}")
        for t in sorted(set(types_a) & set(types_b)):
            x, y = types_a[t], types_b[t]
            if (x.alias is None) != (y.alias is None):
                out.append(f"{label} {t}: {'an alias' if x.alias else 'values'} in {na}, "
                           f"{'an alias' if y.alias else 'values'} in {nb}")
            elif x.alias is None and x.ttl != y.ttl:
                out.append(f"{label} {t}: TTL {x.ttl} in {na}, {y.ttl} in {nb}")
            elif x.alias and y.alias and pairs.get("distribution", x.alias) != y.alias:
                out.append(f"{label} {t}: alias of {x.alias} in {na}, of {y.alias} in {nb}")
    return out
