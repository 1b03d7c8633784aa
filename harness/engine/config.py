"""What the engine is told: modes, trials, record mode, timeouts, retries, concurrency, rate limits, deadline.

The defaults of a run are declared here and in `RetryPolicy`, once: the application layer's options
and both front-ends' help texts read them from these classes. Stdlib only at run time (the types are
for the checker), so the front-ends can show the defaults without importing the openai SDK.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from harness.core.limits import DEFAULT_MAX_RESPONSE_BYTES
from harness.transport.retry import RetryPolicy

if TYPE_CHECKING:
    from harness.conformance.check_registry import CheckSelection
    from harness.conformance.wire import Assessment
    from harness.core.model import Mode, RunKey, Turn
    from harness.transport.record_modes import RecordModeName

MODES: tuple[Mode, ...] = ("nonstream", "stream")


class TurnHook(Protocol):
    """Told of every turn once the wire judged it; returns the turn to keep (e.g. with more findings).

    `wire` is None when no response could be judged (a transport error). Called from the engine's
    worker threads, possibly at once; closed when the engine closes. `run --clients` is one.
    """

    def __call__(self, key: RunKey, turn: Turn, wire: Assessment | None) -> Turn: ...

    def close(self) -> None: ...


@dataclass
class RunConfig:
    """Everything both front-ends decide; the engine only reads it."""

    modes: tuple[Mode, ...] = MODES
    trials: int = 1
    record_mode: RecordModeName | None = None  # None: live, no cassette
    cassette_dir: Path = Path("cassettes")
    timeout: float = 120.0  # seconds per request
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    concurrency: int = 4  # runs in flight per provider
    processes: int = 1  # worker processes sharing the plan (processes.py); concurrency is split among them
    # Rate limits (`--rpm`, `--tpm`): given here, they replace every provider's own (its registry entry);
    # `rate_processes` processes share each key (xdist workers), so this one takes ⌊limit / processes⌋.
    rpm: int | None = None
    tpm: int | None = None
    rate_processes: int = 1
    rate_window_s: float = 60.0  # "per minute"; only a benchmark or test scaling time changes it
    deadline: float | None = None  # seconds from the first run; later runs are skipped, never started
    run_timeout: float | None = None  # seconds per run, all its requests and retries together
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES  # a bigger body is an error of kind too_large
    checks: CheckSelection | None = None  # the wire and conversation checks that run; None: every one
    # Builds the command that reproduces (or records) one run, in the front-end's own words.
    command_for: Callable[[RunKey, str | None], str] | None = None
    after_turn: TurnHook | None = None  # the engine closes it when it closes
