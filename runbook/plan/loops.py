"""A plan that would send visitors round in a circle: a website redirected to a host name
that the distribution in front of that same website is made to answer for, later in the
plan (an alias added or moved to it, or the name's DNS pointed at it). Every visitor of
that name would then be redirected to it again. Found from the plan alone, before
anything runs; names still holding a `${...}` that only a run resolves are left alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from runbook.plan.model import Step
from runbook.source import Source


def _known(value: Any) -> str | None:
    return value.lower().rstrip(".") if isinstance(value, str) and value and "${" not in value \
        else None


def _serves(step: Step) -> Iterator[tuple[str, str, str]]:
    """(name, distribution, how) for each name the step makes a distribution answer."""
    p, kind = step.action.params, step.action.kind
    if kind == "cloudfront.move_alias":
        name, dist = _known(p.get("alias")), _known(p.get("target"))
        if name and dist:
            yield name, dist, "moves the alias {name} to distribution {dist}"
    elif kind == "cloudfront.update":
        dist = _known(p.get("id"))
        aliases = p.get("aliases")
        added = aliases.get("add") if isinstance(aliases, dict) else aliases
        for alias in added if isinstance(added, list) and dist else []:
            name = _known(alias)
            if name and dist:
                yield name, dist, "adds the alias {name} to distribution {dist}"
    elif kind == "route53.record":
        alias = p.get("alias")
        name = _known(p.get("name"))
        dist = _known(alias.get("distribution")) if isinstance(alias, dict) else None
        if name and dist:
            yield name, dist, "points the DNS of {name} at distribution {dist}"


def redirect_loops(steps: list[Step]) -> Iterator[tuple[str, Source | None, str]]:
    """(message, where, hint) for each redirect that a later step turns into a loop."""
    served = [(name, dist, how, step) for step in steps for name, dist, how in _serves(step)]
    for step in steps:
        if step.action.kind != "s3.redirect":
            continue
        to, dist = _known(step.action.params.get("to")), \
            _known(step.action.params.get("distribution"))
        if not to or not dist:
            continue
        for name, other, how, by in served:
            if name == to and other == dist:
                yield (f"step {step.id!r} redirects every request to {to}, and step "
                       f"{by.id!r} {how.format(name=name, dist=other.upper())}, "
                       f"which serves that redirect: every visitor of {to} would be sent to "
                       f"{to} again (a redirect loop)", step.source,
                       "the redirect's `to` is the new address; the old one is what moves")
                break
