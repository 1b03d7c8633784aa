"""What the engine tells its listeners while it works: a run started, finished or was skipped, a request
was retried or waited for its rate limit, a local server failed, a provider's models listing could not
be read.

The front-ends do their jobs by subscribing — the CLI's journal, progress line and report collector, the
pytest session — instead of being wired into one loop. Handlers are called one at a time (under a
lock), in the order they subscribed, on the worker thread that produced the event: a handler never
races another, and one that writes to a file needs no lock of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from harness.core.model import RunKey, RunResult
from harness.engine.plan import PlannedRun


@dataclass(frozen=True)
class RunStarted:
    """A planned run was picked up by a worker (it may still be skipped at once)."""

    planned: PlannedRun


@dataclass(frozen=True)
class RunFinished:
    """A run was decided: judged (pass, fail), errored, or skipped for a reason of its own (no cassette).

    Its result is final and goes into the journal: a resumed run does not do it again.
    """

    planned: PlannedRun
    result: RunResult


SkipReason = Literal["deadline", "environment", "worker"]  # worker: its process (--processes) died


@dataclass(frozen=True)
class RunSkipped:
    """A run was never started or finished, through no fault of its own: the deadline passed, its local
    server failed, or the worker process running it died. Not journaled, so a resumed run does it; its
    result says why (a skip, or an error of kind deadline or worker)."""

    planned: PlannedRun
    result: RunResult
    reason: SkipReason


@dataclass(frozen=True)
class RequestRetried:
    """A request is about to be sent again; `note` says why and after how long (already redacted)."""

    key: RunKey
    turn: int
    note: str


@dataclass(frozen=True)
class RequestThrottled:
    """A request waited for its provider's rate limiter before it was sent (`reason`: rpm, tpm,
    retry-after, 429 backoff, or the provider's x-ratelimit header that asked for it)."""

    key: RunKey
    provider: str
    seconds: float
    reason: str


@dataclass(frozen=True)
class LauncherFailed:
    """A local server could not start or died; said once per target, its remaining runs are skipped."""

    target: str
    message: str
    during_run: bool  # False: found by `start_launchers`, before any run


@dataclass(frozen=True)
class DeclarationsUnknown:
    """A provider's `GET /models` could not be fetched or read (HTTP error, timeout, not JSON, damaged
    cassette): its declared capabilities stay unknown and the run goes on. Said once per provider."""

    provider: str
    message: str  # already redacted


@dataclass(frozen=True)
class SingleProcess:
    """`--processes N` could not split this run (see processes.py), so it runs in one; said once."""

    message: str


Event = (RunStarted | RunFinished | RunSkipped | RequestRetried | RequestThrottled | LauncherFailed
         | DeclarationsUnknown | SingleProcess)
Handler = Callable[[Event], None]


class Events:
    """The engine's listeners. `emit` calls them one at a time, in the order they subscribed."""

    def __init__(self) -> None:
        self._handlers: list[Handler] = []
        self._lock = threading.RLock()  # reentrant: a handler may emit (e.g. the engine reacting to one)

    def subscribe(self, handler: Handler) -> None:
        with self._lock:
            self._handlers.append(handler)

    def emit(self, event: Event) -> None:
        with self._lock:
            for handler in list(self._handlers):
                handler(event)
