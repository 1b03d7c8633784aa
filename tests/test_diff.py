"""Report diffs and shard merging, on hand-built reports: what counts as a regression, and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.core.model import ErrorInfo, Finding, Outcome, Report, RunKey, RunResult, TargetInfo
from harness.results.cells import cells
from harness.results.diff import diff_reports, render_markdown, render_text, score, seen
from harness.results.store import merge_reports, read_report


def run(
    scenario: str,
    outcome: Outcome,
    *,
    model: str = "m1",
    mode: str = "nonstream",
    trial: int = 1,
    provider: str = "p",
) -> RunResult:
    findings = [Finding(check="tool_call.id", message="call has no id")] if outcome == "fail" else []
    error = ErrorInfo(kind="server_error", message="upstream 502", status=502) if outcome == "error" else None
    return RunResult(
        key=RunKey(provider=provider, model=model, scenario=scenario, mode=mode, trial=trial),  # type: ignore[arg-type]
        family="single_call",
        outcome=outcome,
        findings=findings,
        error=error,
    )


def report(*runs: RunResult, provider: str = "p", models: tuple[str, ...] = ("m1",)) -> Report:
    return Report(
        targets=[TargetInfo(provider=provider, base_url="http://127.0.0.1:1/v1", models=list(models))],
        runs=list(runs),
    )


def save(tmp_path: Path, name: str, rep: Report) -> str:
    path = tmp_path / name
    path.write_text(rep.model_dump_json())
    return str(path)


def test_trials_are_aggregated_per_cell() -> None:
    table = cells(
        [
            run("a", "pass"),
            run("a", "fail", trial=2),
            run("a", "skip", trial=3),
            run("a", "pass", mode="stream"),
        ]
    )
    flaky, stream = table[("p", "m1", "a", "nonstream")], table[("p", "m1", "a", "stream")]
    assert (flaky.passed, flaky.judged, flaky.skipped, seen(flaky), score(flaky)) == (
        1,
        2,
        1,
        "flaky",
        "flaky 1/2",
    )
    assert (seen(stream), score(stream)) == ("pass", "1/1")


def test_for_the_diff_an_error_beside_a_pass_is_flaky_but_not_for_the_model() -> None:
    [cell] = cells([run("a", "pass"), run("a", "error", trial=2)]).values()
    assert (seen(cell), score(cell)) == ("flaky", "flaky 1/2")  # what users of the provider saw
    assert cell.state == "pass"  # every verdict on the model was a pass


def test_every_kind_of_change_is_classified() -> None:
    old = report(
        run("reg", "pass"),
        run("err", "pass"),
        run("fix", "fail"),
        run("flake", "pass"),
        run("same", "pass"),
        run("gone", "pass"),
        run("stillbad", "fail"),
    )
    new = report(
        run("reg", "fail"),
        run("err", "error"),
        run("fix", "pass"),
        run("flake", "pass"),
        run("flake", "fail", trial=2),
        run("same", "pass"),
        run("born", "fail"),
        run("stillbad", "error"),
    )
    result = diff_reports(old, new)
    kinds = {c.key[2]: c.kind for c in result.changes}
    assert kinds == {
        "reg": "regression",
        "err": "regression",
        "fix": "fix",
        "flake": "flaky",
        "gone": "removed",
        "born": "new",
        "stillbad": "changed",
    }
    assert result.unchanged == 1 and result.flaky_now == 1
    assert result.failed() and result.failed(max_flaky=5)
    [err] = [c for c in result.of("regression") if c.key[2] == "err"]
    assert err.transition == "1/1 → error 0/1" and err.reason == "error server_error HTTP 502: upstream 502"


def test_flaky_cells_fail_only_over_the_threshold() -> None:
    old = report(run("a", "pass"), run("b", "pass"))
    new = report(run("a", "pass"), run("a", "fail", trial=2), run("b", "pass"), run("b", "error", trial=2))
    result = diff_reports(old, new)
    assert not result.of("regression") and result.flaky_now == 2
    assert not result.failed() and not result.failed(max_flaky=2) and result.failed(max_flaky=1)


def test_unchanged_flaky_ratio_is_not_a_change() -> None:
    both = report(run("a", "pass"), run("a", "fail", trial=2))
    result = diff_reports(both, both)
    assert result.changes == [] and result.flaky_now == 1 and result.unchanged == 1


def test_text_rendering_golden() -> None:
    old = report(run("weather", "pass"), run("chain", "fail"))
    new = report(run("weather", "fail"), run("chain", "pass"), run("extra", "pass", mode="stream"))
    assert render_text(diff_reports(old, new)) == "\n".join(
        [
            "Regressions (1):",
            "  p/m1 weather (nonstream): 1/1 → fail 0/1  — [tool_call.id] call has no id",
            "Fixes (1):",
            "  p/m1 chain (nonstream): fail 0/1 → 1/1",
            "New cells (1):",
            "  p/m1 extra (stream): — → 1/1",
            "FAILED: 1 regressions, 1 fixes, 1 new cells; 0 unchanged; 0 flaky cell(s) now",
        ]
    )


def test_markdown_escapes_provider_text_and_table_pipes() -> None:
    bad = run("a", "fail")
    bad.findings[0].message = "got <script>x</script> | broken\nrow"
    md = render_markdown(diff_reports(report(run("a", "pass")), report(bad)), max_flaky=0)
    assert md.startswith("### toolcall-harness diff\n\n❌ FAILED: 1 regressions")
    assert "(limit 0)" in md and "#### Regressions (1)" in md
    row = next(line for line in md.splitlines() if line.startswith("| p/m1"))
    assert "&lt;script&gt;" in row and "\\| broken row" in row and "<script>" not in md


def test_cli_diff_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = save(tmp_path, "good.json", report(run("a", "pass")))
    bad = save(tmp_path, "bad.json", report(run("a", "fail")))
    assert main(["diff", bad, good]) == 0
    assert "OK: 1 fixes" in capsys.readouterr().out
    assert main(["diff", good, bad, "--format", "markdown"]) == 1
    assert "#### Regressions (1)" in capsys.readouterr().out
    flaky = save(tmp_path, "flaky.json", report(run("a", "pass"), run("a", "fail", trial=2)))
    assert main(["diff", good, flaky]) == 0
    assert main(["diff", good, flaky, "--max-flaky", "0"]) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a toolcall-harness report: (top level): Invalid JSON"),
        ('{"runs": 3}', "not a toolcall-harness report: runs: Input should be a valid array"),
    ],
)
def test_cli_diff_corrupt_report_is_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    good = save(tmp_path, "good.json", report(run("a", "pass")))
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text(content)
    assert main(["diff", good, str(corrupt)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {corrupt}: {message}") and len(err.strip().splitlines()) == 1
    assert main(["diff", str(tmp_path / "missing.json"), good]) == 2
    assert "cannot read report: No such file or directory" in capsys.readouterr().err


def test_merge_unites_targets_and_later_shard_wins() -> None:
    a = report(run("x", "pass"), run("y", "fail"), models=("m1",))
    b = report(run("y", "pass"), run("z", "pass", model="m2"), models=("m1", "m2"))
    c = report(run("x", "pass", provider="q"), provider="q")
    merged, replaced = merge_reports([a, b, c])
    assert [(t.provider, t.models) for t in merged.targets] == [("p", ["m1", "m2"]), ("q", ["m1"])]
    assert [(r.key.provider, r.key.scenario, r.outcome) for r in merged.runs] == [
        ("p", "x", "pass"),
        ("p", "y", "pass"),
        ("p", "z", "pass"),
        ("q", "x", "pass"),
    ]
    assert [r.key.label for r in replaced] == ["y[p/m1]"] and replaced[0].outcome == "fail"
    assert merged.created == max(a.created, b.created, c.created)


def test_cli_merge_writes_one_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = save(tmp_path, "a.json", report(run("x", "fail")))
    b = save(tmp_path, "b.json", report(run("x", "pass"), run("y", "pass", provider="q"), provider="q"))
    out = tmp_path / "merged.json"
    assert main(["report", "--merge", a, b, "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.err == "merge: x[p/m1] is in more than one shard: the later one wins\n"
    merged = read_report(out)
    assert [(r.key.label, r.outcome) for r in merged.runs] == [("x[p/m1]", "pass"), ("y[q/m1]", "pass")]
    assert main(["report", "--merge", a, b, "--format", "github"]) == 0
    assert "p/m1" in capsys.readouterr().out


def test_cli_report_needs_exactly_one_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = save(tmp_path, "a.json", report(run("x", "pass")))
    assert main(["report"]) == 2
    assert main(["report", a, "--merge", a]) == 2
    assert "give either one REPORT to render or --merge SHARD" in capsys.readouterr().err


def test_a_version_1_report_still_reads(tmp_path: Path) -> None:
    """Version 2 added `cells` and per-run usage/cost; a report written before them loads with defaults."""
    old = report(run("a", "pass")).model_dump(mode="json", exclude={"cells"})
    old["version"] = 1
    for r in old["runs"]:
        for name in ("prompt_tokens", "completion_tokens", "cost_usd"):
            del r[name]
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(old))
    loaded = read_report(path)
    assert loaded.version == 1 and loaded.cells == [] and loaded.runs[0].cost_usd is None
