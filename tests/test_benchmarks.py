"""The benchmarks still run on what is committed: smoke checks of their parts, never of their speed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import openai
import pytest
import yaml

from harness.testing.process import StubProcess

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.suite import bare_replay, committed_suite  # noqa: E402

LINE = re.compile(r"^(?P<name>[a-z0-9-]+): (?P<detail>.+) ratio=-?\d+\.\d{3} target=\d+(\.\d+)?$")
NAMES = ["replay", "concurrency-16", "concurrency-64", "latency-1", "latency-16", "overhead", "scaling",
         "ratelimit", "startup-plugin", "startup-validate"]


def test_committed_suite_replays_through_the_harness_and_bare_sdk_alike(tmp_path: Path) -> None:
    suite = committed_suite(tmp_path)
    assert suite is not None and len(suite.runs) >= 288
    # Bare SDK replay of every committed interaction, HTTP 500s and mid-stream errors included.
    interactions = sum(len(yaml.safe_load(p.read_text())["interactions"]) for p in suite.cassettes)
    assert bare_replay(suite.cassettes) == interactions


def test_every_benchmark_runs_at_smoke_size_and_prints_one_line_of_the_agreed_shape() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    # Exit 1 is a missed target, which smoke sizes may well miss; a traceback is a broken benchmark.
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr
    lines = done.stdout.splitlines()
    assert [m.group("name") for m in map(LINE.match, lines[:-1]) if m] == NAMES, done.stdout
    assert re.match(r"^total: \d+ s wall \(smoke run\), load [\d.]+ before, [\d.]+ after; ", lines[-1])
    assert ("every target met" in lines[-1]) == (done.returncode == 0)


def test_the_stub_process_serves_counts_and_ends_reaped() -> None:
    with StubProcess(latency=0.05, responder="oracle:oracle", paths=[str(ROOT / "tests")]) as stub:
        client = openai.OpenAI(base_url=stub.base_url, api_key="test", max_retries=0)
        reply = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "What is the boiling point of water?"}])
        stats = stub.stats()
        pid, process = stub.pid, stub.process
        stub.reset()
        after = stub.stats()
    assert reply.choices[0].message.content == "Water boils at 100 °C at sea level."  # the oracle, loaded
    assert stats["requests"] == 1 and stats["max_in_flight"] == 1 and stats["errors"] == []
    [(number, held)] = stats["held"]
    assert number == 1 and held >= 0.05  # held at least the injected latency
    assert after["requests"] == 0 and after["held"] == []
    assert process is not None and process.returncode == 0  # stopped by closing its stdin, and waited for
    assert not Path(f"/proc/{pid}").exists()  # reaped: no zombie left behind


def test_the_stub_process_ends_by_itself_when_its_parent_goes_away() -> None:
    stub = StubProcess().start()
    assert stub.process is not None and stub.process.stdin is not None
    stub.process.stdin.close()  # what the kernel does to the pipe when the parent dies
    assert stub.process.wait(timeout=10) == 0
    stub.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(stub.base_url + "/models", timeout=2)


def test_a_stub_process_that_cannot_start_says_why() -> None:
    with pytest.raises(RuntimeError, match="did not start.*No module named 'no_such_module'"):
        StubProcess(responder="no_such_module:factory").start()
    with pytest.raises(RuntimeError, match="expected MODULE:NAME"):
        StubProcess(responder="no_colon").start()


def test_the_stub_process_stops_on_sigterm() -> None:
    stub = StubProcess().start()
    assert stub.process is not None
    os.kill(stub.pid, 15)
    assert stub.process.wait(timeout=10) == 0
    stub.stop()
