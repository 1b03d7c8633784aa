"""What the engine puts on the wire is the turn's request: the same JSON, field for field.

The transport hands the SDK the whole body in `extra_body` (the messages too, to spare the SDK's typed
transform of a body already in wire form); the SDK must still send exactly the recorded request, and
a turn's latency, timed from the moment the request leaves, cannot be shorter than the injected latency.
"""

from __future__ import annotations

import pytest
from conftest import SCENARIOS
from oracle import oracle

from harness.engine.config import RunConfig
from harness.engine.engine import Engine
from harness.engine.plan import plan
from harness.providers.registry import Target
from harness.scenario.loader import load_scenarios
from harness.testing.stub import StubServer

LATENCY = 0.03


@pytest.mark.parametrize("mode", ["nonstream", "stream"])
def test_every_turn_sends_its_recorded_request_and_times_at_least_the_injected_latency(mode: str) -> None:
    config = RunConfig(modes=(mode,))  # type: ignore[arg-type]
    with StubServer(oracle(), latency=LATENCY) as stub, Engine(config) as engine:
        target = Target(provider="stub", model="oracle", base_url=stub.base_url, api_key_env=None)
        results = [engine.run(r) for r in plan(load_scenarios([SCENARIOS]), [target], config)]
        held = dict(stub.held)
    turns = [t for r in results for t in r.turns]
    assert [r.outcome for r in results] == ["pass"] * len(results)
    assert len(turns) == len(stub.requests) > len(results)  # some runs take two turns
    for number, (turn, sent) in enumerate(zip(turns, stub.requests, strict=True), start=1):
        assert sent == turn.request
        assert sent["messages"], "the messages reached the server"
        # Not `>= held`: the stub reads its clock after its last write returns, which a busy machine may
        # schedule after the client has read that byte; the injected latency precedes any answer.
        assert turn.latency_s is not None and turn.latency_s >= LATENCY and held[number] >= LATENCY
