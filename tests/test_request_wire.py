"""What the engine puts on the wire is the turn's request: the same JSON, field for field.

The transport hands the SDK the whole body in `extra_body`, its typed fields `omit` (to spare the SDK's
typed transform of a body already in wire form); the SDK must still send exactly the recorded request,
in its key order, with the headers a typed call sends, and a turn's latency, timed from the moment the
request leaves, cannot be shorter than the injected latency.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest
from conftest import SCENARIOS
from oracle import oracle

from harness.engine.config import RunConfig
from harness.engine.engine import Engine
from harness.engine.plan import plan
from harness.providers.registry import Target
from harness.scenario.loader import load_scenarios
from harness.testing.stub import StubServer
from harness.transport.cassettes import Redactor
from harness.transport.client import send
from harness.transport.retry import RetryPolicy

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
        assert sent == turn.request and list(sent) == list(turn.request)
        assert sent["messages"], "the messages reached the server"
        # Not `>= held`: the stub reads its clock after its last write returns, which a busy machine may
        # schedule after the client has read that byte; the injected latency precedes any answer.
        assert turn.latency_s is not None and turn.latency_s >= LATENCY and held[number] >= LATENCY


@pytest.mark.parametrize("stream", [False, True])
def test_the_headers_are_those_of_a_typed_call(stream: bool) -> None:
    """Nothing the SDK adds to a request depends on its typed fields being given: the same headers go out
    when the whole body travels in `extra_body`, and the answer streams back alike."""
    body: dict[str, Any] = {"model": "oracle", "messages": [{"role": "user", "content": "Weather in Paris?"}]}
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    with StubServer(oracle()) as stub:
        client = openai.OpenAI(base_url=stub.base_url, api_key="k", max_retries=0)
        typed = {k: v for k, v in body.items() if k not in ("model", "messages", "stream")}
        flag: dict[str, Any] = {"stream": True} if stream else {}  # given as False, the SDK would send it
        with client.chat.completions.with_streaming_response.create(
            model="oracle", messages=body["messages"], extra_body=typed, **flag
        ) as response:
            typed_answer = response.http_response.read()
        exchanged = send(client, body, RetryPolicy(tries=1), Redactor())
    first, second = stub.headers
    assert first == second
    assert stub.requests[0] == stub.requests[1] == body
    assert exchanged.status == 200 and exchanged.text is not None
    assert exchanged.text.count("data:") == typed_answer.count(b"data:")
    assert ("data:" in exchanged.text) == stream
