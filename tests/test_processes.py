"""`--processes N` must change nothing but where the runs execute: the verdicts, the conversations, the
order results come back in, and what the listeners hear are those of a run in one process.

And a worker process that dies loses nothing silently: its unfinished runs come back as `worker` errors
(not journaled, so `--resume` runs them again), while the other worker's runs are kept. No timings are
asserted anywhere.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from conftest import SCENARIOS
from oracle import oracle

from harness.cli.main import main
from harness.conformance.wire import Assessment
from harness.core.model import RunKey, RunResult, Turn
from harness.engine import processes
from harness.engine.config import RunConfig
from harness.engine.engine import Engine
from harness.engine.events import (
    Event,
    RequestRetried,
    RequestThrottled,
    RunFinished,
    RunSkipped,
    RunStarted,
    SingleProcess,
)
from harness.engine.plan import PlannedRun, plan
from harness.providers.registry import Target
from harness.scenario.loader import load_scenarios
from harness.testing.faults import Fault
from harness.testing.stub import StubServer
from harness.transport.retry import RetryPolicy

LATENCY = 0.01
STUB_IDS = re.compile(r"(call_stub_|chatcmpl-stub-|req_stub_)\d+")


@dataclass
class Outcome:
    results: list[RunResult]
    reported: list[int]  # plan indices in the order on_result saw them
    events: list[Event]


def _config(processes: int, concurrency: int) -> RunConfig:
    return RunConfig(trials=2, concurrency=concurrency, processes=processes,
                     retry=RetryPolicy(base_delay=0.0, max_delay=0.0))


def _runs(stubs: dict[str, StubServer], config: RunConfig) -> list[PlannedRun]:
    targets = [Target(provider=name, model="oracle", base_url=stub.base_url, api_key_env=None)
               for name, stub in stubs.items()]
    return plan(load_scenarios([SCENARIOS]), targets, config)


def _run(stubs: dict[str, StubServer], config: RunConfig) -> Outcome:
    runs = _runs(stubs, config)
    reported: list[int] = []
    events: list[Event] = []
    with Engine(config) as engine:
        engine.subscribe(events.append)
        results = engine.run_all(runs, lambda index, _: reported.append(index))
    return Outcome(results, reported, events)


@pytest.fixture(scope="module")
def stubs() -> Iterator[dict[str, StubServer]]:
    """Conformant, breaking two wire rules, rejecting every request, and failing two requests with a 500
    that is retried: so pass, fail and error all occur, and retries are told."""
    with ExitStack() as stack:
        yield {
            "good": stack.enter_context(StubServer(oracle(), latency=LATENCY)),
            "broken": stack.enter_context(
                StubServer(oracle(), latency=LATENCY, breaks={"duplicate_ids", "wrong_finish_reason"})),
            "rejecting": stack.enter_context(
                StubServer(oracle(), latency=LATENCY, faults=[Fault("status", status=400, every=True)])),
            "flaky": stack.enter_context(
                StubServer(oracle(), latency=LATENCY, faults=[Fault("status", status=500, request=2),
                                                               Fault("status", status=500, request=5)])),
        }


@pytest.fixture(scope="module")
def one_and_two(stubs: dict[str, StubServer]) -> tuple[Outcome, Outcome]:
    one = _run(stubs, _config(processes=1, concurrency=1))
    for stub in stubs.values():
        stub.reset_stats()
    two = _run(stubs, _config(processes=2, concurrency=4))
    return one, two


def _verdicts(results: list[RunResult]) -> list[tuple[str, str, list[str]]]:
    return [(r.key.label, r.outcome, [f.check for f in r.findings]) for r in results]


def _conversation(r: RunResult) -> str:
    # The stub numbers ids by arrival, which two processes reorder, and counts the ids in its usage.
    turns = [t.model_dump(mode="json", include={"request", "status", "error"})
             | {"reply": t.reply and t.reply.model_dump(mode="json", exclude={"usage"})} for t in r.turns]
    return STUB_IDS.sub(r"\1N", json.dumps([turns, r.final_answer]))


def test_two_processes_give_the_verdicts_and_conversations_of_one_in_plan_order(
        one_and_two: tuple[Outcome, Outcome]) -> None:
    one, two = one_and_two
    assert _verdicts(two.results) == _verdicts(one.results)
    assert [_conversation(r) for r in two.results] == [_conversation(r) for r in one.results]
    assert sorted(two.reported) == list(range(len(two.results)))
    assert {r.outcome for r in one.results} == {"pass", "fail", "error"}, "every verdict must occur"
    assert not any(isinstance(e, SingleProcess) for e in two.events)


def _heard(events: list[Event]) -> Counter[tuple[str, ...]]:
    """What a listener heard, as a multiset. A retry is counted by its type alone: the stub fails the
    2nd and 5th request to arrive, which are other runs when two processes interleave."""
    heard: Counter[tuple[str, ...]] = Counter()
    for e in events:
        if isinstance(e, RunStarted):
            heard[("started", e.planned.key.label)] += 1
        elif isinstance(e, RunFinished | RunSkipped):
            heard[(type(e).__name__, e.planned.key.label, e.result.outcome)] += 1
        elif isinstance(e, RequestRetried):
            heard[("retried",)] += 1
        else:
            heard[(type(e).__name__,)] += 1
    return heard


def test_the_parent_hears_every_event_of_its_workers(one_and_two: tuple[Outcome, Outcome]) -> None:
    one, two = one_and_two
    assert _heard(two.events) == _heard(one.events)
    assert _heard(one.events)[("retried",)] == 2


def test_a_workers_rate_limit_waits_are_told_to_the_parent() -> None:
    """Each worker paces itself at half the limit; its waits reach the parent's listeners and the end of
    run counts (`limiters.stats`)."""
    with StubServer(oracle()) as stub:
        config = RunConfig(trials=2, concurrency=4, processes=2, rpm=20, rate_window_s=0.5)
        runs = _runs({"limited": stub}, config)
        events: list[Event] = []
        with Engine(config) as engine:
            engine.subscribe(events.append)
            results = engine.run_all(runs)
        throttled = [e for e in events if isinstance(e, RequestThrottled)]
        assert [r.key for r in results] == [r.key for r in runs]
        assert throttled and {e.provider for e in throttled} == {"limited"}
        assert engine.limiters.stats()["limited"].waits == len(throttled)


def test_a_worker_that_dies_leaves_errors_not_holes(stubs: dict[str, StubServer],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker that starts the plan's last run dies there (os._exit, as a crash or the OOM killer
    would end it): its unfinished runs are `worker` errors told as skips, the other worker's are judged."""
    good = {"good": stubs["good"]}
    config = _config(processes=2, concurrency=2)
    runs = _runs(good, config)
    last = len(runs) - 1

    def die_at_the_last(index: int) -> None:
        if index == last:
            os._exit(3)

    monkeypatch.setattr(processes, "_before_run", die_at_the_last)
    reported: list[int] = []
    events: list[Event] = []
    with Engine(config) as engine:
        engine.subscribe(events.append)
        results = engine.run_all(runs, lambda index, _: reported.append(index))
    assert [r.key for r in results] == [r.key for r in runs]
    assert sorted(reported) == list(range(len(runs)))
    lost = [r for r in results if r.error is not None and r.error.kind == "worker"]
    assert results[last] in lost
    assert all("exit code 3" in r.error.message and "--resume" in r.error.message for r in lost
               if r.error is not None)
    assert {r.outcome for r in results if r not in lost} == {"pass"}, "the other worker's runs are judged"
    skipped = {e.planned.key for e in events if isinstance(e, RunSkipped) and e.reason == "worker"}
    assert skipped == {r.key for r in lost}


