"""The built-in wire checks: plain functions registered by id, run all on every exchange.

A check receives an `Exchange` (the request as sent, the assembled reply, the raw facts about each
call and, for streams, the trace) and yields `Finding`s with the evidence. Checks judge only what the
OpenAI wire contract says; harmless variety that real providers show (content null/""/absent, vendor
fields, id formats, `index` in non-stream calls, key order) is deliberately not a finding.
The one check that defers to the openai SDK's own types, `sdk.parse`, lives in `sdk_parse` and is
registered here, so `CHECKS` holds every built-in wire check. Plugins add theirs with `harness.check`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from harness.conformance.check_registry import WIRE_CHECKS, CheckRegistry, check
from harness.conformance.exchange import Exchange, as_list, history_calls, label, schema_verdict
from harness.conformance.sdk_parse import check_sdk_parse, spans
from harness.core.model import Finding

# The registry of wire checks under its historical names: `CHECKS.run(exchange)` judges one exchange.
CHECKS = WIRE_CHECKS
Registry = CheckRegistry

__all__ = ["CHECKS", "Exchange", "Registry", "check", "schema_verdict"]


# --------------------------------------------------------------------------------------- call checks


@CHECKS.register("tool_call.type")
def check_type(ex: Exchange) -> Iterator[Finding]:
    """Every tool call has `type: "function"`."""
    for position, (call, facts) in enumerate(ex.each_call()):
        if facts.legacy or facts.type_raw == "function":
            continue
        actual = "missing" if facts.type_raw is None else facts.type_raw
        shown = "missing" if facts.type_raw is None else f"{actual!r}"
        yield Finding(check="tool_call.type", expected="function", actual=actual,
                      message=f"{label(call, position)}: type is {shown}, expected 'function'; typed "
                      "clients (openai SDK) dispatch on it")


@CHECKS.register("tool_call.id")
def check_id(ex: Exchange) -> Iterator[Finding]:
    """Every tool call has a non-empty string id."""
    for position, (call, facts) in enumerate(ex.each_call()):
        if facts.legacy or (isinstance(facts.id_raw, str) and facts.id_raw.strip()):
            continue
        if facts.id_raw is None:
            actual, why = "missing", "is missing"
        elif isinstance(facts.id_raw, str):
            actual, why = facts.id_raw, "is empty"
        else:
            kind = type(facts.id_raw).__name__
            actual, why = facts.id_raw, f"is a JSON {kind} ({facts.id_raw!r}), not a string"
        yield Finding(check="tool_call.id", expected="a non-empty string", actual=actual,
                      message=f"{label(call, position)}: id {why}; the tool result cannot be tied back to "
                      "the call")


@CHECKS.register("tool_call.id_unique")
def check_id_unique(ex: Exchange) -> Iterator[Finding]:
    """Tool-call ids are unique in the response and not reused from the history."""
    past = {p.id for p in history_calls(ex.request) if p.id}
    past |= {str(m["tool_call_id"]) for m in as_list(ex.request.get("messages"))
             if isinstance(m, dict) and m.get("role") == "tool" and m.get("tool_call_id")}
    seen: dict[str, int] = {}
    for position, call in enumerate(ex.reply.tool_calls):
        if not call.id:
            continue
        if call.id in seen:
            yield Finding(check="tool_call.id_unique", expected="ids unique within the response",
                          actual=call.id, message=f"{label(call, position)}: id {call.id!r} is already used "
                          f"by tool call {seen[call.id]} in this response")
        elif call.id in past:
            yield Finding(check="tool_call.id_unique", expected="an id not used earlier in the conversation",
                          actual=call.id, message=f"{label(call, position)}: id {call.id!r} reuses an id "
                          "from the request's history; a client keying tool results by id mixes up the turns")
        seen.setdefault(call.id, position)


@CHECKS.register("tool_call.name")
def check_name(ex: Exchange) -> Iterator[Finding]:
    """Every called function is one the request offered."""
    offered = sorted(ex.tools)
    for position, call in enumerate(ex.reply.tool_calls):
        if call.name is not None and call.name in ex.tools:
            continue
        actual = call.name if call.name is not None else "missing"
        what = f"name {call.name!r} is" if call.name is not None else "has no name, so it is"
        yield Finding(check="tool_call.name", expected=offered, actual=actual,
                      message=f"tool call {position}: {what} not among the offered tools {offered}")


@CHECKS.register("tool_call.arguments_string")
def check_arguments_string(ex: Exchange) -> Iterator[Finding]:
    """`function.arguments` is a JSON-encoded string, not an object or null."""
    for position, (call, facts) in enumerate(ex.each_call()):
        if facts.arguments_kind == "string":
            continue
        actual = {"missing": "missing", "null": None}.get(facts.arguments_kind, call.arguments)
        yield Finding(check="tool_call.arguments_string", expected="a JSON-encoded string", actual=actual,
                      message=f"{label(call, position)}: {call.arguments_error}; clients json.loads() "
                      "this field")


@CHECKS.register("tool_call.arguments_json")
def check_arguments_json(ex: Exchange) -> Iterator[Finding]:
    """The arguments string parses as a JSON object."""
    for position, call in enumerate(ex.reply.tool_calls):
        if call.arguments_raw is None:
            continue  # not a string: reported by tool_call.arguments_string
        if not call.arguments_valid_json:
            problem = "empty string" if call.arguments_raw == "" else call.arguments_error
            yield Finding(check="tool_call.arguments_json", expected="a JSON object",
                          actual=call.arguments_raw,
                          message=f"{label(call, position)}: arguments are not valid JSON ({problem}): "
                          f"{call.arguments_raw[:120]!r}")
        elif not isinstance(call.arguments, dict):
            yield Finding(check="tool_call.arguments_json", expected="a JSON object",
                          actual=call.arguments_raw, message=f"{label(call, position)}: arguments are a JSON "
                          f"{type(call.arguments).__name__}, not an object: {call.arguments_raw[:120]!r}")


@CHECKS.register("tool_call.arguments_schema")
def check_arguments_schema(ex: Exchange) -> Iterator[Finding]:
    """The arguments satisfy the tool's JSON Schema."""
    for position, call in enumerate(ex.reply.tool_calls):
        verdict, error = schema_verdict(call, ex.tools)
        if verdict is False:
            yield Finding(check="tool_call.arguments_schema", expected=ex.tools.get(call.name or ""),
                          actual=call.arguments, message=f"{label(call, position)}: arguments "
                          f"{json.dumps(call.arguments)[:120]} fail the tool's JSON Schema {error}")


