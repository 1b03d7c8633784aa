"""The harness end to end against a real llama-server: one scenario, both wire modes, judged live."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.providers.launchers.llama_server import missing_reason

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.live_local
def test_one_scenario_live_in_each_mode(tmp_path: Path) -> None:
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    code = main(["run", "--provider", "local", "--model", "smollm2-135m-toolprompt", "-k", "weather_basic",
                 "--scenarios", str(ROOT / "scenarios"), "--report-dir", str(tmp_path), "--retries", "1"])
    assert code in (0, 1)
    [path] = tmp_path.glob("*.json")
    runs = json.loads(path.read_text())["runs"]
    assert sorted(r["key"]["mode"] for r in runs) == ["nonstream", "stream"]
    for run in runs:
        assert run["provenance"] == "live"
        assert run["turns"] and run["turns"][0]["status"] is not None, run
        assert run["turns"][0]["latency_s"] is not None
    stream_turn = next(r for r in runs if r["key"]["mode"] == "stream")["turns"][0]
    assert stream_turn["response_text"].lstrip().startswith("data:")
