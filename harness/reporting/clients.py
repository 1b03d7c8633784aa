"""The `clients` column of the support table: each client's compatibility over a model's answered turns.

Shown only when a run used `--clients` (some turn holds client checks). The cell reads like the
other score cells, one tally per client (`node-openai ✓ 40/40, node-ai-sdk ~ 37/40`); its state is the
worst of them, so a red cell means some client misread some response. The client versions go under
the table, so a verdict can be traced to a client release.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from harness.core.client_checks import ClientTally, checks_of, client_versions, tally
from harness.core.model import Report, RunResult

State = Literal["pass", "fail", "mixed", "error", "empty"]


@dataclass(frozen=True)
class ClientsCell:
    tallies: tuple[ClientTally, ...]
    runs: tuple[int, ...]

    @property
    def state(self) -> State:
        judged = [t for t in self.tallies if t.judged]
        if not judged:
            return "error" if self.tallies else "empty"
        if all(t.compatible == t.judged for t in judged):
            return "pass"
        return "fail" if all(t.compatible == 0 for t in judged) else "mixed"

    @property
    def text(self) -> str:
        return ", ".join(t.label() for t in self.tallies) or "–"

    @property
    def thin(self) -> bool:
        """Never hatched: each client's tally already says how many exchanges it could be judged on."""
        return False


def used_clients(report: Report) -> bool:
    return any(turn.client_checks for run in report.runs for turn in run.turns)


def clients_cell(runs: list[RunResult], indices: Iterable[int] = ()) -> ClientsCell:
    return ClientsCell(tuple(tally(checks_of(runs))), tuple(indices))


def versions_line(report: Report) -> str | None:
    """`clients: python-openai = openai (Python) 3.57.0; ...`, or None for a run without clients."""
    versions = client_versions(report.runs)
    return "clients: " + "; ".join(f"{c} = {v}" for c, v in versions.items()) if versions else None
