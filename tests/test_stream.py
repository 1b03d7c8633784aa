"""SSE decoding and stream assembly on hand-built streams that mimic what real providers send."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.conformance.stream import SSEDecoder, StreamDecodeError, assemble, decode_events, parse_chunks
from harness.conformance.wire import Assessment, assess

TOOLS = [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
         for n in ("weather", "llm_version", "add")]
REQUEST: dict[str, Any] = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}],
                           "tools": TOOLS}


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **top: Any) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": choices,
            **top}


def tc(index: int | None = 0, id: Any = ..., name: Any = ..., args: Any = ...,
       type: Any = ...) -> dict[str, Any]:
    item: dict[str, Any] = {} if index is None else {"index": index}
    if id is not ...:
        item["id"] = id
    if type is not ...:
        item["type"] = type
    function = {k: v for k, v in (("name", name), ("arguments", args)) if v is not ...}
    if function:
        item["function"] = function
    return item


def header(index: int = 0, id: str = "call_1", name: str = "weather", args: Any = "") -> dict[str, Any]:
    return tc(index, id=id, name=name, args=args, type="function")


def sse(*chunks: dict[str, Any], done: bool = True, sep: str = "\n\n", prefix: str = "data: ") -> str:
    text = "".join(f"{prefix}{json.dumps(c)}{sep}" for c in chunks)
    return text + (f"{prefix}[DONE]{sep}" if done else "")


def judge(text: str) -> Assessment:
    return assess(REQUEST, 200, text, stream=True)


def checks(judged: Assessment, severity: str = "violation") -> set[str]:
    return {f.check for f in judged.findings if f.severity == severity}


def calls(judged: Assessment) -> list[tuple[str | None, str | None, str | None]]:
    assert judged.reply is not None, judged.error
    return [(c.id, c.name, c.arguments_raw) for c in judged.reply.tool_calls]


OPENAI_STYLE = sse(
    chunk({"role": "assistant", "content": None, "tool_calls": [header()]}),
    chunk({"tool_calls": [tc(args='{"ci')]}),
    chunk({"tool_calls": [tc(args='ty": "Par')]}),
    chunk({"tool_calls": [tc(args='is"}')]}),
    chunk({}, "tool_calls"),
    chunk(None, usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}),
)


# -------------------------------------------------------------------------------------------- framing


def test_openai_style_stream_assembles_cleanly() -> None:
    judged = judge(OPENAI_STYLE)
    assert judged.findings == []
    assert calls(judged) == [("call_1", "weather", '{"city": "Paris"}')]
    assert judged.reply is not None
    assert judged.reply.finish_reason == "tool_calls" and judged.reply.usage == {
        "prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}


@pytest.mark.parametrize("variant", [
    lambda t: t.replace("data: ", "data:"),
    lambda t: t.replace("\n", "\r\n"),
    lambda t: " \n\n  " + t.replace("\n\ndata", "\n\n\n\n: keepalive\n\ndata"),
    lambda t: t.replace("\n\n", "\n"),  # no blank lines between events at all
    lambda t: "event: message\nid: 1\nretry: 10\n" + t,
])
def test_framing_variants_do_not_change_the_result(variant: Any) -> None:
    judged = judge(variant(OPENAI_STYLE))
    assert judged.findings == []
    assert calls(judged) == [("call_1", "weather", '{"city": "Paris"}')]


def test_decoder_handles_any_split_of_the_text() -> None:
    text = OPENAI_STYLE.replace("\n", "\r\n")
    whole = decode_events(text)
    for cut in range(len(text)):
        decoder = SSEDecoder()
        assert decoder.feed(text[:cut]) + decoder.feed(text[cut:]) + decoder.close() == whole


def test_no_done_is_only_a_warning() -> None:
    judged = judge(sse(chunk({"tool_calls": [header(args="{}")]}), chunk({}, "tool_calls"), done=False))
    assert checks(judged) == set() and checks(judged, "warning") == {"stream.done"}


def test_no_finish_reason_is_a_violation() -> None:
    judged = judge(sse(chunk({"tool_calls": [header(args="{}")]})))
    assert checks(judged) == {"stream.finish_reason"}
    assert judged.reply is not None and judged.reply.finish_reason is None


# ------------------------------------------------------------------------------------- delta shapes


def test_text_before_tool_calls_and_usage_on_the_finish_chunk() -> None:
    judged = judge(sse(
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Let me "}), chunk({"content": "check."}),
        chunk({"tool_calls": [header(args="")]}),
        chunk({"tool_calls": [tc(args="{")]}), chunk({"tool_calls": [tc(args="}")]}),
        chunk({"content": ""}, "tool_calls", usage={"prompt_tokens": 1, "completion_tokens": 1,
                                                     "total_tokens": 2}),
    ))
    assert judged.findings == [] and judged.reply is not None
    assert judged.reply.content == "Let me check." and judged.reply.usage is not None


def test_whole_call_in_one_chunk_and_two_calls_in_one_chunk() -> None:
    judged = judge(sse(
        chunk({"tool_calls": [header(0, "a", "weather", '{"city":"Rome"}'), header(1, "b", "add", "{}")]}),
        chunk({}, "tool_calls"),
    ))
    assert judged.findings == []
    assert calls(judged) == [("a", "weather", '{"city":"Rome"}'), ("b", "add", "{}")]


def test_header_without_arguments_then_first_fragment_in_header_elsewhere() -> None:
    judged = judge(sse(
        chunk({"tool_calls": [tc(0, id="llm_version:0", name="llm_version", type="function")]}),
        chunk({"tool_calls": [tc(0, args="{}", type="function")]}),
        chunk({"content": ""}, "tool_calls"),
    ))
    assert judged.findings == []
    assert calls(judged) == [("llm_version:0", "llm_version", "{}")]


def test_null_id_and_name_in_continuations_are_skipped() -> None:
    judged = judge(sse(
        chunk({"tool_calls": [header(0, "call_a")]}),
        chunk({"tool_calls": [tc(0, id=None, name=None, args='{"city":', type="function")]}),
        chunk({"tool_calls": [tc(0, id=None, name=None, args=' "Oslo"}', type="function")]}),
        chunk({"tool_calls": [header(1, "call_b")]}),
        chunk({"tool_calls": [tc(1, id="", name="", args='{"city": "Rome"}')]}),
        chunk({}, "tool_calls"),
    ))
    assert judged.findings == []
    assert calls(judged) == [("call_a", "weather", '{"city": "Oslo"}'),
                             ("call_b", "weather", '{"city": "Rome"}')]


def test_a_lone_call_at_index_1_is_one_call() -> None:
    # A gateway that numbers from 1 (an Anthropic-compatible fallback): nothing at 0 is not a breach.
    lone = header(1, "toolu_1", args='{"city": "Oslo"}')
    judged = judge(sse(chunk({"tool_calls": [lone]}), chunk({}, "tool_calls")))
    assert judged.findings == []
    assert calls(judged) == [("toolu_1", "weather", '{"city": "Oslo"}')]


def test_finish_reason_on_every_tool_chunk_and_a_call_after_it_are_kept() -> None:
    # Z.ai-style: each call arrives whole with finish_reason "tool_calls", the second after the first finish.
    judged = judge(sse(
        chunk({"tool_calls": [header(0, "call_a", args='{"city": "Oslo"}')]}, "tool_calls"),
        chunk({"tool_calls": [header(1, "call_b", name="add", args='{"a": 1}')]}, "tool_calls"),
        chunk({}, "tool_calls"),
    ))
    assert judged.findings == []
    assert calls(judged) == [("call_a", "weather", '{"city": "Oslo"}'), ("call_b", "add", '{"a": 1}')]


def test_calls_come_out_in_index_order() -> None:
    judged = judge(sse(chunk({"tool_calls": [header(1, "b", args="{}"), header(0, "a", args="{}")]}),
                       chunk({}, "tool_calls")))
    assert [c[0] for c in calls(judged)] == ["a", "b"]


def test_repeated_header_with_the_same_id_merges_arguments_and_is_flagged() -> None:
    # Novita: the same header twice, first with '' then with '{}'. The call is one call whose arguments
    # are the concatenation '' + '{}' = '{}'; re-sending id and name breaks concatenating clients.
    judged = judge(sse(
        chunk({"tool_calls": [header(0, "llm_version:0", "llm_version", "")]}),
        chunk({"tool_calls": [header(0, "llm_version:0", "llm_version", "{}")]}),
        chunk({}, "tool_calls"),
    ))
    assert checks(judged) == {"stream.header_repeated"}
    assert calls(judged) == [("llm_version:0", "llm_version", "{}")]
    [finding] = judged.findings
    assert "id 'llm_version:0'" in finding.message and "name 'llm_version'" in finding.message


def test_an_index_reused_for_a_different_id_is_a_new_call_and_flagged() -> None:
    judged = judge(sse(chunk({"tool_calls": [header(0, "a", args='{"city": "Rome"}')]}),
                       chunk({"tool_calls": [header(0, "b", "add", "{}")]}),
                       chunk({}, "tool_calls")))
    assert checks(judged) == {"stream.header_repeated"}
    assert calls(judged) == [("a", "weather", '{"city": "Rome"}'), ("b", "add", "{}")]


def test_missing_index_is_a_violation_but_still_assembles() -> None:
    judged = judge(sse(chunk({"tool_calls": [tc(None, id="a", name="weather", args="", type="function")]}),
                       chunk({"tool_calls": [tc(None, args='{"city": "Rome"}')]}),
                       chunk({}, "tool_calls")))
    assert checks(judged) == {"stream.index"}
    assert calls(judged) == [("a", "weather", '{"city": "Rome"}')]


def test_stream_call_without_type_or_id() -> None:
    judged = judge(sse(chunk({"tool_calls": [tc(0, name="weather", args="{}")]}), chunk({}, "tool_calls")))
    assert checks(judged) == {"tool_call.type", "tool_call.id"}


def test_a_function_call_streamed_beside_tool_calls_is_no_second_call() -> None:
    legacy_header = {"name": "weather", "arguments": ""}
    judged = judge(sse(chunk({"tool_calls": [header()], "function_call": legacy_header}),
                       chunk({"tool_calls": [tc(0, args='{"city": "Oslo"}')],
                              "function_call": {"arguments": '{"city": "Oslo"}'}}),
                       chunk({}, "tool_calls")))
    assert calls(judged) == [("call_1", "weather", '{"city": "Oslo"}')]
    assert checks(judged) == set() and checks(judged, "warning") == {"legacy_function_call"}


def test_legacy_function_call_stream() -> None:
    judged = judge(sse(chunk({"function_call": {"name": "weather", "arguments": ""}}),
                       chunk({"function_call": {"arguments": '{"city": "Oslo"}'}}),
                       chunk({}, "function_call")))
    assert checks(judged) == {"legacy_function_call"}
    assert calls(judged) == [(None, "weather", '{"city": "Oslo"}')]


def test_truncated_arguments_are_reported_not_repaired() -> None:
    judged = judge(sse(chunk({"tool_calls": [header(args='{"city": "Ro')]}), done=False))
    assert checks(judged) == {"tool_call.arguments_json", "stream.finish_reason"}
    assert calls(judged) == [("call_1", "weather", '{"city": "Ro')]


def test_only_the_first_choice_is_assembled() -> None:
    two = chunk({"content": "A"})
    two["choices"].append({"index": 1, "delta": {"content": "B"}, "finish_reason": None})
    judged = judge(sse(two, chunk({}, "stop")))
    assert judged.reply is not None and judged.reply.content == "A"


# ------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("error", "kind"), [({"message": "boom", "code": 502}, "server_error"),
                                             ({"message": "slow", "code": 429}, "rate_limited"),
                                             ({"message": "overloaded"}, "server_error"),
                                             ("plain text", "server_error")])
def test_mid_stream_error_chunk(error: Any, kind: str) -> None:
    judged = judge(sse(chunk({"content": "hi"}), {"error": error}))
    assert judged.reply is None and judged.error is not None and judged.error.kind == kind


def test_error_inside_a_choice() -> None:
    bad = chunk({"content": ""}, "error")
    bad["choices"][0]["error"] = {"message": "upstream failed", "code": 503}
    judged = judge(sse(chunk({"content": "hi"}), bad))
    assert judged.error is not None and judged.error.message == "upstream failed"


@pytest.mark.parametrize("text", ["", "\n\n", "<html>502 Bad Gateway</html>", "data: {\"choices\": [\n\n",
                                  "data: [1, 2]\n\n", "data: {\"choices\": 3}\n\n", "data: [DONE]\n\n",
                                  json.dumps(chunk({"content": "x"}, "stop")) + "\n"])
def test_unreadable_streams_are_invalid_body(text: str) -> None:
    judged = judge(text)
    assert judged.reply is None and judged.error is not None and judged.error.kind == "invalid_body"


def test_a_json_error_body_on_a_stream_request_is_classified() -> None:
    judged = judge('{"error": {"message": "quota", "code": 429}}')
    assert judged.error is not None and judged.error.kind == "rate_limited"


def test_parse_chunks_reports_the_bad_event() -> None:
    with pytest.raises(StreamDecodeError, match="event 1 is not valid JSON"):
        parse_chunks('data: {"a": 1}\n\ndata: {"b": \n\n')


def test_multi_line_data_event_is_joined() -> None:
    text = 'data: {"choices": [{"index": 0,\ndata: "delta": {"content": "hi"}, "finish_reason": "stop"}]}\n\n'
    assert assemble(text).content == "hi"
