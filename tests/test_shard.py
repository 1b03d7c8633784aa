"""`--shard I/N`: every planned run in exactly one shard, balanced, the same on every machine, and N merged
shard reports judged as one unsharded run; bad values, incomplete merges and crossed resumes refused."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import load_report, run_on_stub

from harness.cli.main import main
from harness.engine.config import RunConfig
from harness.engine.plan import PlannedRun, plan
from harness.engine.shard import Shard, expected_requests, plan_digest, split, units
from harness.providers.registry import Target
from harness.scenario.loader import load_scenarios
from harness.scenario.spec import TurnExpect
from harness.testing.stub import StubServer

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = load_scenarios([ROOT / "scenarios"])
TARGETS = [Target("alpha", "m1", None, None), Target("beta", "m2", None, None)]


def big_plan(trials: int = 3) -> list[PlannedRun]:
    return plan(SCENARIOS, TARGETS, RunConfig(trials=trials))


def unit_of(run: PlannedRun) -> tuple[str, str, str]:
    return run.key.provider, run.key.model, run.key.scenario


def cost(runs: list[PlannedRun]) -> int:
    return sum(expected_requests(r.scenario) for r in runs)


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 16, 1000])
def test_the_shards_are_disjoint_and_their_union_is_the_plan(count: int) -> None:
    runs = big_plan()
    shards = split(runs, count)
    assert len(shards) == count
    keys = Counter(r.key for shard in shards for r in shard)
    assert set(keys) == {r.key for r in runs} and set(keys.values()) == {1}
    for shard in shards:  # each in plan order
        assert shard == [r for r in runs if r in shard]
    # a scenario on a model, every mode and trial, is in one shard: cells and stream/non-stream pairs
    # stay whole
    home = {unit_of(r): i for i, shard in enumerate(shards) for r in shard}
    assert all(unit_of(r) in home and r in shards[home[unit_of(r)]] for r in runs)
    whole_units = len(units(runs))
    assert sum(1 for s in shards if s) == min(count, whole_units)  # N above the units: the rest are empty


@pytest.mark.parametrize("count", [2, 3, 4, 5, 8, 13])
def test_the_shards_are_balanced_by_expected_requests(count: int) -> None:
    runs = big_plan()
    loads = [cost(shard) for shard in split(runs, count)]
    largest = max(u.cost for u in units(runs))
    assert sum(loads) == cost(runs)
    assert max(loads) - min(loads) <= largest, loads


def test_the_cost_of_a_run_is_its_expected_requests() -> None:
    by_id = {rs.id: rs for rs in SCENARIOS}
    # three calls in order, each on the previous one's result, then the answer
    assert expected_requests(by_id["chained_products_search_details_inventory"]) == 4
    assert expected_requests(by_id["chained_books_search_then_details"]) == 3  # two rounds + the answer
    assert expected_requests(by_id["forced_required_small_talk"]) == 1  # max_iterations: 1, no answer
    assert expected_requests(by_id["forced_none_with_tools"]) == 1  # tool_choice none: the answer only
    assert expected_requests(by_id["weather_basic"]) == 2  # one call, then the answer
    basic = by_id["weather_basic"]

    def expecting(**change: Any) -> Any:
        expect = basic.scenario.expect.model_copy(update={"max_turns": None, **change})
        return basic.model_copy(update={"scenario": basic.scenario.model_copy(update={"expect": expect})})

    assert expected_requests(expecting(turns=[TurnExpect(turn=1, tool_calls="forbidden")])) == 1
    two_rounds = [TurnExpect(turn=2, tool_calls="required")]
    assert expected_requests(expecting(turns=two_rounds)) == 3
    assert expected_requests(expecting(turns=two_rounds, final_answer=False)) == 2
    name = "chained_products_search_details_inventory"
    chained = next(u for u in units(big_plan(trials=3)) if u.name[2] == name)
    assert chained.cost == 4 * 2 * 3  # requests x modes x trials


SPLIT_SCRIPT = """
import json, random, sys
from pathlib import Path
from harness.engine.config import RunConfig
from harness.engine.plan import plan
from harness.engine.shard import plan_digest, split
from harness.providers.registry import Target
from harness.scenario.loader import load_scenarios
from harness.scenario.spec import TurnExpect
scenarios = load_scenarios([Path(sys.argv[1])])
random.Random(int(sys.argv[2])).shuffle(scenarios)  # the order scenarios are found in must not matter
runs = plan(scenarios, [Target("alpha", "m1", None, None)], RunConfig(trials=2))
print(json.dumps({"digest": plan_digest(runs),
                  "shards": [sorted(r.key.label for r in shard) for shard in split(runs, 4)]}))
