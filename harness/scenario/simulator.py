"""Simulated tools: what each tool of a scenario returns, so the harness side is fully deterministic.

A model that passes bad arguments gets a structured error result (`{"error": ..., "success": false}`),
as the seed guide recommends, and the conversation goes on: how the model reacts is part of the test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from harness.core.model import ToolCall
from harness.scenario.matchers import NOT_FOUND, check_arguments, lookup
from harness.scenario.spec import ResolvedScenario, ResultRef


@dataclass(frozen=True)
class Execution:
    turn: int
    call: ToolCall
    result: Any
    content: str


def _error(message: str) -> dict[str, Any]:
    return {"error": message, "success": False}


@dataclass
class ToolSimulator:
    scenario: ResolvedScenario
    executions: list[Execution] = field(default_factory=list)

    def execute(self, call: ToolCall, turn: int) -> str:
        """Run `call` against the scenario's rules and return the `tool` message content."""
        result = self._result_for(call, turn)
        content = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
        self.executions.append(Execution(turn, call, result, content))
        return content

    def _result_for(self, call: ToolCall, turn: int) -> Any:
        name = call.name or ""
        if self.scenario.tool(name) is None:
            return _error(f"unknown tool '{name}'")
        if not isinstance(call.arguments, dict):
            return _error(f"arguments must be a JSON object, got {call.arguments_raw!r}")
        for rule in self.scenario.rules(name):
            resolver = self.resolver(before_turn=turn)
            if not check_arguments(rule.match, call.arguments, resolver):
                return rule.result
        return _error(f"no result for these arguments: {json.dumps(call.arguments, ensure_ascii=False)}")

    def resolver(self, before_turn: int | None = None) -> Any:
        """A lookup of the latest result of a tool returned before `before_turn` (all results if None)."""

        def resolve(ref: ResultRef) -> Any:
            for ex in reversed(self.executions):
                if ex.call.name == ref.tool and (before_turn is None or ex.turn < before_turn):
                    return lookup(ex.result, ref.path)
            return NOT_FOUND

        return resolve
