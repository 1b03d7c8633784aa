"""The wire format the stub sends: a responder's reply made into a chat completion or SSE events.

`prepare` applies the breaks that alter the message itself (ids, types, arguments, finish reason);
the renderers lay the result out as a non-streamed body or as stream chunks, the way OpenAI does,
with the stream breaks applied there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.testing.faults import BREAKS, UNKNOWN_TOOL, check_names

_CONTROL_KEYS = frozenset({"message", "breaks", "finish_reason", "usage"})


@dataclass
class PreparedReply:
    """A reply ready to render: the message with its breaks applied, and what goes around it."""

    message: dict[str, Any]
    breaks: frozenset[str]
    finish_reason: str | None
    usage: dict[str, Any] | None  # None: the response carries no usage at all


def _split(text: str, parts: int = 3) -> list[str]:
    """Cut at a few points so clients must concatenate fragments, as real providers make them do."""
    cuts = sorted({0, *(len(text) * i // parts for i in range(1, parts)), len(text)})
    return [text[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if b > a] or [text]


def prepare(
    raw: dict[str, Any], body: dict[str, Any], server_breaks: Iterable[str], number: int
) -> PreparedReply:
    """Normalise a responder's answer and apply the breaks that alter the message itself."""
    control: dict[str, Any] = raw if "message" in raw else {"message": raw}
    check_names("responder key", control, _CONTROL_KEYS)
    breaks = frozenset(control.get("breaks", server_breaks))
    check_names("break", breaks, BREAKS)
    message = {"role": "assistant", "content": None, **control["message"]}
    calls = []
    for i, call in enumerate(message.get("tool_calls") or []):
        if "function" not in call:
            arguments = call.get("arguments", {})
            call = {
                "id": call.get("id", f"call_stub_{number}_{i}"),
                "type": "function",
                "function": {
                    "name": call["name"],
                    "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
                },
            }
        calls.append(json.loads(json.dumps(call)))
    for call in calls:
        function = call.get("function", {})
        if "duplicate_ids" in breaks and calls[0].get("id"):
            call["id"] = calls[0]["id"]
        if "missing_id" in breaks:
            call.pop("id", None)
        if "missing_type" in breaks:
            call.pop("type", None)
        arguments = function.get("arguments")
        if "invalid_json_args" in breaks and isinstance(arguments, str):
            function["arguments"] = arguments[: max(1, len(arguments) // 2)]
        elif "arguments_object" in breaks and isinstance(arguments, str):
            try:
                function["arguments"] = json.loads(arguments)
            except ValueError:
                function["arguments"] = {"raw": arguments}
    if calls and "unknown_tool" in breaks:
        offered = {t.get("function", {}).get("name") for t in body.get("tools") or []}
        calls[0]["function"]["name"] = UNKNOWN_TOOL + ("_x" if UNKNOWN_TOOL in offered else "")
    if calls:
        message["tool_calls"] = calls
    else:
        message.pop("tool_calls", None)
    finish: str | None = control.get("finish_reason", "tool_calls" if calls else "stop")
    if "wrong_finish_reason" in breaks and calls:
        finish = "stop"
    if "no_finish_reason" in breaks:
        finish = None
    prompt = max(1, len(json.dumps(body.get("messages", []))) // 4)
    completion = max(1, len(json.dumps(message)) // 4)
    default = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    usage = None if "usage" in control and control["usage"] is None else control.get("usage") or default
    return PreparedReply(message, breaks, finish, usage)


def render_completion(reply: PreparedReply, *, ident: str, created: int, model: str) -> dict[str, Any]:
    choice = {"index": 0, "message": reply.message, "logprobs": None, "finish_reason": reply.finish_reason}
    completion = {"id": ident, "object": "chat.completion", "created": created, "model": model,
                  "choices": [choice]}  # fmt: skip
    if reply.usage is not None:
        completion["usage"] = reply.usage
    return completion


def sse_event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data)}\n\n"


def render_events(
    reply: PreparedReply, *, ident: str, created: int, model: str, include_usage: bool
) -> list[str]:
    """The SSE events of a stream, each `data: ...\\n\\n`, laid out the way OpenAI streams tool calls."""
    base = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return sse_event(
            {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        )

    breaks, message = reply.breaks, reply.message
    content = message.get("content")
    pieces = _split(content) if isinstance(content, str) and content else [None]
    events = [chunk({"role": "assistant", "content": pieces[0]})]
    events += [chunk({"content": piece}) for piece in pieces[1:]]
    for index, call in enumerate(message.get("tool_calls") or []):
        function = call.get("function", {})
        name, arguments = function.get("name"), function.get("arguments", "")
        head = {key: call[key] for key in ("id", "type") if key in call}
        position = {} if "no_index" in breaks else {"index": index}
        # An arguments value that is not a string cannot be fragmented, so it travels whole in the header.
        first = "" if isinstance(arguments, str) else arguments
        events.append(
            chunk({"tool_calls": [{**position, **head, "function": {"name": name, "arguments": first}}]})
        )
        for fragment in _split(arguments) if isinstance(arguments, str) and arguments else []:
            entry: dict[str, Any] = {**position, "function": {"arguments": fragment}}
            if "repeat_header" in breaks:
                entry = {**position, **head, "function": {"name": name, "arguments": fragment}}
            events.append(chunk({"tool_calls": [entry]}))
    if reply.finish_reason is not None:
        events.append(chunk({}, reply.finish_reason))
    if include_usage and reply.usage is not None:
        events.append(sse_event({**base, "choices": [], "usage": reply.usage}))
    if "no_done" not in breaks:
        events.append("data: [DONE]\n\n")
    return events
