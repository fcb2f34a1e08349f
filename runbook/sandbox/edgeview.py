"""What the edge reads of the twin, kept until the twin changes.

Reading the distributions through the API and a bucket's policy from S3 on every request
cost ~30 ms a request (a 1,000-entry redirect map took 26 s to verify). The proxy sees
every call that changes the twin, so the view keeps what it read and drops it all on
``changed()`` (the proxy's ``on_change``). A read that started before a change is never
kept under the new version, so a change is never hidden by a read that raced it.

What changes without a call, a deployment finishing, is not kept here: the edge asks the
CloudFront rules for the served configuration on every request (in memory), and only
the parsing of it is kept, by its bytes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

_MISSING = object()


class TwinView:
    def __init__(self, s3: Any) -> None:
        self.s3 = s3
        self.version = 0
        self._memo: dict[tuple[str, ...], tuple[int, Any]] = {}
        self._lock = threading.Lock()

    def changed(self) -> None:
        """The twin changed (the proxy saw a call that writes): read everything again."""
        with self._lock:
            self.version += 1
            self._memo.clear()

    def remember(self, key: tuple[str, ...], read: Callable[[], Any]) -> Any:
        """``read()``, or what it gave since the twin last changed."""
        with self._lock:
            version = self.version
            got = self._memo.get(key)
        if got is not None and got[0] == version:
            return got[1]
        value = read()
        with self._lock:
            if self.version == version:
                self._memo[key] = (version, value)
        return value

    # ---- S3 ----------------------------------------------------------------------------

    def bucket_policy(self, bucket: str) -> dict[str, Any] | None:
        def read() -> dict[str, Any] | None:
            try:
                text = self.s3.get_bucket_policy(Bucket=bucket)["Policy"]
            except Exception:  # no policy, or no bucket: CloudFront just gets AccessDenied
                return None
            parsed: dict[str, Any] = json.loads(text)
            return parsed
        return self.remember(("policy", bucket), read)  # type: ignore[no-any-return]

    def bucket_website(self, bucket: str) -> dict[str, Any] | None:
        def read() -> dict[str, Any] | None:
            try:
                got: dict[str, Any] = self.s3.get_bucket_website(Bucket=bucket)
            except Exception:  # NoSuchWebsiteConfiguration, NoSuchBucket
                return None
            return got
        return self.remember(("website", bucket), read)  # type: ignore[no-any-return]
