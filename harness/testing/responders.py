"""Responders: the stub's "model", a function from a request body to the assistant's reply.

A responder returns either an assistant message or a control dict (see `harness.testing.stub`). These
are the stock ones: an echoing model that calls whatever tool it is offered, a fixed script, and
replies chosen by the last user message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

Responder = Callable[[dict[str, Any]], dict[str, Any]]


def message_text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


def example_value(schema: Mapping[str, Any]) -> Any:
    """A plausible value for a JSON Schema: const, first enum value, default, else a fixed one per type."""
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return example_value(schema[key][0])
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return example_arguments(schema)
    if kind == "array":
        return [example_value(schema.get("items", {}))] if schema.get("minItems", 0) else []
    return {"integer": 1, "number": 1.5, "boolean": True, "null": None}.get(kind, "stub")


def example_arguments(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments that fill exactly the required properties, so they validate against most schemas."""
    properties = parameters.get("properties") or {}
    return {name: example_value(properties.get(name, {})) for name in parameters.get("required", [])}


def echo_responder(body: dict[str, Any]) -> dict[str, Any]:
    """A predictable model: answers tool results, else calls a tool when it may, else says hello.

    After tool messages it answers "Results: " plus their contents joined with "; ", so a test can see
    which results reached the model. With tools offered and tool_choice not "none" it calls the tool
    named by tool_choice, or the first one, with the function's "x-stub-arguments" dict if present or
    else `example_arguments` of its parameters.
    """
    messages = body.get("messages") or []
    if messages and messages[-1].get("role") == "tool":
        trailing: list[str] = []
        for message in reversed(messages):
            if message.get("role") != "tool":
                break
            trailing.insert(0, message_text(message.get("content")))
        return {"role": "assistant", "content": "Results: " + "; ".join(trailing)}
    tools = [t.get("function", {}) for t in body.get("tools") or []]
    choice = body.get("tool_choice", "auto")
    if tools and choice != "none":
        function = tools[0]
        if isinstance(choice, dict):
            name = choice.get("function", {}).get("name")
            function = next((f for f in tools if f.get("name") == name), {"name": name})
        arguments = function.get("x-stub-arguments")
        if not isinstance(arguments, dict):
            arguments = example_arguments(function.get("parameters") or {})
        call = {"name": function.get("name"), "arguments": arguments}
        return {"role": "assistant", "content": None, "tool_calls": [call]}
    return {"role": "assistant", "content": "Hello."}


def _as_reply(item: dict[str, Any] | str) -> dict[str, Any]:
    return {"role": "assistant", "content": item} if isinstance(item, str) else item


def scripted(*replies: dict[str, Any] | str) -> Responder:
    """Serve the given messages (or control dicts; a str is a text answer) in order, then repeat the last.

    Multi-turn tests need the model's side of the conversation fixed in advance.
    """
    if not replies:
        raise ValueError("scripted() needs at least one reply")
    queue = [_as_reply(r) for r in replies]
    lock = threading.Lock()

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        with lock:
            return queue.pop(0) if len(queue) > 1 else queue[0]

    return responder


def by_last_user(
    mapping: Mapping[str, dict[str, Any] | str], default: Responder = echo_responder
) -> Responder:
    """Pick the reply whose key occurs in the last user message (first match wins), else ask `default`.

    Concurrent requests arrive in any order, so benchmarks key replies by prompt rather than by turn.
    """

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
        text = message_text(users[-1].get("content")) if users else ""
        for key, reply in mapping.items():
            if key in text:
                return _as_reply(reply)
        return default(body)

    return responder
