"""pytest front-end: `pytest --provider NAME` turns scenario YAML files into items run by the same engine.

One hook per job: options, header, collection, one item per scenario x target x mode x trial, results
gathered per worker (xdist workers send theirs through `workeroutput`), the report written and the
support table printed once at the end. Without `--provider` the plugin stays out of the way.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from harness.cli.main import STREAM_CHOICES, decide_record_mode
from harness.core.errors import ConfigError
from harness.core.model import Report, RunKey, RunResult
from harness.engine.engine import Engine, PlannedRun, RunConfig, plan
from harness.providers.registry import Target, load_registry, select_targets, target_infos
from harness.reporting.table import render_table
from harness.reporting.text import describe_failure, mode_mismatch_lines
from harness.results.store import new_report, write_report
from harness.scenario.loader import ScenarioError, load_scenarios, yaml_files
from harness.scenario.spec import ResolvedScenario
from harness.transport.cassettes import RECORD_MODES

STATE = pytest.StashKey["Session"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("toolcall-harness", "tool-calling conformance scenarios")
    group.addoption("--provider", action="append", default=[], help="run scenarios against this provider")
    group.addoption("--model", action="append", default=[], help="model of the provider (repeatable)")
    group.addoption("--scenarios", action="append", default=[], help="scenario files or folders")
    group.addoption("--stream", choices=sorted(STREAM_CHOICES), default="both")
    group.addoption("--trials", type=int, default=1)
    group.addoption(
        "--record-mode",
        choices=RECORD_MODES,
        default=None,
        help="default: 'all' (live, re-record) with the provider's key, else 'none' (offline replay)",
    )
    group.addoption("--cassette-dir", default=None, help="default: <rootdir>/cassettes")
    group.addoption("--report-dir", default=None, help="default: <rootdir>/reports")
    group.addoption("--providers-file", default=None, help="YAML file overriding the provider registry")
    parser.addini("toolcall_scenarios", "scenario folder collected with --provider", default="scenarios")


class Session:
    """What one pytest session shares: targets, scenarios, the engine, and the results so far."""

    def __init__(self, config: pytest.Config) -> None:
        opt = config.option
        root = Path(config.rootpath)
        self.targets: list[Target] = select_targets(
            load_registry(opt.providers_file), opt.provider, opt.model or None
        )
        paths = opt.scenarios or [str(root / config.getini("toolcall_scenarios"))]
        self.scenario_paths = [Path(p).resolve() for p in paths]
        self.scenarios: list[ResolvedScenario] = load_scenarios(self.scenario_paths)
        mode, self.how = decide_record_mode(self.targets, opt.record_mode)
        self.record_mode = mode if mode is not None else "all"
        self.config = RunConfig(
            modes=STREAM_CHOICES[opt.stream],
            trials=opt.trials,
            record_mode=self.record_mode,  # type: ignore[arg-type]
            cassette_dir=Path(opt.cassette_dir or root / "cassettes"),
            concurrency=1,
        )
        self.report_dir = Path(opt.report_dir or root / "reports")
        self.results: list[RunResult] = []
        self.report_path: Path | None = None
        self.report: Report | None = None
        self._engine: Engine | None = None
        self.files = {p.resolve() for p in yaml_files(self.scenario_paths)}

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = Engine(self.config)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()


def _session(config: pytest.Config) -> Session | None:
    return config.stash.get(STATE, None)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if not config.option.provider:
        return
    try:
        state = Session(config)
    except ScenarioError as exc:
        raise pytest.UsageError("invalid scenario files:\n" + str(exc)) from None
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[STATE] = state
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args = [str(p) for p in state.scenario_paths]


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    state = _session(config)
    if state is None:
        return None
    models = ", ".join(f"{t.provider}/{t.model}" for t in state.targets)
    return [f"toolcall-harness: {len(state.scenarios)} scenario(s) on {models}; {state.how}"]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    state = _session(parent.config)
    if state is None or file_path.resolve() not in state.files:
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the local servers the selected items need: a broken setup ends the session with one message."""
    state = _session(session.config)
    if state is None or session.config.option.collectonly:
        return
    targets = {i.planned.target.label: i.planned.target for i in session.items if isinstance(i, ScenarioItem)}
    broken = state.engine.start_launchers(targets.values())
    if broken:
        _environment_exit(broken)


