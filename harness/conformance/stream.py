"""Raw SSE text -> chunk dicts -> one assembled `Reply`, with the wire facts the checks judge.

Assembly is deliberately tolerant (leading whitespace, `data:` without a space, comments, blank-line
runs, no `[DONE]`, usage-only chunks, `"id": null` continuations) because a conformance tool must see
*past* harmless framing to the tool calls. It is never silently repairing, though: every deviation a
client could trip over (a delta without `index`, a header re-sent for an index, a missing
finish_reason or `[DONE]`) is recorded in a `StreamTrace` so that `checks.py` can report it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.core.model import ToolCall

ArgumentsKind = Literal["string", "missing", "null", "object", "other"]


class StreamDecodeError(ValueError):
    """The body cannot be read as an SSE stream of JSON chunks (garbled, truncated, not SSE)."""


@dataclass
class CallFacts:
    """What the wire said about one call beyond what `ToolCall` can hold (raw non-string values)."""

    legacy: bool = False
    arguments_kind: ArgumentsKind = "missing"
    id_raw: Any = None
    type_raw: Any = None


@dataclass
class HeaderRepeat:
    """An id or name sent again for an index that already had one (a concatenating client breaks)."""

    chunk: int
    index: int | None
    field: str
    previous: str
    new: str


@dataclass
class StreamTrace:
    """Facts about the stream as delivered: the decoded chunks and every framing deviation."""

    chunks: list[dict[str, Any]] = field(default_factory=list)
    saw_done: bool = False
    missing_index: list[int] = field(default_factory=list)
    header_repeats: list[HeaderRepeat] = field(default_factory=list)
    error: dict[str, Any] | None = None


# ---------------------------------------------------------------------------------------------- SSE


class SSEDecoder:
    """Incremental SSE decoder: feed text in any pieces, get the `data` payload of each event.

    Lines are left-stripped before parsing (one real cassette starts with ` data:`), and a payload
    still pending when the text ends is flushed, because several servers omit the final blank line.
    """

    def __init__(self) -> None:
        self._pending = ""
        self._data: list[str] = []

    def feed(self, text: str) -> list[str]:
        self._pending += text
        # A trailing "\r" may be the first half of "\r\n": keep it until the next piece arrives.
        cut = len(self._pending) - 1 if self._pending.endswith("\r") else len(self._pending)
        body, self._pending = self._pending[:cut], self._pending[cut:]
        lines = re.split(r"\r\n|\r|\n", body)
        self._pending = lines.pop() + self._pending
        events: list[str] = []
        for line in lines:
            self._line(line, events)
        return events

    def close(self) -> list[str]:
        events: list[str] = []
        rest, self._pending = self._pending, ""
        if rest:
            self._line(rest, events)
        self._line("", events)
        return events

    def _line(self, line: str, events: list[str]) -> None:
        line = line.lstrip(" \t\ufeff")
        if not line:
            if self._data:
                events.append("\n".join(self._data))
                self._data = []
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)


def decode_events(text: str) -> list[str]:
    decoder = SSEDecoder()
    return decoder.feed(text) + decoder.close()


def parse_chunks(text: str) -> tuple[list[dict[str, Any]], bool]:
    """Decode the SSE body into chunk dicts; return them and whether `data: [DONE]` was seen."""
    chunks: list[dict[str, Any]] = []
    saw_done = False
    for number, payload in enumerate(decode_events(text)):
        if payload.strip() == "[DONE]":
            saw_done = True
            continue
        if saw_done or not payload.strip():
            continue
        values, done = _json_values(payload, number)
        saw_done = saw_done or done
        for value in values:
            if not isinstance(value, dict):
                raise StreamDecodeError(f"event {number} is JSON {type(value).__name__}, not a chunk object")
            chunks.append(value)
    if not chunks:
        excerpt = text.strip()[:80]
        raise StreamDecodeError(f"no `data:` chunks in the stream (body starts {excerpt!r})")
    return chunks, saw_done


def _json_values(payload: str, number: int) -> tuple[list[Any], bool]:
    """One event's JSON; when a server omits blank lines between events, accept one object per line."""
    try:
        return [json.loads(payload)], False
    except ValueError as exc:
        lines = [line.strip() for line in payload.split("\n") if line.strip()]
        if len(lines) > 1:
            try:
                values = [json.loads(line) for line in lines if line != "[DONE]"]
                return values, "[DONE]" in lines
            except ValueError:
                pass
        raise StreamDecodeError(f"event {number} is not valid JSON ({exc}): {payload[:80]!r}") from exc


