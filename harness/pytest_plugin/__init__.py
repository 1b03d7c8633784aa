"""pytest front-end: `pytest --provider NAME` turns scenario YAML files into items run by the same engine.

One hook per job: options, header, collection, one item per scenario x target x mode x trial, results
gathered per worker (xdist workers send theirs through `workeroutput`), the report written and the
support table printed once at the end.

Installing the package loads this module into every pytest session of the environment, so it imports
only the standard library, pytest and the stdlib-only option table at start-up. Without `--provider`
(or `--api-base-url`) the plugin stays out of the way; with it, `session.py` loads the application
layer and the engine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.app.flags import PYTEST_DEST_PREFIX, RUN_FLAGS

if TYPE_CHECKING:
    from harness.core.model import RunResult
    from harness.engine.plan import PlannedRun
    from harness.pytest_plugin.session import PluginSession

STATE = pytest.StashKey["PluginSession"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("toolcall-harness", "tool-calling conformance scenarios")
    for flag in RUN_FLAGS:
        if flag.pytest:
            group.addoption(*flag.pytest, **flag.argparse_kwargs("pytest"))
    parser.addini("toolcall_scenarios", "scenario folder collected with --provider", default="scenarios")


def _session(config: pytest.Config) -> PluginSession | None:
    return config.stash.get(STATE, None)


def _wanted(config: pytest.Config) -> bool:
    option = config.option
    return bool(getattr(option, PYTEST_DEST_PREFIX + "providers", None)
                or getattr(option, PYTEST_DEST_PREFIX + "base_url", None))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if not _wanted(config):
        return
    from harness.core.errors import HarnessError
    from harness.pytest_plugin.session import PluginSession

    try:
        state = PluginSession(config)
    except HarnessError as exc:  # the CLI's exit 2, in pytest's words, with the same sentence
        prefix = "invalid scenario files:\n" if getattr(exc, "problems", None) is not None else ""
        raise pytest.UsageError(prefix + str(exc)) from None
    config.stash[STATE] = state
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args = [str(p) for p in state.scenario_paths]
    else:
        config.args = state.take_source_args(config.args, config.invocation_params.dir)


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    state = _session(config)
    return None if state is None else state.header()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    state = _session(parent.config)
    if state is None or file_path.resolve() not in state.files:
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


@pytest.hookimpl(tryfirst=True)  # before -k, --deselect and --lf filter the items
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
                                  ) -> None:
    """Collect the scenarios no file holds (`--scenarios bfcl:...`): one collector per source, named after
    it, so `-k`, `--lf`, xdist and the reproduce command (`pytest 'bfcl::ITEM'`) work as for files. Then,
    with `--shard`, deselect the other shards' items: before `-k`, so the split is the plan's, on every
    xdist worker alike."""
    state = _session(config)
    if state is None:
        return
    for source in state.source_runs:
        if state.source_wants(source):
            items.extend(session.genitems(SourceCollector.from_parent(session, name=source, nodeid=source)))
    if state.in_shard is not None:  # `--shard I/N`: the other shards' runs are deselected, as by -k
        others = [i for i in items if isinstance(i, ScenarioItem) and i.planned.key not in state.in_shard]
        if others:
            config.hook.pytest_deselected(items=others)
            dropped = {id(i) for i in others}
            items[:] = [i for i in items if id(i) not in dropped]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the local servers the selected items need: a broken setup ends the session with one message."""
    state = _session(session.config)
    if state is None or session.config.option.collectonly:
        return
    broken = state.start_launchers([i.planned for i in session.items if isinstance(i, ScenarioItem)])
    if broken:
        _environment_exit(broken)


def _environment_exit(failures: dict[str, str]) -> None:
    pytest.exit("\n".join(failures.values()) + "\nno scenario was judged after this: fix the local "
                "server and run again", returncode=2)


class ScenarioFile(pytest.File):
    def collect(self) -> Any:
        state = _session(self.config)
        assert state is not None
        # The reproduce command names the item by its path from where pytest was invoked: the node id is
        # relative to the rootdir, which need not be that folder (or even hold the file).
        here = _relative(self.path, self.config.invocation_params.dir)
        for planned in state.runs_in(self.path):
            # The nodeid is given as a string so that pytest parses its "[...]" into params, as it does
            # for parametrized functions; built from the name alone, --lf would never match it again.
            nodeid = f"{self.nodeid}::{planned.key.label}"
            state.name_item(planned.key, f"{here}::{planned.key.label}")
            yield ScenarioItem.from_parent(self, name=planned.key.label, nodeid=nodeid, planned=planned)


class SourceCollector(pytest.Collector):
    """The items of one scenario source other than YAML files, e.g. `bfcl`; its node id is the source id."""

    def collect(self) -> Any:
        state = _session(self.config)
        assert state is not None
        for planned in state.source_runs[self.name]:
            if state.source_wants(self.name, planned.key.label):
                nodeid = f"{self.nodeid}::{planned.key.label}"
                state.name_item(planned.key, nodeid)  # a node id pytest accepts back on its command line
                yield ScenarioItem.from_parent(self, name=planned.key.label, nodeid=nodeid, planned=planned)


def _relative(path: Path, start: Path) -> str:
    """`path` from `start` in pytest's forward slashes when it lies below it, else absolute."""
    return path.relative_to(start).as_posix() if path.is_relative_to(start) else str(path)


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

    def setup(self) -> None:
        """The scenario runs here so that a provider failure is reported by pytest as an error."""
        state = _session(self.config)
        assert state is not None
        result = state.run(self.planned)
        if state.stopped:  # the local server died: said once, then stop
            _environment_exit(state.stopped)
        self.result = result
        if result.outcome == "skip":
            pytest.skip(result.skip_reason or "skipped")
        if result.outcome == "error":  # raised in setup, so pytest counts it as an error, not a failure
            from harness.reporting.text import describe_failure

            pytest.fail(describe_failure(result), pytrace=False)

    def runtest(self) -> None:
        assert self.result is not None
        if self.result.outcome == "fail":
            from harness.reporting.text import describe_failure

            raise ScenarioFailed(describe_failure(self.result))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        source = Path(self.planned.scenario.file)  # for a source's item: its data file, if it has one
        path = self.path if isinstance(self.parent, ScenarioFile) or not source.is_file() else source
        return path, self.planned.scenario.line - 1, self.name


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = _session(session.config)
    if state is None:
        return
    workeroutput = getattr(session.config, "workeroutput", None)
    if state.shard_is_empty and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK  # an empty shard (N above the plan's units) is no failure
    try:
        if workeroutput is not None:  # an xdist worker: hand results to the controller
            workeroutput["toolcall_results"] = json.dumps(state.results_json())
        else:
            state.write_report()  # fetches the providers' declarations with the engine, before it closes
    finally:
        state.close()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    state = _session(node.config)
    raw = getattr(node, "workeroutput", {}).get("toolcall_results")
    if state is not None and raw:
        state.add_results_json(json.loads(raw))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = _session(config)
    if state is None or state.report is None:
        return
    terminalreporter.section("tool-calling support")
    for line in state.summary_lines():
        terminalreporter.write_line(line)
