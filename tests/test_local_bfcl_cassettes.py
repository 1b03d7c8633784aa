"""The BFCL sample's committed cassettes (local provider): complete, and replayed offline with the
recorded verdicts by both front-ends. They need BFCL's data (bfcl-eval, installed by scripts/setup.sh).

Re-record (docs/bfcl.md), then rebuild the baseline from the two reports:

    toolcall-harness run --provider local --model smollm2-135m --scenarios bfcl:all --sample 60 \\
        --record-mode all --concurrency 1 --report-dir rec/a   # and the same for smollm2-135m-toolprompt
    python tests/test_local_bfcl_cassettes.py rec/a/*.json rec/b/*.json
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from test_local_cassettes import verdicts

from harness.cli.main import main
from harness.core.model import RunKey
from harness.providers.launchers import llama_server as local
from harness.providers.registry import load_registry
from harness.transport.cassettes import cassette_path

ROOT = Path(__file__).resolve().parents[1]
CASSETTES = ROOT / "cassettes"
VERDICTS = CASSETTES / "local" / "bfcl-verdicts.json"
LOCAL_MODELS = load_registry()["local"].models
SAMPLE = ["--scenarios", "bfcl:all", "--sample", "60"]  # seed 0, the default

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("bfcl_eval") is None,
    reason="BFCL's data is not installed: pip install --no-deps bfcl-eval==2026.3.23",
)


def sampled_ids() -> list[str]:
    from harness.packs.bfcl import data
    from harness.packs.bfcl.convert import scenario_id

    return [scenario_id(e.id) for e in data.sample(data.load(["all"]), 60, 0)]


def test_every_sampled_entry_and_mode_has_a_local_cassette_and_no_other_is_left() -> None:
    ids = sampled_ids()
    assert len(ids) == 60
    expected = {
        cassette_path(CASSETTES, RunKey(provider="local", model=model, scenario=sid, mode=mode))
        for sid in ids
        for model in LOCAL_MODELS
        for mode in ("nonstream", "stream")
    }
    present = set((CASSETTES / "local").glob("*/bfcl_*.yaml"))
    missing = sorted(str(p.relative_to(ROOT)) for p in expected - present)
    assert not missing, f"{len(missing)} BFCL cassette(s) missing; re-record (docs/bfcl.md): {missing[:3]}"
    orphans = sorted(str(p.relative_to(ROOT)) for p in present - expected)
    assert not orphans, f"BFCL cassettes outside the sample: {orphans[:3]}; delete them"


def test_the_cli_replays_the_sample_with_the_recorded_verdicts(tmp_path: Path) -> None:
    recorded = json.loads(VERDICTS.read_text())
    code = main(["run", "--provider", "local", "--record-mode", "none", *SAMPLE, "--cassette-dir",
                 str(CASSETTES), "--report-dir", str(tmp_path), "--concurrency", "4"])  # fmt: skip
    assert code in (0, 1)
    [path] = tmp_path.glob("*.json")
    replayed = json.loads(path.read_text())
    assert {r["provenance"] for r in replayed["runs"]} == {"replayed"}
    assert verdicts(replayed) == recorded
    assert {(s["model"], s["mode"]) for s in replayed["accuracy"]} == {
        (m, mode) for m in LOCAL_MODELS for mode in ("nonstream", "stream")
    }


def test_pytest_without_the_local_extra_replays_the_sample_with_the_recorded_verdicts(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local, "missing_reason", lambda: "llama-server is not installed (simulated)")
    recorded = json.loads(VERDICTS.read_text())
    pytester.makeini("[pytest]\n")
    result = pytester.runpytest(
        "--provider", "local", *SAMPLE, "--record-mode", "none", "--cassette-dir", str(CASSETTES),
        "--report-dir", "reports", "-q", "-p", "no:cacheprovider",
    )  # fmt: skip
    [path] = (pytester.path / "reports").glob("*.json")
    report = json.loads(path.read_text())
    assert {r["provenance"] for r in report["runs"]} == {"replayed"}
    assert verdicts(report) == recorded
    result.stdout.fnmatch_lines(["BFCL accuracy*", "score*local/smollm2-135m*"])
    outcomes = result.parseoutcomes()
    expected = [v["outcome"] for v in recorded.values()]
    assert (outcomes.get("passed", 0), outcomes.get("failed", 0), outcomes.get("errors", 0)) == (
        expected.count("pass"),
        expected.count("fail"),
        expected.count("error"),
    )


if __name__ == "__main__":  # rebuild the baseline from the reports of a recording run (one per model)
    import sys

    runs = [r for arg in sys.argv[1:] for r in json.loads(Path(arg).read_text())["runs"]]
    baseline = verdicts({"runs": runs})
    VERDICTS.write_text(json.dumps(baseline, indent=1, sort_keys=True) + "\n")
    print(f"{VERDICTS}: {len(baseline)} runs")