# ------------------------------------------------------------------------------------------ arguments


def read_arguments(value: Any, present: bool = True) -> tuple[ToolCall, ArgumentsKind]:
    """Parse `function.arguments` as the wire gave it, keeping the raw text beside the parse."""
    call = ToolCall()
    if not present:
        call.arguments_error = "no arguments were sent"
        return call, "missing"
    if value is None:
        call.arguments_error = "arguments is null, not a JSON string"
        return call, "null"
    if not isinstance(value, str):
        call.arguments = value
        call.arguments_error = f"arguments is a JSON {_json_type(value)}, not a string"
        return call, "object" if isinstance(value, dict) else "other"
    call.arguments_raw = value
    try:
        call.arguments = json.loads(value, parse_constant=_reject_constant)
        call.arguments_valid_json = True
    except ValueError as exc:
        call.arguments_error = f"not valid JSON: {exc}"
    return call, "string"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


# ------------------------------------------------------------------------------------------- assembly


@dataclass
class _Slot:
    index: int | None
    order: int
    legacy: bool = False
    id: Any = None
    type: Any = None
    name: str | None = None
    fragments: list[str] | None = None
    nonstring: Any = None
    has_nonstring: bool = False


@dataclass
class Assembly:
    """A stream assembled as a client would see it, with the trace the stream checks read."""

    content: str | None
    finish_reason: str | None
    usage: dict[str, Any] | None
    model: str | None
    upstream: str | None
    tool_calls: list[ToolCall]
    calls: list[CallFacts]
    trace: StreamTrace
    # A legacy `function_call` streamed beside `tool_calls`: a copy of a call, not a call of its own.
    function_call_beside: ToolCall | None = None


def assemble(text: str) -> Assembly:
    """Decode and assemble a raw SSE body; raises `StreamDecodeError` when it cannot be read."""
    chunks, saw_done = parse_chunks(text)
    return _Assembler(chunks, saw_done).run()


