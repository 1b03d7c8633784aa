"""The committed cassettes of every launched provider (`local`, `local-llamacpp-python`, …): complete, and
replayed offline with the recorded verdicts by both front-ends, without the stack installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.core.model import RunKey
from harness.providers.launchers import launcher_class
from harness.providers.registry import load_registry
from harness.scenario.loader import load_scenarios
from harness.transport.cassettes import cassette_path

ROOT = Path(__file__).resolve().parents[1]
CASSETTES = ROOT / "cassettes"
REGISTRY = load_registry()
# Every provider whose server the harness starts itself ships recordings of the whole suite.
LAUNCHED = sorted(name for name, spec in REGISTRY.items() if spec.launcher)


def verdicts_file(provider: str) -> Path:
    return CASSETTES / provider / "verdicts.json"


@pytest.mark.parametrize("provider", LAUNCHED)
def test_every_scenario_and_mode_has_a_cassette_and_no_other_is_left(provider: str) -> None:
    expected = {
        cassette_path(CASSETTES, RunKey(provider=provider, model=model, scenario=rs.id, mode=mode))
        for rs in load_scenarios([ROOT / "scenarios"])
        for model in REGISTRY[provider].models
        for mode in ("nonstream", "stream")
    }
    # BFCL's cassettes (bfcl_*) are the sample's: tests/test_local_bfcl_cassettes.py keeps them.
    present = {p for p in (CASSETTES / provider).glob("*/*.yaml") if not p.name.startswith("bfcl_")}
    missing = sorted(str(p.relative_to(ROOT)) for p in expected - present)
    assert not missing, (
        f"{len(missing)} cassette(s) missing; re-record with: "
        f"toolcall-harness run --provider {provider} --record-mode all  (first: {missing[:3]})"
    )
    orphans = sorted(str(p.relative_to(ROOT)) for p in present - expected)
    assert not orphans, f"cassettes of scenarios that no longer exist: {orphans[:3]}; delete them"


@pytest.mark.parametrize("provider", LAUNCHED)
def test_replay_reproduces_the_recorded_verdicts(provider: str, tmp_path: Path) -> None:
    if not verdicts_file(provider).is_file():
        pytest.fail(f"{verdicts_file(provider)} is missing: record the {provider} cassettes first")
    recorded = json.loads(verdicts_file(provider).read_text())
    code = main(
        [
            "run",
            "--provider",
            provider,
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


@pytest.mark.parametrize("provider", LAUNCHED)
def test_pytest_without_the_stack_replays_with_the_recorded_verdicts(
    provider: str, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pytest --provider <launched>` on a machine without its server: offline replay, same verdicts."""
    stack = launcher_class(str(REGISTRY[provider].launcher))
    simulated = classmethod(lambda cls: f"{cls.id} is not installed (simulated)")
    monkeypatch.setattr(stack, "missing_reason", simulated)
    recorded = json.loads(verdicts_file(provider).read_text())
    pytester.makeini("[pytest]\n")
    result = pytester.runpytest(
        "--provider", provider, "--scenarios", str(ROOT / "scenarios"), "--cassette-dir", str(CASSETTES),
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


if __name__ == "__main__":  # rebuild the baselines from the reports of a recording (one per model is fine)
    import sys

    # A later report replaces the runs of an earlier one (e.g. one cell re-recorded).
    runs = [r for arg in sys.argv[1:] for r in json.loads(Path(arg).read_text())["runs"]]
    for name in sorted({r["key"]["provider"] for r in runs}):
        baseline = verdicts({"runs": [r for r in runs if r["key"]["provider"] == name]})
        verdicts_file(name).write_text(json.dumps(baseline, indent=1, sort_keys=True) + "\n")
        print(f"{verdicts_file(name)}: {len(baseline)} runs")