def current_task(request: dict[str, Any]) -> dict[str, Any]:
    """The request with its history cut to the current task: from the last user message on.

    A new user message starts a new task, and calling the same tool with the same arguments for it is
    right (ask the weather, get it, later ask "and now?"): only repeats within one task are a loop.
    """
    messages = as_list(request.get("messages"))
    users = [i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "user"]
    return {**request, "messages": messages[users[-1]:]} if users else request


@CHECKS.register("tool_call.repeated")
def check_repeated(ex: Exchange) -> Iterator[Finding]:
    """A call repeating one already answered since the last user message (a tool loop), as a warning."""
    answered = [p for p in history_calls(current_task(ex.request)) if p.answered]
    for position, call in enumerate(ex.reply.tool_calls):
        if call.name is None:
            continue
        valid = call.arguments_valid_json or call.arguments_raw is None
        arguments = call.arguments if valid else call.arguments_raw
        twin = next((p for p in answered if p.name == call.name and p.arguments == arguments), None)
        if twin is not None:
            yield Finding(check="tool_call.repeated", severity="warning", expected="a new call or an answer",
                          actual={"name": call.name, "arguments": arguments},
                          message=f"{label(call, position)}: repeats call {twin.id!r} with the same "
                          f"arguments {json.dumps(arguments)[:120]}, which was already answered since the "
                          "last user message (a tool loop)")


@CHECKS.register("legacy_function_call")
def check_legacy(ex: Exchange) -> Iterator[Finding]:
    """Calls come as `tool_calls`, not the deprecated `function_call` (nor a copy of one beside them)."""
    for position, (call, facts) in enumerate(ex.each_call()):
        if not facts.legacy:
            continue
        asked = ex.legacy_request and not ex.request.get("tools")
        yield Finding(check="legacy_function_call", severity="warning" if asked else "violation",
                      expected="message.tool_calls", actual="message.function_call",
                      message=f"{label(call, position)} came as the deprecated `function_call` instead of "
                      "`tool_calls`" + (" (the request itself used legacy `functions`)" if asked else
                                        "; it has no id, so a tool result cannot reference it"))
    copy = ex.function_call_beside
    if copy is None or not ex.reply.tool_calls:
        return
    first = ex.reply.tool_calls[0]
    shown = {"name": copy.name, "arguments": copy.arguments_raw}
    if copy.name == first.name and copy.arguments_raw == first.arguments_raw:
        yield Finding(check="legacy_function_call", severity="warning", expected="tool_calls only",
                      actual=shown, message="the deprecated `function_call` is sent beside `tool_calls`, "
                      f"as a copy of tool call 0 {first.name!r}")
        return
    wanted = {"name": first.name, "arguments": first.arguments_raw}
    yield Finding(check="legacy_function_call", expected=wanted, actual=shown,
                  message=f"the deprecated `function_call` sent beside `tool_calls` differs from tool call 0 "
                  f"{first.name!r}: it names {copy.name!r} with arguments {str(copy.arguments_raw)[:80]!r}; "
                  "a client still reading it runs another call")


