"""Each wire check on hand-built non-streaming responses: one case that breaches, one that must not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.conformance.checks import CHECKS, Registry
from harness.conformance.wire import Assessment, assess
from harness.core.model import Finding
from harness.transport.errors import classify_error

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
           "additionalProperties": False}


def request(*history: dict[str, Any], tools: dict[str, Any] | None = None,
            legacy: bool = False) -> dict[str, Any]:
    tools = {"weather": WEATHER, "now": {"type": "object", "properties": {}}} if tools is None else tools
    body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}, *history]}
    if legacy:
        body["functions"] = [{"name": n, "parameters": p} for n, p in tools.items()]
    else:
        body["tools"] = [{"type": "function", "function": {"name": n, "parameters": p}}
                         for n, p in tools.items()]
    return body


def call(name: Any = "weather", args: Any = '{"city": "Paris"}', id: Any = "call_1",
         **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": id, "type": "function", "function": {"name": name, "arguments": args}}
    out.update(extra)
    return {k: v for k, v in out.items() if v is not ...}


def response(*calls: dict[str, Any], finish: Any = "tool_calls", **message: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": None, **message}
    if calls:
        msg["tool_calls"] = list(calls)
    return {"id": "x", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": msg, "finish_reason": finish}]}


def judge(body: dict[str, Any], req: dict[str, Any] | None = None) -> Assessment:
    return assess(req if req is not None else request(), 200, json.dumps(body), stream=False)


def ids(assessment: Assessment, severity: str = "violation") -> set[str]:
    return {f.check for f in assessment.findings if f.severity == severity}


def only(assessment: Assessment, check: str) -> Finding:
    [finding] = [f for f in assessment.findings if f.check == check]
    return finding


def test_a_clean_call_has_no_findings() -> None:
    judged = judge(response(call()))
    assert judged.error is None and judged.findings == []
    assert judged.reply is not None and judged.reply.tool_calls[0].arguments_match_schema is True


# ------------------------------------------------------------------------------------ tool_call.type


@pytest.mark.parametrize("value", [..., "tool", None])
def test_type_missing_or_wrong_is_a_violation(value: Any) -> None:
    judged = judge(response(call(type=value)))
    assert ids(judged) == {"tool_call.type"}
    assert only(judged, "tool_call.type").expected == "function"


# -------------------------------------------------------------------------------------- tool_call.id


@pytest.mark.parametrize("value", [..., "", None, 7])
def test_id_missing_empty_or_not_a_string(value: Any) -> None:
    assert "tool_call.id" in ids(judge(response(call(id=value))))


@pytest.mark.parametrize("value", ["call_abc", "75db172a3", "functions.add:0", "0", "call_-8303", "tool_x"])
def test_any_id_format_is_fine(value: str) -> None:
    assert judge(response(call(id=value))).findings == []


# ------------------------------------------------------------------------------- tool_call.id_unique


def test_duplicate_id_within_the_response() -> None:
    judged = judge(response(call(id="a"), call(args='{"city": "Rome"}', id="a")))
    assert ids(judged) == {"tool_call.id_unique"}
    assert "tool call 0" in only(judged, "tool_call.id_unique").message


def test_bare_ordinal_id_reused_from_the_history() -> None:
    history = [{"role": "assistant", "content": None, "tool_calls": [call(id="0", args='{"city": "Oslo"}')]},
               {"role": "tool", "tool_call_id": "0", "content": "cold"}]
    judged = judge(response(call(id="0"), call(id="1", args='{"city": "Rome"}')), request(*history))
    assert ids(judged) == {"tool_call.id_unique"}
    assert only(judged, "tool_call.id_unique").actual == "0"


def test_bare_ordinal_ids_in_a_first_turn_are_fine() -> None:
    assert judge(response(call(id="0"), call(id="1", args='{"city": "Rome"}'))).findings == []


# ------------------------------------------------------------------------------------ tool_call.name


def test_name_not_offered() -> None:
    judged = judge(response(call(name="get_weather")))
    assert ids(judged) == {"tool_call.name"}
    assert only(judged, "tool_call.name").actual == "get_weather"
    assert judged.reply is not None and judged.reply.tool_calls[0].arguments_match_schema is None


def test_name_missing() -> None:
    assert ids(judge(response(call(name=None)))) == {"tool_call.name"}


def test_tools_in_legacy_functions_count_as_offered() -> None:
    assert judge(response(call()), request(legacy=True)).findings == []


# ------------------------------------------------------------------------- tool_call.arguments_string


@pytest.mark.parametrize("value", [{"city": "Paris"}, None, 3])
def test_arguments_not_a_string(value: Any) -> None:
    judged = judge(response(call(args=value)))
    assert ids(judged) == {"tool_call.arguments_string"}


def test_arguments_key_absent() -> None:
    body = response({"id": "c", "type": "function", "function": {"name": "now"}})
    assert ids(judge(body)) == {"tool_call.arguments_string"}


# --------------------------------------------------------------------------- tool_call.arguments_json


@pytest.mark.parametrize("raw", ['{"city": "Par', "", "[1, 2]", '"Paris"', "{'city': 'Paris'}", '{"a": NaN}'])
def test_arguments_not_a_json_object(raw: str) -> None:
    judged = judge(response(call(args=raw)))
    assert ids(judged) == {"tool_call.arguments_json"}
    assert judged.reply is not None and judged.reply.tool_calls[0].arguments_raw == raw


@pytest.mark.parametrize("raw", ['{"city":"Paris"}', '{ "city" : "Paris" }', '{\n  "city": "Paris"\n}'])
def test_spacing_and_pretty_printing_are_fine(raw: str) -> None:
    assert judge(response(call(args=raw))).findings == []


# ------------------------------------------------------------------------- tool_call.arguments_schema


@pytest.mark.parametrize("raw", ['{}', '{"city": 3}', '{"city": "Paris", "units": "C"}'])
def test_arguments_fail_the_schema(raw: str) -> None:
    judged = judge(response(call(args=raw)))
    assert ids(judged) == {"tool_call.arguments_schema"}
    assert judged.reply is not None and judged.reply.tool_calls[0].arguments_match_schema is False


def test_key_order_does_not_matter_for_the_schema() -> None:
    tools = {"add": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                     "required": ["a", "b"]}}
    assert judge(response(call(name="add", args='{"b":3,"a":2}')), request(tools=tools)).findings == []


def test_an_unusable_schema_decides_nothing() -> None:
    tools = {"weather": {"$ref": "#/$defs/missing"}}
    judged = judge(response(call()), request(tools=tools))
    assert judged.findings == []
    assert judged.reply is not None and judged.reply.tool_calls[0].arguments_match_schema is None


# ---------------------------------------------------------------------------------------- finish_reason


@pytest.mark.parametrize("finish", ["stop", "length", None])
def test_calls_without_tool_calls_finish_reason(finish: Any) -> None:
    assert ids(judge(response(call(), finish=finish))) == {"finish_reason"}


def test_stop_after_a_named_tool_choice_is_only_a_warning() -> None:
    """OpenAI answers a call forced by a named tool_choice with "stop"; the reference is not a breach."""
    named = {**request(), "tool_choice": {"type": "function", "function": {"name": "weather"}}}
    judged = judge(response(call(), finish="stop"), named)
    assert ids(judged) == set() and ids(judged, "warning") == {"finish_reason"}
    assert ids(judge(response(call(), finish="length"), named)) == {"finish_reason"}  # cut off: a breach
    required = {**named, "tool_choice": "required"}
    assert ids(judge(response(call(), finish="stop"), required)) == {"finish_reason"}
    other = {**named, "tool_choice": {"type": "function", "function": {"name": "now"}}}
    assert ids(judge(response(call(), finish="stop"), other)) == {"finish_reason"}  # not the forced tool
    assert ids(judge(response(call(name=None), finish="stop"))) >= {"finish_reason"}  # no choice, no name


def test_tool_calls_finish_reason_without_calls() -> None:
    judged = judge(response(finish="tool_calls", content="hello"))
    assert ids(judged) == {"finish_reason"}


def test_text_answer_with_stop_is_fine() -> None:
    assert judge(response(finish="stop", content="hello")).findings == []


# --------------------------------------------------------------------------------- legacy_function_call


def test_legacy_function_call_instead_of_tool_calls() -> None:
    legacy = {"name": "weather", "arguments": '{\n"city": "Oslo"\n}'}  # gpt-4 pretty-printed them
    body = response(finish="function_call", function_call=legacy)
    judged = judge(body)
    assert ids(judged) == {"legacy_function_call"}
    assert judged.reply is not None
    [legacy] = judged.reply.tool_calls
    assert legacy.id is None and legacy.name == "weather" and legacy.arguments == {"city": "Oslo"}


def test_legacy_function_call_answering_a_legacy_request_is_only_a_warning() -> None:
    legacy = {"name": "weather", "arguments": '{"city": "Oslo"}'}
    body = response(finish="function_call", function_call=legacy)
    judged = judge(body, request(legacy=True))
    assert ids(judged) == set() and ids(judged, "warning") == {"legacy_function_call"}


def test_a_function_call_copied_beside_tool_calls_is_no_second_call_only_a_warning() -> None:
    """llama-cpp-python 0.3.36 sends every call twice: in `tool_calls` and in the legacy field."""
    copy = {"name": "weather", "arguments": '{"city": "Paris"}'}
    judged = judge(response(call(), function_call=copy))
    assert judged.reply is not None and [c.name for c in judged.reply.tool_calls] == ["weather"]
    assert ids(judged) == set() and ids(judged, "warning") == {"legacy_function_call"}
    assert "as a copy of tool call 0 'weather'" in judged.findings[0].message


def test_a_function_call_beside_tool_calls_that_differs_is_a_violation() -> None:
    wrong = {"name": "weather:", "arguments": '{"city": "Paris"}'}
    judged = judge(response(call(), function_call=wrong))
    assert judged.reply is not None and len(judged.reply.tool_calls) == 1
    finding = only(judged, "legacy_function_call")
    assert finding.actual == {"name": "weather:", "arguments": '{"city": "Paris"}'}
    assert "differs from tool call 0 'weather': it names 'weather:'" in finding.message


# ------------------------------------------------------------------------------------ tool_call.repeated


def _answered(args: str, answered: bool = True) -> dict[str, Any]:
    history: list[dict[str, Any]] = [{"role": "assistant", "tool_calls": [call(id="old", args=args)]}]
    if answered:
        history.append({"role": "tool", "tool_call_id": "old", "content": "sunny"})
    return request(*history)


def test_repeating_an_answered_call_is_a_warning() -> None:
    judged = judge(response(call(id="new", args='{ "city":"Paris" }')), _answered('{"city": "Paris"}'))
    assert ids(judged) == set() and ids(judged, "warning") == {"tool_call.repeated"}
    assert "'old'" in only(judged, "tool_call.repeated").message


@pytest.mark.parametrize(("args", "answered"), [('{"city": "Rome"}', True), ('{"city": "Paris"}', False)])
def test_a_different_or_unanswered_call_is_not_a_repeat(args: str, answered: bool) -> None:
    assert judge(response(call(id="new")), _answered(args, answered)).findings == []


def test_the_same_call_for_a_new_user_task_is_not_a_repeat() -> None:
    """A real OpenAI exchange: the weather is asked, called, answered; the user asks again later, and the
    model rightly calls the same tool with the same arguments. Only a repeat within one task is a loop."""
    history = [
        {"role": "assistant", "content": None, "tool_calls": [call(id="old")]},
        {"role": "tool", "tool_call_id": "old", "content": "sunny"},
        {"role": "assistant", "content": "It is sunny in Paris."},
        {"role": "user", "content": "And what about now, an hour later?"},
    ]
    assert judge(response(call(id="new")), request(*history)).findings == []
    # Within the new task, a second identical call after its answer is a loop again.
    again = [*history, {"role": "assistant", "content": None, "tool_calls": [call(id="mid")]},
             {"role": "tool", "tool_call_id": "mid", "content": "still sunny"}]
    repeated = only(judge(response(call(id="new")), request(*again)), "tool_call.repeated")
    assert "'mid'" in repeated.message and "since the last user message" in repeated.message


# ---------------------------------------------------------------------------------------------- sdk.parse


def test_sdk_parse_flags_what_the_sdk_rejects_inside_choices() -> None:
    judged = judge(response(finish="eos", content="hi"))
    assert ids(judged) == {"sdk.parse"}
    assert "choices.0.finish_reason" in only(judged, "sdk.parse").message


def test_sdk_parse_leaves_envelope_fields_alone() -> None:
    """Groq's service_tier "on_demand", Azure's `object: ""`: real, conformant, never read by a client."""
    body = response(call())
    del body["object"]
    body["service_tier"] = "on_demand"
    assert judge(body).findings == []


@pytest.mark.parametrize("extra", [{"x_groq": {"id": "r"}}, {"time_info": {}}, {"provider": "Chutes"}])
def test_vendor_fields_and_content_variants_are_not_findings(extra: dict[str, Any]) -> None:
    body = response(call(index=0), reasoning_content="think", reasoning="think", content="\n\n")
    body.update(extra)
    body["choices"][0]["native_finish_reason"] = "STOP"
    body["model"] = "something-else-2025"
    assert judge(body).findings == []


def test_defects_in_a_call_are_not_double_counted_by_sdk_parse() -> None:
    judged = judge(response(call(type=..., id=...)))
    assert ids(judged) == {"tool_call.type", "tool_call.id"}


# ------------------------------------------------------------------------------------- errors and bodies


@pytest.mark.parametrize(("status", "kind"), [
    (400, "bad_request"), (409, "bad_request"), (413, "bad_request"), (422, "bad_request"),
    (401, "unauthorized"), (403, "unauthorized"), (404, "not_found"), (429, "rate_limited"),
    (500, "server_error"), (503, "server_error"), (None, "connection"),
])
def test_classify_error_kinds(status: int | None, kind: str) -> None:
    assert classify_error(status, "").kind == kind


@pytest.mark.parametrize(("text", "message"), [
    ('{"error": {"message": "Rate limit", "code": 429}}', "Rate limit"),
    ('{"error": "model not found"}', "model not found"),
    ('{"message": "Unauthorized"}', "Unauthorized"),
    ("<html><body>Bad Gateway</body></html>", "<html><body>Bad Gateway</body></html>"),
])
def test_classify_error_message(text: str, message: str) -> None:
    assert classify_error(502, text).message == message


@pytest.mark.parametrize("text", ["", "<!DOCTYPE html><html>oops</html>", '{"id": "x", "choices": []}',
                                  "[1, 2]", '"text"', '{"id": "x", "choices": [{"index": 0, "mess', "null",
                                  '{"choices": [{"index": 0}]}'])
def test_unreadable_2xx_bodies_are_invalid_body(text: str) -> None:
    judged = assess(request(), 200, text, stream=False)
    assert judged.reply is None and judged.error is not None and judged.error.kind == "invalid_body"


def test_padded_and_pretty_printed_bodies_are_read() -> None:
    text = "\n         \n\n" + json.dumps(response(call()), indent=2) + "\n"
    assert assess(request(), 200, text, stream=False).findings == []


def test_an_error_object_in_a_200_body_is_an_error() -> None:
    judged = assess(request(), 200, '{"error": {"message": "upstream down", "code": 502}}', stream=False)
    assert judged.error is not None
    assert (judged.error.kind, judged.error.message) == ("server_error", "upstream down")


def test_non_2xx_is_an_error_without_reply() -> None:
    judged = assess(request(), 429, '{"error": {"message": "slow down"}}', stream=False)
    assert judged.reply is None and judged.findings == []
    assert judged.error is not None and judged.error.kind == "rate_limited" and judged.error.status == 429


# ------------------------------------------------------------------------------------------- registry


def test_registry_refuses_a_duplicate_id() -> None:
    registry = Registry()
    registry.register("x")(lambda ex: [])
    with pytest.raises(ValueError, match="already registered"):
        registry.register("x")(lambda ex: [])


def test_every_contract_check_is_registered() -> None:
    assert set(CHECKS.ids()) == {
        "tool_call.type", "tool_call.id", "tool_call.id_unique", "tool_call.name",
        "tool_call.arguments_string", "tool_call.arguments_json", "tool_call.arguments_schema",
        "finish_reason", "legacy_function_call",
        "stream.index", "stream.header_repeated", "stream.finish_reason", "stream.done", "tool_call.repeated",
        "sdk.parse",
    }