def _environment_exit(failures: dict[str, str]) -> None:
    pytest.exit("\n".join(failures.values()) + "\nno scenario was judged after this: fix the local "
                "server and run again", returncode=2)


class ScenarioFile(pytest.File):
    def collect(self) -> Any:
        state = _session(self.config)
        assert state is not None
        mine = [s for s in state.scenarios if Path(s.file).resolve() == self.path.resolve()]
        for planned in plan(mine, state.targets, state.config):
            # The nodeid is given as a string so that pytest parses its "[...]" into params, as it does
            # for parametrized functions; built from the name alone, --lf would never match it again.
            yield ScenarioItem.from_parent(
                self,
                name=planned.key.label,
                nodeid=f"{self.nodeid}::{planned.key.label}",
                planned=planned,
            )


class ScenarioFailed(Exception):
    pass


class ScenarioItem(pytest.Item):
    def __init__(self, *, planned: PlannedRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planned = planned
        self.result: RunResult | None = None
        # -k matches substrings, so "nonstream" would make `-k stream` select every item.
        modes = {"stream"} if planned.key.mode == "stream" else set()
        self.extra_keyword_matches.update(
            {planned.scenario.scenario.family, *modes, *planned.scenario.scenario.tags}
        )

    def command(self, record_mode: str | None = None) -> str:
        key, opt = self.planned.key, self.config.option
        parts = ["pytest", self.nodeid, "--provider", key.provider, "--model", key.model]
        if opt.providers_file:
            parts += ["--providers-file", opt.providers_file]
        for path in opt.scenarios:
            parts += ["--scenarios", path]
        if opt.cassette_dir:
            parts += ["--cassette-dir", opt.cassette_dir]
        if key.trial > 1:
            parts += ["--trials", str(key.trial)]
        record_mode = record_mode or opt.record_mode
        if record_mode:
            parts += ["--record-mode", record_mode]
        return shlex.join(parts)

    def setup(self) -> None:
        """The scenario runs here so that a provider failure is reported by pytest as an error."""
        state = _session(self.config)
        assert state is not None
        state.config.command_for = lambda key, mode: self.command(mode)
        # Scrubbed before it is shown, sent to the xdist controller or saved in the report.
        result = state.engine.redact.model(state.engine.run(self.planned))
        if result.key in state.engine.environment_skipped:  # the local server died: said once, then stop
            _environment_exit(state.engine.environment_failures)
        self.result = result
        state.results.append(result)
        if result.outcome == "skip":
            pytest.skip(result.skip_reason or "skipped")
        if result.outcome == "error":  # raised in setup, so pytest counts it as an error, not a failure
            pytest.fail(describe_failure(result), pytrace=False)

    def runtest(self) -> None:
        assert self.result is not None
        if self.result.outcome == "fail":
            raise ScenarioFailed(describe_failure(self.result))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.planned.scenario.line - 1, self.name


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = _session(session.config)
    if state is None:
        return
    state.close()
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand results to the controller
        workeroutput["toolcall_results"] = json.dumps([r.model_dump(mode="json") for r in state.results])
        return
    if not state.results:
        return
    state.results.sort(key=lambda r: _order(state, r.key))
    state.report = new_report(target_infos(state.targets), state.results)
    state.report_path = write_report(state.report, state.report_dir)


def _order(state: Session, key: RunKey) -> tuple[int, int, int, int]:
    targets = [(t.provider, t.model) for t in state.targets]
    ids = [s.id for s in state.scenarios]
    return (
        targets.index((key.provider, key.model)) if (key.provider, key.model) in targets else 0,
        ids.index(key.scenario) if key.scenario in ids else 0,
        0 if key.mode == "nonstream" else 1,
        key.trial,
    )


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    state = _session(node.config)
    raw = getattr(node, "workeroutput", {}).get("toolcall_results")
    if state is not None and raw:
        state.results += [RunResult.model_validate(r) for r in json.loads(raw)]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = _session(config)
    if state is None or state.report is None:
        return
    terminalreporter.section("tool-calling support")
    terminalreporter.write_line(render_table(state.report))
    for line in mode_mismatch_lines(state.report):
        terminalreporter.write_line(line)
    if state.report_path is not None:
        terminalreporter.write_line(f"report: {state.report_path}")
