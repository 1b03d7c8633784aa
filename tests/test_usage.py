"""Token usage is typed in one place and read one way: the JSON report, the table and the HTML agree.

A provider's `usage` is evidence and is kept as sent, whatever its shape; `token_counts` is the only
reading of it. Odd values make the counts unknown, never a crash.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import SCENARIOS, load_report
from oracle import oracle

from harness.cli.main import main
from harness.core.model import (
    Reply,
    Report,
    RunKey,
    RunResult,
    TokenCounts,
    Turn,
    run_token_counts,
    token_counts,
)
from harness.reporting.html import model_stats, render_html
from harness.testing.stub import StubServer

ODD_USAGE = {"prompt_tokens": {"cached": 5}, "completion_tokens": 3}


def turn(number: int, usage: Any) -> Turn:
    return Turn(number=number, request={"messages": []}, status=200, reply=Reply(content="ok", usage=usage))


def result(*turns: Turn) -> RunResult:
    key = RunKey(provider="p", model="m", scenario="s", mode="nonstream")
    return RunResult(key=key, family="single_call", outcome="pass", turns=list(turns))


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ({"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}, TokenCounts(10, 2)),
        ({"prompt_tokens": 0, "completion_tokens": 0}, TokenCounts(0, 0)),
        (ODD_USAGE, None),
        ({"prompt_tokens": 1.5, "completion_tokens": 2}, None),
        ({"prompt_tokens": True, "completion_tokens": 2}, None),
        ({"prompt_tokens": "10", "completion_tokens": "2"}, None),
        ({"total_tokens": 12}, None),
        ({}, None),
        (None, None),
        ([1, 2], None),
    ],
)
def test_token_counts_read_integers_only(usage: Any, expected: TokenCounts | None) -> None:
    assert token_counts(usage) == expected


def test_a_run_has_counts_only_when_every_answer_reported_them() -> None:
    assert run_token_counts([turn(1, {"prompt_tokens": 3, "completion_tokens": 1})] * 2) == TokenCounts(6, 2)
    assert run_token_counts([turn(1, {"prompt_tokens": 3, "completion_tokens": 1}), turn(2, None)]) is None
    assert run_token_counts([Turn(number=1, request={})]) is None  # no answer, nothing to count


def test_odd_usage_is_kept_as_evidence_and_the_html_page_renders(tmp_path: Path, capsys) -> None:
    """Today: `report --format html` dies with `TypeError: int() argument must be ... not 'dict'`."""
    report = Report(runs=[result(turn(1, ODD_USAGE))])
    saved = tmp_path / "odd.json"
    saved.write_text(report.model_dump_json())
    assert main(["report", str(saved), "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert "&#34;cached&#34;: 5" in page  # the raw usage, shown escaped in the turn's summary
    [run] = json.loads(saved.read_text())["runs"]
    assert run["turns"][0]["reply"]["usage"] == ODD_USAGE and run["prompt_tokens"] is None
    assert "<td>n/a (+1 run without usage)</td>" in page
    assert main(["report", str(saved)]) == 0


def test_html_tokens_are_the_sums_of_the_runs_counts() -> None:
    complete = result(turn(1, {"prompt_tokens": 100, "completion_tokens": 7}))
    partial = result(turn(1, {"prompt_tokens": 100, "completion_tokens": 7}), turn(2, None))
    assert (complete.prompt_tokens, partial.prompt_tokens) == (100, None)
    stats = model_stats([complete, partial])
    assert (stats.tokens_in, stats.tokens_out, stats.tokens_unknown) == (100, 7, 1)
    page = render_html(Report(runs=[complete, partial]))
    assert "<td>100 (+1 run without usage)</td><td>7 (+1 run without usage)</td>" in page


def test_usage_on_one_turn_only_reads_the_same_in_the_json_and_the_html(tmp_path: Path, capsys) -> None:
    """Today: the JSON says `prompt_tokens: null` while the page sums the one turn that reported usage."""
    good = oracle()

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        message = good(body)
        usage = {"prompt_tokens": 40, "completion_tokens": 4} if message.get("tool_calls") else None
        return {"message": message, "usage": usage}

    with StubServer(responder) as stub:
        main(["run", "--base-url", stub.base_url, "--model", "stubby", "--scenarios", str(SCENARIOS),
              "--report-dir", str(tmp_path / "reports"), "-k", "weather_sf", "--stream", "off"])  # fmt: skip
    [run] = load_report(tmp_path / "reports")["runs"]
    assert len(run["turns"]) == 2 and run["turns"][1]["reply"]["usage"] is None
    assert (run["prompt_tokens"], run["completion_tokens"], run["cost_usd"]) == (None, None, None)
    [saved] = (tmp_path / "reports").glob("*.json")
    capsys.readouterr()
    assert main(["report", str(saved), "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert "<td>n/a (+1 run without usage)</td>" in page and "<td>40</td>" not in page


def test_a_version_1_report_gets_its_counts_from_its_turns() -> None:
    report = Report(runs=[result(turn(1, {"prompt_tokens": 5, "completion_tokens": 1}))])
    data = report.model_dump(mode="json")
    data["version"] = 1
    for run in data["runs"]:
        del run["prompt_tokens"], run["completion_tokens"], run["cost_usd"]
    [run] = Report.model_validate(data).runs
    assert (run.prompt_tokens, run.completion_tokens) == (5, 1)


def test_stored_counts_are_the_source_of_truth() -> None:
    """Counts the engine stored are never recomputed over them: the report says what was saved."""
    run = result(turn(1, {"prompt_tokens": 5, "completion_tokens": 1})).model_copy(
        update={"prompt_tokens": 50, "completion_tokens": 10}
    )
    again = RunResult.model_validate_json(run.model_dump_json())
    assert (again.prompt_tokens, again.completion_tokens) == (50, 10)