def _named_choice(request: dict[str, Any]) -> str | None:
    """The function a `tool_choice: {"type": "function", "function": {"name": ...}}` forces, if any."""
    choice = request.get("tool_choice")
    function = choice.get("function") if isinstance(choice, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    return name if isinstance(name, str) else None


@CHECKS.register("finish_reason")
def check_finish_reason(ex: Exchange) -> Iterator[Finding]:
    """finish_reason is `tool_calls` exactly when the response carries tool calls."""
    reason = ex.reply.finish_reason
    calls = ex.reply.tool_calls
    if reason is None and ex.stream is not None:
        return  # a stream that never says why it ended: stream.finish_reason
    legacy_only = bool(calls) and all(f.legacy for f in ex.calls)
    forced = _named_choice(ex.request)
    if calls and reason == "stop" and forced is not None and all(c.name == forced for c in calls):
        # OpenAI itself ends a call forced by a named tool_choice with "stop" (vLLM aligned to it), so the
        # reference behaviour is not a breach; clients that branch on finish_reason still miss the call.
        yield Finding(check="finish_reason", severity="warning", expected="tool_calls", actual=reason,
                      message="finish_reason is 'stop' for a call forced by a named tool_choice, as OpenAI "
                      "answers too; clients that branch on finish_reason will not run it")
    elif calls and reason != "tool_calls" and not (legacy_only and reason == "function_call"):
        yield Finding(check="finish_reason", expected="tool_calls", actual=reason,
                      message=f"finish_reason is {reason!r} although the response has {len(calls)} tool "
                      "call(s); clients that branch on finish_reason will not run them")
    elif not calls and reason == "tool_calls":
        yield Finding(check="finish_reason", expected="stop (no tool calls)", actual=reason,
                      message="finish_reason is 'tool_calls' but the response carries no tool call")


# ------------------------------------------------------------------------------------- stream checks


@CHECKS.register("stream.index")
def check_stream_index(ex: Exchange) -> Iterator[Finding]:
    """Every streamed tool-call delta has an integer `index`."""
    if ex.stream is None or not ex.stream.missing_index:
        return
    chunks = sorted(set(ex.stream.missing_index))
    yield Finding(check="stream.index", expected="every tool_calls delta has an integer index",
                  actual=f"{len(ex.stream.missing_index)} delta(s) without index",
                  message=f"tool-call deltas without `index` in chunk(s) {spans(chunks)}; clients merge "
                  "fragments by index (the openai SDK raises)")


@CHECKS.register("stream.header_repeated")
def check_header_repeated(ex: Exchange) -> Iterator[Finding]:
    """A streamed call's id and name are sent once, not repeated in later deltas."""
    if ex.stream is None:
        return
    by_key: dict[tuple[int, int | None], list[str]] = {}
    for repeat in ex.stream.header_repeats:
        by_key.setdefault((repeat.chunk, repeat.index), []).append(
            f"{repeat.field} {repeat.new!r}" + ("" if repeat.new == repeat.previous else
                                                 f" (had {repeat.previous!r})"))
    for (chunk, index), parts in by_key.items():
        yield Finding(check="stream.header_repeated", expected="id and name sent once per tool-call index",
                      actual=parts, message=f"chunk {chunk} re-sends {', '.join(parts)} for tool-call index "
                      f"{index}, which already has a header; a client that concatenates deltas (the openai "
                      "SDK does) gets a doubled id/name")


@CHECKS.register("stream.finish_reason")
def check_stream_finish_reason(ex: Exchange) -> Iterator[Finding]:
    """A stream says why it ended (a chunk with a finish_reason)."""
    if ex.stream is not None and ex.reply.finish_reason is None:
        yield Finding(check="stream.finish_reason", expected="a chunk with a finish_reason", actual=None,
                      message=f"the stream never gives a finish_reason ({len(ex.stream.chunks)} chunks); "
                      "a client cannot tell a finished turn from a cut one")


@CHECKS.register("stream.done")
def check_stream_done(ex: Exchange) -> Iterator[Finding]:
    """A stream ends with `data: [DONE]` (a warning when it does not)."""
    if ex.stream is not None and not ex.stream.saw_done:
        yield Finding(check="stream.done", severity="warning", expected="data: [DONE]", actual="end of body",
                      message="the stream ends without `data: [DONE]`; clients waiting for it rely on the "
                      "connection closing")


# ------------------------------------------------------------------------------------------ sdk.parse

# The openai SDK's own validation lives in harness/sdk_check.py; registered last, as it always was, so
# the checks run (and their findings come) in the same order.
CHECKS.register("sdk.parse")(check_sdk_parse)
