"""Each real client against the replay server, on hand-written exchanges whose every byte we chose.

The Node clients skip, with the install command, when their packages are not installed
(`toolcall-harness clients install`); CI installs them first, so there they run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from harness.clients import (
    ClientDriver,
    ClientResult,
    ClientUnavailable,
    ReplayExchange,
    ReplayServer,
    compare,
    create_driver,
    verdict,
)
from harness.clients.node_drivers import NodeDriver
from harness.conformance.wire import assess

CLIENTS = ["python-openai", "node-openai", "node-ai-sdk"]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
         {"type": "function", "function": {"name": "get_time", "parameters": {
             "type": "object", "properties": {"tz": {"type": "string"}}}}}]


def request(stream: bool) -> dict[str, Any]:
    messages = [{"role": "user", "content": "Weather in Paris, and time?"}]
    body: dict[str, Any] = {"model": "m", "messages": messages, "tools": TOOLS, "tool_choice": "auto"}
    return {**body, "stream": True} if stream else body


def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    data = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(data)}\n\n"


def body(*calls: dict[str, Any], finish: str = "tool_calls") -> str:
    message = {"role": "assistant", "content": None, "tool_calls": list(calls)}
    return json.dumps({"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
                       "choices": [{"index": 0, "message": message, "finish_reason": finish}]})


def call(n: int, name: str, arguments: Any, **fields: Any) -> dict[str, Any]:
    function = {"name": name, "arguments": arguments}
    return {"id": f"call_{n}", "type": "function", "function": function, **fields}


HEAD = chunk({"role": "assistant", "content": None})
PARIS, UTC = ['{"ci', 'ty": "Pa', 'ris"}'], ['{"tz":', ' "UTC"}']


def two_streamed_calls(*, ids: bool = True, index: bool = True, repeat_header: bool = False,
                       finish: bool = True, done: bool = True) -> str:
    """OpenAI's layout: a header per call (id, type, name, ""), then argument fragments by index."""
    events = [HEAD]
    for n, (name, fragments) in enumerate([("get_weather", PARIS), ("get_time", UTC)]):
        where = {"index": n} if index else {}
        head = {**where, **({"id": f"call_{n}"} if ids else {}), "type": "function",
                "function": {"name": name, "arguments": ""}}
        events.append(chunk({"tool_calls": [head]}))
        for fragment in fragments:
            part = {**head, "function": {"name": name, "arguments": fragment}} if repeat_header else \
                {**where, "function": {"arguments": fragment}}
            events.append(chunk({"tool_calls": [part]}))
    if finish:
        events.append(chunk({}, "tool_calls"))
    return "".join(events) + ("data: [DONE]\n\n" if done else "")


def exchange(name: str, text: str, *, stream: bool, truncated: bool = False) -> ReplayExchange:
    return ReplayExchange(name, request(stream), 200, text, stream=stream, truncated=truncated)


OBJECT_ARGS_STREAM = HEAD + chunk({"tool_calls": [call(0, "get_weather", {"city": "Paris"}, index=0)]}) \
    + chunk({}, "tool_calls") + "data: [DONE]\n\n"
