"""Trigger expectations: what a scenario says about calling a tool at all, recorded with every run.

K2-Vendor-Verifier's first question about a vendor is whether the model calls a tool when it should
and refrains when it should not. A scenario answers that question in several ways; this module reads
them into plain `TriggerExpectation`s (a turn, or the whole run, and call / no call), which the engine
stores on the `RunResult` so that any saved report, live or replayed, can be scored without the
scenario files (`harness.results.vendor`).

- a `turns:` entry: `tool_calls: required` (or `calls:` listed, `count`/`min_count` >= 1) says call,
  `tool_calls: forbidden` (or `count: 0`, `max_count: 0`) says no call;
- the whole run: `tool_called: true` (or `tools:`/`sequence:` naming calls) says call somewhere,
  `tool_called: false` says no call anywhere. A run-level expectation is left out when a turn-level
  one of the same polarity already says it, so one statement is not counted twice.
"""

from __future__ import annotations

from harness.core.model import TriggerExpectation
from harness.scenario.spec import Expect, TurnExpect


def _turn_says(exp: TurnExpect) -> bool | None:
    if exp.tool_calls == "required":
        return True
    if exp.tool_calls == "forbidden":
        return False
    if exp.calls or (exp.count or 0) >= 1 or (exp.min_count or 0) >= 1:
        return True
    if exp.count == 0 or exp.max_count == 0:
        return False
    return None


def trigger_expectations(expect: Expect) -> list[TriggerExpectation]:
    """The scenario's trigger expectations, turn-level ones first, in the order of the YAML."""
    found: list[TriggerExpectation] = []
    for exp in expect.turns:
        says = _turn_says(exp)
        if says is not None:
            found.append(TriggerExpectation(turn=exp.turn, call=says))
    whole = expect.tool_called
    if whole is None and (expect.tools or expect.sequence):
        whole = True
    if whole is not None and not any(t.call == whole for t in found):
        found.append(TriggerExpectation(turn=None, call=whole))
    return found
