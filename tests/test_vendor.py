"""The vendor view on hand-built multi-provider reports: every metric's definition, with its edge cases
(no expectation of either kind, zero calls, errors never counted as a trigger or a miss)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli.main import main
from harness.core.model import (
    ErrorInfo,
    Finding,
    Outcome,
    Reply,
    Report,
    RunKey,
    RunResult,
    TargetInfo,
    ToolCall,
    TriggerExpectation,
    Turn,
)
from harness.results.agreement import agreement
from harness.results.rates import Confusion, Ratio
from harness.results.store import merge_reports
from harness.results.vendor import (
    finish_reason_correctness,
    model_groups,
    schema_accuracy,
    trigger_metrics,
    wire_conformance,
)

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def request(tool_choice: Any = None, tools: dict[str, Any] | None = None) -> dict[str, Any]:
    offered = {"weather": SCHEMA} if tools is None else tools
    body: dict[str, Any] = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": n, "parameters": p}} for n, p in offered.items()],
    }
    if tool_choice is not None:
        body["tool_choice"] = tool_choice
    return body


def tc(name: str = "weather", raw: str = '{"city": "Paris"}', match: bool | None = True) -> ToolCall:
    try:
        parsed, valid = json.loads(raw), True
    except ValueError:
        parsed, valid = None, False
    return ToolCall(
        id="c",
        type="function",
        name=name,
        arguments_raw=raw,
        arguments=parsed,
        arguments_valid_json=valid,
        arguments_match_schema=match if valid else None,
    )


def turn(
    number: int = 1,
    *calls: ToolCall,
    finish: str | None = "auto",
    error: bool = False,
    findings: list[Finding] | None = None,
    req: dict[str, Any] | None = None,
) -> Turn:
    if error:
        return Turn(
            number=number,
            request=req or request(),
            status=502,
            error=ErrorInfo(kind="server_error", message="bad gateway", status=502),
        )
    reason = ("tool_calls" if calls else "stop") if finish == "auto" else finish
    return Turn(
        number=number,
        request=req or request(),
        status=200,
        reply=Reply(content=None if calls else "done", tool_calls=list(calls), finish_reason=reason),
        findings=findings or [],
    )


def run(
    provider: str,
    scenario: str,
    *turns: Turn,
    triggers: list[TriggerExpectation] | None = None,
    outcome: Outcome | None = None,
    model: str = "m",
    family: str = "single_call",
    trial: int = 1,
) -> RunResult:
    errored = any(t.error for t in turns)
    return RunResult(
        key=RunKey(provider=provider, model=model, scenario=scenario, mode="nonstream", trial=trial),
        family=family,
        outcome=outcome or ("error" if errored else "pass"),
        turns=list(turns),
        error=next((t.error for t in turns if t.error), None),
        triggers=triggers,
    )


CALL, NO_CALL = TriggerExpectation(turn=1, call=True), TriggerExpectation(turn=1, call=False)


# ------------------------------------------------------------------------------------------ triggers


def test_trigger_precision_recall_f1_count_every_expectation_and_never_an_error() -> None:
    runs = [
        run("a", "tp", turn(1, tc()), triggers=[CALL]),
        run("a", "tn", turn(1), triggers=[NO_CALL]),
        run("a", "fn", turn(1), triggers=[CALL], outcome="fail"),
        # a run-level "no call anywhere", broken at the second turn
        run("a", "fp", turn(1), turn(2, tc()), triggers=[TriggerExpectation(turn=None, call=False)]),
        run("a", "error", turn(1, error=True), triggers=[CALL]),  # neither a trigger nor a miss
        run(
            "a",
            "error_later",
            turn(1, tc()),
            turn(2, error=True),  # turn 1 counts, the run level not
            triggers=[CALL, TriggerExpectation(turn=None, call=True)],
        ),
        run("a", "unreached", turn(1), triggers=[TriggerExpectation(turn=2, call=True)], outcome="fail"),
        run("a", "skipped", triggers=[CALL], outcome="skip"),
        run("a", "no_expectation", turn(1, tc()), triggers=[]),
    ]
    found = trigger_metrics(runs)
    assert found is not None
    assert found.confusion == Confusion(tp=2, fn=1, fp=1, tn=1)
    assert found.unjudged == 3  # the errored turn, the run level of the errored run, the unreached turn
    c = found.confusion
    assert (c.precision, c.recall, c.f1) == (2 / 3, 2 / 3, pytest.approx(2 / 3))


def test_trigger_metrics_without_expectations_or_positives_are_unknown_not_zero() -> None:
    none = trigger_metrics([run("a", "s", turn(1, tc()), triggers=[])])
    assert none is not None and none.confusion.n == 0 and none.confusion.f1 is None
    only_no = trigger_metrics([run("a", "s", turn(1), triggers=[NO_CALL])])
    assert only_no is not None and only_no.confusion == Confusion(tn=1)
    assert (only_no.confusion.precision, only_no.confusion.recall, only_no.confusion.f1) == (None, None, None)
    assert trigger_metrics([run("a", "s", turn(1))]) is None  # a 2.1 report: not recorded


# ----------------------------------------------------------------------------- schema, finish, wire


def test_schema_accuracy_counts_invalid_json_and_unknown_tools_and_leaves_unusable_schemas_out() -> None:
    unusable = request(tools={"weather": SCHEMA, "odd": {"type": "nonsense"}})
    runs = [
        run("a", "s1", turn(1, tc(), tc(raw='{"city": 3}', match=False), tc(raw="{city: Paris"))),
        run("a", "s2", turn(1, tc(name="nope", match=None))),  # a tool that was not offered
        run("a", "s3", turn(1, tc(name="odd", match=None), req=unusable)),  # decides nothing
        run("a", "s4", turn(1, error=True)),
    ]
    assert schema_accuracy(runs) == Ratio(1, 4)
    assert schema_accuracy([run("a", "s", turn(1))]).value is None  # zero calls: unknown, not 0 %


def test_finish_reason_correctness_follows_the_calls() -> None:
    forced = request(tool_choice={"type": "function", "function": {"name": "weather"}})
    turns = [
        turn(1, tc()),  # tool_calls with calls: right
        turn(2, tc(), finish="stop"),  # stop with calls: wrong
        turn(3, tc(), finish="stop", req=forced),  # stop for a named forced call: OpenAI's own
        turn(4),  # stop without calls: right
        turn(5, finish="tool_calls"),  # tool_calls without calls: wrong
        turn(6, finish=None),  # no reason at all: wrong
        turn(7, error=True),  # not answered: not counted
    ]
    assert finish_reason_correctness([run("a", "s", *turns)]) == Ratio(3, 6)


def test_wire_conformance_counts_answered_turns_without_a_violation() -> None:
    warn = Finding(check="stream.done", severity="warning", message="no [DONE]")
    bad = Finding(check="tool_call.id", message="no id")
    runs = [run("a", "s", turn(1, findings=[warn]), turn(2, findings=[bad]), turn(3, error=True))]
    assert wire_conformance(runs) == Ratio(1, 2)


# --------------------------------------------------------------------------- groups and agreement


def vendors_report() -> Report:
    """Two vendors of one model, the official API marked as the reference, and an unrelated model."""
    targets = [
        TargetInfo(
            provider="official", base_url="u", models=["k2"], canonical={"k2": "kimi-k2"}, reference=True
        ),
        TargetInfo(
            provider="vendor",
            base_url="u",
            models=["moonshot/kimi-k2", "other"],
            canonical={"moonshot/kimi-k2": "kimi-k2"},
        ),
    ]
    runs = [
        run("official", "s1", turn(1, tc()), triggers=[CALL], model="k2"),
        run("official", "s2", turn(1), triggers=[NO_CALL], model="k2"),
        run("official", "s3", turn(1, tc(raw='{"city": "Rome"}')), triggers=[CALL], model="k2"),
        run("official", "s4", turn(1, tc()), triggers=[CALL], model="k2"),
        run("official", "s5", turn(1, error=True), triggers=[CALL], model="k2"),
        run("vendor", "s1", turn(1, tc()), triggers=[CALL], model="moonshot/kimi-k2"),  # same call
        run("vendor", "s2", turn(1, tc()), triggers=[NO_CALL], model="moonshot/kimi-k2", outcome="fail"),
        run("vendor", "s3", turn(1, tc()), triggers=[CALL], model="moonshot/kimi-k2"),  # other arguments
        run("vendor", "s4", turn(1), triggers=[CALL], model="moonshot/kimi-k2", outcome="fail"),
        run("vendor", "s5", turn(1, tc()), triggers=[CALL], model="moonshot/kimi-k2"),  # ref errored
        run("vendor", "s6", turn(1, tc()), triggers=[CALL], model="moonshot/kimi-k2"),  # ref never ran
        run("vendor", "s1", turn(1, tc()), triggers=[CALL], model="other"),
    ]
    return Report(targets=targets, runs=runs)


def test_rows_group_by_canonical_model_and_the_reference_comes_from_the_registry() -> None:
    groups = model_groups(vendors_report())
    assert [(g.canonical, [v.label for v in g.vendors]) for g in groups] == [
        ("kimi-k2", ["official/k2", "vendor/moonshot/kimi-k2"]),
        ("other", ["vendor/other"]),
    ]
    kimi = groups[0]
    assert kimi.reference is not None and kimi.reference.label == "official/k2"
    assert groups[1].reference is None and groups[1].agreements == {}


def test_agreement_with_the_reference_is_k2vv_trigger_f1_on_the_same_first_requests() -> None:
    [kimi, _] = model_groups(vendors_report())
    agreed = kimi.agreements["vendor/moonshot/kimi-k2"]
    # pairs: s1 both call, s2 only the vendor, s3 both, s4 only the reference; s5 (ref error), s6 (no ref)
    assert agreed.pairs == 4 and agreed.trigger == Confusion(tp=2, fp=1, fn=1)
    assert agreed.trigger.f1 == pytest.approx(2 / 3)
    assert agreed.names == Ratio(2, 2) and agreed.arguments == Ratio(1, 2)


def test_the_reference_option_overrides_the_registry() -> None:
    [kimi, _] = model_groups(vendors_report(), reference="vendor")
    assert kimi.reference is not None and kimi.reference.label == "vendor/moonshot/kimi-k2"
    assert kimi.agreements["official/k2"].trigger == Confusion(tp=2, fp=1, fn=1)  # mirrored


def test_the_reference_may_name_one_model_of_a_provider_serving_two_configurations() -> None:
    rep = vendors_report()
    rep.targets[1].canonical["other"] = "kimi-k2"
    [kimi] = model_groups(rep, reference="vendor/other")
    assert kimi.reference is not None and kimi.reference.label == "vendor/other"


def test_agreement_of_different_names_is_not_an_argument_question() -> None:
    ref = [run("r", "s", turn(1, tc()))]
    ours = [run("v", "s", turn(1, tc(name="time")))]
    found = agreement("r/m", ref, ours)
    assert found.names == Ratio(0, 1) and found.arguments == Ratio(0, 0)


def test_merged_shards_keep_canonical_models_and_the_reference() -> None:
    full = vendors_report()
    one = Report(targets=[full.targets[0]], runs=[r for r in full.runs if r.key.provider == "official"])
    two = Report(targets=[full.targets[1]], runs=[r for r in full.runs if r.key.provider == "vendor"])
    merged, _ = merge_reports([one, two])
    assert [g.canonical for g in model_groups(merged)] == ["kimi-k2", "other"]
    assert merged.targets[0].reference and merged.targets[1].canonical == {"moonshot/kimi-k2": "kimi-k2"}


# ------------------------------------------------------------------------------------------------ CLI


def save(tmp_path: Path, rep: Report) -> str:
    path = tmp_path / "r.json"
    path.write_text(rep.model_dump_json())
    return str(path)


def test_report_by_model_prints_each_model_with_its_vendors(tmp_path: Path, capsys: Any) -> None:
    assert main(["report", save(tmp_path, vendors_report()), "--by-model"]) == 0
    out = capsys.readouterr().out
    assert "kimi-k2 — 2 vendor(s), reference: official/k2" in out
    vendor = next(line for line in out.splitlines() if line.startswith("vendor/moonshot/kimi-k2 "))
    # 6 runs, triggers tp 4 (s1 s3 s5 s6) fp 1 (s2) fn 1 (s4); 5 calls, all valid
    assert "80% (P 80% R 80%, n=6)" in vendor and "100% 5/5" in vendor and "67% (n=4)" in vendor
    assert "declared against observed" in out


def test_report_by_model_json_keeps_every_count(tmp_path: Path, capsys: Any) -> None:
    assert main(["report", save(tmp_path, vendors_report()), "--by-model", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    vendor = data["models"][0]["vendors"][1]
    assert vendor["triggers"] == {
        "tp": 4,
        "fn": 1,
        "fp": 1,
        "tn": 0,
        "precision": 0.8,
        "recall": 0.8,
        "f1": pytest.approx(0.8),
        "unjudged": 0,
    }
    assert vendor["agreement"]["names"] == {"good": 2, "total": 2, "value": 1.0}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--by-model", "--reference", "oficial"],
            "--reference 'oficial' ran nothing in this report — did you "
            "mean 'official'? (providers: official, vendor)",
        ),
        (["--reference", "official"], "--reference needs --by-model"),
        (
            ["--by-model", "--format", "html"],
            "--by-model renders plain, markdown, github, grid, json, not 'html'",
        ),
    ],
)
def test_report_by_model_options_are_one_sentence(
    tmp_path: Path, capsys: Any, extra: list[str], message: str
) -> None:
    assert main(["report", save(tmp_path, vendors_report()), *extra]) == 2
    assert message in capsys.readouterr().err


def test_the_html_page_has_the_vendor_section(tmp_path: Path, capsys: Any) -> None:
    assert main(["report", save(tmp_path, vendors_report()), "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert '<h2 id="vendors">Vendors by model</h2>' in page and "<h3>kimi-k2 — 2 vendor(s)" in page
