"""Token usage is summed per run, and priced when the registry gives the model's prices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import SCENARIOS, load_report
from oracle import oracle

from harness.cli.main import main
from harness.testing.stub import StubServer

USAGE = {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200}


PRICES = "    prices:\n      stubby: {input_per_mtok: 2.0, output_per_mtok: 10.0}\n"


def priced_oracle(usage: Any = USAGE, on_answer: Any = USAGE) -> Any:
    """The oracle with `usage` on calls and `on_answer` on the final text answer."""
    good = oracle()

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        message = good(body)
        return {"message": message, "usage": usage if message.get("tool_calls") else on_answer}

    return responder


def run(stub: StubServer, tmp_path: Path, prices: str, *extra: str) -> dict[str, Any]:
    providers = tmp_path / "providers.yaml"
    providers.write_text(
        f"providers:\n  stub:\n    base_url: {stub.base_url}\n    models: [stubby]\n{prices}"
    )
    main(["run", "--provider", "stub", "--providers-file", str(providers), "--scenarios", str(SCENARIOS),
          "--report-dir", str(tmp_path / "reports"), "-k", "weather_sf", *extra])  # fmt: skip
    return load_report(tmp_path / "reports")


def test_usage_is_summed_over_turns_and_priced(tmp_path: Path, capsys) -> None:
    with StubServer(priced_oracle()) as stub:
        report = run(stub, tmp_path, PRICES, "--stream", "both")
    for r in report["runs"]:  # weather_sf: a call, then the answer: two requests
        assert (r["prompt_tokens"], r["completion_tokens"]) == (2000, 400)
        assert r["cost_usd"] == pytest.approx((2000 * 2.0 + 400 * 10.0) / 1e6)
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.startswith("provider/model"))
    row = next(line for line in lines if line.startswith("stub/stubby"))
    assert header.split()[-1] == "cost" and row.split()[-1] == "$0.0160"


def test_without_prices_tokens_are_kept_and_no_cost_is_invented(tmp_path: Path, capsys) -> None:
    with StubServer(priced_oracle()) as stub:
        report = run(stub, tmp_path, "")
    assert {(r["prompt_tokens"], r["cost_usd"]) for r in report["runs"]} == {(2000, None)}
    header = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("provider/model"))
    assert "cost" not in header


@pytest.mark.parametrize(
    "on_answer",
    [
        pytest.param({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}, id="zeros-are-counts"),
        pytest.param({"total_tokens": 50}, id="no-split"),
        pytest.param({"prompt_tokens": 1.5, "completion_tokens": 2}, id="not-integers"),
    ],
)
def test_a_turn_without_usable_counts_leaves_the_run_unknown(on_answer: Any, tmp_path: Path) -> None:
    with StubServer(priced_oracle(on_answer=on_answer)) as stub:
        report = run(stub, tmp_path, PRICES, "--stream", "off")
    [r] = report["runs"]
    if "prompt_tokens" in on_answer and type(on_answer["prompt_tokens"]) is int:
        assert (r["prompt_tokens"], r["cost_usd"]) == (1000, pytest.approx(0.004))
    else:  # a partial sum would understate what the run cost
        assert (r["prompt_tokens"], r["completion_tokens"], r["cost_usd"]) == (None, None, None)


def test_replayed_runs_cost_nothing_in_the_table(tmp_path: Path, capsys) -> None:
    with StubServer(priced_oracle()) as stub:
        run(stub, tmp_path, PRICES, "--record-mode", "all", "--cassette-dir", str(tmp_path / "c"))
    capsys.readouterr()
    for old in (tmp_path / "reports").glob("*"):
        old.unlink()
    replayed = run(stub, tmp_path, PRICES, "--record-mode", "none", "--cassette-dir", str(tmp_path / "c"))
    assert {r["provenance"] for r in replayed["runs"]} == {"replayed"}
    assert [r["cost_usd"] for r in replayed["runs"]] == [pytest.approx(0.008)] * 2  # what the recording cost
    header = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("provider/model"))
    assert "cost" not in header
