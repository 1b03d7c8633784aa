"""The engine: planned run -> RunResult, one at a time or a whole plan side by side. Knows nothing of pytest
or argparse; it tells its listeners what happens through `Events` (see events.py).

`Engine` holds what runs share — HTTP connection pools, lent one to each run in flight
(`transport/lanes.py`), the local servers it started, the redactor, the clock of the deadline — and
decides, per run, whether it can start at all: a passed deadline or a broken local server skips it
without a verdict (a resumed run does it), a missing cassette skips it with the command that records it.
`run_all` runs a plan concurrently with a per-provider limit and returns results in plan order, whatever
order they finish in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import httpx2
import openai

from harness.conformance.triggers import trigger_expectations
from harness.core.model import ErrorInfo, Finding, Provenance, RunKey, RunResult
from harness.engine.config import RunConfig
from harness.engine.conversation import converse
from harness.engine.declarations import ModelsUnavailable, fetch_models
from harness.engine.events import (
    DeclarationsUnknown,
    Event,
    Events,
    Handler,
    LauncherFailed,
    RequestRetried,
    RequestThrottled,
    RunFinished,
    RunSkipped,
    RunStarted,
    SkipReason,
)
from harness.engine.plan import PlannedRun
from harness.engine.processes import OnResult, run_in_processes
from harness.engine.rate_limits import Limiters
from harness.engine.usage import count_usage
from harness.providers.launchers import Launcher, LauncherError, launcher_class
from harness.providers.registry import Target
from harness.transport.bounds import Bound, bounded, bounded_pool
from harness.transport.cassettes import (
    MISS,
    REPLAY_BASE_URL,
    CassetteTransport,
    Redactor,
    cassette_path,
    cassette_problem,
    check_cassette,
    open_cassette,
)
from harness.transport.client import RequestLimits, mark_sent
from harness.transport.lanes import Lanes
from harness.transport.paced import PacedTransport


class Engine:
    """Holds what runs share: HTTP connection pools per target, local servers, the redactor, the listeners."""

    def __init__(self, config: RunConfig, redact: Redactor | None = None) -> None:
        self.config = config
        self.redact = redact or Redactor()
        self.events = Events()
        self._lanes = Lanes(lambda tls: bounded_pool(keepalive=1, verify=tls))  # a pool per run in flight
        self._lock = threading.Lock()
        self._launchers: dict[str, Launcher] = {}  # one per launcher id, created on first use
        self._started: float | None = None  # the deadline's clock: from run_all, or from the first run
        # Runs skipped because the deadline passed: never started, so a resumed run does them.
        self.deadline_skipped: set[RunKey] = set()
        # A local server that cannot start or died is the environment's fault, not the model's: its runs
        # are not judged (a resumed run does them) and the failure is reported once per target.
        self.environment_failures: dict[str, str] = {}
        self.environment_skipped: set[RunKey] = set()
        self._declarations: dict[str, Any] | None = None  # each provider's `/models` body, once fetched
        self.limiters = Limiters(config)  # one per provider: its models spend the same key's limits

    def subscribe(self, handler: Handler) -> None:
        self.events.subscribe(handler)

    def close(self) -> None:
        self._lanes.close()
        for launcher in self._launchers.values():
            launcher.close()
        if self.config.after_turn is not None:
            self.config.after_turn.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _in_flight(self, target: Target) -> int:
        """How many of a provider's runs may be in flight: `--concurrency`, or the provider's own cap."""
        return max(1, min(self.config.concurrency, target.concurrency or self.config.concurrency))

    def _wire(self, target: Target, lane: httpx2.BaseTransport, key: RunKey | None = None) -> PacedTransport:
        """The way to the provider for live traffic: a lane of the target's pools, behind its rate limiter."""
        def waited(seconds: float, reason: str) -> None:
            if key is not None:
                self.events.emit(RequestThrottled(key, target.provider, seconds, reason))

        return PacedTransport(lane, self.limiters.of(target), waited)

    def _base_url(self, target: Target, live: bool) -> str:
        if target.launcher is None:
            assert target.base_url is not None
            return target.base_url
        if not live:
            return REPLAY_BASE_URL
        return self._launcher(target.launcher).base_url(target.model)

    def _launcher(self, launcher_id: str) -> Launcher:
        """The run's launcher of this id (`launcher:` in the providers file), created once."""
        with self._lock:
            if launcher_id not in self._launchers:
                self._launchers[launcher_id] = launcher_class(launcher_id)()
            return self._launchers[launcher_id]

    # ------------------------------------------------------------------------------- local servers

    def start_launchers(self, targets: Iterable[Target]) -> dict[str, str]:
        """Start the local server of every launched target before any run; the failures, by target label.

        A broken local setup then costs one message instead of one error per planned run.
        """
        if self.config.record_mode == "none":
            return {}
        for target in targets:
            if target.launcher is None or target.label in self.environment_failures:
                continue
            try:
                self._base_url(target, live=True)
            except LauncherError as exc:
                self._environment_failed(target, str(exc), during_run=False)
        return dict(self.environment_failures)

    def _environment_failed(self, target: Target, failure: str, during_run: bool) -> str:
        """Record a target's local server failure once, and tell the listeners the first time."""
        with self._lock:
            first = target.label not in self.environment_failures
            message = self.environment_failures.setdefault(target.label, self.redact(failure))
        if first:
            self.events.emit(LauncherFailed(target.label, message, during_run))
        return message

    def _launcher_died(self, target: Target, grace: float = 0.0) -> str | None:
        """The failure of the target's local server, if it could not start or has died."""
        if target.label in self.environment_failures:
            return self.environment_failures[target.label]
        launcher = self._launchers.get(target.launcher) if target.launcher is not None else None
        if launcher is None:
            return None
        failure = launcher.died(target.model, grace)
        if failure is None:
            return None
        return self._environment_failed(target, str(failure), during_run=True)

    # -------------------------------------------------------------------------------- declarations

    def declarations(self, targets: Iterable[Target]) -> dict[str, Any]:
        """Each provider's `GET /models` body (JSON), by provider: fetched on the first call, once per
        provider, recorded and replayed like the runs (see `declarations.py`); later calls return the same.

        A provider left out declared nothing knowable: launched, not recorded, or its listing failed —
        told once as `DeclarationsUnknown`, never an error of the run.
        """
        if self._declarations is not None:
            return self._declarations
        bodies: dict[str, Any] = {}
        first: dict[str, Target] = {}
        for target in targets:
            first.setdefault(target.provider, target)
        for provider, target in first.items():
            if target.launcher is not None or target.base_url is None:
                continue
            self.redact.add(target.api_key)
            live = self.config.record_mode != "none"
            try:
                with self._lanes.lend(target.label) if live else nullcontext(None) as lane:
                    wire = self._wire(target, lane) if lane is not None else None
                    body = fetch_models(target, self.config, wire, self.redact)
            except ModelsUnavailable as exc:
                message = self.redact(f"{provider}: {exc}; its declared capabilities stay unknown")
                self.events.emit(DeclarationsUnknown(provider, message))
                continue
            if body is not None:
                bodies[provider] = self.redact.data(body)  # nothing shown or saved may quote a key
        self._declarations = bodies
        return bodies

    # ---------------------------------------------------------------------------------------- runs

    def run(self, planned: PlannedRun) -> RunResult:
        """Run one planned run, tell the listeners, and return its result, scrubbed of every known secret."""
        if self._started is None:
            self._started = time.monotonic()
        self.events.emit(RunStarted(planned))
        event: Event
        result, skipped = self._run(planned)
        result.triggers = trigger_expectations(planned.scenario.scenario.expect)  # the vendor view's input
        result.source = planned.scenario.source  # a pack's summary groups by it
        result = self.redact.model(result)  # traffic may quote the key; nothing shown or saved may
        if skipped is None:
            event = RunFinished(planned, result)
        else:
            event = RunSkipped(planned, result, skipped)
        self.events.emit(event)
        return result

    def _run(self, planned: PlannedRun) -> tuple[RunResult, SkipReason | None]:
        """The result, and why the run never started ("deadline", "environment") or None."""
        target, key = planned.target, planned.key
        cfg = self.config
        self.redact.add(target.api_key)
        if cfg.deadline is not None and self._started is not None \
                and time.monotonic() - self._started > cfg.deadline:
            with self._lock:
                self.deadline_skipped.add(key)
            return _skip(planned, f"run deadline of {cfg.deadline:g}s passed"), "deadline"
        if target.label in self.environment_failures:
            return self._not_run(planned, self.environment_failures[target.label]), "environment"
        cassette = None
        live = cfg.record_mode != "none"
        if cfg.record_mode is not None:
            cassette = cassette_path(cfg.cassette_dir, key)
            if cfg.record_mode == "none" and not cassette.is_file():
                hint = cfg.command_for(key, "once") if cfg.command_for else ""
                found = f"no cassette {cassette}" + (f"; record it with: {hint}" if hint else "")
                return _skip(planned, found), None
        try:
            base_url = self._base_url(target, live)
        except Exception:  # a local server that cannot start: the environment, reported once
            failure = self._launcher_died(target)
            if failure is None:
                raise
            return self._not_run(planned, failure), "environment"
        with self._lanes.lend(target.label) if live else nullcontext(None) as lane:
            return self._play(planned, base_url, cassette, lane)

    def _play(self, planned: PlannedRun, base_url: str, cassette: Path | None,
              lane: httpx2.BaseTransport | None) -> tuple[RunResult, SkipReason | None]:
        """The conversation, live on `lane` (None: replayed from `cassette`), and its result."""
        rs, target, key, cfg = planned.scenario, planned.target, planned.key, self.config
        # Only live traffic meets the rate limiter; a cassette hands it only the requests it cannot answer.
        inner = self._wire(target, lane, key) if lane is not None else None
        transport: CassetteTransport | None = None
        if cassette is not None:
            assert cfg.record_mode is not None
            try:
                if cassette.is_file():
                    check_cassette(cassette)
                loaded = open_cassette(cassette, cfg.record_mode, self.redact)
            except Exception as exc:  # bad input of this cell: reported, never executed nor overwritten
                error = ErrorInfo(kind="config", message=self._rerecord(key, cassette_problem(cassette, exc)))
                return RunResult(key=key, family=rs.scenario.family, outcome="error", error=error,
                                 cassette=str(cassette)), None
            transport = CassetteTransport(loaded, inner)
        http = httpx2.Client(transport=transport or inner, event_hooks={"request": [mark_sent]})
        client = openai.OpenAI(
            base_url=base_url,
            api_key=target.api_key or "not-needed",
            max_retries=0,
            timeout=cfg.timeout,
            http_client=http,
            default_headers=target.headers or None,
        )

        def retried(turn: int, note: str) -> None:
            self.events.emit(RequestRetried(key, turn, note))

        started = time.perf_counter()
        limits = RequestLimits(timeout=cfg.timeout, max_response_bytes=cfg.max_response_bytes)
        try:
            with bounded(*self._bounds()):
                result = converse(rs, target, key, client, transport, cfg.retry, self.redact, retried,
                                  cfg.after_turn, limits, cfg.checks)
        finally:
            http.close()
            if transport is not None and cfg.record_mode != "none":
                transport.save()
        result.duration_s = time.perf_counter() - started
        lost = result.error is not None and result.error.kind in ("connection", "timeout")
        if lost and lane is not None and (failure := self._launcher_died(target, grace=2.0)):
            return self._not_run(planned, failure), "environment"
        # A run whose every response was cut before it completed leaves nothing to record, hence no file.
        result.cassette = str(cassette) if cassette is not None and cassette.is_file() else None
        if transport is not None:
            result.provenance = _provenance(transport.provenance)
            if transport.unplayed:
                result.findings.append(
                    Finding(
                        check="cassette.unplayed",
                        severity="warning",
                        actual=transport.unplayed,
                        message=f"{transport.unplayed} interaction(s) in {cassette} were not played back",
                    )
                )
        count_usage(result, target.price)
        if cfg.command_for:
            result.reproduce = cfg.command_for(key, None)
        if result.error is not None and result.error.kind == "not_found" and cassette is not None \
                and result.error.message.startswith(MISS):
            problem = (f"{cassette}: no recorded response matches turn {len(result.turns)}'s request (the "
                       "cassette was recorded for another conversation, or edited)")
            result.error = ErrorInfo(kind="config", message=self._rerecord(key, problem))
        if result.error is not None and result.error.kind == "deadline":
            with self._lock:  # cut by the deadline: not journaled, so a resumed run does it again
                self.deadline_skipped.add(key)
            return result, "deadline"
        return result, None

    def _rerecord(self, key: RunKey, problem: str) -> str:
        command = self.config.command_for(key, "all") if self.config.command_for else None
        return f"{problem}; re-record it with: {command}" if command else f"{problem}; re-record it"

    def _bounds(self) -> list[Bound]:
        """The bounds of a run starting now: `--deadline` (from the first run) and `--run-timeout`."""
        cfg, bounds = self.config, []
        if cfg.deadline is not None and self._started is not None:
            bounds.append(Bound(self._started + cfg.deadline, "deadline",
                                f"the run was in flight when the --deadline of {cfg.deadline:g}s passed; "
                                "--resume runs it again"))
        if cfg.run_timeout is not None:
            bounds.append(Bound.after(cfg.run_timeout, "timeout",
                                      f"the run passed its --run-timeout of {cfg.run_timeout:g}s"))
        return bounds

    def _not_run(self, planned: PlannedRun, failure: str) -> RunResult:
        with self._lock:
            self.environment_skipped.add(planned.key)
        return _skip(planned, "not run: " + failure.splitlines()[0])

    def run_all(self, runs: list[PlannedRun], on_result: OnResult | None = None,
                started: float | None = None) -> list[RunResult]:
        """Run concurrently (per-provider limit), report each as it finishes, return in plan order.

        `on_result(index, result)` is called one at a time. `started`: a worker process's deadline clock.
        """
        self._started = started if started is not None else time.monotonic()
        if self.config.processes > 1:
            return run_in_processes(self, runs, on_result, lambda: self._threads(runs, on_result))
        return self._threads(runs, on_result)

    def _threads(self, runs: list[PlannedRun], on_result: OnResult | None) -> list[RunResult]:
        results: list[RunResult | None] = [None] * len(runs)
        slots = {r.target.provider: self._in_flight(r.target) for r in runs}
        limits = {provider: threading.Semaphore(n) for provider, n in slots.items()}
        done_lock = threading.Lock()

        def one(i: int) -> None:
            with limits[runs[i].target.provider]:
                result = self.run(runs[i])
            results[i] = result
            if on_result:
                with done_lock:
                    on_result(i, result)

        workers = max(1, sum(slots.values()))
        pool = ThreadPoolExecutor(max_workers=min(workers, max(1, len(runs))))
        try:
            for future in [pool.submit(one, i) for i in range(len(runs))]:
                future.result()
        except BaseException:
            # Ctrl-C: runs not yet started are dropped; those in flight finish and are still reported.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()
        return [r for r in results if r is not None]


def _skip(planned: PlannedRun, reason: str) -> RunResult:
    family = planned.scenario.scenario.family
    return RunResult(key=planned.key, family=family, outcome="skip", skip_reason=reason)


def _provenance(seen: list[Provenance]) -> Provenance:
    if not seen:
        return "live"
    if "recorded" in seen:
        return "recorded"
    return "replayed" if all(p == "replayed" for p in seen) else "live"
