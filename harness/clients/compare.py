"""Judge a client's reading of an exchange against the wire's own: three findings per client, stable ids.

The reference is what `conformance.wire.assess` assembled from the same bytes (`Reply`) and what the
wire checks said about them. For a client with id X:

- `client.X.rejects`   the client raised on a response that had a reply to read. A **violation** when
  the wire passed (a conformant response breaks this client); a **warning** when the wire already has a
  violation, which carries the blame (this finding records that the violation breaks X).
- `client.X.mismatch`  the client returned, but its calls differ from the wire's: a call dropped, added
  or merged, a name or arguments changed, an id lost or changed, a valid call flagged invalid, another
  finish reason; or it returned quietly on an error response. Always a **violation**: the team using X
  gets wrong calls without an exception.
- `client.X.repairs`   the wire broke the contract and X hid it: it surfaced the same calls anyway
  (reading past a missing `type`, an object `arguments`, a missing `index`...), or fixed a broken value
  (invented a missing id, parsed invalid JSON). A **warning**: harmless for X's users, but a team that
  tests with X alone never learns the provider is broken, and another client may not be so kind.

A wire violation that the client passes on unchanged (an unknown tool name, arguments against the
schema, a duplicate id kept) is neither: the wire finding already says it, and the client did its job.
A client the harness could not drive (`driver_error`) gets no finding; its verdict is `error`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from harness.clients.result import ClientCall, ClientResult, Verdict
from harness.core.model import ErrorInfo, Finding, Reply, ToolCall

# Wire violations a client can read past without its user seeing any trace: when the client's calls
# match the wire's anyway, it has hidden them.
HIDDEN_WHEN_READ = frozenset({"tool_call.type", "stream.index", "stream.header_repeated", "sdk.parse"})
# The wire violations a client may fix in one field of what it surfaces.
REPAIRABLE = {
    "id": frozenset({"tool_call.id", "tool_call.id_unique"}),
    "arguments": frozenset({"tool_call.arguments_json", "tool_call.arguments_string"}),
    "finish_reason": frozenset({"finish_reason", "stream.finish_reason"}),
}
# Exceptions a client raises by design for a legitimate finish reason: the openai Python helpers
# (`parse`, `stream`) refuse a completion cut by max_tokens or a content filter.
RAISES_BY_DESIGN = frozenset({("LengthFinishReasonError", "length"),
                              ("ContentFilterFinishReasonError", "content_filter")})
# Client vocabularies for finish reasons (the AI SDK's unified values); unknown ones compare as unknown.
FINISH_ALIASES = {"tool-calls": "tool_calls", "content-filter": "content_filter",
                  "function_call": "tool_calls"}
FINISH_KNOWN = frozenset({"stop", "length", "tool_calls", "content_filter"})


@dataclass
class Difference:
    """One way the client's calls differ from the wire's; a repair when it fixes a violated field."""

    text: str
    repair: bool = False


def compare(wire_reply: Reply | None, wire_findings: list[Finding], client_result: ClientResult, *,
            wire_error: ErrorInfo | None = None) -> list[Finding]:
    """The findings about one client on one exchange; `wire_reply` is None when the wire had no reply."""
    result, cid = client_result, client_result.client
    if result.driver_error is not None:
        return []
    violations = [f for f in wire_findings if f.severity == "violation"]
    if wire_reply is None:
        return _on_wire_error(cid, result, wire_error)
    if result.error is not None and (result.error.type, wire_reply.finish_reason) in RAISES_BY_DESIGN:
        return []  # the SDK's documented way of reporting this finish reason, not a failure to read
    if result.error is not None:
        blame = _checks(violations)
        where = "" if result.error.stage == "call" else " while its result was read"
        because = f"; explained by the wire's {blame}" if blame else " although the wire passed every check"
        error = result.error
        return [Finding(check=f"client.{cid}.rejects", severity="warning" if violations else "violation",
                        expected=_calls(wire_reply.tool_calls), actual=f"{error.type}: {error.message}",
                        message=f"{cid} raised {error.type}{where}: {error.message[:200]}{because}")]
    differences = _differences(wire_reply, violations, result)
    wrong = [d for d in differences if not d.repair]
    if wrong:
        context = f" (the wire has {_checks(violations)})" if violations else ""
        return [Finding(check=f"client.{cid}.mismatch", expected=_calls(wire_reply.tool_calls),
                        actual=_client_calls(result.tool_calls),
                        message=f"{cid} surfaced other tool calls than the wire carried{context}: "
                        + "; ".join(d.text for d in wrong))]
    fixed = [d.text for d in differences if d.repair]
    hidden = sorted({f.check for f in violations} & HIDDEN_WHEN_READ)
    if not fixed and not hidden:
        return []
    parts = ([f"read past {', '.join(hidden)}"] if hidden else []) + fixed
    return [Finding(check=f"client.{cid}.repairs", severity="warning", expected=_checks(violations),
                    actual=_client_calls(result.tool_calls),
                    message=f"{cid} hid the wire's violations and surfaced usable calls: {'; '.join(parts)}")]


def verdict(client_result: ClientResult, findings: list[Finding]) -> Verdict:
    """One word per client and exchange, for tables and the pinned real-traffic test."""
    if client_result.driver_error is not None:
        return "error"
    ids = {f.check for f in findings}
    for kind in ("mismatch", "rejects", "repairs"):  # the worst finding names the verdict
        if f"client.{client_result.client}.{kind}" in ids:
            return _VERDICT_OF[kind]
    return "raised" if client_result.error is not None else "same"


_VERDICT_OF: dict[str, Verdict] = {"mismatch": "mismatch", "rejects": "rejects", "repairs": "repairs"}


def _on_wire_error(cid: str, result: ClientResult, wire_error: ErrorInfo | None) -> list[Finding]:
    if result.error is not None:
        return []  # the response was an error, and the client said so
    what = f"{wire_error.kind}: {wire_error.message[:120]}" if wire_error else "an error"
    if result.tool_calls:
        return [Finding(check=f"client.{cid}.repairs", severity="warning", expected=what,
                        actual=_client_calls(result.tool_calls),
                        message=f"{cid} read {len(result.tool_calls)} tool call(s) from a response the wire "
                        f"checks could not read ({what})")]
    return [Finding(check=f"client.{cid}.mismatch", expected=f"an exception ({what})", actual="no exception",
                    message=f"{cid} returned without raising on an error response ({what}); its user sees "
                    "an empty answer instead of the failure")]


def _differences(wire: Reply, violations: list[Finding], result: ClientResult) -> list[Difference]:
    broken = {f.check for f in violations}
    unknown_names = {f.actual for f in violations if f.check == "tool_call.name"}
    out: list[Difference] = []
    wire_calls, client_calls = wire.tool_calls, result.tool_calls
    for i in range(max(len(wire_calls), len(client_calls))):
        if i >= len(client_calls):
            out.append(Difference(f"call {i} {wire_calls[i].name!r} dropped (or merged)"))
            continue
        if i >= len(wire_calls):
            out.append(Difference(f"call {i} {client_calls[i].name!r} added"))
            continue
        w, c = wire_calls[i], client_calls[i]
        if c.id != w.id:
            fine = bool(REPAIRABLE["id"] & broken) and _good_id(c.id, client_calls)
            change = "lost" if c.id is None else f"became {c.id!r}"
            out.append(Difference(f"call {i}: id {w.id!r} {change}", fine))
        if c.name != w.name:
            out.append(Difference(f"call {i}: name {w.name!r} became {c.name!r}"))
        changed = _arguments_change(w, c.arguments)
        if changed is not None:
            what, wellformed = changed
            out.append(Difference(f"call {i} {w.name!r}: {what}",
                                  wellformed and bool(REPAIRABLE["arguments"] & broken)))
        if c.rejected and isinstance(w.arguments, dict) and w.name not in unknown_names:
            out.append(Difference(f"call {i} {w.name!r} flagged invalid by the client: "
                                  f"{c.rejected[:120]}"))
    finish_wire, finish_client = _finish(wire.finish_reason), _finish(result.finish_reason)
    if finish_wire and finish_client and finish_wire != finish_client:
        fine = bool(REPAIRABLE["finish_reason"] & broken) and finish_client == (
            "tool_calls" if client_calls else "stop")
        out.append(Difference(f"finish_reason {wire.finish_reason!r} became "
                              f"{result.finish_reason!r}", fine))
    elif finish_client and not finish_wire and REPAIRABLE["finish_reason"] & broken:
        out.append(Difference(f"finish_reason missing on the wire, "
                              f"{result.finish_reason!r} from the client", repair=True))
    return out


def _arguments_change(wire: ToolCall, given: Any) -> tuple[str, bool] | None:
    """None when the client's arguments say what the wire's said; else the change and whether the
    client's value is a well-formed JSON object (what a repair must produce).

    A client may hand over a string or a parsed object; either counts as the same when it holds the same
    JSON. Absent arguments and an empty string are the same absence.
    """
    parsed, as_object = _parsed(given)
    if wire.arguments_raw is None and wire.arguments is None:  # no arguments on the wire
        if given is None or given == "":
            return None
        return f"arguments missing on the wire became {_short(given)}", as_object
    if wire.arguments_raw is None:  # the wire sent a JSON value, not a string
        if isinstance(given, str) and parsed is not _INVALID and same_json(parsed, wire.arguments):
            kind = type(wire.arguments).__name__
            return f"arguments sent as a JSON {kind} became the string {_short(given)}", True
        if not isinstance(given, str) and same_json(given, wire.arguments):
            return None
        return f"arguments {_short(wire.arguments)} became {_short(given)}", as_object
    if isinstance(given, str) and given == wire.arguments_raw:
        return None
    if wire.arguments_valid_json and parsed is not _INVALID and same_json(parsed, wire.arguments):
        return None
    return f"arguments {_short(wire.arguments_raw)} became {_short(given)}", as_object


_INVALID = object()


def _parsed(value: Any) -> tuple[Any, bool]:
    """The JSON value a client's arguments hold (`_INVALID` for a string that is not JSON)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return _INVALID, False
    return value, isinstance(value, dict)


def same_json(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0 (one JSON number), but True != 1 and key order does not matter."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _good_id(value: Any, calls: list[ClientCall]) -> bool:
    return isinstance(value, str) and bool(value.strip()) and sum(c.id == value for c in calls) == 1


def _finish(value: str | None) -> str | None:
    if value is None:
        return None
    value = FINISH_ALIASES.get(value, value)
    return value if value in FINISH_KNOWN else None


def _checks(findings: list[Finding]) -> str:
    return ", ".join(sorted({f.check for f in findings}))


def _calls(calls: list[ToolCall]) -> list[dict[str, Any]]:
    return [{"id": c.id, "name": c.name, "arguments": c.arguments_raw if c.arguments_raw is not None
             else c.arguments} for c in calls]


def _client_calls(calls: list[ClientCall]) -> list[dict[str, Any]]:
    return [c.model_dump(exclude_none=True) for c in calls]


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
