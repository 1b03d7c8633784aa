"""What a wire check sees: one exchange (the request as sent, the assembled reply, the raw facts of each
call, the stream trace), and the request helpers several checks share.

Kept apart from the checks themselves so that a plugin check and a built-in one read the same typed
context, and so that `harness.conformance.wire` can build it without importing every check.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError
from referencing.exceptions import Unresolvable

from harness.conformance.stream import CallFacts, StreamTrace
from harness.core.model import Reply, ToolCall


@dataclass
class Exchange:
    """Everything one request/response round trip offers to the checks, judged self-contained."""

    request: dict[str, Any]
    reply: Reply
    calls: list[CallFacts]
    body: dict[str, Any] | None = None
    stream: StreamTrace | None = None
    function_call_beside: ToolCall | None = None  # a legacy `function_call` sent along with tool_calls
    tools: dict[str, Any] = field(init=False)
    legacy_request: bool = field(init=False)

    def __post_init__(self) -> None:
        self.tools, self.legacy_request = offered_tools(self.request)

    def each_call(self) -> Iterator[tuple[ToolCall, CallFacts]]:
        yield from zip(self.reply.tool_calls, self.calls, strict=True)


# ------------------------------------------------------------------------------------ request helpers


def offered_tools(request: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Names of the offered functions -> their parameters schema; and whether legacy `functions` was used."""
    tools: dict[str, Any] = {}
    for tool in as_list(request.get("tools")):
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            tools[function["name"]] = function.get("parameters")
    legacy = False
    for function in as_list(request.get("functions")):
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            tools.setdefault(function["name"], function.get("parameters"))
            legacy = True
    return tools, legacy


@dataclass
class PastCall:
    id: str | None
    name: str | None
    arguments: Any
    answered: bool


def history_calls(request: dict[str, Any]) -> list[PastCall]:
    """The tool calls earlier assistant messages made, and whether a tool message answered each."""
    messages = [m for m in as_list(request.get("messages")) if isinstance(m, dict)]
    answered = {m.get("tool_call_id") for m in messages if m.get("role") == "tool"}
    past: list[PastCall] = []
    for message in messages:
        if message.get("role") != "assistant" or not isinstance(message.get("tool_calls"), list):
            continue
        for item in message["tool_calls"]:
            if not isinstance(item, dict):
                continue
            function: dict[str, Any] = item["function"] if isinstance(item.get("function"), dict) else {}
            call_id = item.get("id") if isinstance(item.get("id"), str) else None
            past.append(PastCall(call_id, function.get("name"), _loads(function.get("arguments")),
                                 call_id is not None and call_id in answered))
    return past


def as_list(value: Any) -> list[Any]:
    """`value` when it is a list, else an empty one: request fields are read without trusting them."""
    return value if isinstance(value, list) else []


def _loads(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


@functools.lru_cache(maxsize=1024)
def _validator(schema_json: str) -> Any:
    """A checked validator per distinct schema: checking a schema against its metaschema costs more than
    validating the arguments, and the same few tools come back on every turn."""
    schema = json.loads(schema_json)
    validator_cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        validator_cls.check_schema(schema)
    except SchemaError:
        return None
    return validator_cls(schema)


def schema_verdict(call: ToolCall, tools: dict[str, Any]) -> tuple[bool | None, str | None]:
    """Whether the parsed arguments satisfy the tool's JSON Schema; None when that cannot be decided."""
    if call.name not in tools or not isinstance(call.arguments, dict):
        return None, None
    schema = tools[call.name]
    if schema is None:
        schema = {"type": "object"}  # OpenAI: omitting `parameters` means a function without parameters
    if not isinstance(schema, dict):
        return None, None
    try:
        validator = _validator(json.dumps(schema, sort_keys=True))
        if validator is None:  # a schema we cannot use decides nothing about the model
            return None, None
        error = jsonschema.exceptions.best_match(validator.iter_errors(call.arguments))
    except Unresolvable:
        return None, None
    if error is None:
        return True, None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return False, f"at {where}: {error.message}"


def label(call: ToolCall, position: int) -> str:
    name = repr(call.name) if call.name is not None else "(no name)"
    return f"tool call {position} {name}"


