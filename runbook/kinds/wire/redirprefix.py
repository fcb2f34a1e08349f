"""Prefix entries of a redirect map: an old URL whose path ends in ``/*`` stands for every
path under it; a new URL ending in ``/*`` takes the rest of the path, one without ``*``
takes them all. One rule for the map's two readers: ``cloudfront.redirects`` (which
stores them) and ``http.redirects`` (which checks them by asking the prefix itself and
one made-up child path).
"""

from __future__ import annotations

from urllib.parse import urlsplit

# The made-up path under a prefix that http.redirects asks: deep, so that the whole rest
# of the path is seen carried, not only its last segment.
CHILD = "runbook-check/deeper/page"


def is_prefix(source: str) -> bool:
    return urlsplit(source).path.endswith("/*")


def star_problem(source: str, target: str) -> str | None:
    """Why the entry ``source -> target`` misuses ``*``, in words; None when it does not."""
    path = urlsplit(source).path
    if "*" in path and (not path.endswith("/*") or path.count("*") != 1):
        return (f"entry {source}: a `*` may only be the whole last segment of the old "
                "URL's path (https://old.example.org/docs/*: every path under /docs/)")
    if "*" in source and "*" not in path:
        return (f"entry {source}: a `*` is only read in the old URL's path "
                "(https://old.example.org/docs/*)")
    if "*" not in target:
        return None
    if not is_prefix(source):
        return (f"entry {source}: the new URL {target} ends in `*` (the rest of the path) "
                "but the old URL is not a prefix: end its path with /* too")
    if not target.endswith("/*") or target.count("*") != 1:
        return (f"entry {source}: in the new URL {target}, a `*` may only be the whole last "
                "segment, with no query after it (https://new.example.org/help/*)")
    return None


def check_map(value: dict[str, str] | None) -> dict[str, str] | None:
    """An inline map's validator: ValueError names the first entry that misuses ``*``."""
    for source, target in (value or {}).items():
        why = star_problem(source, target)
        if why:
            raise ValueError(why)
    return value


def location(target: str, rest: str) -> str:
    """Where a path under a prefix goes: ``rest`` (the path after the prefix's ``/``)
    appended for a target ending in ``*``, the target itself otherwise."""
    return target[:-1] + rest if target.endswith("*") else target


def probes(source: str, target: str) -> list[tuple[str, str]]:
    """What ``http.redirects`` asks for an entry: itself, or for a prefix the prefix
    itself (an empty rest) and one made-up child path (the rest carried when the target
    ends in ``*``)."""
    if not is_prefix(source):
        return [(source, target)]
    base = source[:-1]  # "https://old/docs/"
    return [(base, location(target, "")), (base + CHILD, location(target, CHILD))]
