"""Running a matrix side by side must not change a single verdict, nor the order results come back in.

Each run owns its client, cassette and tool simulator; only the connection pools and the per-provider
limits are shared. If any state leaked between runs (a shared message list, a simulator, a finding
list), the concurrent verdicts would drift from the sequential ones; this test compares them whole.
No timings are asserted: the stubs' small latency only makes sure that runs really overlap.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from conftest import SCENARIOS
from oracle import oracle

from harness.core.model import RunResult
from harness.engine.config import RunConfig
from harness.engine.engine import Engine
from harness.engine.plan import plan
from harness.providers.registry import Target
from harness.scenario.loader import load_scenarios
from harness.testing.stub import Fault, StubServer

LATENCY = 0.02
TRIALS = 2
STUB_IDS = re.compile(r"(call_stub_|chatcmpl-stub-|req_stub_)\d+")


@dataclass
class Matrices:
    sequential: list[RunResult]
    concurrent: list[RunResult]
    reported: list[int]  # plan indices in the order on_result saw them, concurrent run
    in_flight: dict[str, tuple[int, int]]  # provider -> peak requests in flight, sequential and concurrent


@pytest.fixture(scope="module")
def matrices() -> Iterator[Matrices]:
    """The same matrix, sequential then 8 at a time, over three providers: conformant, breaking two wire
    rules, and rejecting every request; so pass, fail and error all occur."""
    with ExitStack() as stack:
        stubs = {
            "good": stack.enter_context(StubServer(oracle(), latency=LATENCY)),
            "broken": stack.enter_context(
                StubServer(oracle(), latency=LATENCY, breaks={"duplicate_ids", "wrong_finish_reason"})
            ),
            "rejecting": stack.enter_context(
                StubServer(oracle(), latency=LATENCY, faults=[Fault("status", status=400, every=True)])
            ),
        }
        sequential, _ = run_matrix(stubs, concurrency=1)
        peaks = {name: stub.max_in_flight for name, stub in stubs.items()}
        for stub in stubs.values():
            stub.max_in_flight = 0
        concurrent, reported = run_matrix(stubs, concurrency=8)
        in_flight = {name: (peaks[name], stub.max_in_flight) for name, stub in stubs.items()}
        yield Matrices(sequential, concurrent, reported, in_flight)


def verdicts(results: list[RunResult]) -> list[tuple[str, str, list[str]]]:
    return [(r.key.label, r.outcome, [f.check for f in r.findings]) for r in results]


def run_matrix(stubs: dict[str, StubServer], concurrency: int) -> tuple[list[RunResult], list[int]]:
    targets = [
        Target(provider=name, model="oracle", base_url=stub.base_url, api_key_env=None)
        for name, stub in stubs.items()
    ]
    config = RunConfig(trials=TRIALS, concurrency=concurrency)
    runs = plan(load_scenarios([SCENARIOS]), targets, config)
    reported: list[int] = []
    with Engine(config) as engine:
        results = engine.run_all(runs, lambda index, _: reported.append(index))
    assert [r.key for r in results] == [p.key for p in runs]
    return results, reported


def test_concurrent_matrix_gives_the_sequential_verdicts_in_plan_order(matrices: Matrices) -> None:
    assert verdicts(matrices.concurrent) == verdicts(matrices.sequential)
    assert sorted(matrices.reported) == list(range(len(matrices.concurrent)))
    assert {r.outcome for r in matrices.sequential} == {"pass", "fail", "error"}, "every verdict must occur"


def test_runs_really_overlapped_within_the_per_provider_limit(matrices: Matrices) -> None:
    for provider, (sequential, concurrent) in matrices.in_flight.items():
        assert sequential == 1 and 1 < concurrent <= 8, provider


def test_concurrent_runs_keep_their_own_conversations(matrices: Matrices) -> None:
    """Beyond verdicts: every turn's request and answer match the sequential run's, ids aside."""

    def conversation(r: RunResult) -> str:
        # The stub numbers ids by arrival, which concurrency reorders, and counts the ids in its usage.
        turns = [
            t.model_dump(mode="json", include={"request", "status", "error"})
            | {"reply": t.reply and t.reply.model_dump(mode="json", exclude={"usage"})}
            for t in r.turns
        ]
        return STUB_IDS.sub(r"\1N", json.dumps([turns, r.final_answer]))

    assert [conversation(r) for r in matrices.concurrent] == [conversation(r) for r in matrices.sequential]


def test_a_providers_own_concurrency_caps_its_runs_in_flight() -> None:
    """`concurrency: 2` in the registry holds a provider to two runs at once under `--concurrency 8`, while
    another provider in the same run still gets eight."""
    with StubServer(oracle(), latency=LATENCY) as capped, StubServer(oracle(), latency=LATENCY) as free:
        targets = [Target(provider="capped", model="oracle", base_url=capped.base_url, api_key_env=None,
                          concurrency=2),
                   Target(provider="free", model="oracle", base_url=free.base_url, api_key_env=None)]
        config = RunConfig(trials=TRIALS, concurrency=8)
        with Engine(config) as engine:
            engine.run_all(plan(load_scenarios([SCENARIOS]), targets, config))
        assert capped.max_in_flight == 2 and 2 < free.max_in_flight <= 8
