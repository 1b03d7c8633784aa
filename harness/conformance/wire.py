"""Judge one HTTP exchange on the wire: classify failures, assemble the reply, run every check.

`assess` never raises on provider output. A response that cannot be read (HTML, garbled or truncated
JSON, no choices) becomes an `invalid_body` error, kept apart from findings, because a body we cannot
parse says nothing about the model's tool calling; a body we can parse is judged in full.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from harness.conformance.check_registry import CheckSelection
from harness.conformance.checks import CHECKS, Exchange, schema_verdict
from harness.conformance.stream import CallFacts, StreamDecodeError, assemble, read_arguments
from harness.core.model import ErrorInfo, Finding, Reply, ToolCall
from harness.transport.errors import classify_error, error_in_body


@dataclass
class Assessment:
    """The verdict on one exchange: an assembled reply and its findings, or the error that prevented one."""

    reply: Reply | None = None
    error: ErrorInfo | None = None
    findings: list[Finding] = field(default_factory=list)


def _invalid(message: str, status: int | None) -> Assessment:
    return Assessment(error=ErrorInfo(kind="invalid_body", message=message, status=status))


# ------------------------------------------------------------------------------------------- assess


def assess(
    request: dict[str, Any],
    status: int | None,
    text: str,
    *,
    stream: bool,
    checks: CheckSelection | None = None,
) -> Assessment:
    """Judge one exchange self-contained: the request gives the offered tools and the history.

    `checks` (from `select_checks`) limits which wire checks run; by default every registered one does.
    """
    if status is None or not 200 <= status < 300:
        return Assessment(error=classify_error(status, text))
    request = request if isinstance(request, dict) else {}
    if stream:
        return _assess_stream(request, status, text, checks)
    return _assess_body(request, status, text, checks)


def _assess_stream(
    request: dict[str, Any], status: int, text: str, checks: CheckSelection | None
) -> Assessment:
    try:
        assembly = assemble(text)
    except StreamDecodeError as exc:
        whole = _json_object(text)
        if whole is not None and whole.get("error") is not None:
            return Assessment(error=error_in_body(whole["error"]))
        if whole is not None:
            return _invalid("expected an SSE stream (stream: true) but got a plain JSON body", status)
        return _invalid(f"unreadable stream: {exc}", status)
    if assembly.trace.error is not None:
        return Assessment(error=error_in_body(assembly.trace.error["error"]))
    if not any(isinstance(c.get("choices"), list) and c["choices"] for c in assembly.trace.chunks):
        # As for a plain body: nothing was answered, so there is nothing to judge the model on.
        count = len(assembly.trace.chunks)
        return _invalid(f"stream has no choices (none in its {count} chunk(s))", status)
    reply = Reply(content=assembly.content, tool_calls=assembly.tool_calls,
                  finish_reason=assembly.finish_reason, usage=assembly.usage, model=assembly.model,
                  upstream=assembly.upstream)
    return _judge(Exchange(request=request, reply=reply, calls=assembly.calls, stream=assembly.trace,
                           function_call_beside=assembly.function_call_beside), checks)


def _assess_body(
    request: dict[str, Any], status: int, text: str, checks: CheckSelection | None
) -> Assessment:
    try:
        data: Any = json.loads(text.lstrip("\ufeff"))
    except (ValueError, TypeError) as exc:
        excerpt = " ".join(text.split())[:80]
        return _invalid(f"body is not JSON ({exc}); it starts {excerpt!r}", status)
    if not isinstance(data, dict):
        return _invalid(f"body is a JSON {type(data).__name__}, not a chat completion object", status)
    if data.get("error") is not None and not data.get("choices"):
        return Assessment(error=error_in_body(data["error"]))
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        return _invalid(f"body has no choices (choices = {json.dumps(choices)[:60]})", status)
    choice = next((c for c in choices if isinstance(c, dict) and c.get("index", 0) in (0, None)), choices[0])
    if not isinstance(choice, dict) or not isinstance(choice.get("message"), dict):
        return _invalid("the first choice has no message object", status)
    if choice.get("error") is not None:  # OpenRouter reports an upstream failure inside the choice
        return Assessment(error=error_in_body(choice["error"]))
    message = choice["message"]
    calls, facts, beside = _body_calls(message)
    reply = Reply(
        content=message["content"] if isinstance(message.get("content"), str) else None,
        tool_calls=calls,
        finish_reason=choice["finish_reason"] if isinstance(choice.get("finish_reason"), str) else None,
        usage=data["usage"] if isinstance(data.get("usage"), dict) else None,
        model=data["model"] if isinstance(data.get("model"), str) else None,
        upstream=data["provider"] if isinstance(data.get("provider"), str) else None,
    )
    return _judge(Exchange(request=request, reply=reply, calls=facts, body=data, function_call_beside=beside),
                  checks)


def _body_calls(message: dict[str, Any]) -> tuple[list[ToolCall], list[CallFacts], ToolCall | None]:
    """The calls, their wire facts, and a legacy `function_call` sent beside `tool_calls`.

    Beside real tool calls, `function_call` is a (possibly wrong) copy of one of them, not another call:
    counting it would make a one-call answer look like two. It is kept for `legacy_function_call`.
    """
    calls: list[ToolCall] = []
    facts: list[CallFacts] = []
    items: list[Any] = message["tool_calls"] if isinstance(message.get("tool_calls"), list) else []
    for raw in items:
        item: dict[str, Any] = raw if isinstance(raw, dict) else {}
        function: dict[str, Any] = item["function"] if isinstance(item.get("function"), dict) else {}
        call, kind = read_arguments(function.get("arguments"), present="arguments" in function)
        index = item.get("index")
        call.index = index if isinstance(index, int) and not isinstance(index, bool) else None
        call.id = item["id"] if isinstance(item.get("id"), str) else None
        call.type = item["type"] if isinstance(item.get("type"), str) else None
        call.name = function["name"] if isinstance(function.get("name"), str) else None
        calls.append(call)
        facts.append(CallFacts(arguments_kind=kind, id_raw=item.get("id"), type_raw=item.get("type")))
    legacy = message.get("function_call")
    if isinstance(legacy, dict):
        call, kind = read_arguments(legacy.get("arguments"), present="arguments" in legacy)
        call.name = legacy["name"] if isinstance(legacy.get("name"), str) else None
        if calls:
            return calls, facts, call
        calls.append(call)
        facts.append(CallFacts(legacy=True, arguments_kind=kind))
    return calls, facts, None


def _judge(exchange: Exchange, checks: CheckSelection | None) -> Assessment:
    for call in exchange.reply.tool_calls:
        call.arguments_match_schema, _ = schema_verdict(call, exchange.tools)
    return Assessment(reply=exchange.reply, findings=CHECKS.run(exchange, checks))


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except (ValueError, TypeError):
        return None
    return data if isinstance(data, dict) else None
