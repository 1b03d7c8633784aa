"""The local provider's committed cassettes: complete, and replayed offline with the recorded verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.core.model import RunKey
from harness.providers.launchers import llama_server as local
from harness.providers.registry import load_registry
from harness.scenario.loader import load_scenarios
from harness.transport.cassettes import cassette_path

ROOT = Path(__file__).resolve().parents[1]
CASSETTES = ROOT / "cassettes"
VERDICTS = CASSETTES / "local" / "verdicts.json"
LOCAL_MODELS = load_registry()["local"].models


def test_every_scenario_and_mode_has_a_local_cassette_and_no_other_is_left() -> None:
    expected = {
        cassette_path(CASSETTES, RunKey(provider="local", model=model, scenario=rs.id, mode=mode))
        for rs in load_scenarios([ROOT / "scenarios"])
        for model in LOCAL_MODELS
        for mode in ("nonstream", "stream")
    }
    # BFCL's cassettes (bfcl_*) are the sample's: tests/test_local_bfcl_cassettes.py keeps them.
    present = {p for p in (CASSETTES / "local").glob("*/*.yaml") if not p.name.startswith("bfcl_")}
    missing = sorted(str(p.relative_to(ROOT)) for p in expected - present)
    assert not missing, (
        f"{len(missing)} cassette(s) missing; re-record with: "
        f"toolcall-harness run --provider local --record-mode all  (first: {missing[:3]})"
    )
    orphans = sorted(str(p.relative_to(ROOT)) for p in present - expected)
    assert not orphans, f"cassettes of scenarios that no longer exist: {orphans[:3]}; delete them"


def test_replay_reproduces_the_recorded_verdicts(tmp_path: Path) -> None:
    if not VERDICTS.is_file():
        pytest.fail(f"{VERDICTS} is missing: record the local cassettes first")
    recorded = json.loads(VERDICTS.read_text())
    code = main(
        [
            "run",
            "--provider",
            "local",
            "--record-mode",
            "none",
            "--scenarios",
            str(ROOT / "scenarios"),
            "--cassette-dir",
            str(CASSETTES),
            "--report-dir",
            str(tmp_path),
            "--concurrency",
            "4",
        ]
    )
    assert code in (0, 1)
    [path] = tmp_path.glob("*.json")
    replayed = json.loads(path.read_text())
    ran = [r for r in replayed["runs"] if r["outcome"] != "skip"]
    assert ran and {r["provenance"] for r in ran} == {"replayed"}
    assert verdicts({"runs": ran}) == recorded


def test_pytest_without_the_local_extra_replays_with_the_recorded_verdicts(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pytest --provider local` on a machine without llama-server: offline replay, same verdicts."""
    monkeypatch.setattr(local, "missing_reason", lambda: "llama-server is not installed (simulated)")
    recorded = json.loads(VERDICTS.read_text())
    pytester.makeini("[pytest]\n")
    result = pytester.runpytest(
        "--provider", "local", "--scenarios", str(ROOT / "scenarios"), "--cassette-dir", str(CASSETTES),
        "--report-dir", "reports", "-q", "-p", "no:cacheprovider",
    )  # fmt: skip
    [path] = (pytester.path / "reports").glob("*.json")
    report = json.loads(path.read_text())
    assert {r["provenance"] for r in report["runs"]} == {"replayed"}
    assert verdicts(report) == recorded
    outcomes = result.parseoutcomes()
    expected = [v["outcome"] for v in recorded.values()]
    assert (outcomes.get("passed", 0), outcomes.get("failed", 0), outcomes.get("errors", 0)) == (
        expected.count("pass"),
        expected.count("fail"),
        expected.count("error"),
    )


def verdicts(report: dict) -> dict[str, dict]:
    """Outcome and finding ids per run label: what must not change between recording and replay."""
    out = {}
    for r in report["runs"]:
        key = r["key"]
        label = f"{key['provider']}/{key['model']}/{key['scenario']}/{key['mode']}/{key['trial']}"
        out[label] = {
            "outcome": r["outcome"],
            "checks": sorted(f["check"] for f in r["findings"]),
            "error": (r["error"] or {}).get("kind"),
        }
    return out


if __name__ == "__main__":  # rebuild the baseline from the reports of a recording run (one per model)
    import sys

    # A later report replaces the runs of an earlier one (e.g. one cell re-recorded).
    runs = [r for arg in sys.argv[1:] for r in json.loads(Path(arg).read_text())["runs"]]
    baseline = verdicts({"runs": runs})
    VERDICTS.write_text(json.dumps(baseline, indent=1, sort_keys=True) + "\n")
    print(f"{VERDICTS}: {len(baseline)} runs")
