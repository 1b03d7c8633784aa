from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import harness.pytest_plugin.session  # noqa: F401  (see below)
from harness.app.plugins import load_builtin_packs
from harness.testing.stub import StubServer

# pytester's in-process runs remove every module imported during the run when it ends. PyYAML's C
# extension cannot be re-imported: it keeps the `yaml.nodes` classes of the first import, and a fresh
# `yaml` then fails to dump a cassette ("expected SCALAR, SEQUENCE-START, ..."). The plugin no longer
# imports the engine when pytest loads it, so the test session imports it here, once, outside any run.

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

from oracle import oracle  # noqa: E402

# The built-in packs (bfcl) register their source and check when a front-end loads plugins; registered
# once here, every test sees the same registries whatever ran before it in the same process.
load_builtin_packs()

SCENARIOS = TESTS / "data" / "scenarios"
pytest_plugins = ["pytester"]


@pytest.fixture
def good_stub() -> Iterator[StubServer]:
    with StubServer(oracle()) as stub:
        yield stub


def run_on_stub(stub: StubServer, tmp_path: Path, *extra: str) -> int:
    """`toolcall-harness run` against the stub with the test scenarios, reports in tmp_path/reports."""
    from harness.cli.main import main

    return main(["run", "--base-url", stub.base_url, "--model", "stubby", "--scenarios", str(SCENARIOS),
                 "--report-dir", str(tmp_path / "reports"), *extra])  # fmt: skip


def load_report(report_dir: Path) -> dict:
    [path] = sorted(report_dir.glob("*.json"))
    return json.loads(path.read_text())
