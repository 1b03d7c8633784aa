"""The BFCL summary of a report (`Report.accuracy`): counted, saved, rendered and diffed; hand-built runs."""

from __future__ import annotations

import json

import pytest

from harness.core.accuracy import SourceRef
from harness.core.model import Finding, Report, RunKey, RunResult
from harness.reporting.accuracy import render_accuracy
from harness.reporting.html import render_html
from harness.reporting.reporters import render_report
from harness.results.accuracy import accuracy_summaries
from harness.results.diff import diff_reports, render_markdown, render_text
from harness.results.store import new_report, read_report, write_report


def run(category: str, n: int, outcome: str = "pass", checks: tuple[str, ...] = (), *,
        model: str = "m", mode: str = "nonstream") -> RunResult:
    findings = [Finding(check=c, severity="violation", message=c) for c in checks]
    return RunResult(
        key=RunKey(provider="p", model=model, scenario=f"bfcl_{category}_{n}", mode=mode),  # type: ignore[arg-type]
        family="single_call", outcome=outcome, findings=findings,  # type: ignore[arg-type]
        source=SourceRef(source="bfcl", category=category),
    )  # fmt: skip


RUNS = [
    run("simple_python", 0),
    run("simple_python", 1, "fail", ("bfcl.wrong_value",)),
    # A wire violation alone: the run fails in the table, yet BFCL's answer was right.
    run("simple_python", 2, "fail", ("tool_call.id",)),
    run("multiple", 0, "fail", ("bfcl.wrong_count", "finish_reason")),
    run("live_simple", 0),
    run("live_irrelevance", 0, "error"),  # never judged: left out, not wrong
    run("live_irrelevance", 1, "skip"),
    run("irrelevance", 0),
]


def scores(report: Report) -> dict[str, tuple[float | None, int | None, int]]:
    [summary] = report.accuracy
    return {s.name: (s.accuracy, s.passed, s.total) for s in summary.scores}


def test_accuracy_is_bfcls_verdict_apart_from_the_wire_and_leaves_out_what_was_not_judged() -> None:
    report = new_report([], RUNS)
    [summary] = report.accuracy
    assert (summary.source, summary.provider, summary.model, summary.mode) == ("bfcl", "p", "m", "nonstream")
    assert (summary.judged, summary.left_out) == (6, 2)
    got = scores(report)
    assert got["simple_python"] == (pytest.approx(2 / 3), 2, 3)
    assert got["multiple"] == (0.0, 0, 1)
    assert got["non_live_ast"] == (pytest.approx((2 / 3 + 0) / 2), None, 4)
    assert got["live_ast"] == (1.0, None, 1)
    assert got["irrelevance_overall"] == (1.0, None, 1)  # live_irrelevance had no judged run
    assert got["relevance_overall"] == (None, None, 0)
    assert "live_irrelevance" not in got
    assert [s.name for s in summary.scores][:4] == ["simple_python", "multiple", "irrelevance", "live_simple"]


def test_one_summary_per_model_and_mode_and_none_for_yaml_scenarios() -> None:
    yaml_run = RunResult(key=RunKey(provider="p", model="m", scenario="weather", mode="stream"),
                         family="single_call", outcome="pass")
    runs = [run("multiple", 0, mode="stream"), run("multiple", 0, model="n"), yaml_run]
    assert [s.label for s in accuracy_summaries(runs)] == ["p/m-stream", "p/n"]
    assert accuracy_summaries([yaml_run]) == []


def test_the_json_report_carries_source_and_accuracy_and_reads_back(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = write_report(new_report([], RUNS), tmp_path, "r")
    data = json.loads(path.read_text())
    assert (data["version"], data["minor"]) == (2, 4)  # 2.3 added source and accuracy; 2.4 the shard
    assert data["runs"][0]["source"] == {"source": "bfcl", "category": "simple_python"}
    assert data["accuracy"][0]["scores"][0] == {
        "name": "simple_python", "accuracy": pytest.approx(2 / 3), "total": 3, "passed": 2,
        "categories": ["simple_python"],
    }  # fmt: skip
    assert read_report(path).accuracy == new_report([], RUNS).accuracy


def test_a_report_without_pack_runs_writes_neither_field(tmp_path) -> None:  # type: ignore[no-untyped-def]
    yaml_run = RunResult(key=RunKey(provider="p", model="m", scenario="w", mode="stream"), family="f",
                         outcome="pass")
    data = json.loads(write_report(new_report([], [yaml_run]), tmp_path, "r").read_text())
    assert "accuracy" not in data and "source" not in data["runs"][0]
    assert render_accuracy(new_report([], [yaml_run])) == ""


def test_the_plain_table_is_followed_by_the_summary() -> None:
    text = render_accuracy(new_report([], RUNS))
    lines = text.splitlines()
    assert lines[0].startswith("BFCL accuracy")
    assert lines[1].split() == ["score", "p/m"]
    assert [line.split()[:2] for line in lines[2:]] == [
        ["simple_python", "66.7"], ["multiple", "0.0"], ["irrelevance", "100.0"], ["live_simple", "100.0"],
        ["non_live_ast", "33.3"], ["live_ast", "100.0"], ["irrelevance_overall", "100.0"],
        ["relevance_overall", "-"], ["judged", "6"], ["left", "out"],
    ]
    assert "66.7 % (2/3)" in text and "33.3 % (n=4)" in text and lines[-1].split()[-1] == "2"
    rendered = render_report(new_report([], RUNS), "plain")
    assert isinstance(rendered, str)
    table, _, summary = rendered.partition("\n\nBFCL accuracy")
    assert table.startswith("provider/model") and "66.7 % (2/3)" in summary


def test_the_html_page_has_the_summary() -> None:
    page = render_html(new_report([], RUNS))
    assert '<h2 id="accuracy-bfcl">BFCL accuracy' in page
    assert "<td>66.7 % (2/3)</td>" in page


def test_diff_lists_the_scores_that_moved() -> None:
    old = new_report([], RUNS)
    new = new_report([], [*RUNS[:1], run("simple_python", 1), *RUNS[2:]])
    result = diff_reports(old, new)
    assert [a.text for a in result.accuracy] == [
        "bfcl p/m simple_python: 66.7% (2/3) → 100.0% (3/3) (+33.3pp)",
        "bfcl p/m non_live_ast: 33.3% (n=4) → 50.0% (n=4) (+16.7pp)",
    ]
    text = render_text(result)
    assert "Accuracy (2):\n  bfcl p/m simple_python: 66.7% (2/3) → 100.0% (3/3) (+33.3pp)" in text
    assert "#### Accuracy (2)" in render_markdown(result)
    assert diff_reports(old, old).accuracy == []
