"""What a run decides before its first request, in one place for both front-ends.

Options -> targets and scenarios -> record mode -> locations -> the engine's config -> the plan. The CLI
adds a journal, a progress line and a table; the pytest plugin turns the plan into items. Neither
decides any of this itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.app.flags import FLAGS, FrontEnd
from harness.app.options import Locations, RunOptions
from harness.app.record_policy import RecordDecision, decide_record_mode
from harness.app.reproduce import reproduce_command
from harness.app.run_clients import RunClients
from harness.app.selection import scenarios_of, targets_of
from harness.conformance.check_registry import select_checks
from harness.core.errors import ConfigError
from harness.core.model import RunKey
from harness.core.shard import ShardInfo
from harness.engine.config import RunConfig
from harness.engine.plan import PlannedRun, plan
from harness.engine.shard import select
from harness.providers.registry import Target
from harness.reporting.reporters import REPORTERS
from harness.scenario.spec import ResolvedScenario


@dataclass
class RunSession:
    options: RunOptions
    front_end: FrontEnd
    targets: list[Target]
    scenarios: list[ResolvedScenario]
    locations: Locations
    decision: RecordDecision
    config: RunConfig
    runs: list[PlannedRun]
    # The source each scenario id came from (`yaml`, `bfcl`, ...): pytest collects each source apart.
    origins: dict[str, str] = field(default_factory=dict)
    # pytest node ids by run key, filled at collection: the reproduce command names the item.
    nodeids: dict[RunKey, str] = field(default_factory=dict)
    # `--shard I/N`: the runs this process runs (all of `runs` without a shard) and what its report says.
    selected: list[PlannedRun] = field(default_factory=list)
    shard: ShardInfo | None = None

    @classmethod
    def prepare(
        cls,
        options: RunOptions,
        front_end: FrontEnd,
        base: Path,
        default_scenarios: list[Path] | None = None,
        concurrency: int | None = None,
    ) -> RunSession:
        """Decide everything; the first problem found is a `HarnessError` with one located sentence.

        `base` is where absent paths go (see `RunOptions.locations`); pytest runs one item at a time,
        so it passes `concurrency=1`. Call it after the plugins are loaded: the check ids, the report
        format and the scenario sources named in the options may be theirs.
        """
        def spelt(name: str) -> str:
            return FLAGS[name].spelling(front_end)

        if front_end == "cli":  # the plugin prints the plain table in pytest's summary
            REPORTERS.get(options.format, where=spelt("format"))
        checks = select_checks(options.checks, options.exclude_checks, include_option=spelt("checks"),
                               exclude_option=spelt("exclude_checks"))
        targets = targets_of(options)
        locations = options.locations(base, default_scenarios)
        folders = (("--report-dir", locations.report_dir), ("--cassette-dir", locations.cassette_dir))
        for flag, folder in folders:
            if folder.exists() and not folder.is_dir():
                raise ConfigError(f"{flag} {folder} is a file, not a folder")
        by_source = scenarios_of(options, locations)
        scenarios = [rs for found in by_source.values() for rs in found]
        decision = decide_record_mode(targets, options.record_mode, front_end)
        config = options.run_config(decision.mode, locations.cassette_dir, concurrency=concurrency,
                                    checks=checks)
        session = cls(options, front_end, targets, scenarios, locations, decision, config,
                      plan(scenarios, targets, config),
                      origins={rs.id: source for source, found in by_source.items() for rs in found})
        session.selected = session.runs
        spec = options.shard_spec()
        if spec is not None:
            session.selected, session.shard = select(session.runs, spec)
        config.command_for = session.reproduce
        config.after_turn = RunClients.for_run(options.clients)  # last: it starts the clients once
        return session

    def reproduce(self, key: RunKey, record_mode: str | None = None) -> str:
        """The command that runs this run again (with `record_mode`: the one that records it)."""
        return reproduce_command(self.front_end, self.options, key, record_mode, nodeid=self.nodeids.get(key))

    @property
    def order(self) -> list[RunKey]:
        return [r.key for r in self.runs]

    def shard_line(self) -> str | None:
        """What the header says of the shard; an empty shard is said plainly, since it is no failure."""
        if self.shard is None:
            return None
        s = self.shard
        if not s.runs:
            return (f"shard {s.label} is empty: the plan has {s.units} unit(s) of work (a scenario on a "
                    f"model, every mode and trial) for {s.count} shards; nothing to run")
        return f"shard {s.label}: {s.runs} of the plan's {s.planned} run(s) (plan {s.plan})"
