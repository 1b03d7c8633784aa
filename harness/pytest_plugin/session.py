"""What one pytest session with `--provider` shares: the prepared run, the engine, the results, the report.

Loaded only when `--provider` is given (see `__init__.py`). Everything a run decides is decided by the
application layer, as for the CLI; this class adapts it to pytest: where the project folder is, which
runs a scenario file holds, and what the engine's events mean for the session.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from harness.app.flags import given
from harness.app.options import parse_options
from harness.app.plugins import load_plugins
from harness.app.report import Results, build_report, save_report
from harness.app.session import RunSession
from harness.core.model import Report, RunKey, RunResult
from harness.engine.engine import Engine
from harness.engine.events import DeclarationsUnknown, Event, RunSkipped
from harness.engine.plan import PlannedRun
from harness.reporting.accuracy import render_accuracy
from harness.reporting.table import render_table
from harness.reporting.text import mode_mismatch_lines
from harness.scenario.loader import yaml_files
from harness.scenario.sources import YAML_SOURCE


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


def xdist_workers() -> int:
    """How many pytest-xdist workers share each provider's key (1 outside xdist): each process has its own
    rate limiter, so each takes ⌊limit / workers⌋. xdist sets the variable in every worker it starts."""
    try:
        return max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    except ValueError:
        return 1


class PluginSession:
    def __init__(self, config: pytest.Config) -> None:
        options = parse_options(given(vars(config.option), "pytest"), "pytest")
        load_plugins(options.plugins)  # before anything names a plugin's check, source or launcher
        base = project_folder(config)
        default = [base / config.getini("toolcall_scenarios")]
        self.prepared = RunSession.prepare(options, "pytest", base, default, concurrency=1)
        self.prepared.config.rate_processes = xdist_workers()  # each worker paces itself to its share
        self.scenario_paths = [p.resolve() for p in self.prepared.locations.scenarios]
        self.files = {p.resolve() for p in yaml_files(self.scenario_paths)} if self.scenario_paths else set()
        # Runs of scenarios from other sources (`--scenarios bfcl:...`), by source id: no file holds them,
        # so each source gets a collector of its own (see `SourceCollector`).
        self.source_runs: dict[str, list[PlannedRun]] = {}
        for run in self.prepared.runs:
            origin = self.prepared.origins.get(run.scenario.id, YAML_SOURCE)
            if origin != YAML_SOURCE:
                self.source_runs.setdefault(origin, []).append(run)
        # Command-line arguments naming a source's collector or items (`bfcl`, `bfcl::ITEM`); None when
        # no path was given, so every source is collected, as the scenario folder is.
        self.source_args: list[str] | None = None
        # `--shard I/N`: the keys of this shard's runs (items of others are deselected); None: no shard.
        shard = self.prepared.shard
        self.in_shard = None if shard is None else {r.key for r in self.prepared.selected}
        self.shard_is_empty = shard is not None and not shard.runs
        self.collect_only = bool(config.option.collectonly)
        self.results = Results()
        self.report: Report | None = None
        self.report_path: Path | None = None
        self.stopped: dict[str, str] = {}  # local servers that failed mid-session: the session ends
        self.warnings: list[str] = []  # said in the summary, e.g. a provider whose `/models` failed
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
        elif isinstance(event, DeclarationsUnknown):
            self.warnings.append(f"warning: {event.message}")

    def header(self) -> list[str]:
        prepared = self.prepared
        models = ", ".join(t.label for t in prepared.targets)
        shard = prepared.shard_line()
        how = prepared.decision.how
        first = f"toolcall-harness: {len(prepared.scenarios)} scenario(s) on {models}; {how}"
        return [first, *([shard] if shard else [])]

    def runs_in(self, path: Path) -> list[PlannedRun]:
        """The planned runs of the YAML scenarios in one file, in plan order."""
        path = path.resolve()
        origins = self.prepared.origins
        return [r for r in self.prepared.runs if origins.get(r.scenario.id, YAML_SOURCE) == YAML_SOURCE
                and Path(r.scenario.file).resolve() == path]

    def take_source_args(self, args: list[str], here: Path) -> list[str]:
        """The arguments left for pytest once those naming a source's items are taken: `bfcl` or
        `bfcl::bfcl_simple_python_3[...]` is no path, and pytest would stop with "file not found"."""
        self.source_args = [a for a in args if a.split("::")[0] in self.source_runs
                            and not (here / a.split("::")[0]).exists()]
        return [a for a in args if a not in self.source_args]

    def source_wants(self, source: str, name: str | None = None) -> bool:
        """Whether the command line asks for this source's items (for one item, by its name)."""
        if self.source_args is None:
            return True
        for arg in self.source_args:
            head, *rest = arg.split("::")
            if head == source and (name is None or not rest or rest[0] in (name, name.split("[")[0])):
                return True
        return False

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
        """The session's report, with what each provider declares (`GET /models`, fetched here once: by
        the controller, never by xdist workers); call before `close`."""
        empty_shard = self.shard_is_empty and not self.collect_only  # its report says so, for the merge
        if not len(self.results) and not empty_shard:
            return
        results = self.results.in_order(self.prepared.order)
        declared = self.engine.declarations(self.prepared.targets) if results else {}
        self.report = build_report(self.prepared.targets, results, declared, shard=self.prepared.shard)
        self.report_path = save_report(self.report, self.prepared.locations.report_dir)

    def summary_lines(self) -> list[str]:
        assert self.report is not None
        accuracy = render_accuracy(self.report, "simple")  # packs (BFCL) only; "" otherwise
        lines = [render_table(self.report)] if self.report.runs else []  # an empty shard: no empty table
        lines += [accuracy] if accuracy else []
        lines += [*mode_mismatch_lines(self.report), *self.warnings]
        if self.shard_is_empty:
            lines.append(self.prepared.shard_line() or "")
        if self._engine is not None:  # this process's limiters (an xdist controller runs no requests)
            lines += [line for p, s in self._engine.limiters.stats().items() if (line := s.line(p))]
        if self.report_path is not None:
            lines.append(f"report: {self.report_path}")
        return lines
