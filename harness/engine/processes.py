"""`--processes N`: one plan run by N worker processes, each with its own engine, reported by the parent.

Why: a run's CPU is mostly the openai SDK and httpx building and parsing requests (about 2 ms a request
on this project's 2-core CI machine, more under GIL contention), so one process tops out at a few hundred
requests a second whatever `--concurrency` says. Worker processes each take their own GIL.

How:
- The plan is cut like `--shard` cuts it (`shard.split`): whole scenario x model units, balanced by
  expected requests, so a cell's trials and a scenario's two modes stay in one process.
- Each child runs its part with its share of `--concurrency` (the shares add up to it: 64 over 3 is
  22 + 21 + 21), its share of a provider's own cap likewise, and rate limits divided by N
  (`rate_processes`, as for xdist workers). The deadline's clock is the
  parent's: the children start from its `run_all` start (the monotonic clock is the machine's).
- Children send each event and result down their own pipe as it happens; the parent re-emits the events
  on its bus (journal, progress, report) and calls `on_result` with the plan index, one at a time, and
  returns results in plan order. A pipe per child, not a shared queue: a child that dies mid-write can
  then corrupt nothing but its own pipe, and its end of file tells the parent at once.
- A child that dies leaves its unfinished runs as `error` outcomes saying so; none is lost, and the
  parent never waits for a dead child. Ctrl-C: children get SIGINT, finish the runs in flight like the
  threaded engine does, send them, and stop; the parent keeps what came back and raises.

Start method: `fork`. Measured on the 2-core machine (`/tmp/procs_start.py`-style: start a child that
imports the engine and sends one message): fork 3-4 ms, forkserver and spawn 0.9-1.1 s each, since a
fresh interpreter imports pydantic and the openai SDK again. Fork also keeps what the front-end loaded
(plugins' checks, the reproduce command) without pickling it. Fork's hazard is a lock held by another
thread at the moment of the fork; the child touches only objects it creates (its own engine, pools and
clients) and the TLS context its pools share, made here before the fork (`lanes.shared_tls`), and the
CLI has no other thread when `run_all` starts. Where fork does not exist, or when the
run cannot be split (launched local servers, an `after_turn` hook such as `--clients`, a provider capped
below N runs in flight), the plan runs in this process, said once as `SingleProcess`.
"""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import signal
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

from harness.core.model import ErrorInfo, RunResult
from harness.engine.config import RunConfig
from harness.engine.events import (
    Event,
    RequestRetried,
    RequestThrottled,
    RunFinished,
    RunSkipped,
    RunStarted,
    SingleProcess,
)
from harness.engine.plan import PlannedRun
from harness.engine.shard import split
from harness.transport.lanes import shared_tls

if TYPE_CHECKING:
    from harness.engine.engine import Engine

OnResult = Callable[[int, RunResult], None]
# A test's way to make a child die at a chosen run (by plan index): called in the child before each run.
_before_run: Callable[[int], None] | None = None


