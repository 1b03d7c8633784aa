"""Launchers: local servers the harness starts for a provider, by id (`launcher:` in providers.yaml).

The built-ins `llama-server`, `llama-cpp-python` and `vllm-cpu` register themselves on import, as a plugin's
launcher does through the `toolcall_harness.launchers` entry-point group.
"""

from __future__ import annotations

from harness.providers.launchers.base import LAUNCHERS, Launcher, LauncherError, launcher, launcher_class
from harness.providers.launchers.process import ProcessLauncher

__all__ = ["LAUNCHERS", "Launcher", "LauncherError", "ProcessLauncher", "launcher", "launcher_class"]

from harness.providers.launchers import llama_cpp_python as _llama_cpp_python  # noqa: E402,F401  (registers)
from harness.providers.launchers import llama_server as _llama_server  # noqa: E402,F401  (registers)
from harness.providers.launchers import vllm_cpu as _vllm_cpu  # noqa: E402,F401  (registers)
