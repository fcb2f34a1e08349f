"""``dns.record``: what DNS answers for a name, asked of the servers a plan names.

``resolvers`` decides who is asked:

- ``system``: the environment's resolvers (``ctx.network.resolvers``), or the operating
  system's when it sets none. Recursive, so caches answer: fine to see what users see.
- ``authoritative``: the zone's own name servers, found by walking NS from the system
  resolvers and asked without recursion: no cache can answer for them, so a change is
  seen the moment the zone has it.
- a list of ``ip`` / ``ip:port``: exactly those servers.

CNAME chains are followed (unless ``type: CNAME``) and reported. NXDOMAIN, SERVFAIL and
silence are outcomes of their own ("nxdomain", "servfail", "timeout").
"""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from runbook.context import RunContext
from runbook.durations import Duration, format_duration
from runbook.kinds import register
from runbook.kinds.base import Check, CheckResult, Params

RecordType = Literal["A", "AAAA", "CNAME", "TXT", "NS", "CAA"]


def _canon(value: str, rdtype: str) -> str:
    """A value as compared: addresses in canonical form, names without trailing dot and
    lower-case, CAA without the quotes around its value."""
    value = value.strip()
    if rdtype in ("A", "AAAA"):
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            return value
    if rdtype in ("CNAME", "NS"):
        return value.rstrip(".").lower()
    if rdtype == "CAA":
        flags, tag, rest = [*value.split(None, 2), "", ""][:3]
        return f"{flags} {tag.lower()} {rest.strip().strip(chr(34))}"
    if rdtype == "TXT" and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


class DnsRecordParams(Params):
    name: str = Field(description="the name to look up, e.g. trainee.tis.nhs.uk")
    type: RecordType = Field("A", description="record type: A, AAAA, CNAME, TXT, NS or CAA")
    resolvers: Literal["system", "authoritative"] | list[str] = Field(
        "system", description="who is asked: `system` (the environment's resolvers, or the "
        "OS's), `authoritative` (the zone's own name servers, found by walking NS), or a "
        "list of ip / ip:port")
    exists: bool | None = Field(
        None, description="true: at least one record of `type` (after following CNAMEs); "
        "false: none. Default true when no other expectation is given")
    absent: bool = Field(
        False, description="true: the name must not exist at all (NXDOMAIN)")
    values: list[str] | None = Field(
        None, description="the exact set of values, in any order")
    contains: list[str] | None = Field(
        None, description="values that must be among the answers")
    cname_to: str | None = Field(
        None, description="the name must be a CNAME to this target (the chain's first link)")
    ttl_max: Duration | None = Field(
        None, description="the answer's TTL must be at most this (seconds, or 5m)")
    agree: bool = Field(
        False, description="with a list of `resolvers`: ask each on its own and fail when "
        "their answers differ (some still serve an old answer from cache)")

    @field_validator("resolvers")
    @classmethod
    def _servers(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list):
            from runbook.kinds.wire.resolver import parse_server

            if not value:
                raise ValueError("give at least one resolver, or `system`")
            for item in value:
                try:
                    parse_server(item)
                except ValueError as exc:
                    raise ValueError(f"resolver {item!r} is not ip or ip:port") from exc
        return value

    @model_validator(mode="after")
    def _coherent(self) -> DnsRecordParams:
        wants_records = self.values or self.contains or self.cname_to or self.exists
        if self.absent and (wants_records or self.ttl_max is not None):
            raise ValueError("`absent: true` cannot be combined with expectations about "
                             "records")
        if self.exists is False and (self.values or self.contains or self.cname_to):
            raise ValueError("`exists: false` cannot be combined with values, contains "
                             "or cname_to")
        if self.agree and not isinstance(self.resolvers, list):
            raise ValueError("`agree: true` needs `resolvers` to be a list of servers")
        if self.cname_to and self.type == "CNAME":
            raise ValueError("with `type: CNAME` check the target with `values`, not cname_to")
        return self


