"""The plan: every scenario x target x mode x trial, in the order the table and the report show them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.core.model import RunKey
from harness.engine.config import RunConfig
from harness.providers.registry import Target
from harness.scenario.spec import ResolvedScenario


@dataclass(frozen=True)
class PlannedRun:
    scenario: ResolvedScenario
    target: Target
    key: RunKey


def plan(
    scenarios: Iterable[ResolvedScenario], targets: Iterable[Target], config: RunConfig
) -> list[PlannedRun]:
    scenarios = list(scenarios)
    runs = []
    for target in targets:
        for rs in scenarios:
            for mode in config.modes:
                for trial in range(1, config.trials + 1):
                    key = RunKey(
                        provider=target.provider, model=target.model, scenario=rs.id, mode=mode, trial=trial
                    )
                    runs.append(PlannedRun(rs, target, key))
    return runs
