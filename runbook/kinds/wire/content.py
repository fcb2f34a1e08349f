"""What a response means once read: its body decoded as a browser decodes it, and its
``Location`` resolved as httpx resolves it.

**Content codings.** Requests say ``Accept-Encoding: gzip, deflate`` (and ``br`` when a
Brotli decoder, ``brotli`` or ``brotlicffi``, is installed), as a browser does, so a
check sees what a browser gets from a CDN that compresses; a body is decoded before
``contains`` looks at it, also when the server compressed it unasked.

**Location.** A ``Location`` header's bytes are read as UTF-8 (latin-1 when they are not
UTF-8), then joined to the request's URL by httpx's rules: spaces and non-ASCII
percent-encoded (as UTF-8), ``//host/path`` taking the request's scheme, dot segments
removed. Several ``Location`` headers with one value are that value; with different
values the answer is refused, as browsers refuse it.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
import zlib
from collections.abc import Callable

from runbook.kinds.wire.parse import MAX_BODY, ProtocolError

_ABSOLUTE_PLAIN = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?"
                             r"(?:/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?(?:\?[^\s#\"<>\\^`{|}]*)?")


@functools.cache
def brotli() -> Callable[[bytes], bytes] | None:
    """A Brotli decoder, when one is installed (looked for once)."""
    for name in ("brotli", "brotlicffi"):
        if importlib.util.find_spec(name) is not None:
            module = importlib.import_module(name)
            return module.decompress  # type: ignore[no-any-return]
    return None


def accept_encoding() -> str:
    return "gzip, deflate, br" if brotli() else "gzip, deflate"


def _inflate(data: bytes, wbits: int) -> bytes:
    return zlib.decompressobj(wbits).decompress(data, MAX_BODY)  # a zip bomb stops here


def decode(data: bytes, coding: str) -> bytes:
    """``data`` with the codings of a Content-Encoding header undone (last applied,
    first undone); at most MAX_BODY bytes of it. ProtocolError when the body is not
    what the header says."""
    for name in reversed([c.strip().lower() for c in coding.split(",") if c.strip()]):
        try:
            if name in ("gzip", "x-gzip"):
                data = _inflate(data, 16 + zlib.MAX_WBITS)
            elif name == "deflate":
                try:  # zlib-wrapped, as the RFC says, or raw, as some servers send it
                    data = _inflate(data, zlib.MAX_WBITS)
                except zlib.error:
                    data = _inflate(data, -zlib.MAX_WBITS)
            elif name == "br" and (unbrotli := brotli()) is not None:
                data = unbrotli(data)[:MAX_BODY]
            elif name != "identity":
                raise ProtocolError(f"the body is encoded with {name!r}, which runbook "
                                    "cannot decode (and did not ask for)")
        except (zlib.error, ValueError, OSError) as exc:
            raise ProtocolError(f"the body is not valid {name} (Content-Encoding: "
                                f"{coding}): {exc}") from exc
        except Exception as exc:  # brotli's own error class
            if name != "br":
                raise
            raise ProtocolError(f"the body is not valid br (Content-Encoding: {coding}): "
                                f"{exc}") from exc
    return data


def header_text(value: str) -> str:
    """A header value read by the parser as latin-1, re-read as UTF-8 when its bytes are
    UTF-8 (a raw ``/café`` arrives as two bytes for the é)."""
    if value.isascii():
        return value
    raw = value.encode("latin-1", "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return value


def location(base: str, values: list[str]) -> str | None:
    """The absolute URL the ``Location`` headers ``values`` point at from ``base``."""
    if not values:
        return None
    if len(set(values)) > 1:
        raise ProtocolError(f"{len(values)} different Location headers: "
                            + ", ".join(repr(v[:80]) for v in values[:3]))
    text = values[0]
    if _ABSOLUTE_PLAIN.fullmatch(text):
        return text  # most redirects: absolute, nothing to encode or join
    import httpx

    try:
        target = httpx.URL(header_text(text).strip())
        if target.is_relative_url:
            target = httpx.URL(base).join(target)
        return str(target)
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise ProtocolError(f"Location {text[:80]!r} is not a URL: {exc}") from exc
