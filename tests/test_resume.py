"""Crash-safe results: the run journal survives SIGKILL and Ctrl-C, and `--resume` finishes the run.

The CLI runs in a subprocess against a slow stub so it can be killed halfway, for real; the resumed
report must equal the report of a run that was never interrupted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import SCENARIOS, load_report
from oracle import oracle

from harness.app.options import RunOptions
from harness.cli.main import main
from harness.results import journal
from harness.testing.stub import StubServer

ROOT = Path(__file__).resolve().parents[1]


def run_args(stub: StubServer, report_dir: Path, *extra: str) -> list[str]:
    return ["run", "--base-url", stub.base_url, "--model", "stubby", "--scenarios", str(SCENARIOS),
            "--report-dir", str(report_dir), "--concurrency", "1", "--retries", "1", *extra]


def verdicts(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(json.dumps(r["key"], sort_keys=True), r["outcome"], sorted(f["check"] for f in r["findings"]))
            for r in report["runs"]]


def journal_lines(report_dir: Path) -> list[bytes]:
    found = list(report_dir.glob("*.jsonl"))
    return found[0].read_bytes().splitlines() if found else []


def start_cli(args: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "harness", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_lines(proc: subprocess.Popen[bytes], report_dir: Path, lines: int) -> None:
    deadline = time.monotonic() + 30
    while len(journal_lines(report_dir)) < lines:
        assert proc.poll() is None, f"the run ended before it could be interrupted: {proc.communicate()}"
        assert time.monotonic() < deadline, "the journal did not grow"
        time.sleep(0.02)


def test_sigkill_midway_then_resume_equals_an_uninterrupted_run(tmp_path: Path, capsys) -> None:
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    with StubServer(oracle(), breaks={"duplicate_ids"}, latency=0.3) as stub:
        proc = start_cli(run_args(stub, killed))
        wait_for_lines(proc, killed, 4)  # the header and three finished runs
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert not list(killed.glob("*.json"))  # killed before any report was written
        saved = len(journal_lines(killed)) - 1
        assert 3 <= saved < 8
        stub.latency = 0.0
        sent_before = len(stub.requests)
        [path] = killed.glob("*.jsonl")
        # duplicate_ids: the stub breaks a rule
        assert main(["run", "--resume", str(path), "--base-url", stub.base_url]) == 1
        resumed_requests = len(stub.requests) - sent_before
        assert main(run_args(stub, whole)) == 1
    out = capsys.readouterr().out
    assert f"resuming {path}: {saved} done, {8 - saved} to run" in out
    assert resumed_requests < 12  # the finished runs were not sent again (12 requests make the full run)
    resumed, uninterrupted = load_report(killed), load_report(whole)
    assert verdicts(resumed) == verdicts(uninterrupted)
    assert {r["outcome"] for r in resumed["runs"]} == {"pass", "fail"}
    assert resumed["targets"] == uninterrupted["targets"]
    assert len(journal.read(path, RunOptions).results) == 8 and journal.read(path, RunOptions).notes == []


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=["ctrl_c", "sigterm"])
def test_interrupt_saves_what_finished_and_says_how_to_resume(sig: int, code: int, tmp_path: Path) -> None:
    with StubServer(oracle(), latency=0.3) as stub:
        proc = start_cli(run_args(stub, tmp_path))
        wait_for_lines(proc, tmp_path, 2)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == code, err.decode()
        [path] = tmp_path.glob("*.jsonl")
        assert f"interrupted: finished runs are saved in {path}" in err.decode()
        assert f"toolcall-harness run --resume {path}" in err.decode()
        assert "Traceback" not in err.decode()
        stub.latency = 0.0
        assert main(["run", "--resume", path.stem, "--report-dir", str(tmp_path),
                     "--base-url", stub.base_url]) == 0
    assert [r["outcome"] for r in load_report(tmp_path)["runs"]] == ["pass"] * 8


def test_journal_header_carries_the_run(good_stub: StubServer, tmp_path: Path) -> None:
    assert main(run_args(good_stub, tmp_path, "-k", "weather_sf", "--timeout", "9")) == 0
    [path] = tmp_path.glob("*.jsonl")
    [report] = tmp_path.glob("*.json")
    assert report.stem == path.stem
    read = journal.read(path, RunOptions)
    assert read.header.targets[0].base_url == good_stub.base_url
    assert read.header.options.keyword == "weather_sf" and read.header.options.timeout == 9
    assert list(read.header.scenario_files) == [str(SCENARIOS / "basic.yaml")]
    assert read.header.planned == 2 and len(read.results) == 2


@pytest.fixture
def two_run_journal(good_stub: StubServer, tmp_path: Path) -> Path:
    assert main(run_args(good_stub, tmp_path, "-k", "weather_sf")) == 0
    [path] = tmp_path.glob("*.jsonl")
    for report in tmp_path.glob("*.json"):
        report.unlink()
    return path


def test_a_torn_last_line_is_dropped_with_a_note(two_run_journal: Path, good_stub: StubServer,
                                                 capsys) -> None:
    lines = two_run_journal.read_bytes().splitlines(keepends=True)
    two_run_journal.write_bytes(b"".join(lines[:2]) + lines[2][:57])  # killed while writing the last run
    capsys.readouterr()
    before = len(good_stub.requests)
    assert main(["run", "--resume", str(two_run_journal), "--base-url", good_stub.base_url]) == 0
    captured = capsys.readouterr()
    assert f"note: {two_run_journal}:3: ignoring a torn last line (57 bytes;" in captured.err
    assert "1 done, 1 to run" in captured.out
    assert len(good_stub.requests) - before == 2  # the stream run, both turns, and nothing else
    read = journal.read(two_run_journal, RunOptions)
    assert read.notes == [] and [r.key.mode for r in read.results] == ["nonstream", "stream"]


def test_a_corrupt_line_before_the_end_is_refused(two_run_journal: Path, capsys) -> None:
    lines = two_run_journal.read_bytes().splitlines(keepends=True)
    two_run_journal.write_bytes(lines[0] + b'{"key": "garbled"}\n' + lines[2])
    assert main(["run", "--resume", str(two_run_journal)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {two_run_journal}:2: corrupt run journal line: key: ")


def test_not_a_journal_is_refused(tmp_path: Path, capsys) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"runs": []}\n')
    assert main(["run", "--resume", str(path)]) == 2
    assert main(["run", "--resume", "nothing-here", "--report-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"error: {path}:1: not a toolcall-harness run journal:")
    assert err[1].startswith("error: --resume nothing-here: no run journal found (looked for ")


def test_resume_takes_the_plan_from_the_journal(two_run_journal: Path, capsys) -> None:
    assert main(["run", "--resume", str(two_run_journal), "--stream", "on", "-k", "x"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: --resume takes the plan from {two_run_journal}; drop -k, --stream")


def test_resume_of_a_finished_run_only_rebuilds_the_report(two_run_journal: Path, good_stub: StubServer,
                                                          capsys) -> None:
    before = len(good_stub.requests)
    assert main(["run", "--resume", str(two_run_journal.with_suffix(".json")), "--base-url",
                 good_stub.base_url]) == 0
    assert len(good_stub.requests) == before
    assert "2 done, 0 to run" in capsys.readouterr().out
    assert len(load_report(two_run_journal.parent)["runs"]) == 2