TYPELESS = {"index": 0, "id": "call_0", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
TYPELESS_STREAM = HEAD + chunk({"tool_calls": [TYPELESS]}) + chunk({}, "tool_calls") + "data: [DONE]\n\n"
CASES = {
    "clean_call": exchange("clean_call", body(call(0, "get_weather", '{"city": "Paris"}')), stream=False),
    "parallel_streamed": exchange("parallel_streamed", two_streamed_calls(), stream=True),
    "arguments_object": exchange("arguments_object", body(call(0, "get_weather", {"city": "Paris"})),
                                 stream=False),
    "arguments_object_streamed": exchange("arguments_object_streamed", OBJECT_ARGS_STREAM, stream=True),
    "missing_id": exchange("missing_id", body({"type": "function", "function": {
        "name": "get_weather", "arguments": '{"city": "Paris"}'}}), stream=False),
    "missing_id_streamed": exchange("missing_id_streamed", two_streamed_calls(ids=False), stream=True),
    "broken_stream": exchange("broken_stream", two_streamed_calls()[:700], stream=True, truncated=True),
    "missing_type": exchange("missing_type", body({"id": "call_0", "function": {
        "name": "get_weather", "arguments": '{"city": "Paris"}'}}), stream=False),
    "missing_type_streamed": exchange("missing_type_streamed", TYPELESS_STREAM, stream=True),
    "duplicate_ids": exchange("duplicate_ids", body(call(0, "get_weather", '{"city": "Paris"}'),
                                                    call(0, "get_time", '{"tz": "UTC"}')), stream=False),
    "header_repeated": exchange("header_repeated", two_streamed_calls(repeat_header=True), stream=True),
    "no_index": exchange("no_index", two_streamed_calls(index=False), stream=True),
    "no_finish_reason": exchange("no_finish_reason", two_streamed_calls(finish=False), stream=True),
    "no_done": exchange("no_done", two_streamed_calls(done=False), stream=True),
}

# What each client made of each exchange, as measured with the versions in harness/clients/node/
# package-lock.json and the openai Python SDK installed with the harness (see docs/clients.md).
EXPECTED: dict[str, dict[str, str]] = {
    "clean_call": {"python-openai": "same", "node-openai": "same", "node-ai-sdk": "same"},
    "parallel_streamed": {"python-openai": "same", "node-openai": "same", "node-ai-sdk": "same"},
    # The openai SDKs hand the object over as it came; the AI SDK's response schema refuses it.
    "arguments_object": {"python-openai": "same", "node-openai": "same", "node-ai-sdk": "rejects"},
    # The Node SDK's accumulator concatenates the object into the string "[object Object]".
    "arguments_object_streamed": {"python-openai": "same", "node-openai": "mismatch",
                                  "node-ai-sdk": "rejects"},
    # The AI SDK invents an id; the openai SDKs keep it missing (the Node stream helper invents one).
    "missing_id": {"python-openai": "same", "node-openai": "same", "node-ai-sdk": "repairs"},
    "missing_id_streamed": {"python-openai": "same", "node-openai": "repairs", "node-ai-sdk": "repairs"},
    "broken_stream": {"python-openai": "raised", "node-openai": "raised", "node-ai-sdk": "raised"},
    # Mistral's typeless call: every client reads past it, but the Node stream helper refuses it.
    "missing_type": {"python-openai": "repairs", "node-openai": "repairs", "node-ai-sdk": "repairs"},
    "missing_type_streamed": {"python-openai": "repairs", "node-openai": "rejects", "node-ai-sdk": "repairs"},
    # generateText surfaces the first call twice when two calls share an id.
    "duplicate_ids": {"python-openai": "same", "node-openai": "same", "node-ai-sdk": "mismatch"},
    # The Python accumulator concatenates re-sent ids and names ("get_weatherget_weather...").
    "header_repeated": {"python-openai": "mismatch", "node-openai": "repairs", "node-ai-sdk": "repairs"},
    "no_index": {"python-openai": "rejects", "node-openai": "mismatch", "node-ai-sdk": "mismatch"},
    "no_finish_reason": {"python-openai": "same", "node-openai": "rejects", "node-ai-sdk": "rejects"},
    "no_done": {"python-openai": "same", "node-openai": "same", "node-ai-sdk": "same"},
}


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer() as srv:
        yield srv


@pytest.fixture(scope="module", params=CLIENTS)
def driver(request: pytest.FixtureRequest) -> Iterator[ClientDriver]:
    candidate = create_driver(request.param)
    try:
        candidate.open()
    except ClientUnavailable as exc:
        pytest.skip(f"{request.param}: {exc}")
    yield candidate
    candidate.close()


def replay(driver: ClientDriver, server: ReplayServer, ex: ReplayExchange) -> tuple[ClientResult, list[Any]]:
    with server.mount(ex) as mount:
        result = driver.run(ex, mount.base_url, requests=lambda: len(mount.requests))
    return result, mount.requests


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_client_on_each_hand_written_exchange(driver: ClientDriver, server: ReplayServer,
                                                   case: str) -> None:
    ex = CASES[case]
    result, _ = replay(driver, server, ex)
    wire = assess(ex.request, ex.status, ex.text, stream=ex.stream)
    findings = compare(wire.reply, wire.findings, result, wire_error=wire.error)
    assert result.driver_error is None
    assert verdict(result, findings) == EXPECTED[case][driver.id], (result.model_dump(), findings)


def test_a_clean_call_reaches_the_user_as_each_client_hands_it_over(driver: ClientDriver,
                                                                    server: ReplayServer) -> None:
    result, sent = replay(driver, server, CASES["clean_call"])
    arguments = {"city": "Paris"} if driver.id == "node-ai-sdk" else '{"city": "Paris"}'
    assert [(c.id, c.name, c.arguments, c.rejected) for c in result.tool_calls] == \
        [("call_0", "get_weather", arguments, None)]
    assert result.finish_reason == ("tool-calls" if driver.id == "node-ai-sdk" else "tool_calls")
    assert (result.mode, result.error, result.requests) == ("nonstream", None, 1)
    assert result.api == {"python-openai": "chat.completions.parse", "node-openai": "chat.completions.create",
                          "node-ai-sdk": "generateText"}[driver.id]
    assert result.version[:1].isalnum() and result.client == driver.id
    [body] = sent
    assert body["model"] == "m" and body["messages"][0]["content"] == "Weather in Paris, and time?"
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather", "get_time"]
    if driver.id != "node-ai-sdk":  # the openai SDKs send the recorded request as it was
        added = {"stream": False} if driver.id == "python-openai" else {}  # `parse` says so explicitly
        assert body == {**CASES["clean_call"].request, **added}


def test_two_parallel_streamed_calls_come_out_in_order(driver: ClientDriver, server: ReplayServer) -> None:
    result, [sent] = replay(driver, server, CASES["parallel_streamed"])
    assert [(c.id, c.name) for c in result.tool_calls] == [("call_0", "get_weather"), ("call_1", "get_time")]
    assert result.mode == "stream" and sent["stream"] is True
    assert result.api == ("streamText" if driver.id == "node-ai-sdk" else "chat.completions.stream")


def test_a_broken_stream_is_an_exception_with_the_clients_own_words(driver: ClientDriver,
                                                                  server: ReplayServer) -> None:
    result, _ = replay(driver, server, CASES["broken_stream"])
    assert result.error is not None and result.tool_calls == []
    assert result.error.type == {"python-openai": "APIConnectionError", "node-openai": "OpenAIError",
                                 "node-ai-sdk": "AI_APICallError"}[driver.id]


@pytest.fixture
def node_openai() -> Iterator[NodeDriver]:
    candidate = create_driver("node-openai")
    assert isinstance(candidate, NodeDriver)
    try:
        candidate.open()
    except ClientUnavailable as exc:
        pytest.skip(f"node-openai: {exc}")
    yield candidate
    candidate.close()


def test_a_node_driver_that_dies_is_restarted_for_the_next_exchange(node_openai: NodeDriver,
                                                                    server: ReplayServer) -> None:
    candidate = node_openai
    process = candidate._process
    assert process is not None
    process.proc.kill()
    deadline = time.monotonic() + 10
    while process.alive and time.monotonic() < deadline:
        time.sleep(0.01)
    result, _ = replay(candidate, server, CASES["clean_call"])
    assert result.driver_error is None and [c.name for c in result.tool_calls] == ["get_weather"]
    assert candidate._process is not process
