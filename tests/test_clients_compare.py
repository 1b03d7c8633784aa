"""`compare` on hand-built cases: the wire judged by the real `assess`, the client result written by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.clients import ClientCall, ClientCheck, ClientError, ClientResult, compare, tally, verdict
from harness.clients.compare import same_json
from harness.conformance.wire import Assessment, assess

TOOLS = [{"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
         for name in ("get_weather", "get_time")]
REQUEST = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": TOOLS}


def wire(*calls: dict[str, Any], finish: str = "tool_calls", status: int = 200, text: str | None = None
         ) -> Assessment:
    message = {"role": "assistant", "content": None, **({"tool_calls": list(calls)} if calls else {})}
    body = {"id": "c", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}]}
    return assess(REQUEST, status, text if text is not None else json.dumps(body), stream=False)


def call(name: str = "get_weather", arguments: Any = '{"city": "Paris"}', id: str | None = "call_1",
         **drop: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}
    if drop.get("no_id"):
        del out["id"]
    if drop.get("no_type"):
        del out["type"]
    return out


def client(*calls: ClientCall, finish: str | None = "tool_calls", error: ClientError | None = None,
           driver_error: str | None = None, cid: str = "node-openai") -> ClientResult:
    return ClientResult(client=cid, library="lib", version="1", mode="nonstream", api="create",
                        tool_calls=list(calls), finish_reason=finish, error=error, driver_error=driver_error)


def judged(assessment: Assessment, result: ClientResult) -> tuple[str, list[tuple[str, str]], str]:
    findings = compare(assessment.reply, assessment.findings, result, wire_error=assessment.error)
    return verdict(result, findings), [(f.check, f.severity) for f in findings], \
        " | ".join(f.message for f in findings)


PARIS = ClientCall(id="call_1", name="get_weather", arguments='{"city": "Paris"}')


# ------------------------------------------------------------------------------------- the same calls


@pytest.mark.parametrize("given", ['{"city": "Paris"}', '{"city":"Paris"}', {"city": "Paris"}],
                         ids=["byte-exact", "reformatted", "parsed-object"])
def test_the_same_call_in_any_form_the_client_hands_it_over_is_the_same(given: Any) -> None:
    result = client(ClientCall(id="call_1", name="get_weather", arguments=given))
    assert judged(wire(call()), result) == ("same", [], "")


def test_ai_sdk_finish_reason_vocabulary_is_not_a_difference() -> None:
    assert judged(wire(call()), client(PARIS, finish="tool-calls"))[0] == "same"
    assert judged(wire(call()), client(PARIS, finish="other"))[0] == "same"  # unknown: nothing to compare


# -------------------------------------------------------------------------------------------- mismatch


@pytest.mark.parametrize(("result", "words"), [
    (client(), "call 0 'get_weather' dropped"),
    (client(PARIS, ClientCall(id="x", name="get_time", arguments="{}")), "call 1 'get_time' added"),
    (client(ClientCall(id="call_1", name="get_weatherget_weather", arguments='{"city": "Paris"}')),
     "name 'get_weather' became 'get_weatherget_weather'"),
    (client(ClientCall(id="call_1", name="get_weather", arguments='{"city": "Rome"}')),
     "arguments '{\"city\": \"Paris\"}' became '{\"city\": \"Rome\"}'"),
    (client(ClientCall(id=None, name="get_weather", arguments='{"city": "Paris"}')), "id 'call_1' lost"),
    (client(ClientCall(id="call_9", name="get_weather", arguments='{"city": "Paris"}')),
     "id 'call_1' became 'call_9'"),
    (client(PARIS, finish="stop"), "finish_reason 'tool_calls' became 'stop'"),
    (client(ClientCall(id="call_1", name="get_weather", arguments={"city": "Paris"}, rejected="bad input")),
     "flagged invalid by the client: bad input"),
], ids=["dropped", "added", "name", "arguments", "id-lost", "id-changed", "finish", "valid-call-flagged"])
def test_other_calls_than_the_wire_carried_are_a_mismatch_violation(result: ClientResult, words: str) -> None:
    outcome, findings, message = judged(wire(call()), result)
    assert (outcome, findings) == ("mismatch", [("client.node-openai.mismatch", "violation")])
    assert words in message


def test_a_mismatch_names_the_wire_violation_that_explains_it() -> None:
    assessment = wire(call(), call("get_time", '{"tz": "UTC"}'))  # duplicate ids: a wire violation
    duplicate = ClientCall(id="call_1", name="get_weather", arguments={"city": "Paris"})
    outcome, findings, message = judged(assessment, client(duplicate, duplicate, cid="node-ai-sdk"))
    assert (outcome, findings) == ("mismatch", [("client.node-ai-sdk.mismatch", "violation")])
    assert "(the wire has tool_call.id_unique)" in message
    assert "call 1: name 'get_time' became 'get_weather'" in message


# ----------------------------------------------------------------------------------------------- rejects


def test_raising_on_a_response_that_passed_the_wire_is_a_violation() -> None:
    result = client(error=ClientError(type="AI_TypeValidationError", message="Type validation failed"))
    outcome, findings, message = judged(wire(call()), result)
    assert (outcome, findings) == ("rejects", [("client.node-openai.rejects", "violation")])
    assert message == ("node-openai raised AI_TypeValidationError: Type validation failed although the wire "
                       "passed every check")


def test_raising_on_a_wire_violation_is_a_warning_that_names_it() -> None:
    result = client(error=ClientError(type="OpenAIError", message="missing type", stage="result"))
    outcome, findings, message = judged(wire(call(no_type=True)), result)
    assert (outcome, findings) == ("rejects", [("client.node-openai.rejects", "warning")])
    assert message == ("node-openai raised OpenAIError while its result was read: missing type; explained by "
                       "the wire's tool_call.type")


# ----------------------------------------------------------------------------------------------- repairs


def test_reading_past_a_violation_that_leaves_no_trace_is_a_repair_warning() -> None:
    outcome, findings, message = judged(wire(call(no_type=True)), client(PARIS))
    assert (outcome, findings) == ("repairs", [("client.node-openai.repairs", "warning")])
    assert message.endswith("read past tool_call.type")


@pytest.mark.parametrize(("wire_call", "given", "words"), [
    (call(no_id=True), ClientCall(id="gen_1", name="get_weather", arguments='{"city": "Paris"}'),
     "id None became 'gen_1'"),
    (call(arguments={"city": "Paris"}),
     ClientCall(id="call_1", name="get_weather", arguments='{"city":"Paris"}'),
     "arguments sent as a JSON dict became the string"),
    (call(arguments=None), ClientCall(id="call_1", name="get_weather", arguments={}),
     "arguments missing on the wire became '{}'"),
    (call(arguments='{"city": "Pa'), ClientCall(id="call_1", name="get_weather", arguments={"city": "Pa"}),
     "arguments '{\"city\": \"Pa' became"),
], ids=["invented-id", "object-arguments-stringified", "null-arguments-to-object", "invalid-json-parsed"])
def test_fixing_a_broken_value_is_a_repair_warning(wire_call: dict[str, Any], given: ClientCall,
                                                   words: str) -> None:
    outcome, findings, message = judged(wire(wire_call), client(given))
    assert (outcome, findings) == ("repairs", [("client.node-openai.repairs", "warning")])
    assert words in message


def test_a_broken_value_fixed_into_another_broken_value_is_a_mismatch() -> None:
    stringified = ClientCall(id="call_1", name="get_weather", arguments="[object Object]")
    assert judged(wire(call(arguments={"city": "Paris"})), client(stringified))[0] == "mismatch"


def test_a_wrong_finish_reason_corrected_by_the_client_is_a_repair() -> None:
    assert judged(wire(call(), finish="stop"), client(PARIS, finish="tool-calls"))[0] == "repairs"


# ------------------------------------------------------------------------- passed on unchanged: no finding


@pytest.mark.parametrize(("wire_call", "given"), [
    (call(no_id=True), ClientCall(id=None, name="get_weather", arguments='{"city": "Paris"}')),
    (call("nope"), ClientCall(id="call_1", name="nope", arguments={"city": "Paris"}, rejected="no tool")),
    (call(arguments='{"city": "Pa'), ClientCall(id="call_1", name="get_weather", arguments='{"city": "Pa',
                                                rejected="Invalid input")),
    (call(arguments=None), ClientCall(id="call_1", name="get_weather", arguments="")),
    (call(arguments={"city": "Paris"}),
     ClientCall(id="call_1", name="get_weather", arguments={"city": "Paris"})),
], ids=["missing-id-kept", "unknown-tool-flagged", "invalid-json-flagged", "no-arguments-as-empty",
        "object-kept"])
def test_a_wire_violation_passed_on_unchanged_is_the_wire_checks_business(wire_call: dict[str, Any],
                                                                          given: ClientCall) -> None:
    assert judged(wire(wire_call), client(given)) == ("same", [], "")


# ---------------------------------------------------------------------------------- error responses


def test_an_error_response_that_the_client_raises_on_is_raised_without_finding() -> None:
    error = wire(status=500, text='{"error": {"message": "boom"}}')
    assert judged(error, client(error=ClientError(type="InternalServerError", message="500 boom"))) == \
        ("raised", [], "")


def test_an_error_response_the_client_swallows_is_a_mismatch() -> None:
    outcome, findings, message = judged(wire(text="<html>gateway</html>"), client(finish=None))
    assert (outcome, findings) == ("mismatch", [("client.node-openai.mismatch", "violation")])
    assert "returned without raising on an error response (invalid_body:" in message


def test_calls_read_from_a_body_the_wire_could_not_read_are_a_repair() -> None:
    assert judged(wire(text="data: {}"), client(PARIS))[0] == "repairs"


def test_a_client_the_harness_could_not_drive_gets_no_finding_and_an_error_verdict() -> None:
    result = client(driver_error="the Node driver exited with code 1")
    assert judged(wire(call()), result) == ("error", [], "")


# ------------------------------------------------------------------------------------------- same_json


def test_json_equality_is_by_json_value() -> None:
    assert same_json({"a": 1, "b": [1.0]}, {"b": [1], "a": 1.0})
    assert not same_json({"a": True}, {"a": 1})
    assert not same_json({"a": None}, {})
    assert not same_json("1", 1)


def test_the_python_helpers_exception_for_a_length_cut_is_raised_by_design() -> None:
    message = {"role": "assistant", "content": "Once upon"}
    body = {"id": "c", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": "length"}]}
    error = ClientError(type="LengthFinishReasonError", message="Could not parse response content")
    result = client(error=error, finish=None, cid="python-openai")
    assert judged(wire(text=json.dumps(body)), result) == ("raised", [], "")


# ----------------------------------------------------------------------------------------------- tally


def test_the_tally_counts_compatible_exchanges_and_keeps_errors_apart() -> None:
    def check(cid: str, outcome: str) -> ClientCheck:
        return ClientCheck(client=cid, version="9", verdict=outcome, result=client(cid=cid))  # type: ignore[arg-type]

    checks = [check("node-openai", v) for v in ("same", "raised", "repairs")] + \
        [check("node-ai-sdk", v) for v in ("same", "mismatch", "rejects", "error")] + [check("x", "mismatch")]
    labels = [t.label() for t in tally(checks)]
    assert labels == ["node-openai ✓ 3/3", "node-ai-sdk ~ 1/3 (1 error)", "x ✗ 0/1"]
    assert tally(checks)[1].counts == {"same": 1, "rejects": 1, "mismatch": 1, "error": 1}
