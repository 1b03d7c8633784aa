"""`pytest --provider ... --shard I/N`: the other shards' items are deselected (as by -k), the shards
together run every item once, an empty shard passes and says why, and a bad value is a UsageError."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
from conftest import SCENARIOS
from oracle import oracle

from harness.cli.main import main
from harness.testing.stub import StubServer

IDS = ("weather_sf", "two_cities", "boiling_point", "choice_none")


@pytest.fixture
def project(pytester: pytest.Pytester) -> Iterator[pytest.Pytester]:
    shutil.copytree(SCENARIOS, pytester.path / "scenarios")
    pytester.makeini("[pytest]\n")
    with StubServer(oracle()) as server:
        (pytester.path / "providers.yaml").write_text(
            f"providers:\n  stub:\n    base_url: {server.base_url}\n    models: [stubby]\n")
        yield pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("--provider", "stub", "--providers-file", "providers.yaml", "-p",
                              "no:cacheprovider", "-rA", *args)


def passed(result: pytest.RunResult) -> list[str]:
    return [line.split("::")[-1] for line in result.outlines if line.startswith("PASSED ")]


def test_the_shards_deselect_the_others_and_together_run_every_item_once(project: pytest.Pytester) -> None:
    every = run(project, "--collect-only", "-q")
    items = [line.split("::")[-1] for line in every.outlines if "::" in line]
    assert len(items) == 8
    seen: list[str] = []
    for index in (1, 2, 3):
        result = run(project, "--shard", f"{index}/3")
        mine = passed(result)
        result.assert_outcomes(passed=len(mine), deselected=8 - len(mine))
        assert mine and f"shard {index}/3: {len(mine)} of the plan's 8 run(s)" in result.stdout.str()
        # both modes of a scenario stay in one shard
        assert {m.split("[")[0] for m in mine} == {s for s in IDS if f"{s}[stub/stubby]" in mine}
        seen += mine
    assert sorted(seen) == sorted(items)
    reports = [json.loads(p.read_text()) for p in sorted((project.path / "reports").glob("*.json"))]
    assert sorted(r["shard"]["index"] for r in reports) == [1, 2, 3]
    paths = sorted(str(p) for p in (project.path / "reports").glob("*.json"))
    assert all("-shard" in p for p in paths)
    assert main(["report", "--merge", *paths, "-o", str(project.path / "merged.json")]) == 0
    merged = json.loads((project.path / "merged.json").read_text())
    assert sorted(r["key"]["scenario"] for r in merged["runs"]) == sorted(IDS * 2)


def test_an_empty_shard_passes_and_says_so(project: pytest.Pytester) -> None:
    """Eight shards of four scenario units: four shards hold nothing. pytest would exit 5 (no tests),
    a false failure for a CI job; the shard says why it is empty and exits 0, with a report to merge."""
    result = run(project, "--shard", "8/8")
    assert result.ret == 0
    result.assert_outcomes(deselected=8)  # every item is in another shard
    result.stdout.fnmatch_lines(
        ["*shard 8/8 is empty: the plan has 4 unit(s) of work*for 8 shards; nothing to run"])
    [report] = (project.path / "reports").glob("*.json")
    data = json.loads(report.read_text())
    assert data["runs"] == [] and data["shard"]["index"] == 8 and data["shard"]["runs"] == 0


def test_a_shard_whose_items_are_all_deselected_by_k_still_exits_5(project: pytest.Pytester) -> None:
    """Only an empty shard is forgiven: `-k` matching nothing in a non-empty shard is pytest's business."""
    assert run(project, "--shard", "1/3", "-k", "no_such_scenario").ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_a_bad_shard_is_a_usage_error(project: pytest.Pytester) -> None:
    result = run(project, "--shard", "4/3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--shard counts shards from 1: I must be between 1 and 3, got '4/3'"])


def test_xdist_workers_agree_on_the_shard(project: pytest.Pytester) -> None:
    """Each worker collects and deselects on its own: they must pick the same items as one process."""
    alone = sorted(passed(run(project, "--shard", "2/3")))
    result = run(project, "--shard", "2/3", "-n", "2")
    assert sorted(passed(result)) == alone
    result.assert_outcomes(passed=len(alone))  # xdist does not count its workers' deselected items
    assert f"2 workers [{len(alone)} items]" in result.stdout.str()
    reports = [json.loads(p.read_text()) for p in (project.path / "reports").glob("*.json")]
    assert [len(r["runs"]) for r in reports] == [len(alone)] * 2
    assert all(r["shard"]["index"] == 2 for r in reports)
    empty = run(project, "--shard", "7/7", "-n", "2")
    assert empty.ret == 0 and "shard 7/7 is empty" in empty.stdout.str()
