"""The vendor view's inputs and neighbours: declarations parsed from hand-built `/models` bodies of the
shapes providers publish, declared against observed, trigger expectations read from scenarios,
canonical models from the registry, metric changes in `diff`, and cells that rest on few verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.app.declarations import record_declarations
from harness.conformance.triggers import trigger_expectations
from harness.core.model import DeclaredCapabilities, Report, TargetInfo, TriggerExpectation
from harness.providers.capabilities import declared_capabilities
from harness.providers.registry import load_registry, select_targets, target_infos
from harness.reporting.table import ScoreCell
from harness.results.declared import compare
from harness.results.diff import diff_reports, render_markdown, render_text
from harness.results.rates import Ratio
from harness.scenario.spec import Expect
from tests.test_vendor import run, tc, turn

OPENROUTER = {
    "data": [
        {
            "id": "moonshotai/kimi-k2",
            "supported_parameters": ["tools", "tool_choice", "temperature", "max_tokens"],
        },
        {"id": "some/chat-only", "supported_parameters": ["temperature"]},
    ]
}
LUNOS_LIST = {
    "data": [{"id": "openai/gpt-4o", "capabilities": ["chat", "Function_Calling", "parallel_tool_calls"]}]
}
LUNOS_FLAGS = {
    "data": [
        {"id": "x", "capabilities": {"tools": True, "tool_choice": False, "vision": True}},
        {"id": "y", "capabilities": {"vision": True}},
    ]
}
OPENAI_PLAIN = {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model", "owned_by": "openai"}]}


@pytest.mark.parametrize(
    ("body", "model", "expected"),
    [
        (
            OPENROUTER,
            "moonshotai/kimi-k2",
            DeclaredCapabilities(
                tools=True, tool_choice=True, parallel_tool_calls=False, source="supported_parameters"
            ),
        ),
        (
            OPENROUTER,
            "some/chat-only",
            DeclaredCapabilities(
                tools=False, tool_choice=False, parallel_tool_calls=False, source="supported_parameters"
            ),
        ),
        (
            LUNOS_LIST,
            "openai/gpt-4o",
            DeclaredCapabilities(
                tools=True, tool_choice=None, parallel_tool_calls=True, source="capabilities"
            ),
        ),
        (LUNOS_FLAGS, "x", DeclaredCapabilities(tools=True, tool_choice=False, source="capabilities")),
        (LUNOS_FLAGS, "y", DeclaredCapabilities()),  # flags that say nothing about tools: unknown
        (OPENAI_PLAIN, "gpt-4o-mini", DeclaredCapabilities()),  # a plain listing declares nothing
        (OPENAI_PLAIN, "not-listed", DeclaredCapabilities()),
        ({"error": "nope"}, "m", DeclaredCapabilities()),
        ([{"id": "m", "features": ["tools"]}], "m", DeclaredCapabilities(tools=True, source="features")),
    ],
    ids=[
        "openrouter",
        "openrouter-no-tools",
        "lunos-list",
        "lunos-flags",
        "flags-silent",
        "openai-plain",
        "not-listed",
        "not-a-listing",
        "bare-list",
    ],
)
def test_declarations_are_read_from_the_shapes_providers_publish(
    body: Any, model: str, expected: DeclaredCapabilities
) -> None:
    assert declared_capabilities(body, model) == expected


def test_recorded_declarations_land_on_the_report_targets() -> None:
    infos = [
        TargetInfo(provider="openrouter", base_url="u", models=["moonshotai/kimi-k2"]),
        TargetInfo(provider="other", base_url="u", models=["moonshotai/kimi-k2"]),
    ]
    record_declarations(infos, "openrouter", OPENROUTER)
    assert infos[0].declared["moonshotai/kimi-k2"].tools is True and infos[1].declared == {}


def test_declared_against_observed_flags_only_refuted_declarations() -> None:
    parallel_fail = [run("p", f"par{i}", turn(1, tc()), family="parallel", outcome="fail") for i in range(3)]
    forced_pass = [run("p", "forced", turn(1, tc()), family="forced_choice")]
    said = DeclaredCapabilities(
        tools=False, tool_choice=None, parallel_tool_calls=True, source="capabilities"
    )
    rows = {r.capability: r for r in compare(said, parallel_fail + forced_pass)}
    assert rows["tools"].observed == Ratio(4, 4) and rows["tools"].contradiction  # declares none, calls
    assert rows["parallel_tool_calls"].observed == Ratio(0, 3) and rows["parallel_tool_calls"].contradiction
    assert rows["tool_choice"].observed == Ratio(1, 1) and not rows["tool_choice"].contradiction  # unknown
    # nothing observed refutes nothing; nothing declared stays unknown
    assert not any(r.contradiction for r in compare(said, []))
    assert [r.declared for r in compare(None, forced_pass)] == [None, None, None]


@pytest.mark.parametrize(
    ("expect", "found"),
    [
        ({"turns": [{"turn": 1, "tool_calls": "required"}]}, [(1, True)]),
        ({"turns": [{"turn": 1, "tool_calls": "forbidden"}], "tool_called": False}, [(1, False)]),
        ({"tool_called": False}, [(None, False)]),
        (
            {"turns": [{"turn": 1, "calls": [{"name": "w"}]}, {"turn": 2, "count": 0}]},
            [(1, True), (2, False)],
        ),
        ({"sequence": [{"name": "w"}], "turns": [{"turn": 2, "max_count": 0}]}, [(2, False), (None, True)]),
        ({"answer": {"contains": ["x"]}}, []),
    ],
    ids=["required", "forbidden-once", "run-level", "implied", "sequence", "none"],
)
def test_trigger_expectations_are_read_from_the_scenario(
    expect: dict[str, Any], found: list[tuple[int | None, bool]]
) -> None:
    assert trigger_expectations(Expect.model_validate(expect)) == [
        TriggerExpectation(turn=t, call=c) for t, c in found
    ]


def test_the_registry_maps_models_to_canonical_ones_and_a_user_file_overrides(tmp_path: Path) -> None:
    registry = load_registry()
    targets = select_targets(registry, ["generalcompute", "together", "local"])
    infos = {i.provider: i for i in target_infos(targets)}
    assert infos["generalcompute"].canonical_model("llama-4-maverick") == infos["together"].canonical_model(
        "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8"
    )
    assert set(infos["local"].canonical.values()) == {"smollm2-135m-instruct"}
    assert not infos["local"].reference
    assert target_infos(select_targets(registry, ["openai"]))[0].reference  # the official API
    user = tmp_path / "providers.yaml"
    user.write_text(
        "providers:\n  mine:\n    base_url: http://127.0.0.1:9/v1\n    models: [a, b]\n"
        "    canonical: {a: shared}\n    reference: true\n"
    )
    [info] = target_infos(select_targets(load_registry(user), ["mine"]))
    assert (info.canonical_model("a"), info.canonical_model("b"), info.reference) == ("shared", "b", True)


def test_diff_lists_the_vendor_metrics_that_moved() -> None:
    targets = [TargetInfo(provider="p", base_url="u", models=["m"])]
    old = Report(
        targets=targets,
        runs=[
            run("p", "s1", turn(1, tc()), triggers=[TriggerExpectation(call=True)]),
            run("p", "s2", turn(1, tc())),
        ],
    )
    new = Report(
        targets=targets,
        runs=[
            run("p", "s1", turn(1), triggers=[TriggerExpectation(call=True)], outcome="fail"),
            run("p", "s2", turn(1, tc(raw="{", match=None))),
        ],
    )
    result = diff_reports(old, new)
    assert [m.text for m in result.metrics] == [
        "p/m trigger F1: 100% → 0% (-100pp)",
        "p/m schema accuracy: 100% → 0% (-100pp)",
    ]
    assert "Vendor metrics (2):" in render_text(result)
    assert "| m | p/m schema accuracy: 100% → 0% (-100pp) |" in render_markdown(result)


def test_a_cell_resting_on_a_minority_of_its_runs_says_so() -> None:
    thin = ScoreCell(passed=6, judged=6, errors=16, flaky=0, runs=(0,))
    assert thin.state == "pass" and thin.thin and thin.text == "✓ 6/6 +16err (6 of 22 judged)"
    assert not ScoreCell(passed=6, judged=6, errors=6, flaky=0, runs=(0,)).thin  # half judged: not thin
    assert ScoreCell(passed=6, judged=6, errors=2, flaky=0, runs=(0,)).text == "✓ 6/6 +2err"


def test_the_html_page_paints_a_thin_cell_apart(tmp_path: Path) -> None:
    from harness.reporting.html import render_html

    runs = [run("p", "ok", turn(1))] + [run("p", f"e{i}", turn(1, error=True)) for i in range(3)]
    page = render_html(Report(targets=[TargetInfo(provider="p", base_url="u", models=["m"])], runs=runs))
    assert 'class="cell c-pass thin"' in page and "✓ 1/1 +3err (1 of 4 judged)" in page


def test_a_report_2_1_reads_with_trigger_metrics_not_recorded() -> None:
    old = Report.model_validate(
        {
            "version": 2,
            "minor": 1,
            "targets": [{"provider": "p", "base_url": "u", "models": ["m"]}],
            "runs": [run("p", "s", turn(1, tc())).model_dump(exclude={"triggers"})],
        }
    )
    assert old.runs[0].triggers is None and old.targets[0].canonical == {}
