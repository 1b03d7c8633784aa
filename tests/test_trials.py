"""Trials: a cell that sometimes passes is flaky, not failing, and pass^k measures how consistent it is."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from conftest import load_report, run_on_stub
from oracle import oracle
from test_diff import report, run

from harness.reporting.table import render_table
from harness.results.cells import cells, pass_hat_k, summaries
from harness.testing.stub import StubServer

WRONG_CALL = {"role": "assistant", "content": None, "tool_calls": [{"name": "get_weather", "arguments": {}}]}


def test_pass_hat_k_is_the_unbiased_estimate_over_cells() -> None:
    table = cells(
        [
            *(run("a", o, trial=t) for t, o in enumerate(["pass", "pass", "fail", "pass"], 1)),
            *(run("b", "pass", trial=t) for t in (1, 2, 3, 4)),
            *(run("c", o, trial=t) for t, o in enumerate(["pass", "error", "error", "error"], 1)),
        ]
    ).values()
    # a: C(3,2)/C(4,2) = 0.5; b: 1; c has one verdict (errors are not verdicts), so it is left out at k=2
    assert pass_hat_k(table, 2) == (pytest.approx(0.75), 2)
    assert pass_hat_k(table, 1) == (pytest.approx((3 / 4 + 1 + 1) / 3), 3)
    assert pass_hat_k(table, 4) == (pytest.approx(0.5), 2)  # a: any fail makes C(3,4) = 0; c is left out
    assert pass_hat_k(table, 5) is None


def test_summaries_mark_flaky_apart_from_failing() -> None:
    runs = [run("a", "pass"), run("a", "fail", trial=2), run("b", "fail"), run("b", "fail", trial=2)]
    assert [(s.scenario, s.state, s.passed, s.failed) for s in summaries(runs)] == [
        ("a", "flaky", 1, 1),
        ("b", "fail", 0, 2),
    ]


def test_errors_are_not_verdicts_so_a_pass_beside_an_error_is_not_flaky() -> None:
    runs = [run("a", "pass"), run("a", "error", trial=2), run("b", "error"), run("b", "error", trial=2)]
    assert [(s.scenario, s.state) for s in summaries(runs)] == [("a", "pass"), ("b", "error")]
    assert "flaky" not in render_table(report(*runs))


def test_pass_hat_k_says_how_many_cells_it_rests_on() -> None:
    runs = [run("a", "pass"), run("a", "pass", trial=2), run("b", "pass"), run("b", "error", trial=2)]
    row = render_table(report(*runs)).splitlines()[-1]
    assert row.endswith("100% (1/2 cells)")  # b has one verdict: it cannot say anything about pass^2


def test_table_counts_flaky_cells_and_adds_pass_hat_k_only_with_trials() -> None:
    runs = [run("a", "pass"), run("a", "fail", trial=2), run("b", "pass"), run("b", "pass", trial=2)]
    text = render_table(report(*runs))
    assert "~ 3/4 (1 flaky)" in text and "pass^2" in text and "50%" in text
    single = render_table(report(run("a", "pass"), run("b", "fail")))
    assert "flaky" not in single and "pass^" not in single


def alternating() -> Any:
    """Answers the boiling-point question right, then wrongly (with a tool call), then right again..."""
    good, turns = oracle(), itertools.count()

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        if body["messages"][-1]["role"] == "user" and next(turns) % 2 == 1:
            return WRONG_CALL
        return good(body)

    return responder


def test_trials_of_a_sometimes_wrong_model_are_flaky_in_report_and_table(tmp_path: Path, capsys) -> None:
    with StubServer(alternating()) as stub:
        code = run_on_stub(stub, tmp_path, "-k", "boiling_point", "--stream", "off", "--trials", "3",
                           "--concurrency", "1")  # fmt: skip
    assert code == 1
    saved = load_report(tmp_path / "reports")
    assert [r["outcome"] for r in saved["runs"]] == ["pass", "fail", "pass"]
    [cell] = saved["cells"]
    assert (cell["state"], cell["passed"], cell["failed"]) == ("flaky", 2, 1)
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.startswith("provider/model"))
    row = next(line for line in lines if line.startswith("adhoc/stubby"))
    assert header.split()[-1] == "pass^3"
    assert "~ 2/3 (1 flaky)" in row and row.split()[-1] == "0%"  # never three passes in a row