"""


def test_the_split_is_the_same_for_every_hash_seed_and_scenario_order() -> None:
    outputs = []
    for seed, order in (("0", 0), ("1", 1), ("4242", 2), ("random", 3)):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", SPLIT_SCRIPT, str(ROOT / "scenarios"), str(order)],
                              capture_output=True, text=True, env=env, check=True, timeout=120)
        outputs.append(json.loads(done.stdout))
    assert all(out == outputs[0] for out in outputs[1:])
    assert all(outputs[0]["shards"])


def test_the_plan_digest_names_the_plan_not_the_order() -> None:
    runs = big_plan()
    shuffled = list(runs)
    random.Random(7).shuffle(shuffled)
    assert plan_digest(shuffled) == plan_digest(runs)
    assert plan_digest(big_plan(trials=2)) != plan_digest(runs)
    assert plan_digest(runs[:-1]) != plan_digest(runs)


FORM = "--shard must be I/N with whole numbers, e.g. 2/4 for the second of four shards,"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("3", f"{FORM} got '3'"),
        ("a/b", f"{FORM} got 'a/b'"),
        ("-1/4", f"{FORM} got '-1/4'"),
        ("0/4", "--shard counts shards from 1: I must be between 1 and 4, got '0/4'"),
        ("5/4", "--shard counts shards from 1: I must be between 1 and 4, got '5/4'"),
        ("1/0", "--shard must split into at least 1 shard, got '1/0'"),
    ],
)
def test_a_bad_shard_is_one_sentence_and_exit_2(given: str, message: str, capsys: Any) -> None:
    assert main(["run", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", f"--shard={given}"]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"


def test_shard_values_are_read_one_based_and_normalised() -> None:
    assert Shard.parse(" 02 / 4") == Shard(2, 4) and Shard(2, 4).label == "2/4"
    assert Shard.parse("1/1") == Shard(1, 1)


def shard_reports(stub: StubServer, tmp_path: Path, count: int, *extra: str) -> list[Path]:
    paths = []
    for index in range(1, count + 1):
        folder = tmp_path / f"shard{index}"
        assert run_on_stub(stub, folder, "--shard", f"{index}/{count}", *extra) in (0, 1)
        [path] = (folder / "reports").glob("*.json")
        paths.append(path)
    return paths


def verdicts(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "runs": sorted((json.dumps(r["key"], sort_keys=True), r["outcome"],
                        sorted((f["check"], f["severity"]) for f in r["findings"])) for r in report["runs"]),
        "cells": sorted(json.dumps(c, sort_keys=True) for c in report["cells"]),
    }


@pytest.mark.parametrize("count", [3, 6])
def test_merged_shards_have_the_verdicts_of_one_unsharded_run(
    good_stub: StubServer, tmp_path: Path, count: int, capsys: Any
) -> None:
    assert run_on_stub(good_stub, tmp_path / "whole", "--trials", "2") == 0
    whole = load_report(tmp_path / "whole" / "reports")
    paths = shard_reports(good_stub, tmp_path, count, "--trials", "2")
    shards = [json.loads(p.read_text()) for p in paths]
    assert [(s["shard"]["index"], s["shard"]["count"]) for s in shards] == [(i, count)
                                                                          for i in range(1, count + 1)]
    assert len({s["shard"]["plan"] for s in shards}) == 1 and (whole["version"], whole["minor"]) == (2, 4)
    assert "shard" not in whole  # a whole run's report is as before
    assert sum(len(s["runs"]) for s in shards) == len(whole["runs"]) == 16
    if count == 6:  # four scenarios on one model: two shards are empty, and say so
        assert sorted(len(s["runs"]) for s in shards)[:2] == [0, 0]
        assert "is empty: the plan has 4 unit(s)" in capsys.readouterr().out
    merged_path = tmp_path / "merged.json"
    assert main(["report", "--merge", *map(str, reversed(paths)), "-o", str(merged_path)]) == 0
    merged = json.loads(merged_path.read_text())
    assert "shard" not in merged
    assert verdicts(merged) == verdicts(whole)


def test_a_merge_refuses_missing_duplicated_and_mixed_shards(good_stub: StubServer, tmp_path: Path,
                                                             capsys: Any) -> None:
    one, two, three = shard_reports(good_stub, tmp_path / "a", 3)
    capsys.readouterr()
    assert main(["report", str(one)]) == 0  # one shard renders, and says it is a part
    assert f"note: {one} is shard 1/3 of a run (" in capsys.readouterr().err
    assert main(["report", "--merge", str(one), str(three)]) == 2
    err = capsys.readouterr().err
    assert "cannot merge: plan " in err and "shard(s) 2/3 missing" in err and f"{one} = 1/3" in err
    assert main(["report", "--merge", str(one), str(two), str(two), str(three)]) == 2
    assert "shard 2/3 (" in capsys.readouterr().err
    other = shard_reports(good_stub, tmp_path / "b", 3, "--trials", "2")  # another plan
    assert main(["report", "--merge", str(one), str(other[1]), str(three)]) == 2
    err = capsys.readouterr().err
    assert "shard(s) 2/3 missing" in err and "shards with different plans" in err
    # the complete shards of two plans make two whole runs, as one run per provider does
    assert main(["report", "--merge", str(one), str(two), str(three), *map(str, other)]) == 0


def test_a_shard_journal_resumes_only_its_shard_and_refuses_another(good_stub: StubServer, tmp_path: Path,
                                                                      capsys: Any) -> None:
    assert run_on_stub(good_stub, tmp_path, "--shard", "2/3") == 0
    [journal] = (tmp_path / "reports").glob("*.jsonl")
    assert journal.name.endswith("-shard2of3.jsonl")
    header, *lines = journal.read_text().splitlines(keepends=True)
    assert json.loads(header)["journal"] == "3.0" and json.loads(header)["options"]["shard"] == "2/3"
    mine = {json.loads(line)["key"]["scenario"] for line in lines}
    journal.write_text(header + lines[0])  # killed after its first run
    for report in (tmp_path / "reports").glob("*.json"):
        report.unlink()
    capsys.readouterr()
    assert main(["run", "--resume", str(journal), "--shard", "1/3"]) == 2
    assert capsys.readouterr().err == (
        f"error: --shard 1/3: {journal} is the journal of shard 2/3; resume shard 1/3 from its own journal "
        "(named ...-shard1of3)\n")
    before = len(good_stub.requests)
    assert main(["run", "--resume", str(journal), "--base-url", good_stub.base_url]) == 0
    assert f"1 done, {len(lines) - 1} to run" in capsys.readouterr().out
    report = load_report(tmp_path / "reports")
    assert report["shard"]["index"] == 2 and {r["key"]["scenario"] for r in report["runs"]} == mine
    assert len(good_stub.requests) > before


def test_a_whole_run_journal_is_not_resumed_as_a_shard(good_stub: StubServer, tmp_path: Path,
                                                        capsys: Any) -> None:
    assert run_on_stub(good_stub, tmp_path, "-k", "weather_sf") == 0
    [journal] = (tmp_path / "reports").glob("*.jsonl")
    capsys.readouterr()
    assert main(["run", "--resume", str(journal), "--shard", "1/2"]) == 2
    assert "is the journal of a whole run, not of a shard; drop --shard" in capsys.readouterr().err


def test_merged_shards_replay_the_local_cassettes_with_the_recorded_verdicts(tmp_path: Path) -> None:
    """Real answers of small models (`cassettes/local`, offline): three shards merged judge every run as
    the recording did, with the same outcome, findings and error kind."""
    from test_local_cassettes import verdicts as recorded_verdicts
    from test_local_cassettes import verdicts_file

    paths = []
    for index in (1, 2, 3):
        folder = tmp_path / str(index)
        code = main(["run", "--provider", "local", "--record-mode", "none",
                     "--scenarios", str(ROOT / "scenarios"), "--cassette-dir", str(ROOT / "cassettes"),
                     "--report-dir", str(folder), "--concurrency", "4", "--shard", f"{index}/3"])  # fmt: skip
        assert code in (0, 1)
        [path] = folder.glob("*.json")
        paths.append(str(path))
    assert main(["report", "--merge", *paths, "-o", str(tmp_path / "merged.json")]) == 0
    merged = json.loads((tmp_path / "merged.json").read_text())
    ran = [r for r in merged["runs"] if r["outcome"] != "skip"]
    recorded = json.loads(verdicts_file("local").read_text())
    assert recorded_verdicts({"runs": ran}) == recorded
