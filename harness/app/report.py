"""The report of a run, gathered from the engine's events and written the same way by both front-ends."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from harness.app.declarations import record_declarations
from harness.core.model import Report, RunKey, RunResult
from harness.core.shard import ShardInfo
from harness.engine.events import Event, RunFinished, RunSkipped
from harness.providers.registry import Target, target_infos
from harness.results.store import new_report, write_report


class Results:
    """Every result of a run, by key: a subscriber to the engine's events, fed journaled or xdist results too.

    A later result of the same key replaces the earlier one (a resumed run finishing what was skipped).
    """

    def __init__(self) -> None:
        self.by_key: dict[RunKey, RunResult] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunFinished | RunSkipped):
            self.by_key[event.result.key] = event.result

    def add(self, results: Iterable[RunResult]) -> None:
        for result in results:
            self.by_key[result.key] = result

    def __len__(self) -> int:
        return len(self.by_key)

    def in_order(self, keys: Iterable[RunKey]) -> list[RunResult]:
        """The results of these keys in this order (the plan's), leaving out keys that have none."""
        return [self.by_key[key] for key in keys if key in self.by_key]


def build_report(targets: list[Target], results: list[RunResult],
                 declarations: Mapping[str, Any] | None = None, shard: ShardInfo | None = None) -> Report:
    """The report of these runs; `declarations` are the providers' `/models` bodies the engine fetched
    (`Engine.declarations`), read into each model's declared capabilities."""
    infos = target_infos(targets)
    for provider, body in (declarations or {}).items():
        record_declarations(infos, provider, body)
    return new_report(infos, results, shard)


def save_report(report: Report, report_dir: Path, name: str | None = None) -> Path:
    """`<report_dir>/<name>.json`; the CLI names it after its journal, pytest after the time, providers
    and shard."""
    return write_report(report, report_dir, name)
