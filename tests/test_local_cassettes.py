"""The launched providers' committed cassettes: complete, and replayed offline with the recorded verdicts.

One entry of `STACKS` per serving stack of the local model (llama-server, vLLM, ...): its provider name and
the launcher module whose `missing_reason` the pytest replay replaces to simulate a machine without it.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from harness.cli.main import main
from harness.core.model import RunKey
from harness.providers.launchers import llama_server as local
from harness.providers.launchers import vllm_cpu
from harness.providers.registry import load_registry
from harness.scenario.loader import load_scenarios
from harness.transport.cassettes import cassette_path

ROOT = Path(__file__).resolve().parents[1]
CASSETTES = ROOT / "cassettes"
# (provider, the launcher module of its stack)
STACKS: list[tuple[str, ModuleType]] = [("local", local), ("local-vllm", vllm_cpu)]
PROVIDERS = [provider for provider, _ in STACKS]


def verdicts_file(provider: str) -> Path:
    return CASSETTES / provider / "verdicts.json"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_scenario_and_mode_has_a_cassette_and_no_other_is_left(provider: str) -> None:
    expected = {
        cassette_path(CASSETTES, RunKey(provider=provider, model=model, scenario=rs.id, mode=mode))
        for rs in load_scenarios([ROOT / "scenarios"])
        for model in load_registry()[provider].models
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


@pytest.mark.parametrize("provider", PROVIDERS)
def test_replay_reproduces_the_recorded_verdicts(tmp_path: Path, provider: str) -> None:
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


@pytest.mark.parametrize(("provider", "stack"), STACKS)
def test_pytest_without_the_stack_replays_with_the_recorded_verdicts(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, provider: str, stack: ModuleType
) -> None:
    """`pytest --provider P` on a machine without P's server: offline replay, same verdicts."""
    monkeypatch.setattr(stack, "missing_reason", lambda: f"{provider}'s server is not installed (simulated)")
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


if __name__ == "__main__":  # rebuild a baseline from the reports of a recording run (one per model)
    import sys

    # `[--provider P] REPORT...` (default: local); a later report replaces the runs of an earlier one
    # (e.g. one cell re-recorded).
    args = sys.argv[1:]
    provider = args[1] if args[:1] == ["--provider"] else "local"
    reports = args[2:] if args[:1] == ["--provider"] else args
    runs = [r for arg in reports for r in json.loads(Path(arg).read_text())["runs"]]
    if {r["key"]["provider"] for r in runs} != {provider}:
        raise SystemExit(f"the reports are not all of provider {provider!r}: pass --provider")
    baseline = verdicts({"runs": runs})
    verdicts_file(provider).write_text(json.dumps(baseline, indent=1, sort_keys=True) + "\n")
    print(f"{verdicts_file(provider)}: {len(baseline)} runs")
