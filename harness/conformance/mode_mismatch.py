"""Streamed and non-streamed answers to the same request should carry calls of the same shape.

A provider can assemble tool calls differently on its streaming path (a dropped argument, a call lost
between deltas, a renamed tool). When a scenario ran in both modes, the turns whose requests are the same
apart from streaming are compared by shape — the multiset of tool names with their argument keys, not
values, since a sampling model may pick other values — and the first difference is a warning on the
streamed run. Later turns are compared only while the conversations stay the same: once the answers
differ, so do the next requests, and a difference there proves nothing. With several trials a streamed
run is flagged only when no non-streamed trial of the same scenario answered in its shape, so a model
that varies between trials is not mistaken for a streaming defect.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from harness.core.model import Finding, Reply, RunResult, Turn

CHECK = "stream.shape_mismatch"
_STREAM_ONLY_FIELDS = ("stream", "stream_options")
_ID_FIELDS = ("id", "tool_call_id")

Shape = list[tuple[str | None, tuple[str, ...]]]


def shape(reply: Reply) -> Shape:
    """Tool names with their sorted argument keys, in a stable order (parallel calls may come in any)."""
    calls = [
        (c.name, tuple(sorted(c.arguments)) if isinstance(c.arguments, dict) else ())
        for c in reply.tool_calls
    ]
    return sorted(calls, key=lambda c: (c[0] or "", c[1]))


def _describe(calls: Shape) -> str:
    return "[" + ", ".join(f"{name}({', '.join(keys)})" for name, keys in calls) + "]" if calls else "no call"


def _without_ids(value: Any) -> Any:
    """Call ids are the server's choice and differ between the two runs; they are not part of the input."""
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k not in _ID_FIELDS}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def _same_input(a: Turn, b: Turn) -> bool:
    def canonical(request: dict[str, Any]) -> str:
        kept = {k: v for k, v in request.items() if k not in _STREAM_ONLY_FIELDS}
        return json.dumps(_without_ids(kept), sort_keys=True)

    return canonical(a.request) == canonical(b.request)


def mismatch(nonstream: RunResult, stream: RunResult) -> Finding | None:
    """The first turn, with equal input in both modes, whose calls differ in shape; None when none does."""
    for plain, streamed in zip(nonstream.turns, stream.turns, strict=False):
        if not _same_input(plain, streamed) or plain.reply is None or streamed.reply is None:
            return None
        expected, actual = shape(plain.reply), shape(streamed.reply)
        if expected != actual:
            return Finding(
                check=CHECK,
                severity="warning",
                turn=streamed.number,
                expected=_describe(expected),
                actual=_describe(actual),
                message=f"turn {streamed.number}: streamed calls {_describe(actual)} differ in shape from "
                f"the non-streamed calls {_describe(expected)} to the same request",
            )
    return None


def flag_mode_mismatches(runs: Iterable[RunResult]) -> list[RunResult]:
    """The runs, each streamed one with a warning when its calls differ from every non-streamed twin.

    Earlier warnings are dropped and found again, so flagging a merged report reflects its own runs.
    """
    runs = [_without_warning(r) for r in runs]
    twins: dict[tuple[str, str, str], list[RunResult]] = {}
    for run in runs:
        if run.key.mode == "nonstream":
            twins.setdefault((run.key.provider, run.key.model, run.key.scenario), []).append(run)
    flagged: list[RunResult] = []
    for run in runs:
        found = None
        if run.key.mode == "stream":
            differences = [
                mismatch(t, run) for t in twins.get((run.key.provider, run.key.model, run.key.scenario), [])
            ]
            if differences and all(differences):
                found = differences[0]
        flagged.append(run if found is None else run.model_copy(update={"findings": [*run.findings, found]}))
    return flagged


def _without_warning(run: RunResult) -> RunResult:
    if not any(f.check == CHECK for f in run.findings):
        return run
    return run.model_copy(update={"findings": [f for f in run.findings if f.check != CHECK]})
