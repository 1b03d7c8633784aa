"""The stub server: what the openai SDK makes of it, and the raw bytes of every break and fault.

The harness's own checks are tested against this stub, so a break that silently renders correct
output would make those tests vacuous; each break and fault is therefore pinned here on the wire.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletionMessageFunctionToolCall

from harness.testing.stub import (
    BREAKS,
    FAULT_KINDS,
    UNKNOWN_TOOL,
    Fault,
    StubServer,
    by_last_user,
    echo_responder,
    example_arguments,
    scripted,
)

WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}
USER: Any = [{"role": "user", "content": "Weather in Paris and Rome?"}]
TWO_CALLS: dict[str, Any] = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {"name": "get_weather", "arguments": {"city": "Paris"}},
        {"name": "get_weather", "arguments": {"city": "Rome"}},
    ],
}


def client(stub: StubServer, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=stub.base_url, api_key="test", max_retries=0, **kwargs)


def post(stub: StubServer, stream: bool = False, **extra: Any) -> httpx2.Response:
    body = {"model": "m", "messages": USER, "tools": [WEATHER], "stream": stream, **extra}
    return httpx2.post(stub.base_url + "/chat/completions", json=body, timeout=5)


def events(text: str) -> list[Any]:
    """The data of each SSE event: parsed JSON, or the raw string when it is not JSON ([DONE], garbage)."""
    out: list[Any] = []
    for line in text.splitlines():
        if line.startswith("data: "):
            try:
                out.append(json.loads(line[6:]))
            except ValueError:
                out.append(line[6:])
    return out


def call_deltas(text: str) -> list[dict[str, Any]]:
    return [
        tc
        for e in events(text)
        if isinstance(e, dict)
        for c in e["choices"]
        for tc in c["delta"].get("tool_calls", [])
    ]


def finishes(text: str) -> list[Any]:
    return [c["finish_reason"] for e in events(text) if isinstance(e, dict) for c in e["choices"]]


# --- through the SDK --------------------------------------------------------------------------------


def test_sdk_parses_a_non_streaming_tool_call_and_the_server_records_the_request() -> None:
    with StubServer() as stub, client(stub) as sdk:
        completion = sdk.chat.completions.create(model="m", messages=USER, tools=[WEATHER])
    choice = completion.choices[0]
    assert completion.model == "m" and completion.object == "chat.completion"
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls
    call = choice.message.tool_calls[0]
    assert isinstance(call, ChatCompletionMessageFunctionToolCall)
    assert (call.id, call.type, call.function.name) == ("call_stub_1_0", "function", "get_weather")
    assert json.loads(call.function.arguments) == {"city": "stub"}
    assert completion.usage and completion.usage.total_tokens > 0
    assert stub.requests[0]["messages"] == USER
    assert stub.headers[0]["authorization"] == "Bearer test"
    assert stub.base_url.startswith("http://127.0.0.1:")


def test_sdk_assembles_streamed_tool_calls_from_several_fragments() -> None:
    with StubServer(scripted(TWO_CALLS)) as stub, client(stub) as sdk:
        stream = sdk.chat.completions.create(
            model="m",
            messages=USER,
            tools=[WEATHER],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    fragments: dict[int, list[str]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                fragments.setdefault(tc.index, []).append(tc.function.arguments or "" if tc.function else "")
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[0].choices[0].delta.content is None
    assert {i: json.loads("".join(f)) for i, f in fragments.items()} == {
        0: {"city": "Paris"},
        1: {"city": "Rome"},
    }
    assert all(len(f) > 2 for f in fragments.values()), "header plus several argument fragments"
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None


def test_sdk_streams_text_content_in_pieces() -> None:
    with StubServer() as stub, client(stub) as sdk:
        chunks = list(sdk.chat.completions.create(model="m", messages=USER, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == "Hello." and len(chunks) > 2
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_models_health_and_unknown_routes() -> None:
    with StubServer(models=[{"id": "a", "object": "model", "created": 0, "owned_by": "x"}]) as stub:
        with client(stub) as sdk:
            assert [m.id for m in sdk.models.list()] == ["a"]
        root = stub.base_url.removesuffix("/v1")
        assert httpx2.get(root + "/health").json() == {"status": "ok"}
        missing = httpx2.get(stub.base_url + "/nope")
        assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"
        bad = httpx2.post(stub.base_url + "/chat/completions", content=b"{not json")
        assert bad.status_code == 400 and stub.requests == []


# --- responders -------------------------------------------------------------------------------------


def test_echo_responder_answers_tool_results_forced_choice_none_and_hints() -> None:
    tool_turn = [*USER, TWO_CALLS, {"role": "tool", "content": "18C"}, {"role": "tool", "content": "21C"}]
    assert echo_responder({"messages": tool_turn})["content"] == "Results: 18C; 21C"
    assert (
        echo_responder({"messages": USER, "tools": [WEATHER], "tool_choice": "none"})["content"] == "Hello."
    )
    hinted = {"type": "function", "function": {"name": "find", "x-stub-arguments": {"q": "x"}}}
    forced = {"type": "function", "function": {"name": "find"}}
    reply = echo_responder({"messages": USER, "tools": [WEATHER, hinted], "tool_choice": forced})
    assert reply["tool_calls"] == [{"name": "find", "arguments": {"q": "x"}}]


def test_example_arguments_fill_required_properties_by_type() -> None:
    schema = {
        "properties": {
            "n": {"type": "integer"},
            "flag": {"type": ["null", "boolean"]},
            "kind": {"enum": ["a", "b"]},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "where": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]},
            "optional": {"type": "string"},
        },
        "required": ["n", "flag", "kind", "tags", "where"],
    }
    assert example_arguments(schema) == {
        "n": 1,
        "flag": True,
        "kind": "a",
        "tags": ["stub"],
        "where": {"x": 1.5},
    }


def test_scripted_repeats_the_last_reply_and_by_last_user_matches_substrings() -> None:
    responder = scripted("one", {"message": {"role": "assistant", "content": "two"}})
    assert responder({})["content"] == "one"
    assert [responder({})["message"]["content"] for _ in range(2)] == ["two", "two"]
    pick = by_last_user({"Paris": "sunny"})
    assert pick({"messages": USER})["content"] == "sunny"
    assert pick({"messages": [{"role": "user", "content": "hi"}]})["content"] == "Hello."


def test_a_failing_responder_is_answered_500_and_recorded() -> None:
    with StubServer(lambda body: {"message": {}, "colour": "red"}) as stub:
        response = post(stub)
    assert response.status_code == 500
    assert "unknown responder key 'colour'" in response.json()["error"]["message"]
    assert stub.errors and "colour" in stub.errors[0]


# --- breaks -----------------------------------------------------------------------------------------


def nonstream_calls(response: httpx2.Response) -> list[dict[str, Any]]:
    return response.json()["choices"][0]["message"]["tool_calls"]


NONSTREAM_BREAKS = {
    "duplicate_ids": lambda r: len({c["id"] for c in nonstream_calls(r)}) == 1,
    "arguments_object": lambda r: nonstream_calls(r)[0]["function"]["arguments"] == {"city": "Paris"},
    "missing_type": lambda r: all("type" not in c for c in nonstream_calls(r)),
    "missing_id": lambda r: all("id" not in c for c in nonstream_calls(r)),
    "wrong_finish_reason": lambda r: r.json()["choices"][0]["finish_reason"] == "stop",
    "no_finish_reason": lambda r: r.json()["choices"][0]["finish_reason"] is None,
    "invalid_json_args": lambda r: nonstream_calls(r)[0]["function"]["arguments"] == '{"city":',
    "unknown_tool": lambda r: (
        [c["function"]["name"] for c in nonstream_calls(r)] == [UNKNOWN_TOOL, "get_weather"]
    ),
}
STREAM_BREAKS = {
    "duplicate_ids": lambda t: len({d["id"] for d in call_deltas(t) if "id" in d}) == 1,
    "arguments_object": lambda t: call_deltas(t)[0]["function"]["arguments"] == {"city": "Paris"},
    "missing_type": lambda t: all("type" not in d for d in call_deltas(t)),
    "missing_id": lambda t: all("id" not in d for d in call_deltas(t)),
    "wrong_finish_reason": lambda t: finishes(t)[-1] == "stop",
    "no_done": lambda t: "[DONE]" not in t and finishes(t)[-1] == "tool_calls",
    "no_index": lambda t: call_deltas(t) and all("index" not in d for d in call_deltas(t)),
    "repeat_header": lambda t: all("id" in d and d["function"]["name"] for d in call_deltas(t)),
    "no_finish_reason": lambda t: set(finishes(t)) == {None} and t.rstrip().endswith("[DONE]"),
    "invalid_json_args": lambda t: (
        "".join(d["function"]["arguments"] for d in call_deltas(t)[:4]) == '{"city":'
    ),
    "unknown_tool": lambda t: call_deltas(t)[0]["function"]["name"] == UNKNOWN_TOOL,
}


def test_every_break_is_pinned_by_a_test() -> None:
    assert set(NONSTREAM_BREAKS) | set(STREAM_BREAKS) == BREAKS


@pytest.mark.parametrize("name", sorted(NONSTREAM_BREAKS))
def test_break_shows_in_the_completion(name: str) -> None:
    with StubServer(scripted(TWO_CALLS), breaks={name}) as stub:
        response = post(stub)
    assert NONSTREAM_BREAKS[name](response), response.text


@pytest.mark.parametrize("name", sorted(STREAM_BREAKS))
def test_break_shows_in_the_stream(name: str) -> None:
    with StubServer(scripted(TWO_CALLS), breaks={name}) as stub:
        text = post(stub, stream=True).text
    assert STREAM_BREAKS[name](text), text


def test_clean_stream_has_index_header_once_and_done() -> None:
    with StubServer(scripted(TWO_CALLS)) as stub:
        text = post(stub, stream=True).text
    deltas = call_deltas(text)
    assert all("index" in d for d in deltas) and sum("id" in d for d in deltas) == 2
    assert finishes(text)[-1] == "tool_calls" and text.rstrip().endswith("data: [DONE]")


def test_a_responder_overrides_the_server_breaks_per_response() -> None:
    replies = scripted(
        {"message": TWO_CALLS, "breaks": []}, {"message": TWO_CALLS, "breaks": ["missing_type"]}
    )
    with StubServer(replies, breaks={"missing_id"}) as stub:
        first, second = nonstream_calls(post(stub)), nonstream_calls(post(stub))
    assert all("id" in c and "type" in c for c in first)
    assert all("id" in c and "type" not in c for c in second)


def test_unknown_break_and_fault_names_suggest_the_right_one() -> None:
    with pytest.raises(ValueError, match="unknown break 'no_dne' — did you mean 'no_done'"):
        StubServer(breaks={"no_dne"})
    with pytest.raises(ValueError, match="unknown fault kind 'timout' — did you mean 'timeout'"):
        Fault("timout")  # type: ignore[arg-type]


# --- faults -----------------------------------------------------------------------------------------


def test_status_fault_reaches_the_sdk_then_the_next_request_is_normal() -> None:
    fault = Fault("status", status=429, headers={"Retry-After": "1"})
    with StubServer(faults=[fault]) as stub, client(stub) as sdk:
        with pytest.raises(openai.RateLimitError) as caught:
            sdk.chat.completions.create(model="m", messages=USER)
        assert sdk.chat.completions.create(model="m", messages=USER).choices[0].message.content == "Hello."
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.response.json()["error"]["type"] == "rate_limit_error"


def test_status_fault_with_an_html_body_and_html_fault_served_as_200() -> None:
    page = "<html><body>Bad gateway</body></html>"
    with StubServer(faults=[Fault("status", status=502, body=page), Fault("html")]) as stub:
        gateway, login = post(stub), post(stub)
    assert (gateway.status_code, gateway.text) == (502, page)
    assert gateway.headers["content-type"].startswith("text/html")
    assert login.status_code == 200 and login.headers["content-type"].startswith("text/html")
    assert login.text.startswith("<html>")


@pytest.mark.parametrize("stream", [False, True])
def test_invalid_json_fault(stream: bool) -> None:
    with StubServer(faults=[Fault("invalid_json")]) as stub:
        response = post(stub, stream=stream)
    assert response.status_code == 200
    if stream:
        assert events(response.text) == ['{"id": "chatcmpl-stub", "choices": [', "[DONE]"]
    else:
        with pytest.raises(ValueError):
            json.loads(response.text)


@pytest.mark.parametrize("stream", [False, True])
def test_empty_choices_fault(stream: bool) -> None:
    with StubServer(faults=[Fault("empty_choices")]) as stub:
        response = post(stub, stream=stream)
    if stream:
        assert [e if isinstance(e, str) else e["choices"] for e in events(response.text)] == [[], "[DONE]"]
    else:
        assert response.json()["choices"] == []


@pytest.mark.parametrize("stream", [False, True])
def test_unknown_finish_reason_fault(stream: bool) -> None:
    with StubServer(faults=[Fault("unknown_finish_reason", finish_reason="eos")]) as stub:
        response = post(stub, stream=stream)
    reason = finishes(response.text)[-1] if stream else response.json()["choices"][0]["finish_reason"]
    assert reason == "eos"


def test_timeout_fault_stalls_past_the_client_timeout_and_stop_wakes_it() -> None:
    stub = StubServer(faults=[Fault("timeout", seconds=30)]).start()
    started = time.monotonic()
    with pytest.raises(httpx2.ReadTimeout):
        httpx2.post(stub.base_url + "/chat/completions", json={"messages": USER}, timeout=0.3)
    stub.stop()
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("stream", [False, True])
def test_reset_midstream_fault_drops_the_connection_mid_body(stream: bool) -> None:
    with StubServer(scripted(TWO_CALLS), faults=[Fault("reset_midstream", after_events=2)]) as stub:
        received = b""
        with pytest.raises((httpx2.RemoteProtocolError, httpx2.ReadError)):
            with httpx2.stream(
                "POST", stub.base_url + "/chat/completions", json={"messages": USER, "stream": stream}
            ) as r:
                for part in r.iter_raw():
                    received += part
        assert post(stub).status_code == 200, "the server keeps serving after a reset"
    if stream:
        assert len(events(received.decode())) == 2
    else:
        assert received.startswith(b'{"id"') and not received.endswith(b"}")


def test_cut_before_done_fault_ends_the_stream_cleanly_without_finish_or_done() -> None:
    with StubServer(scripted(TWO_CALLS), faults=[Fault("cut_before_done")]) as stub:
        text = post(stub, stream=True, stream_options={"include_usage": True}).text
    assert call_deltas(text) and "[DONE]" not in text
    assert set(finishes(text)) == {None}


def test_faults_are_consumed_in_order_pinned_or_persistent() -> None:
    queued = [
        Fault("status", status=503),
        Fault("status", status=500),
        Fault("status", status=401, request=4),
    ]
    with StubServer(faults=queued) as stub:
        assert [post(stub).status_code for _ in range(5)] == [503, 500, 200, 401, 200]
    with StubServer(faults=[Fault("status", status=429, every=True)]) as stub:
        assert [post(stub).status_code for _ in range(3)] == [429, 429, 429]
        stub.inject(Fault("html", request=4))
        assert post(stub).headers["content-type"].startswith("text/html")
    with pytest.raises(ValueError, match="every"):
        StubServer(faults=[Fault("html", every=True), Fault("timeout", every=True)])
    assert set(FAULT_KINDS) == {
        "status", "html", "invalid_json", "empty_choices", "unknown_finish_reason",
        "timeout", "reset_midstream", "cut_before_done", "trickle",
    }  # fmt: skip


# --- timing and concurrency -------------------------------------------------------------------------


def test_max_in_flight_counts_overlapping_requests() -> None:
    with StubServer(latency=0.3) as stub:
        threads = [threading.Thread(target=post, args=(stub,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert stub.max_in_flight == 4 and stub.in_flight == 0 and len(stub.requests) == 4


def test_latency_delays_the_headers_and_chunks_are_flushed_one_by_one() -> None:
    with StubServer(latency=0.1, chunk_delay=0.1) as stub:
        started = time.monotonic()
        body = {"messages": USER, "stream": True}
        with httpx2.stream("POST", stub.base_url + "/chat/completions", json=body, timeout=5) as response:
            lines = response.iter_lines()
            first = next(line for line in lines if line.startswith("data: "))
            first_at = time.monotonic() - started
            rest = [line for line in lines if line.startswith("data: ")]
        total = time.monotonic() - started
    assert '"role": "assistant"' in first and rest[-1] == "data: [DONE]"
    assert first_at >= 0.1, "latency comes before the response headers"
    assert total - first_at >= 0.8 * 0.1 * len(rest), "the first chunk left before the later ones were sent"


def test_a_responder_can_send_no_usage_at_all() -> None:
    """`"usage": None` leaves usage out of the body and the stream, as providers that never report it do."""
    reply = {"message": {"role": "assistant", "content": "hi"}, "usage": None}
    with StubServer(scripted(reply)) as stub, client(stub) as sdk:
        completion = sdk.chat.completions.create(model="m", messages=USER)
        chunks = list(
            sdk.chat.completions.create(
                model="m", messages=USER, stream=True, stream_options={"include_usage": True}
            )
        )
    assert completion.usage is None and completion.choices[0].message.content == "hi"
    assert [c.usage for c in chunks if c.usage is not None] == []