class _Assembler:
    def __init__(self, chunks: list[dict[str, Any]], saw_done: bool) -> None:
        self.trace = StreamTrace(chunks=chunks, saw_done=saw_done)
        self.slots: list[_Slot] = []
        self.current: dict[int, _Slot] = {}
        self.content: list[str] | None = None
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.model: str | None = None
        self.upstream: str | None = None

    def run(self) -> Assembly:
        for number, chunk in enumerate(self.trace.chunks):
            if chunk.get("error") is not None:
                self.trace.error = {"chunk": number, "error": chunk["error"]}
                break
            self._chunk(number, chunk)
            if self.trace.error is not None:
                break
        ordered = sorted(self.slots, key=lambda s: (s.index if s.index is not None else 1 << 30, s.order))
        beside = None
        if any(not s.legacy for s in ordered) and any(s.legacy for s in ordered):
            beside = self._finish(next(s for s in ordered if s.legacy))[0]
            ordered = [s for s in ordered if not s.legacy]
        calls = [self._finish(slot) for slot in ordered]
        return Assembly(
            content="".join(self.content) if self.content is not None else None,
            finish_reason=self.finish_reason,
            usage=self.usage,
            model=self.model,
            upstream=self.upstream,
            tool_calls=[call for call, _ in calls],
            calls=[facts for _, facts in calls],
            trace=self.trace,
            function_call_beside=beside,
        )

    def _chunk(self, number: int, chunk: dict[str, Any]) -> None:
        if self.model is None and isinstance(chunk.get("model"), str):
            self.model = chunk["model"]
        if self.upstream is None and isinstance(chunk.get("provider"), str):
            self.upstream = chunk["provider"]
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        choices = chunk.get("choices")
        if choices is None:
            return
        if not isinstance(choices, list):
            raise StreamDecodeError(f"chunk {number}: `choices` is a {_json_type(choices)}, not an array")
        for choice in choices:
            if not isinstance(choice, dict):
                raise StreamDecodeError(f"chunk {number}: a choice is a {_json_type(choice)}, not an object")
            if choice.get("index", 0) not in (0, None):
                continue  # n > 1: the harness judges the first choice only
            if choice.get("error") is not None:
                self.trace.error = {"chunk": number, "error": choice["error"]}
                return
            if isinstance(choice.get("finish_reason"), str):
                self.finish_reason = choice["finish_reason"]
            delta = choice.get("delta")
            if isinstance(delta, dict):
                self._delta(number, delta)

    def _delta(self, number: int, delta: dict[str, Any]) -> None:
        if isinstance(delta.get("content"), str):
            if self.content is None:
                self.content = []
            self.content.append(delta["content"])
        tool_calls = delta.get("tool_calls")
        if isinstance(tool_calls, list):
            for item in tool_calls:
                if isinstance(item, dict):
                    self._tool_delta(number, item)
        legacy = delta.get("function_call")
        if isinstance(legacy, dict):
            slot = next((s for s in self.slots if s.legacy), None)
            if slot is None:
                slot = _Slot(index=None, order=len(self.slots), legacy=True)
                self.slots.append(slot)
            self._merge(number, slot, None, legacy)

    def _tool_delta(self, number: int, item: dict[str, Any]) -> None:
        index = item.get("index")
        new_id = item.get("id")
        if not isinstance(index, int) or isinstance(index, bool):
            self.trace.missing_index.append(number)
            slot = self._slot_without_index(new_id)
        else:
            known = self.current.get(index)
            if known is not None and not (_given(new_id) and _given(known.id) and new_id != known.id):
                slot = known
            else:
                if known is not None:  # the index was reused for a different call
                    self._repeat(number, index, "id", known.id, new_id)
                slot = _Slot(index=index, order=len(self.slots))
                self.slots.append(slot)
                self.current[index] = slot
        if _given(new_id):
            if _given(slot.id) and new_id == slot.id:
                self._repeat(number, slot.index, "id", slot.id, new_id)
            elif not _given(slot.id):
                slot.id = new_id
        if item.get("type") is not None:
            slot.type = item["type"]
        function = item.get("function")
        if isinstance(function, dict):
            self._merge(number, slot, slot.index, function)

    def _slot_without_index(self, new_id: Any) -> _Slot:
        if _given(new_id):
            known = next((s for s in self.slots if s.id == new_id), None)
            if known is not None:
                return known
        if not _given(new_id) and self.slots:
            return self.slots[-1]
        slot = _Slot(index=None, order=len(self.slots))
        self.slots.append(slot)
        return slot

    def _merge(self, number: int, slot: _Slot, index: int | None, function: dict[str, Any]) -> None:
        name = function.get("name")
        if isinstance(name, str) and name:
            if slot.name is None:
                slot.name = name
            else:
                self._repeat(number, index, "name", slot.name, name)
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            slot.fragments = (slot.fragments or []) + [arguments]
        elif arguments is not None:
            slot.nonstring, slot.has_nonstring = arguments, True

    def _repeat(self, number: int, index: int | None, name: str, previous: Any, new: Any) -> None:
        self.trace.header_repeats.append(HeaderRepeat(number, index, name, str(previous), str(new)))

    @staticmethod
    def _finish(slot: _Slot) -> tuple[ToolCall, CallFacts]:
        if slot.has_nonstring and slot.fragments is None:
            call, kind = read_arguments(slot.nonstring)
        else:
            joined = "".join(slot.fragments) if slot.fragments is not None else None
            call, kind = read_arguments(joined, present=slot.fragments is not None)
        call.index = slot.index
        call.id = slot.id if isinstance(slot.id, str) else None
        call.type = slot.type if isinstance(slot.type, str) else None
        call.name = slot.name
        facts = CallFacts(legacy=slot.legacy, arguments_kind=kind, id_raw=slot.id, type_raw=slot.type)
        return call, facts


def _given(value: Any) -> bool:
    """Continuations send `"id": null` or `""`; only a real value counts as (re-)sending a header."""
    return value is not None and value != ""
