"""The registry of check and action kinds.

Built-in kinds register themselves with ``@register`` in the modules ``BUILTIN`` lists, and
only there: ``shell``, ``manual`` and ``wait`` here, the network family in ``wire/`` and the
AWS family in ``aws/`` (each subpackage keeps its private helpers beside its kinds); outside
packages add kinds through the
entry-point group ``runbook.kinds`` (each entry point names a module, imported for its
registrations, or a kind class). Modules are imported on first use of the registry, so
``runbook --help`` stays fast and boto3/httpx/dnspython are imported only by the kinds'
methods that use them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any, TypeVar

from runbook.errors import RunbookError
from runbook.kinds.base import Action, Check, Kind

K = TypeVar("K", bound=type[Kind[Any]])

_checks: dict[str, type[Check[Any]]] = {}
_actions: dict[str, type[Action[Any]]] = {}
_loaded = False

# Every module that registers built-in kinds, and the only way they are loaded: no kinds
# module imports another for its registrations (tests/kinds/test_registry.py holds both).
BUILTIN = ("shell", "manual", "wait", "wire.dns", "wire.http", "wire.tls", "wire.request",
           "aws.s3", "aws.s3copy", "aws.s3site", "aws.cloudfront", "aws.cfmove",
           "aws.route53", "aws.r53record", "aws.acm", "aws.redirects", "aws.upload",
           "aws.metrics", "wire.replay", "aws.cffunction", "aws.cfstaged")


class RegistryError(RunbookError):
    exit_code = 2


def register(cls: K) -> K:
    """Class decorator: make a kind known by its ``kind`` name and role."""
    # issubclass narrows ``cls`` to the classes that declare ``role`` (Kind does not).
    if issubclass(cls, Check):
        _add(_checks, cls, cls.role)
    elif issubclass(cls, Action):
        _add(_actions, cls, cls.role)
    else:
        raise RegistryError(f"{cls.__module__}.{cls.__qualname__} is neither a check nor "
                            "an action")
    return cls


def _add(table: dict[str, Any], cls: type[Kind[Any]], role: str) -> None:
    name = cls.kind
    other = table.get(name)
    if other is not None and other is not cls:
        raise RegistryError(
            f"{role} kind {name!r} is registered twice: by {other.__module__}."
            f"{other.__qualname__} and by {cls.__module__}.{cls.__qualname__}"
        )
    table[name] = cls


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in BUILTIN:
        importlib.import_module(f"runbook.kinds.{name}")
    from importlib.metadata import entry_points

    for ep in entry_points(group="runbook.kinds"):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not take the tool down
            raise RegistryError(
                f"the kind plugin {ep.name!r} ({ep.value}) failed to load: {exc}"
            ) from exc
        if isinstance(obj, type) and issubclass(obj, Check | Action):
            register(obj)


def check(name: str) -> type[Check[Any]] | None:
    _load()
    return _checks.get(name)


def action(name: str) -> type[Action[Any]] | None:
    _load()
    return _actions.get(name)


def checks() -> dict[str, type[Check[Any]]]:
    _load()
    return dict(sorted(_checks.items()))


def actions() -> dict[str, type[Action[Any]]]:
    _load()
    return dict(sorted(_actions.items()))


def names() -> Iterator[str]:
    _load()
    yield from sorted(set(_checks) | set(_actions))