class _Hook:
    def __call__(self, key: RunKey, turn: Turn, wire: Assessment | None) -> Turn:
        return turn

    def close(self) -> None:
        pass


def test_a_run_that_cannot_be_split_runs_in_one_process_and_says_so(stubs: dict[str, StubServer],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """An `after_turn` hook (`--clients`) lives in this process: the plan runs here, said once."""
    def never(index: int) -> None:
        raise AssertionError("no worker process may run")

    monkeypatch.setattr(processes, "_before_run", never)
    config = _config(processes=2, concurrency=2)
    config.after_turn = _Hook()
    events: list[Event] = []
    with Engine(config) as engine:
        engine.subscribe(events.append)
        results = engine.run_all(_runs({"good": stubs["good"]}, config))
    said = [e.message for e in events if isinstance(e, SingleProcess)]
    assert len(said) == 1 and "--clients" in said[0]
    assert {r.outcome for r in results} == {"pass"}


def test_processes_below_one_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--provider", "local", "--processes", "0"]) == 2
    assert capsys.readouterr().err == "error: --processes must be at least 1, got 0\n"


def test_the_workers_shares_of_the_concurrency_add_up_to_it_not_past_it() -> None:
    """`--concurrency 4 --processes 3`: 2 + 1 + 1 runs in flight of the provider, never 2 + 2 + 2."""
    assert [processes.share(4, 3, n) for n in range(3)] == [2, 1, 1]
    assert [processes.share(64, 3, n) for n in range(3)] == [22, 21, 21]
    assert sum(processes.share(7, 2, n) for n in range(2)) == 7
    with StubServer(oracle(), latency=0.05) as stub:
        config = RunConfig(trials=4, concurrency=4, processes=3)
        runs = _runs({"good": stub}, config)
        assert len(processes.split(runs, 3)) == 3  # each worker has a part
        with Engine(config) as engine:
            results = engine.run_all(runs)
        assert {r.outcome for r in results} == {"pass"}
        assert stub.max_in_flight <= 4


def test_fewer_runs_in_flight_than_processes_run_in_one_process(stubs: dict[str, StubServer]) -> None:
    config = _config(processes=3, concurrency=2)
    events: list[Event] = []
    with Engine(config) as engine:
        engine.subscribe(events.append)
        results = engine.run_all(_runs({"good": stubs["good"]}, config))
    said = [e.message for e in events if isinstance(e, SingleProcess)]
    assert said == ["--processes 3: running in one process: --concurrency 2 allows fewer runs in flight than "
                    "--processes"]
    assert {r.outcome for r in results} == {"pass"}
