"""A converted BFCL entry runs through the unchanged engine against the stub, and its reply is judged."""

from __future__ import annotations

from typing import Any

import pytest

from harness.core.model import Mode, RunKey
from harness.engine.config import RunConfig
from harness.engine.engine import Engine
from harness.engine.plan import PlannedRun
from harness.packs.bfcl.categories import CATEGORIES
from harness.packs.bfcl.checker import judge
from harness.packs.bfcl.convert import to_scenario
from harness.packs.bfcl.data import BfclEntry
from harness.providers.registry import Target
from harness.testing.stub import StubServer

DOC = {
    "name": "math.gcd",
    "description": "Greatest common divisor.",
    "parameters": {
        "type": "dict",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
}
ENTRY = BfclEntry(
    id="parallel_7",
    category=CATEGORIES["parallel"],
    question=[[{"role": "user", "content": "gcd of 12 and 18, and of 7 and 21?"}]],
    functions=[DOC],
    answers=[{"math.gcd": {"a": [12], "b": [18]}}, {"math.gcd": {"a": [7], "b": [21]}}],
    file="BFCL_v4_parallel.json",
    line=8,
)


def model(calls: list[dict[str, Any]]) -> Any:
    seen: list[dict[str, Any]] = []

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        seen.append(body)
        return {"role": "assistant", "content": None, "tool_calls": calls}

    responder.seen = seen  # type: ignore[attr-defined]
    return responder


@pytest.mark.parametrize("mode", ["nonstream", "stream"])
def test_a_bfcl_entry_runs_unchanged_and_is_judged_on_its_first_reply(mode: Mode) -> None:
    rs = to_scenario(ENTRY)
    responder = model([{"name": "math_gcd", "arguments": {"a": 7, "b": 21}},
                       {"name": "math_gcd", "arguments": {"a": 12, "b": 18}}])  # fmt: skip
    with StubServer(responder) as stub, Engine(RunConfig(modes=(mode,))) as engine:
        target = Target(provider="stub", model="m", base_url=stub.base_url, api_key_env=None)
        key = RunKey(provider="stub", model="m", scenario=rs.id, mode=mode)
        result = engine.run(PlannedRun(rs, target, key))
    assert result.outcome == "pass", result.findings
    [turn] = result.turns  # BFCL judges the first response: one request, no simulated results sent back
    assert turn.request["tools"] == rs.request.tools
    assert turn.request["messages"] == rs.request.messages
    [sent] = responder.seen
    assert sent["temperature"] == 0.001
    assert turn.reply is not None
    assert judge(rs.entry, turn.reply.tool_calls) == []


def test_a_wrong_reply_gets_bfcl_findings() -> None:
    rs = to_scenario(ENTRY)
    responder = model([{"name": "math_gcd", "arguments": {"a": 12, "b": 18}}])
    with StubServer(responder) as stub, Engine(RunConfig(modes=("nonstream",))) as engine:
        target = Target(provider="stub", model="m", base_url=stub.base_url, api_key_env=None)
        key = RunKey(provider="stub", model="m", scenario=rs.id, mode="nonstream")
        result = engine.run(PlannedRun(rs, target, key))
    assert result.turns[0].reply is not None
    findings = judge(rs.entry, result.turns[0].reply.tool_calls)
    assert [f.check for f in findings] == ["bfcl.wrong_count", "bfcl.missing_call"]
    assert findings[1].message == "expected call 2 to 'math_gcd' matches no unmatched call []"
