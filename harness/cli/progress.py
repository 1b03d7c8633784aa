"""The CLI's progress display, a listener of the engine's events.

On a terminal one line is redrawn in place (counts, elapsed time, ETA, and a retry or a rate-limit wait
as it happens); piped or in CI every run gets a plain line, and so does every retry, so a log shows why
a run was slow. Rate-limit waits can be one per request, so a log gets only the first of each provider:
the end of the run counts them all.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from harness.core.model import RunResult
from harness.engine.events import (
    DeclarationsUnknown,
    Event,
    LauncherFailed,
    RequestRetried,
    RequestThrottled,
    RunFinished,
    RunSkipped,
    SingleProcess,
)


class Progress:
    """Live progress on a terminal; one plain line per run when piped or in CI."""

    def __init__(self, total: int, out: TextIO, errors: TextIO | None = None) -> None:
        self.total = total
        self.out = out
        self.errors = errors or sys.stderr
        self.tty = out.isatty()
        self.done = 0
        self.counts = {"pass": 0, "fail": 0, "error": 0, "skip": 0}
        self.started = time.monotonic()
        self.throttled: set[str] = set()  # providers whose first rate-limit wait was said

    def on_event(self, event: Event) -> None:
        if isinstance(event, RunFinished | RunSkipped):
            self.update(event.result)
        elif isinstance(event, RequestRetried):
            self.retried(event)
        elif isinstance(event, RequestThrottled):
            self.waited(event)
        elif isinstance(event, LauncherFailed) and event.during_run:
            # Said when it happens (once per target); the runs it leaves out are counted at the end.
            self._break_line()
            print(f"error: {event.message}", file=self.errors, flush=True)
        elif isinstance(event, SingleProcess):
            self._break_line()
            print(f"note: {event.message}", file=self.errors, flush=True)
        elif isinstance(event, DeclarationsUnknown):
            self._break_line()
            print(f"warning: {event.message}", file=self.errors, flush=True)

    def update(self, result: RunResult) -> None:
        self.done += 1
        self.counts[result.outcome] += 1
        if not self.tty:
            print(f"[{self.done}/{self.total}] {result.outcome.upper():5} {result.key.label}", file=self.out,
                  flush=True)
            return
        self._status()

    def retried(self, event: RequestRetried) -> None:
        if not self.tty:
            print(f"      retry {event.key.label} turn {event.turn}: {event.note}", file=self.out, flush=True)
            return
        self._status(f"retrying {event.key.label}")

    def waited(self, event: RequestThrottled) -> None:
        if self.tty:
            self._status(f"rate limit: {event.provider} ({event.reason})")
        elif event.provider not in self.throttled:
            self.throttled.add(event.provider)
            print(f"      rate limit: {event.provider}: requests wait for its {event.reason} limit; the "
                  "end of the run counts the waits", file=self.out, flush=True)

    def _status(self, note: str = "") -> None:
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        summary = " ".join(f"{k} {v}" for k, v in self.counts.items())
        line = f"\r[{self.done}/{self.total}] {summary} | {elapsed:.0f}s elapsed, ETA {eta:.0f}s"
        self.out.write(f"{line} {note[:40]}\033[K" if note else f"{line} \033[K")
        self.out.flush()

    def _break_line(self) -> None:
        if self.tty and self.done:
            self.out.write("\n")
            self.out.flush()

    def finish(self) -> None:
        if self.tty:
            self.out.write("\n")