@register
class DnsRecord(Check[DnsRecordParams]):
    kind = "dns.record"
    Params = DnsRecordParams
    summary = "what DNS answers for a name: values, CNAME target, TTL, or that it is absent"

    def _asked(self) -> str:
        r = self.params.resolvers
        if r == "authoritative":
            return "its authoritative servers"
        if r == "system":
            return "the resolvers"
        return ", ".join(r)

    def describe(self) -> str:
        p = self.params
        head = f"{p.name} {p.type}"
        if p.absent:
            return f"{p.name} does not exist (asked of {self._asked()})"
        bits: list[str] = []
        if p.cname_to:
            bits.append(f"is a CNAME to {p.cname_to}")
        if p.values is not None:
            bits.append(f"is exactly {', '.join(p.values) or 'nothing'}")
        if p.contains:
            bits.append(f"includes {', '.join(p.contains)}")
        if p.ttl_max is not None:
            bits.append(f"has a TTL of at most {format_duration(p.ttl_max)}")
        if p.exists is False:
            bits.append("has no records")
        elif not bits:
            bits.append("exists")
        return f"{head} " + " and ".join(bits) + f" (asked of {self._asked()})"

    def run(self, ctx: RunContext) -> CheckResult:
        from runbook.kinds.wire import resolver as wire

        p = self.params
        timeout = ctx.network.timeout
        if isinstance(p.resolvers, list):
            servers = [wire.parse_server(s) for s in p.resolvers]
        else:
            servers = wire.system_servers(ctx.network.resolvers)
        if p.agree:
            differ = _disagreement(p.name, p.type, p.resolvers, timeout)
            if differ is not None:
                return CheckResult.failed(f"{p.name} {p.type}: the resolvers disagree: "
                                          f"{differ[0]}", "disagree", answers=differ[1])
        answer = wire.lookup(p.name, p.type, servers, timeout=timeout,
                             authoritative=p.resolvers == "authoritative")
        seen: dict[str, Any] = {
            "name": p.name, "type": p.type, "chain": answer.chain, "values": answer.values,
            "ttl": answer.ttl, "server": answer.server}
        chain = " -> ".join(answer.chain)
        if answer.outcome == "nxdomain":
            if p.absent or p.exists is False:
                return CheckResult.passed(f"{chain}: NXDOMAIN, as expected", **seen)
            return CheckResult.failed(f"{chain}: NXDOMAIN ({answer.detail}, asked "
                                      f"{answer.server})", "nxdomain", **seen)
        if answer.outcome != "ok":
            return CheckResult.failed(f"{p.name} {p.type}: {answer.detail}", answer.outcome,
                                      **seen)
        if p.absent:
            what = f"{len(answer.values)} {p.type} record(s)" if answer.values else \
                "no records of this type"
            return CheckResult.failed(f"{p.name} exists ({what}), expected NXDOMAIN", **seen)
        problems = self._problems(answer.chain, answer.values, answer.ttl)
        if problems:
            return CheckResult.failed(f"{p.name} {p.type}: " + "; ".join(problems), **seen)
        shown = ", ".join(answer.values) or "no records"
        via = f" via {' -> '.join(answer.chain[1:])}" if len(answer.chain) > 1 else ""
        ttl = f" (TTL {answer.ttl})" if answer.ttl is not None else ""
        return CheckResult.passed(f"{p.name} {p.type}{via}: {shown}{ttl}", **seen)

    def _problems(self, chain: list[str], values: list[str], ttl: int | None) -> list[str]:
        p = self.params
        got = {_canon(v, p.type) for v in values}
        out: list[str] = []
        if p.cname_to is not None:
            want = _canon(p.cname_to, "CNAME")
            if len(chain) < 2:
                out.append(f"is not a CNAME (expected one to {want})")
            elif chain[1] != want:
                out.append(f"is a CNAME to {chain[1]}, not {want}")
        if p.exists is False and values:
            out.append(f"expected no records, got {', '.join(values)}")
        wants = p.values is not None or p.contains or p.cname_to is not None
        if (p.exists or (p.exists is None and not wants)) and not values:
            out.append("no records" + (f" at the end of {' -> '.join(chain)}"
                                       if len(chain) > 1 else ""))
        if p.values is not None:
            want_set = {_canon(v, p.type) for v in p.values}
            if want_set != got:
                diff = []
                if want_set - got:
                    diff.append(f"missing {', '.join(sorted(want_set - got))}")
                if got - want_set:
                    diff.append(f"unexpected {', '.join(sorted(got - want_set))}")
                out.append(f"expected {', '.join(sorted(want_set)) or 'nothing'}, got "
                           f"{', '.join(sorted(got)) or 'nothing'} ({'; '.join(diff)})")
        if p.contains:
            missing = [v for v in p.contains if _canon(v, p.type) not in got]
            if missing:
                out.append(f"missing {', '.join(missing)} (got "
                           f"{', '.join(sorted(got)) or 'nothing'})")
        if p.ttl_max is not None and ttl is not None and ttl > p.ttl_max:
            out.append(f"TTL {ttl} is over the maximum {format_duration(p.ttl_max)}")
        return out


def _disagreement(name: str, rdtype: str, servers: Any, timeout: float
                  ) -> tuple[str, dict[str, Any]] | None:
    """Each server's own answer; (one line, the answers) when they are not all the same.
    After a change, resolvers that cached the old answer serve it for up to its TTL."""
    from runbook.kinds.wire import resolver as wire

    answers: dict[str, Any] = {}
    for text in servers:
        got = wire.lookup(name, rdtype, [wire.parse_server(text)], timeout=timeout)
        answers[text] = {"outcome": got.outcome, "values": sorted(got.values), "ttl": got.ttl}
    if len({(a["outcome"], tuple(a["values"])) for a in answers.values()}) <= 1:
        return None
    line = "; ".join(f"{srv}: {', '.join(a['values']) or a['outcome']}"
                     + (f" (TTL {a['ttl']})" if a["ttl"] is not None else "")
                     for srv, a in answers.items())
    return line, answers
