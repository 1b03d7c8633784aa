"""What one pytest session with `--provider` shares: the prepared run, the engine, the results, the report.

Loaded only when `--provider` is given (see `__init__.py`). Everything a run decides is decided by the
application layer, as for the CLI; this class adapts it to pytest: where the project folder is, which
runs a scenario file holds, and what the engine's events mean for the session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.app.flags import given
from harness.app.options import parse_options
from harness.app.report import Results, build_report, save_report
from harness.app.session import RunSession
from harness.core.model import Report, RunKey, RunResult
from harness.engine.engine import Engine
from harness.engine.events import Event, RunSkipped
from harness.engine.plan import PlannedRun
from harness.reporting.table import render_table
from harness.reporting.text import mode_mismatch_lines
from harness.scenario.loader import yaml_files


def project_folder(config: pytest.Config) -> Path:
    """Where the default scenarios, cassettes and reports are: the folder of the ini file, else the
    `--rootdir` given, else the directory pytest was invoked in.

    Not `config.rootpath` alone: pytest decides the rootdir before this plugin's options are known, so
    the value of `--report-dir /tmp/reports` is taken for a test path and may become the rootdir.
    """
    if config.inipath is not None:
        return config.inipath.parent
    if config.option.rootdir:
        return config.rootpath
    return config.invocation_params.dir


class PluginSession:
    def __init__(self, config: pytest.Config) -> None:
        options = parse_options(given(vars(config.option), "pytest"), "pytest")
        base = project_folder(config)
        default = [base / config.getini("toolcall_scenarios")]
        self.prepared = RunSession.prepare(options, "pytest", base, default, concurrency=1)
        self.scenario_paths = [p.resolve() for p in self.prepared.locations.scenarios]
        self.files = {p.resolve() for p in yaml_files(self.scenario_paths)}
        self.results = Results()
        self.report: Report | None = None
        self.report_path: Path | None = None
        self.stopped: dict[str, str] = {}  # local servers that failed mid-session: the session ends
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = Engine(self.prepared.config)
            self._engine.subscribe(self.results)
            self._engine.subscribe(self._on_event)
        return self._engine

    def _on_event(self, event: Event) -> None:
        """A run skipped because its local server died ends the session, with one message (see setup)."""
        if isinstance(event, RunSkipped) and event.reason == "environment":
            self.stopped = dict(self.engine.environment_failures)

    def header(self) -> str:
        prepared = self.prepared
        models = ", ".join(t.label for t in prepared.targets)
        return f"toolcall-harness: {len(prepared.scenarios)} scenario(s) on {models}; {prepared.decision.how}"

    def runs_in(self, path: Path) -> list[PlannedRun]:
        """The planned runs of the scenarios in one file, in plan order."""
        path = path.resolve()
        return [r for r in self.prepared.runs if Path(r.scenario.file).resolve() == path]

    def name_item(self, key: RunKey, nodeid: str) -> None:
        """The item of a run, so that its reproduce command can name it."""
        self.prepared.nodeids[key] = nodeid

    def start_launchers(self, runs: list[PlannedRun]) -> dict[str, str]:
        return self.engine.start_launchers({r.target.label: r.target for r in runs}.values())

    def run(self, planned: PlannedRun) -> RunResult:
        return self.engine.run(planned)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()

    def results_json(self) -> list[dict[str, Any]]:
        return [r.model_dump(mode="json") for r in self.results.by_key.values()]

    def add_results_json(self, raw: list[dict[str, Any]]) -> None:
        self.results.add(RunResult.model_validate(r) for r in raw)

    def write_report(self) -> None:
        if not len(self.results):
            return
        results = self.results.in_order(self.prepared.order)
        self.report = build_report(self.prepared.targets, results)
        self.report_path = save_report(self.report, self.prepared.locations.report_dir)

    def summary_lines(self) -> list[str]:
        assert self.report is not None
        lines = [render_table(self.report), *mode_mismatch_lines(self.report)]
        if self.report_path is not None:
            lines.append(f"report: {self.report_path}")
        return lines
