"""Token usage is summed per run, and priced when the registry gives the model's prices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import SCENARIOS, load_report
from oracle import oracle

from harness.cli import main
from harness.stub import StubServer

USAGE = {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200}


def priced_oracle() -> Any:
    good = oracle()

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        return {"message": good(body), "usage": USAGE}

    return responder


def run(stub: StubServer, tmp_path: Path, prices: str) -> dict[str, Any]:
    providers = tmp_path / "providers.yaml"
    providers.write_text(
        f"providers:\n  stub:\n    base_url: {stub.base_url}\n    models: [stubby]\n{prices}"
    )
    main(["run", "--provider", "stub", "--providers-file", str(providers), "--scenarios", str(SCENARIOS),
          "--report-dir", str(tmp_path / "reports"), "-k", "weather_sf", "--stream", "both"])  # fmt: skip
    return load_report(tmp_path / "reports")


def test_usage_is_summed_over_turns_and_priced(tmp_path: Path, capsys) -> None:
    prices = "    prices:\n      stubby: {input_per_mtok: 2.0, output_per_mtok: 10.0}\n"
    with StubServer(priced_oracle()) as stub:
        report = run(stub, tmp_path, prices)
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
