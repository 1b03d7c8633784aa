"""The committed cassettes of the local provider: complete, and replayed offline with the recorded verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cassettes import cassette_path
from harness.cli import main
from harness.models import RunKey
from harness.providers import load_registry
from harness.scenarios import load_scenarios

ROOT = Path(__file__).resolve().parents[1]
CASSETTES = ROOT / "cassettes"
VERDICTS = CASSETTES / "local" / "verdicts.json"
LOCAL_MODELS = load_registry()["local"].models


@pytest.mark.xfail(
    strict=True,
    reason="known gap: the committed local cassettes cover a smoke subset of the suite; recording all "
    "288 runs did not fit the session (see the issue notes). Strict: this starts failing once they exist.",
)
def test_every_scenario_and_mode_has_a_local_cassette() -> None:
    missing = [
        str(path.relative_to(ROOT))
        for rs in load_scenarios([ROOT / "scenarios"])
        for model in LOCAL_MODELS
        for mode in ("nonstream", "stream")
        if not (path := cassette_path(CASSETTES, RunKey(provider="local", model=model, scenario=rs.id, mode=mode)))
        .is_file()
    ]
    assert not missing, f"{len(missing)} cassette(s) missing; re-record with: " \
        f"toolcall-harness run --provider local --record-mode all  (first: {missing[:3]})"


def test_replay_reproduces_the_recorded_verdicts(tmp_path: Path) -> None:
    if not VERDICTS.is_file():
        pytest.fail(f"{VERDICTS} is missing: record the local cassettes first")
    recorded = json.loads(VERDICTS.read_text())
    code = main(["run", "--provider", "local", "--record-mode", "none", "--scenarios", str(ROOT / "scenarios"),
                 "--cassette-dir", str(CASSETTES), "--report-dir", str(tmp_path), "--concurrency", "4"])
    assert code in (0, 1)
    [path] = tmp_path.glob("*.json")
    replayed = json.loads(path.read_text())
    ran = [r for r in replayed["runs"] if r["outcome"] != "skip"]
    assert ran and {r["provenance"] for r in ran} == {"replayed"}
    assert verdicts({"runs": ran}) == recorded


def verdicts(report: dict) -> dict[str, dict]:
    """Outcome and finding ids per run label: what must not change between recording and replay."""
    out = {}
    for r in report["runs"]:
        key = r["key"]
        label = f"{key['provider']}/{key['model']}/{key['scenario']}/{key['mode']}/{key['trial']}"
        out[label] = {"outcome": r["outcome"], "checks": sorted(f["check"] for f in r["findings"]),
                      "error": (r["error"] or {}).get("kind")}
    return out
