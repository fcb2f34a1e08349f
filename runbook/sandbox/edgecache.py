"""The edge's cache, per distribution, as CloudFront keeps one.

The key is the distribution, the host and the path, and what the behaviour's cache policy
(or legacy ``ForwardedValues``) puts in it: query strings, headers, cookies
(``cachepolicy``). An object lives for its ``Cache-Control`` max-age (``s-maxage``
first; ``no-cache``/``no-store``/``private``: the minimum TTL) within the Min/Max TTL
(the cache policy's, or the behaviour's), or the DefaultTTL without one; errors for ten
seconds (CloudFront's error caching minimum TTL), or a custom error response's
ErrorCachingMinTTL. Times are
twin seconds: the world's ``timing.scale`` turns them into real ones, as it does
deployments.

An invalidation removes what its paths match (``/*`` at the end matches a prefix) once it
is Completed, not before: a plan that does not wait for it may still see the old copy.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

ERROR_TTL = 10.0
CACHED = {200, 301, 302, 307, 308, 403, 404}

Key = tuple[str, str, str, str, str]  # distribution, host, path, query, headers/cookies


@dataclass
class _Entry:
    value: Any
    stored: float
    expires: float


@dataclass
class EdgeCache:
    scale: float = 1.0  # real seconds per twin second
    _entries: dict[Key, _Entry] = field(default_factory=dict)
    _purges: list[tuple[str, list[str], float]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def key(self, dist: str, host: str, path: str, query: str = "", extra: str = "") -> Key:
        """``query`` and ``extra``: what the behaviour's cache policy puts in the key
        (``cachepolicy.key_parts``)."""
        return dist, host.lower(), path, query, extra

    def get(self, key: Key) -> Any | None:
        now = time.time()
        with self._lock:
            self._apply(now)
            entry = self._entries.get(key)
            if entry is None or entry.expires <= now:
                self._entries.pop(key, None)
                return None
            return entry.value

    def put(self, key: Key, value: Any, status: int, cache_control: str | None,
            ttl: tuple[float, float, float], *, error_ttl: float | None = None) -> None:
        """Keep ``value``; ``error_ttl``: a custom error response's ErrorCachingMinTTL,
        which holds for what it answers (an SPA fallback's 200 included)."""
        if error_ttl is not None:
            if error_ttl > 0:
                now = time.time()
                with self._lock:
                    self._entries[key] = _Entry(value, now, now + error_ttl * self.scale)
            return
        if status not in CACHED:
            return
        lives = ERROR_TTL if status >= 400 else _ttl(cache_control, ttl)
        if lives <= 0:
            return
        now = time.time()
        with self._lock:
            self._entries[key] = _Entry(value, now, now + lives * self.scale)

    def invalidate(self, dist: str, paths: list[str], done_at: float) -> None:
        with self._lock:
            self._purges.append((dist, list(paths), done_at))

    def _apply(self, now: float) -> None:
        due = [p for p in self._purges if p[2] <= now]
        if not due:
            return
        self._purges = [p for p in self._purges if p[2] > now]
        for dist, paths, done_at in due:
            for key, entry in list(self._entries.items()):
                if key[0] == dist and entry.stored <= done_at and any(
                        _matches(p, key[2]) for p in paths):
                    del self._entries[key]


def _matches(pattern: str, path: str) -> bool:
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1])
    return path == pattern


def _ttl(cache_control: str | None, ttl: tuple[float, float, float]) -> float:
    """How long an object lives: its Cache-Control max-age (``s-maxage`` first) within
    [min, max]; without one the default; ``no-cache``/``no-store``/``private``: the min."""
    low, default, high = ttl
    if cache_control:
        cc = cache_control.lower()
        if re.search(r"\b(no-cache|no-store|private)\b", cc):
            return low
        found = re.search(r"s-maxage=(\d+)", cc) or re.search(r"max-age=(\d+)", cc)
        if found:
            return max(low, min(high, float(found.group(1))))
    return max(low, min(high, default))