def single_process_reason(config: RunConfig, runs: list[PlannedRun]) -> str | None:
    """Why this plan must run in one process, or None when it can be split."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return "this platform cannot fork"
    if config.after_turn is not None:
        return "the client checks (--clients) hold their client processes in this one"
    if config.record_mode != "none" and any(r.target.launcher is not None for r in runs):
        return "a local server started by this run (a launched target) cannot be shared between processes"
    if config.concurrency < config.processes:
        return f"--concurrency {config.concurrency} allows fewer runs in flight than --processes"
    capped = sorted({r.target.provider for r in runs
                     if r.target.concurrency is not None and r.target.concurrency < config.processes})
    if capped:
        return f"provider {', '.join(capped)} allows fewer runs in flight than --processes"
    return None


def run_in_processes(engine: Engine, runs: list[PlannedRun], on_result: OnResult | None,
                     threaded: Callable[[], list[RunResult]]) -> list[RunResult]:
    """Run `runs` over `engine.config.processes` children; `threaded` runs them here instead."""
    count = engine.config.processes
    reason = single_process_reason(engine.config, runs)
    if reason is not None:
        engine.events.emit(SingleProcess(f"--processes {count}: running in one process: {reason}"))
        return threaded()
    index_of = {id(run): i for i, run in enumerate(runs)}
    parts = [[index_of[id(r)] for r in part] for part in split(runs, count) if part]
    if len(parts) < 2:
        return threaded()  # one unit of work: nothing to share
    return _Parent(engine, runs, parts, on_result).run()


class _Parent:
    def __init__(self, engine: Engine, runs: list[PlannedRun], parts: list[list[int]],
                 on_result: OnResult | None) -> None:
        self.engine, self.runs, self.parts, self.on_result = engine, runs, parts, on_result
        self.results: list[RunResult | None] = [None] * len(runs)
        self.started = time.monotonic()
        self.failures: dict[Connection, str] = {}  # a child's traceback, when its engine raised

    def run(self) -> list[RunResult]:
        context = multiprocessing.get_context("fork")
        count = len(self.parts)
        children: dict[Connection, tuple[Any, list[int]]] = {}
        if self.engine.config.record_mode != "none":
            shared_tls()  # made once here rather than once in each child
        gc.freeze()  # the children's collector then skips what they inherit (and leaves its pages shared)
        for number, part in enumerate(self.parts):
            receive, send = context.Pipe(duplex=False)
            config = _child_config(self.engine.config, count, number)
            child = context.Process(target=_child, args=(config, count, number, self.engine.redact,
                                                         self.runs, part, send, self.started), daemon=True)
            child.start()
            send.close()  # the child's end: once it exits, our reads see end of file
            children[receive] = (child, part)
        gc.unfreeze()
        try:
            self._drain(children)
        except BaseException:
            # Ctrl-C or SIGTERM: the children finish the runs in flight and send them; a second one kills.
            for child, _ in children.values():
                if child.is_alive():
                    child.terminate()  # SIGTERM: the child stops like the threaded engine on Ctrl-C
            try:
                self._drain(children)
            finally:
                for child, _ in children.values():
                    child.kill()
            raise
        return [r for r in self.results if r is not None]

    def _drain(self, children: dict[Connection, tuple[Any, list[int]]]) -> None:
        while children:
            for conn in wait(list(children), timeout=1.0):
                assert isinstance(conn, Connection)
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    child, part = children.pop(conn)
                    child.join()
                    self._lost(part, self.failures.get(conn, f"ended with exit code {child.exitcode}"))
                    continue
                if message[0] == "done":
                    child, part = children.pop(conn)
                    child.join()
                    if conn in self.failures:
                        self._lost(part, self.failures[conn])
                elif message[0] == "failed":
                    self.failures[conn] = "failed:\n" + message[1]
                else:
                    self._receive(message)

    def _receive(self, message: tuple[Any, ...]) -> None:
        kind, *rest = message
        engine = self.engine
        if kind == "started":
            engine.events.emit(RunStarted(self.runs[rest[0]]))
        elif kind == "finished":  # the run's event, then its result, as the threaded engine hands them over
            index, result, reason = rest
            planned = self.runs[index]
            if reason is None:
                engine.events.emit(RunFinished(planned, result))
            else:
                if reason != "worker":
                    skipped = engine.deadline_skipped if reason == "deadline" else engine.environment_skipped
                    skipped.add(planned.key)
                engine.events.emit(RunSkipped(planned, result, reason))
            self._done(index, result)
        elif kind == "event":
            engine.events.emit(rest[0])
        elif kind == "stats":
            engine.limiters.add_elsewhere(rest[0])

    def _done(self, index: int, result: RunResult) -> None:
        self.results[index] = result
        if self.on_result:
            self.on_result(index, result)

    def _lost(self, part: list[int], how: str) -> None:
        """A child ended before it sent all its runs: each one left is an error, told like any result."""
        for index in part:
            if self.results[index] is not None:
                continue
            planned = self.runs[index]
            count = self.engine.config.processes
            message = (f"the worker process running this run (one of --processes {count}) {how}; the run did "
                       "not finish: --resume runs it again")
            result = RunResult(key=planned.key, family=planned.scenario.scenario.family, outcome="error",
                               error=ErrorInfo(kind="worker", message=message))
            self.engine.events.emit(RunSkipped(planned, result, "worker"))  # not journaled: resumed, redone
            self._done(index, result)


def share(total: int, count: int, number: int) -> int:
    """Child `number`'s share of `total` runs in flight: the shares of the `count` children add up to it."""
    return total // count + (number < total % count)


def _child_config(config: RunConfig, count: int, number: int) -> RunConfig:
    return dataclasses.replace(config, processes=1, concurrency=share(config.concurrency, count, number),
                               rate_processes=config.rate_processes * count)


def _child(config: RunConfig, count: int, number: int, redact: Any, runs: list[PlannedRun],
           part: list[int], conn: Connection, started: float) -> None:
    """A worker: runs its part of the plan with an engine of its own and sends everything to the parent.

    Only the parent interrupts it (SIGTERM, once): a terminal's Ctrl-C reaches the whole process group,
    and a second interrupt would cut the runs in flight that the first lets finish.
    """
    from harness.engine.engine import Engine  # the engine imports this module

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _interrupt_once)
    lock = threading.Lock()

    def send(*message: Any) -> None:
        with lock:
            conn.send(message)

    mine = [_divided(runs[i], count, number) for i in part]
    position = {id(planned): index for planned, index in zip(mine, part, strict=True)}

    def forward(event: Event) -> None:
        if isinstance(event, RunStarted):
            if _before_run is not None:
                _before_run(position[id(event.planned)])
            send("started", position[id(event.planned)])
        elif isinstance(event, RunFinished | RunSkipped):
            send("finished", position[id(event.planned)], event.result,
                 event.reason if isinstance(event, RunSkipped) else None)
        elif isinstance(event, RequestRetried | RequestThrottled):
            send("event", event)

    engine = Engine(config, redact)
    engine.subscribe(forward)
    try:
        engine.run_all(mine, started=started)  # each result went with its run's event
    except KeyboardInterrupt:
        pass  # the runs in flight were finished and sent; the parent keeps them
    except BaseException:  # its runs not sent become errors in the parent, with this
        send("failed", traceback.format_exc(limit=-3))
    finally:
        send("stats", engine.limiters.stats())
        engine.close()
        send("done")
        conn.close()


def _interrupt_once(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def _divided(planned: PlannedRun, count: int, number: int) -> PlannedRun:
    """The run with child `number`'s share of its provider's own cap on runs in flight."""
    cap = planned.target.concurrency
    if cap is None:
        return planned
    mine = share(cap, count, number)
    return dataclasses.replace(planned, target=dataclasses.replace(planned.target, concurrency=mine))
