"""Judge one HTTP exchange on the wire: classify failures, assemble the reply, run every check.

`assess` never raises on provider output. A response that cannot be read (HTML, garbled or truncated
JSON, no choices) becomes an `invalid_body` error, kept apart from findings, because a body we cannot
parse says nothing about the model's tool calling; a body we can parse is judged in full.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from harness.checks import CHECKS, Exchange, schema_verdict
from harness.models import ErrorInfo, ErrorKind, Finding, Reply, ToolCall
from harness.stream import CallFacts, StreamDecodeError, assemble, read_arguments

_STATUS_KINDS: dict[int, ErrorKind] = {
    400: "bad_request", 409: "bad_request", 413: "bad_request", 422: "bad_request",
    401: "unauthorized", 403: "unauthorized", 404: "not_found", 408: "timeout", 429: "rate_limited",
}


@dataclass
class Assessment:
    """The verdict on one exchange: an assembled reply and its findings, or the error that prevented one."""

    reply: Reply | None = None
    error: ErrorInfo | None = None
    findings: list[Finding] = field(default_factory=list)


def classify_error(status: int | None, text: str) -> ErrorInfo:
    """Map an HTTP failure to an `ErrorKind`, carrying the provider's own message when it sent one."""
    if status is None:
        kind: ErrorKind = "connection"
    elif status in _STATUS_KINDS:
        kind = _STATUS_KINDS[status]
    elif status >= 500:
        kind = "server_error"
    elif 400 <= status < 500:
        kind = "bad_request"
    else:
        kind = "invalid_body"
    return ErrorInfo(kind=kind, message=error_message(text, status), status=status)


def error_message(text: str, status: int | None = None) -> str:
    """The provider's error message from `{"error": {"message"}}`, `{"error": "..."}` or `{"message"}`."""
    try:
        data: Any = json.loads(text)
    except (ValueError, TypeError):
        data = None
    message = _message_of(data) if isinstance(data, dict) else None
    if message:
        return message
    excerpt = " ".join((text or "").split())[:200]
    if excerpt:
        return excerpt
    return f"HTTP {status} with an empty body" if status is not None else "no response"


def _message_of(data: dict[str, Any]) -> str | None:
    error = data.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]:
        return str(error["message"])
    if isinstance(error, str) and error:
        return error
    if isinstance(data.get("message"), str) and data["message"]:
        return str(data["message"])
    return None


def _error_in_body(error: Any) -> ErrorInfo:
    """An `{"error": ...}` object inside a 2xx body or mid-stream, classified by its code when numeric."""
    code = error.get("code") if isinstance(error, dict) else None
    status = int(code) if isinstance(code, int | str) and str(code).isdigit() else None
    message = _message_of({"error": error}) or json.dumps(error)[:200]
    if status is not None and 400 <= status < 600:
        return ErrorInfo(kind=classify_error(status, "").kind, message=message, status=status)
    return ErrorInfo(kind="server_error", message=message)


def _invalid(message: str, status: int | None) -> Assessment:
    return Assessment(error=ErrorInfo(kind="invalid_body", message=message, status=status))


# ------------------------------------------------------------------------------------------- assess


def assess(request: dict[str, Any], status: int | None, text: str, *, stream: bool) -> Assessment:
    """Judge one exchange self-contained: the request gives the offered tools and the history."""
    if status is None or not 200 <= status < 300:
        return Assessment(error=classify_error(status, text))
    request = request if isinstance(request, dict) else {}
    if stream:
        return _assess_stream(request, status, text)
    return _assess_body(request, status, text)


def _assess_stream(request: dict[str, Any], status: int, text: str) -> Assessment:
    try:
        assembly = assemble(text)
    except StreamDecodeError as exc:
        whole = _json_object(text)
        if whole is not None and whole.get("error") is not None:
            return Assessment(error=_error_in_body(whole["error"]))
        if whole is not None:
            return _invalid("expected an SSE stream (stream: true) but got a plain JSON body", status)
        return _invalid(f"unreadable stream: {exc}", status)
    if assembly.trace.error is not None:
        return Assessment(error=_error_in_body(assembly.trace.error["error"]))
    reply = Reply(content=assembly.content, tool_calls=assembly.tool_calls,
                  finish_reason=assembly.finish_reason, usage=assembly.usage, model=assembly.model,
                  upstream=assembly.upstream)
    return _judge(Exchange(request=request, reply=reply, calls=assembly.calls, stream=assembly.trace))


def _assess_body(request: dict[str, Any], status: int, text: str) -> Assessment:
    try:
        data: Any = json.loads(text.lstrip("\ufeff"))
    except (ValueError, TypeError) as exc:
        excerpt = " ".join(text.split())[:80]
        return _invalid(f"body is not JSON ({exc}); it starts {excerpt!r}", status)
    if not isinstance(data, dict):
        return _invalid(f"body is a JSON {type(data).__name__}, not a chat completion object", status)
    if data.get("error") is not None and not data.get("choices"):
        return Assessment(error=_error_in_body(data["error"]))
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        return _invalid(f"body has no choices (choices = {json.dumps(choices)[:60]})", status)
    choice = next((c for c in choices if isinstance(c, dict) and c.get("index", 0) in (0, None)), choices[0])
    if not isinstance(choice, dict) or not isinstance(choice.get("message"), dict):
        return _invalid("the first choice has no message object", status)
    if choice.get("error") is not None:  # OpenRouter reports an upstream failure inside the choice
        return Assessment(error=_error_in_body(choice["error"]))
    message = choice["message"]
    calls, facts = _body_calls(message)
    reply = Reply(
        content=message["content"] if isinstance(message.get("content"), str) else None,
        tool_calls=calls,
        finish_reason=choice["finish_reason"] if isinstance(choice.get("finish_reason"), str) else None,
        usage=data["usage"] if isinstance(data.get("usage"), dict) else None,
        model=data["model"] if isinstance(data.get("model"), str) else None,
        upstream=data["provider"] if isinstance(data.get("provider"), str) else None,
    )
    return _judge(Exchange(request=request, reply=reply, calls=facts, body=data))


def _body_calls(message: dict[str, Any]) -> tuple[list[ToolCall], list[CallFacts]]:
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
        calls.append(call)
        facts.append(CallFacts(legacy=True, arguments_kind=kind))
    return calls, facts


def _judge(exchange: Exchange) -> Assessment:
    for call in exchange.reply.tool_calls:
        call.arguments_match_schema, _ = schema_verdict(call, exchange.tools)
    return Assessment(reply=exchange.reply, findings=CHECKS.run(exchange))


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except (ValueError, TypeError):
        return None
    return data if isinstance(data, dict) else None
