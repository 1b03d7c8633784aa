"""Editor completion: the JSON Schema every scenario file points at exists, is current, validates every
scenario file in the repository, and ships with the package."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from harness.scenario.spec import scenario_json_schema

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "harness" / "data" / "scenario.schema.json"
POINTER = re.compile(r"#\s*yaml-language-server:\s*\$schema=([^\s`]+)")
SCENARIO_FILES = [
    *sorted((ROOT / "scenarios").glob("*.yaml")),
    *sorted((ROOT / "tests" / "data" / "scenarios").glob("*.yaml")),
]


def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls.check_schema(schema)
    return cls(schema)


def test_the_committed_schema_is_what_the_models_generate() -> None:
    expected = json.dumps(scenario_json_schema(), indent=2) + "\n"  # what `toolcall-harness schema` prints
    assert SCHEMA.read_text(encoding="utf-8") == expected, (
        "harness/data/scenario.schema.json is stale: regenerate it with "
        "`toolcall-harness schema > harness/data/scenario.schema.json`"
    )


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_scenario_file_validates_against_the_committed_schema(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(data)]
    assert errors == []


@pytest.mark.parametrize(
    "path", sorted((ROOT / "scenarios").glob("*.yaml")) + [ROOT / "docs" / "scenarios.md"],
    ids=lambda p: str(p.relative_to(ROOT)),
)  # fmt: skip
def test_every_pointer_reaches_the_committed_schema(path: Path) -> None:
    pointers = POINTER.findall(path.read_text(encoding="utf-8"))
    assert pointers, f"{path.relative_to(ROOT)} does not point editors at the schema"
    base = ROOT / "scenarios" if path.suffix == ".md" else path.parent  # the docs show a file in scenarios/
    assert {(base / p).resolve() for p in pointers} == {SCHEMA}


def test_the_schema_flags_a_misspelt_key_as_the_loader_does() -> None:
    """An editor then underlines `cout` before `validate` ever runs."""
    data = yaml.safe_load((ROOT / "tests/data/bad/misspelt_key.yaml").read_text(encoding="utf-8"))
    messages = [e.message for e in validator().iter_errors(data)]
    assert messages and any("cout" in m for m in messages)


def test_schema_and_report_templates_ship_as_package_data(tmp_path: Path) -> None:
    """setuptools' own build step, on a copy of the sources, installs exactly what a wheel would hold."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "harness", source / "harness", ignore=shutil.ignore_patterns("__pycache__"))
    build = tmp_path / "lib"
    command = ["-c", "from setuptools import setup; setup()", "-q", "build_py", "--build-lib", str(build)]
    done = subprocess.run(
        [sys.executable, *command], cwd=source, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    shipped = {p.relative_to(build).as_posix() for p in build.rglob("*") if p.is_file()}
    assert {
        "harness/data/scenario.schema.json",
        "harness/data/providers.yaml",
        "harness/reporting/templates/report.html.j2",
        "harness/reporting/templates/report.css",
        "harness/reporting/templates/report.js",
    } <= shipped
