"""Every request is bounded in time whatever the server does, and `--deadline` holds inside a run.

The stub's `trickle` fault sends one byte of an endless body at a steady pace, so a per-read timeout
never fires: only a bound on the whole request stops it. Each test starts a safety timer that stops the
stub, so a harness that is not bounded fails the test in seconds instead of hanging the suite.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import SCENARIOS, load_report, run_on_stub
from oracle import oracle

from harness.cli.main import main
from harness.testing.stub import Fault, StubServer

FAST = ["--retry-base-delay", "0.01", "--retry-max-delay", "0.05"]
SAFETY_S = 8.0


@contextmanager
def trickling(*faults: Fault) -> Iterator[StubServer]:
    """A stub with the faults, stopped by a safety timer if the harness does not stop by itself."""
    with StubServer(oracle(), faults=list(faults)) as stub:
        timer = threading.Timer(SAFETY_S, stub.stop)
        timer.start()
        try:
            yield stub
        finally:
            timer.cancel()


@pytest.mark.parametrize("stream", ["on", "off"])
def test_a_trickling_server_is_cut_at_the_request_bound(stream: str, tmp_path: Path, capsys) -> None:
    with trickling(Fault("trickle", seconds=0.1, every=True)) as stub:
        started = time.monotonic()
        code = run_on_stub(stub, tmp_path, *FAST, "-k", "boiling_point", "--stream", stream,
                           "--timeout", "1", "--retries", "2")
        elapsed = time.monotonic() - started
    assert code == 1
    assert elapsed < 3 * 1 + 1, f"the run took {elapsed:.1f}s"
    [run] = load_report(tmp_path / "reports")["runs"]
    assert run["outcome"] == "error" and run["error"]["kind"] == "timeout"
    assert "1s" in run["error"]["message"]


def test_the_deadline_ends_the_run_in_flight_and_keeps_the_finished_ones(tmp_path: Path, capsys) -> None:
    """boiling_point passes; choice_none trickles and is cut by --deadline, not by the 30 s timeout."""
    with trickling(Fault("trickle", seconds=0.1, request=2)) as stub:
        started = time.monotonic()
        code = run_on_stub(stub, tmp_path, *FAST, "-k", "boiling_point or choice_none", "--stream", "off",
                           "--concurrency", "1", "--timeout", "30", "--deadline", "1.5")
        elapsed = time.monotonic() - started
    assert code == 1
    assert elapsed < 4, f"the run took {elapsed:.1f}s"
    runs = load_report(tmp_path / "reports")["runs"]
    assert [r["outcome"] for r in runs] == ["pass", "error"]
    assert runs[1]["error"]["kind"] == "deadline"
    assert "--deadline of 1.5s" in runs[1]["error"]["message"]
    # The finished run is journaled; the one cut by the deadline is left for --resume.
    [journal] = (tmp_path / "reports").glob("*.jsonl")
    lines = journal.read_text().splitlines()
    assert [json.loads(line)["key"]["scenario"] for line in lines[1:]] == ["boiling_point"]
    assert "--resume" in capsys.readouterr().out


def test_the_run_bound_ends_a_conversation_that_goes_on_too_long(tmp_path: Path, capsys) -> None:
    with trickling(Fault("trickle", seconds=0.1, request=2)) as stub:
        code = run_on_stub(stub, tmp_path, *FAST, "-k", "weather_sf", "--stream", "off",
                           "--timeout", "30", "--run-timeout", "1")
    assert code == 1
    [run] = load_report(tmp_path / "reports")["runs"]
    assert run["error"]["kind"] == "timeout" and "--run-timeout of 1s" in run["error"]["message"]
    assert len(run["turns"]) == 2 and run["turns"][0]["error"] is None


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--timeout", "nan", "--timeout must be a finite number of seconds, got nan"),
        ("--timeout", "inf", "--timeout must be a finite number of seconds, got inf"),
        ("--timeout", "0", "--timeout must be more than 0 seconds, got 0"),
        ("--deadline", "-1", "--deadline must be more than 0 seconds, got -1"),
        ("--run-timeout", "inf", "--run-timeout must be a finite number of seconds, got inf"),
        ("--max-response-bytes", "0", "--max-response-bytes must be at least 1, got 0"),
        ("--base-url", "ftp://h/v1", "--base-url must be an http:// or https:// URL, got 'ftp://h/v1'"),
        ("--base-url", "127.0.0.1:8080/v1", "--base-url must be an http:// or https:// URL"),
    ],
)
def test_numeric_and_url_options_are_checked(flag: str, value: str, message: str, capsys) -> None:
    args = ["run", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--scenarios", str(SCENARIOS)]
    assert main([*args, flag, value]) == 2
    assert message in capsys.readouterr().err


def test_models_checks_its_timeout_and_url(capsys) -> None:
    assert main(["models", "--base-url", "file:///etc/passwd"]) == 2
    assert main(["models", "--base-url", "http://127.0.0.1:9/v1", "--timeout", "nan"]) == 2
    err = capsys.readouterr().err
    assert "--base-url must be an http:// or https:// URL" in err
    assert "--timeout must be a finite number of seconds, got nan" in err
