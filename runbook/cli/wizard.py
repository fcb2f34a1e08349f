"""``runbook new``: a guided wizard that writes a plan from the library steps for the
common migrations (a new host name on a distribution, a distribution's origin switched to
a new bucket or version, an old host redirected to a new one, and a site moved to a new
host name: the new name, old paths redirected by a map, the old host redirected, DNS
last).

It offers what it can read as choices (distributions, zones, certificates, buckets and
versions: from AWS, or from a sandbox world with ``--world``) and asks for the rest; the
plan it writes validates with ``--strict`` and proves each change with checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from runbook.cli.app import app, guarded

MIGRATIONS = [
    ("add-host", "add a new host name to a distribution (and point DNS at it)"),
    ("switch-origin", "switch a distribution's origin to a new bucket or version"),
    ("redirect", "redirect an old host name to a new one (301, keeping path and query)"),
    ("move-host", "move a site to a new host name: the new name, old paths redirected by a "
                  "map, the old host redirected, DNS last"),
]
OTHER = "\0other"


class Cancelled(Exception):
    pass


class Asker:
    """questionary, with Ctrl-C as a clean stop and every answer required."""

    def _ask(self, question: Any) -> Any:
        from runbook.errors import Terminated

        try:
            answer = question.unsafe_ask()
        except Terminated:
            raise
        except (KeyboardInterrupt, EOFError):
            raise Cancelled from None
        if answer is None:
            raise Cancelled
        return answer

    def text(self, message: str, *, default: str = "", check: Any = None,
             optional: bool = False) -> str:
        import questionary

        def validate(value: str) -> bool | str:
            value = value.strip()
            if not value:
                return True if optional else "an answer is needed"
            return check(value) if check is not None else True

        return str(self._ask(questionary.text(message, default=default,
                                              validate=validate))).strip()

    def select(self, message: str, choices: list[tuple[str, str]], *, default: str | None = None,
               other: str | None = None, check: Any = None) -> str:
        """One of ``choices`` (value, label), or typed when ``other`` names what to type."""
        import questionary

        if not choices and other is not None:
            return self.text(other, check=check)
        items = [questionary.Choice(title=label, value=value) for value, label in choices]
        if other is not None:
            items.append(questionary.Choice(title="something else: type it", value=OTHER))
        answer = self._ask(questionary.select(
            message, choices=items, default=default if default in dict(choices) else None,
            use_search_filter=True, use_jk_keys=False,
            instruction="(arrows or type to filter, enter to choose)"))
        if answer == OTHER:
            return self.text(other or message, check=check)
        return str(answer)

    def confirm(self, message: str, default: bool = False) -> bool:
        import questionary

        return bool(self._ask(questionary.confirm(message, default=default)))


def _host(value: str) -> bool | str:
    from runbook.cli.newplan import HOST

    return True if HOST.match(value) else f"{value!r} is not a host name (like www.example.org)"


def _slug(value: str) -> bool | str:
    from runbook.plan.structure import SLUG

    return True if SLUG.match(value) else \
        "lower-case letters, digits, - and _ only, starting with a letter or digit"


@app.command("new")
@guarded
def new(
    out: Annotated[Path | None, typer.Argument(
        help="the plan file to write (default: NAME.yaml, after the plan's name)",
        show_default=False)] = None,
    world: Annotated[Path | None, typer.Option(
        help="read distributions, zones, certificates and buckets from this sandbox world "
             "file, and run the plan against a twin of it (default: read them from AWS)",
        show_default=False)] = None,
    env: Annotated[str, typer.Option(
        "--env", "-e", help="the environment's name in the plan "
        "(default: sandbox with --world, else prod)", show_default=False)] = "",
) -> None:
    """Write a plan for a common migration by answering questions (needs a terminal)."""
    from runbook.cli.newplan import Answers, render
    from runbook.cli.operator import has_terminal
    from runbook.cli.render import stdout_console
    from runbook.errors import UsageError

    if not has_terminal():
        raise UsageError("`runbook new` asks questions and needs a terminal; nothing was "
                         "written. Copy a plan from plans/ instead, or run it in a terminal")
    if out is not None and out.is_dir():
        raise UsageError(f"{out} is a folder: give the plan file to write, like "
                         f"{out / 'my-migration.yaml'}")
    if out is not None and not out.resolve().parent.is_dir():
        raise UsageError(f"cannot write {out}: the folder {out.parent} does not exist; "
                         "nothing was asked or written")
    con = stdout_console()
    facts = _facts(world, con)
    ask = Asker()
    try:
        migration = ask.select("Which migration?", MIGRATIONS)
        values = QUESTIONS[migration](ask, facts, con)
        name = ask.text("The plan's name (names its runs and locks):",
                        default=_default_name(migration, values), check=_slug)
        target = out or Path(f"{name}.yaml")
        if target.exists() and not ask.confirm(f"{target} exists. Replace it?"):
            raise Cancelled
    except Cancelled:
        con.print("cancelled: nothing was written", markup=False)
        raise typer.Exit(1) from None
    env_name = env or ("sandbox" if world else "prod")
    sandbox = None
    if world is not None:
        import os

        sandbox = os.path.relpath(world.resolve(), target.resolve().parent)
    text = render(Answers(migration, name, env_name, values, sandbox=sandbox,
                          region=facts.region, source=facts.source))
    target.write_text(text)
    where = f" --env {env_name}"
    con.print(f"wrote {target}: check it with `runbook validate --strict {target}`, then "
              f"`runbook plan {target}{where}` shows what it would change.", markup=False,
              highlight=False, soft_wrap=True)


def _facts(world: Path | None, con: Any) -> Any:
    from runbook.cli.newplan import Facts, from_aws, from_world

    if world is not None:
        return from_world(world)
    con.print("reading distributions, zones, certificates and buckets from AWS...",
              markup=False)
    from runbook.errors import AwsError

    try:
        return from_aws()
    except AwsError as exc:  # no credentials, no network: ask everything instead
        con.print(f"could not read AWS: {exc.message} Type the names instead (or give "
                  "--world FILE to read a sandbox world).", markup=False, highlight=False,
                  soft_wrap=True)
        import os

        return Facts("answers typed by hand (AWS could not be read)",
                     os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))


def _default_name(migration: str, v: dict[str, str]) -> str:
    import re

    host = v.get("host") or v.get("old_host") or v.get("site") or "site"
    if migration == "move-host":
        host = v.get("new_host") or host
    word = {"add-host": "add", "switch-origin": "origin", "redirect": "redirect",
            "move-host": "move"}[migration]
    return re.sub(r"[^a-z0-9]+", "-", f"{word}-{host.split('.')[0]}".lower()).strip("-")


def _pick_dist(ask: Asker, facts: Any, message: str, *, exclude: str = "") -> str:
    return ask.select(message, [(d.id, d.label()) for d in facts.distributions
                                if d.id != exclude], other="The distribution id:")


def _pick_zone(ask: Asker, facts: Any, host: str) -> str:
    zones = facts.zones_for(host) or facts.zones
    return ask.select(f"The hosted zone of {host}:", [(z, z) for z in zones],
                      other=f"The hosted zone of {host} (its name or id):")


def _covered(facts: Any, dist_id: str, host: str, con: Any) -> None:
    d = facts.dist(dist_id)
    if d is not None and d.cert_domains and not d.covers(host):
        con.print(f"note: the certificate of {dist_id} covers {', '.join(d.cert_domains)}, "
                  f"not {host}; the plan's preflight checks will stop it until it does",
                  markup=False, highlight=False, soft_wrap=True)


def _contains(ask: Asker) -> dict[str, str]:
    text = ask.text("Text the page must contain (empty: any 200 will do):", optional=True)
    return {"contains": text} if text else {}


def _add_host(ask: Asker, facts: Any, con: Any) -> dict[str, str]:
    dist = _pick_dist(ask, facts, "The distribution to serve the new name:")
    host = ask.text("The new host name:", check=_host)
    _covered(facts, dist, host, con)
    zone = _pick_zone(ask, facts, host)
    return {"distribution": dist, "host": host, "zone": zone, **_contains(ask)}


def _switch_origin(ask: Asker, facts: Any, con: Any) -> dict[str, str]:
    dist = _pick_dist(ask, facts, "The distribution whose origin changes:")
    d = facts.dist(dist)
    current = f" (it reads {d.origin_bucket}/{d.origin_path})" if d and d.origin_bucket else ""
    bucket = ask.select(f"The bucket to serve from{current}:",
                        [(b, b) for b in facts.buckets],
                        default=d.origin_bucket if d else None, other="The bucket's name:")
    versions = facts.versions_of(bucket)
    version = ask.select(f"The version folder in {bucket}:", [(v, v) for v in versions],
                         other=f"The version folder in {bucket} (like v1.42.0):")
    aliases = d.aliases if d else []
    site = ask.select("The site's host name, to fetch it after the switch:",
                      [(a, a) for a in aliases], other="The site's host name:", check=_host)
    return {"distribution": dist, "bucket": bucket, "version": version, "site": site,
            **_contains(ask)}


def _redirect(ask: Asker, facts: Any, con: Any) -> dict[str, str]:
    names = [(a, f"{a}  (on {d.id})") for d in facts.distributions for a in d.aliases]
    old = ask.select("The old host name, to redirect:", names, other="The old host name:",
                     check=_host)
    new = ask.text(f"The new host name {old} redirects to:", check=_host)
    serving = facts.serving(old)
    target = _redirect_target(ask, facts, con, old, serving.id if serving else "")
    values = {"old_host": old, "new_host": new, **target,
              "old_zone": _pick_zone(ask, facts, old)}
    if serving is not None:
        values["serving_distribution"] = serving.id
    return values


def _redirect_target(ask: Asker, facts: Any, con: Any, old: str,
                     exclude: str) -> dict[str, str]:
    """The distribution that will answer ``old`` with redirects, and its website bucket."""
    redirect = _pick_dist(ask, facts, f"The distribution that will answer {old} with the "
                                      "redirect:", exclude=exclude)
    _covered(facts, redirect, old, con)
    r = facts.dist(redirect)
    # its origin is an S3 website endpoint: that bucket is the one to make redirect
    website = (r.origin_domain or "").split(".s3-website", 1)[0] if r else ""
    bucket = ask.select(f"The bucket whose website answers for {redirect}:",
                        [(b, b) for b in facts.buckets], default=website or None,
                        other="The bucket's name:")
    return {"redirect_distribution": redirect, "redirect_bucket": bucket}


def _move_host(ask: Asker, facts: Any, con: Any) -> dict[str, str]:
    names = [(a, f"{a}  (on {d.id})") for d in facts.distributions for a in d.aliases]
    old = ask.select("The site's host name today:", names, other="The old host name:",
                     check=_host)
    new = ask.text(f"The new host name of the site ({old} will redirect to it):",
                   check=_host)
    serving = facts.serving(old)
    site = serving.id if serving is not None else _pick_dist(
        ask, facts, f"The distribution that serves {old}:")
    _covered(facts, site, new, con)
    new_zone = _pick_zone(ask, facts, new)
    path_map = ask.text(f"A map of old pages to new ones (CSV: old URL,new URL[,status], "
                        f"relative to the plan; empty: {old} keeps every path):",
                        optional=True)
    values = {"old_host": old, "new_host": new, "site_distribution": site,
              "new_zone": new_zone,
              **_redirect_target(ask, facts, con, old, site),
              "old_zone": _pick_zone(ask, facts, old)}
    if path_map:
        values["map"] = path_map
    return {**values, **_contains(ask)}


QUESTIONS = {"add-host": _add_host, "switch-origin": _switch_origin, "redirect": _redirect,
             "move-host": _move_host}
