"""Properties over the real streams: re-splitting them anywhere never changes the assembled reply,
and garbled or truncated bodies never crash the judge (they become `invalid_body`)."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.conformance.stream import SSEDecoder, decode_events, parse_chunks
from harness.conformance.wire import Assessment, assess

REAL = Path(os.environ.get("TOOLCALL_REAL_RESPONSES")
            or Path(__file__).resolve().parents[2] / "shared" / "real-responses")
EXCHANGES = [json.loads(p.read_text()) for p in sorted(REAL.glob("*.json"))] if REAL.is_dir() else []
STREAMS = [e for e in EXCHANGES if isinstance(e.get("response_sse"), str)]
BODIES = [e for e in EXCHANGES if "response_body" in e]
pytestmark = pytest.mark.skipif(not STREAMS, reason=f"real responses not found at {REAL}")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def text_of(exchange: dict[str, Any]) -> str:
    if isinstance(exchange.get("response_raw_text"), str):
        return str(exchange["response_raw_text"])
    if "response_sse" in exchange:
        return str(exchange["response_sse"])
    return json.dumps(exchange["response_body"])


def shape(judged: Assessment) -> tuple[Any, ...]:
    """What assembly must preserve: text, calls (id, name, raw arguments), finish_reason, violations."""
    assert judged.reply is not None, judged.error
    reply = judged.reply
    return (reply.content or "", [(c.index, c.id, c.name, c.arguments_raw) for c in reply.tool_calls],
            reply.finish_reason, sorted({f.check for f in judged.findings if f.severity == "violation"}))


def resplit(chunks: list[dict[str, Any]], draw: Any) -> list[dict[str, Any]]:
    """Split content and argument fragments of chosen chunks in two, at drawn points.

    The first half keeps the header (id, type, name); the second half carries only `index` and the
    rest of the text, and takes over finish_reason and usage so the stream still ends the same way.
    """
    out: list[dict[str, Any]] = []
    for original in chunks:
        choices = original.get("choices") or []
        delta = choices[0].get("delta") if len(choices) == 1 else None
        if not isinstance(delta, dict) or not draw(st.booleans()):
            out.append(original)
            continue
        first, second = copy.deepcopy(original), copy.deepcopy(original)
        first.pop("usage", None)
        first["choices"][0]["finish_reason"] = None
        rest: dict[str, Any] = {}
        head_delta = first["choices"][0]["delta"]
        if isinstance(delta.get("content"), str) and len(delta["content"]) > 1:
            cut = draw(st.integers(1, len(delta["content"]) - 1))
            head_delta["content"], rest["content"] = delta["content"][:cut], delta["content"][cut:]
        items = []
        for n, item in enumerate(delta.get("tool_calls") or []):
            args = (item.get("function") or {}).get("arguments")
            if isinstance(args, str) and len(args) > 1:
                cut = draw(st.integers(1, len(args) - 1))
                head_delta["tool_calls"][n]["function"]["arguments"] = args[:cut]
                items.append({"index": item["index"], "function": {"arguments": args[cut:]}})
        if items:
            rest["tool_calls"] = items
        second["choices"][0]["delta"] = rest
        out += [first, second]
    return out


def _continuation(chunk: dict[str, Any]) -> dict[str, Any] | None:
    """The delta of a chunk that only continues text or arguments (no header, finish or usage)."""
    choices = chunk.get("choices") or []
    if len(choices) != 1 or choices[0].get("finish_reason") is not None or chunk.get("usage") is not None:
        return None
    delta = choices[0].get("delta")
    if not isinstance(delta, dict) or set(delta) - {"content", "tool_calls"}:
        return None
    for item in delta.get("tool_calls") or []:
        if set(item) - {"index", "function"} or set(item.get("function") or {}) != {"arguments"}:
            return None
    return delta


def merge(chunks: list[dict[str, Any]], draw: Any) -> list[dict[str, Any]]:
    """Fold chosen continuation chunks into the chunk before them (fewer, larger fragments)."""
    out: list[dict[str, Any]] = []
    for chunk in chunks:
        later = _continuation(chunk)
        choices = out[-1].get("choices") if out else None
        if later is None or not choices or len(choices) != 1 or not draw(st.booleans()):
            out.append(chunk)
            continue
        target = copy.deepcopy(out[-1])
        delta = target["choices"][0].setdefault("delta", {})
        if not isinstance(delta, dict) or target["choices"][0].get("finish_reason") is not None:
            out.append(chunk)
            continue
        if "content" in later:
            mixed = bool(later["content"]) and bool(delta.get("tool_calls"))  # would reorder text and calls
            if not isinstance(delta.get("content") or "", str) or mixed:
                out.append(chunk)
                continue
            delta["content"] = (delta.get("content") or "") + (later["content"] or "")
        by_index = {item.get("index"): item for item in delta.get("tool_calls") or []}
        if any(item["index"] not in by_index for item in later.get("tool_calls") or []):
            out.append(chunk)
            continue
        for item in later.get("tool_calls") or []:
            function = by_index[item["index"]].setdefault("function", {})
            function["arguments"] = (function.get("arguments") or "") + item["function"]["arguments"]
        out[-1] = target
    return out


def frame(chunks: list[dict[str, Any]], draw: Any) -> str:
    prefix = draw(st.sampled_from(["data: ", "data:"]))
    sep = draw(st.sampled_from(["\n\n", "\r\n\r\n", "\n\n\n"]))
    parts = [draw(st.sampled_from(["", " ", "\n", ": keepalive\n\n"]))]
    for chunk in chunks:
        if draw(st.integers(0, 9)) == 0:
            parts.append(f": ping{sep}")
        parts.append(f"{prefix}{json.dumps(chunk)}{sep}")
    return "".join(parts) + f"{prefix}[DONE]{sep}"


@pytest.mark.parametrize("exchange", STREAMS, ids=lambda e: e["provider"][:30])
@SETTINGS
@given(data=st.data())
def test_resplitting_a_real_stream_keeps_the_assembly(exchange: dict[str, Any], data: st.DataObject) -> None:
    original = assess(exchange["request"], 200, text_of(exchange), stream=True)
    chunks, _ = parse_chunks(text_of(exchange))
    for _ in range(data.draw(st.integers(1, 3))):
        chunks = merge(chunks, data.draw) if data.draw(st.booleans()) else resplit(chunks, data.draw)
    rebuilt = assess(exchange["request"], 200, frame(chunks, data.draw), stream=True)
    assert shape(rebuilt) == shape(original)


@pytest.mark.parametrize("exchange", STREAMS, ids=lambda e: e["provider"][:30])
@SETTINGS
@given(data=st.data())
def test_transport_boundaries_do_not_change_the_events(exchange: dict[str, Any], data: st.DataObject) -> None:
    text = text_of(exchange)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=12)))
    decoder = SSEDecoder()
    events: list[str] = []
    for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True):
        events += decoder.feed(text[start:end])
    assert events + decoder.close() == decode_events(text)


# ------------------------------------------------------------------------------------- garbled bodies


def _never_raises(exchange: dict[str, Any], text: str, stream: bool) -> Assessment:
    judged = assess(exchange["request"], 200, text, stream=stream)
    assert (judged.reply is None) != (judged.error is None)
    return judged


@pytest.mark.parametrize("exchange", BODIES, ids=lambda e: e["provider"][:30])
@SETTINGS
@given(data=st.data())
def test_truncated_json_bodies_are_invalid_body(exchange: dict[str, Any], data: st.DataObject) -> None:
    text = text_of(exchange)
    cut = data.draw(st.integers(0, len(text) - 1))
    judged = _never_raises(exchange, text[:cut], stream=False)
    if text[:cut].strip() != text.strip():
        assert judged.error is not None and judged.error.kind == "invalid_body"


@pytest.mark.parametrize("exchange", STREAMS, ids=lambda e: e["provider"][:30])
@SETTINGS
@given(data=st.data())
def test_truncated_streams_never_crash(exchange: dict[str, Any], data: st.DataObject) -> None:
    text = text_of(exchange)
    cut = data.draw(st.integers(0, len(text) - 1))
    judged = _never_raises(exchange, text[:cut], stream=True)
    tail = text[:cut].rstrip().rsplit("\n", 1)[-1].strip()
    if tail.startswith("data:") and tail[5:].strip() not in ("", "[DONE]"):
        try:
            json.loads(tail[5:])
        except ValueError:  # cut inside a chunk: the body cannot be read
            assert judged.error is not None and judged.error.kind == "invalid_body"


@SETTINGS
@given(exchange=st.sampled_from(EXCHANGES or [{}]), data=st.data())
def test_mutated_bodies_never_crash(exchange: dict[str, Any], data: st.DataObject) -> None:
    if not exchange:
        return
    text = text_of(exchange)
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 40)))
    alphabet = st.sampled_from('{}[]":,\n \\0aZ-null') | st.characters()
    garbage = data.draw(st.text(alphabet=alphabet, max_size=20))
    for stream in (True, False):
        _never_raises(exchange, text[:start] + garbage + text[end:], stream=stream)


@SETTINGS
@given(text=st.text(), stream=st.booleans())
def test_arbitrary_text_never_crashes(text: str, stream: bool) -> None:
    _never_raises({"request": {"messages": [], "tools": []}}, text, stream)


KEYS = st.sampled_from(["choices", "delta", "message", "tool_calls", "function", "index", "id", "name",
                        "arguments", "finish_reason", "content", "error", "usage", "type", "function_call"])
SHAPES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
                      max_leaves=25)


@SETTINGS
@given(value=SHAPES, stream=st.booleans())
def test_arbitrary_json_shapes_never_crash(value: Any, stream: bool) -> None:
    text = f"data: {json.dumps(value)}\n\n" if stream else json.dumps(value)
    _never_raises({"request": {"messages": [], "tools": []}}, text, stream)
