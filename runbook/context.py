"""RunContext: everything a kind may use to reach the world, and nothing more.

The engine builds one per run from the resolved environment. Tests build one directly
with a fake clock, a scripted operator, and the loopback addresses of their servers.
The sandbox fills ``aws`` and ``network`` with its twin's endpoints, so kinds never know
whether they talk to AWS or to the twin.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import boto3


@dataclass(frozen=True)
class AwsSettings:
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    # Credentials for the sandbox twin (moto accepts anything); None: the standard chain.
    access_key_id: str | None = None
    secret_access_key: str | None = None
    # Attempts in all, the first included (botocore's total_max_attempts).
    max_attempts: int = 8
    # Seconds to connect and to wait for an answer (the state store wants both short).
    connect_timeout: float = 10
    read_timeout: float = 60


@dataclass(frozen=True)
class NetworkSettings:
    """How wire checks reach names.

    ``resolvers``: DNS servers ("ip" or "ip:port") used by ``system`` lookups; empty means
    the operating system's. When ``resolve_via_dns`` is true, HTTP and TLS checks resolve
    host names through ``resolvers`` instead of the OS (the sandbox: its DNS decides where a
    name goes). ``port_map`` rewrites destination ports (443 -> the edge's loopback port).
    ``ca_bundle`` is trusted in addition to the system CAs (the sandbox CA). When a name
    server found by walking NS has no port of its own, it is asked on the port of the
    resolver that named it (so loopback test servers on high ports work).
    ``proxy``: the environment's proxy URL for http checks, or "none"; None means the
    ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``/``NO_PROXY`` variables decide (never
    with ``resolve_via_dns``). ``client_cert``/``client_key``: a PEM client certificate
    and its key (absolute paths) presented to servers that ask for one.
    """

    resolvers: tuple[str, ...] = ()
    resolve_via_dns: bool = False
    port_map: dict[int, int] = field(default_factory=dict)
    ca_bundle: str | None = None
    timeout: float = 5.0
    proxy: str | None = None
    client_cert: str | None = None
    client_key: str | None = None


class Operator(Protocol):
    """The person at the keyboard, as the engine and kinds see them. Prompts live in
    ``cli/operator.py``; tests pass a scripted one. Every method returns False/None when the
    person declined or pressed Ctrl-C: only an explicit yes is yes."""

    def confirm(self, question: str, *, default: bool = False) -> bool: ...

    def choose(self, question: str, choices: list[tuple[str, str]]) -> str | None: ...

    def type_to_confirm(self, question: str, expected: str) -> bool: ...

    def ask_text(self, question: str) -> str | None: ...

    @property
    def interactive(self) -> bool: ...


class ClientNotMade(Exception):
    """Raised by :class:`UnmadeClient` on use; ``cause`` is why the client could not be made."""

    def __init__(self, service: str, cause: Exception) -> None:
        super().__init__(f"the {service} client could not be made: {cause}")
        self.service = service
        self.cause = cause


class UnmadeClient:
    """Stands in for a boto3 client that could not be made (a profile that does not
    exist, no region, a malformed endpoint). Using it raises :class:`ClientNotMade`: the
    error then surfaces inside the kind's AWS call, which kinds/aws/common.py translates
    with the operation and resource, so a check fails with a paragraph a person can act
    on rather than with botocore's words."""

    def __init__(self, service: str, cause: Exception) -> None:
        self.service = service
        self.cause = cause

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy, pickle and hasattr() probe these
            raise AttributeError(name)
        raise ClientNotMade(self.service, self.cause)


def _no_progress(message: str) -> None:
    return None


def _no_note(text: str, **data: Any) -> None:
    return None


@dataclass
class RunContext:
    environment: str = "test"
    run_id: str = "run-test"
    plan_dir: Path = field(default_factory=Path.cwd)
    aws: AwsSettings = field(default_factory=AwsSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    operator: Operator | None = None
    dry_run: bool = False
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    # Real seconds one plan second lasts when clock and sleep are scaled (a sandbox twin).
    time_scale: float | None = None
    # Progress lines for the live display ("waiting for E1... to deploy: InProgress, 3m left").
    progress: Callable[[str], None] = _no_progress
    # A milestone inside an action ("phase 2 (5%) passed", "pulled back before promotion"),
    # kept: the executor journals it as a ``note`` event of the step under way, with
    # ``data`` (JSON values) beside the text; the live view and the report show it.
    note: Callable[..., None] = _no_note
    # Secret values (from ${env:...}) that must never be written anywhere.
    secrets: set[str] = field(default_factory=set)
    # STS's answer for these credentials, once asked ({"account", "arn", "user_id"})
    caller: dict[str, str] | None = None
    _session: Any = field(default=None, repr=False)
    _clients: dict[tuple[str, str | None], Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def boto_session(self) -> boto3.Session:
        """The boto3 session for this environment (profile/region/keys); made once."""
        with self._lock:
            if self._session is None:
                import boto3

                kw: dict[str, Any] = {}
                if self.aws.profile:
                    kw["profile_name"] = self.aws.profile
                if self.aws.region:
                    kw["region_name"] = self.aws.region
                if self.aws.access_key_id:
                    kw["aws_access_key_id"] = self.aws.access_key_id
                    kw["aws_secret_access_key"] = self.aws.secret_access_key
                self._session = boto3.Session(**kw)
            return self._session  # type: ignore[no-any-return]

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client with adaptive retries and the environment's endpoint; cached.
        ``AWS_ENDPOINT_URL`` is honoured by botocore itself when no endpoint is set."""
        key = (service, region)
        with self._lock:
            cached = self._clients.get(key)
        if cached is not None:
            return cached
        from botocore.config import Config

        cfg = Config(retries={"total_max_attempts": self.aws.max_attempts,
                                      "mode": "adaptive"},
                     connect_timeout=self.aws.connect_timeout,
                     read_timeout=self.aws.read_timeout)
        kw: dict[str, Any] = {"config": cfg}
        if region:
            kw["region_name"] = region
        if self.aws.endpoint_url:
            kw["endpoint_url"] = self.aws.endpoint_url
        try:
            made = self.boto_session().client(service, **kw)  # type: ignore[call-overload]
        except Exception as exc:  # a missing profile, no region, a malformed endpoint...
            return UnmadeClient(service, exc)
        with self._lock:
            self._clients[key] = made
        return made

    def poll(
        self,
        probe: Callable[[], tuple[bool, str]],
        *,
        timeout: float,
        every: float,
        what: str,
    ) -> tuple[bool, str]:
        """Call ``probe`` until it says done or ``timeout`` seconds pass, reporting progress.

        ``probe`` returns (done, status line). Returns the last (done, status). Kinds use
        this for their waits (deploys, INSYNC) instead of boto3's silent waiters.
        """
        start = self.clock()
        attempt = 0
        while True:
            attempt += 1
            done, status = probe()
            elapsed = self.clock() - start
            if done:
                return True, status
            left = timeout - elapsed
            if left <= 0:
                return False, status
            self.progress(f"{what}: {status} (attempt {attempt}, {_fmt(left)} left)")
            self.sleep(min(every, max(left, 0.0)))


def _fmt(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"
