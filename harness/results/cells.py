"""Cells: the trials of one provider/model x scenario x mode, and what repeating them says.

One answer is an anecdote. With `--trials N` every cell holds N runs, and a cell is `pass` (every
verdict a pass), `fail` (none), or `flaky` (both) — flaky is kept apart from failing so a model that
sometimes gets it right is not reported as one that never does. Errors are not verdicts: a trial the
provider could not answer says nothing about the model, so a cell is `error` only when no trial reached a
verdict. pass^k is the chance that k independent trials of a cell all pass (the tau-bench measure of
consistency), estimated without bias from n >= k verdicts with c passes as C(c, k) / C(n, k) and
averaged over cells.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from math import comb
from typing import Literal

from harness.core.model import CellSummary, Mode, RunResult

CellKey = tuple[str, str, str, Mode]  # provider, model, scenario, mode
State = Literal["pass", "fail", "error", "flaky", "skip"]


@dataclass
class Cell:
    """The trials of one cell in one report, with the first reason a non-passing trial gave."""

    family: str = ""
    passed: int = 0
    failed: int = 0
    errored: int = 0
    skipped: int = 0
    reason: str | None = None

    def add(self, run: RunResult) -> None:
        if run.outcome == "pass":
            self.passed += 1
        elif run.outcome == "fail":
            self.failed += 1
        elif run.outcome == "error":
            self.errored += 1
        else:
            self.skipped += 1
        if self.reason is None and run.outcome in ("fail", "error"):
            self.reason = _reason(run)

    @property
    def judged(self) -> int:
        """Trials that ran to a verdict or an error; skips say nothing about the provider."""
        return self.passed + self.failed + self.errored

    @property
    def verdicts(self) -> int:
        """Trials that reached pass or fail: the ones that say something about the model."""
        return self.passed + self.failed

    @property
    def state(self) -> State:
        if self.verdicts:
            return "pass" if self.passed == self.verdicts else "flaky" if self.passed else "fail"
        return "error" if self.errored else "skip"


def _reason(run: RunResult) -> str:
    if run.error is not None:
        status = f" HTTP {run.error.status}" if run.error.status else ""
        return f"error {run.error.kind}{status}: {run.error.message}"
    if run.violations:
        first = run.violations[0]
        return f"[{first.check}] {first.message}"
    return run.outcome


def cells(runs: Iterable[RunResult]) -> dict[CellKey, Cell]:
    table: dict[CellKey, Cell] = {}
    for run in runs:
        k = run.key
        table.setdefault((k.provider, k.model, k.scenario, k.mode), Cell(family=run.family)).add(run)
    return table


def pass_hat_k(table: Iterable[Cell], k: int) -> tuple[float, int] | None:
    """The mean of C(passed, k) / C(n, k) over cells with n >= k verdicts, and how many cells that is.

    Cells with fewer verdicts (fewer trials, or trials lost to errors) are left out rather than guessed;
    the count says how much of the row the figure rests on.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    estimates = [comb(c.passed, k) / comb(c.verdicts, k) for c in table if c.verdicts >= k]
    return (sum(estimates) / len(estimates), len(estimates)) if estimates else None


def summaries(runs: Iterable[RunResult]) -> list[CellSummary]:
    """The cells of a report as data, in first-run order, for readers of the JSON report."""
    return [
        CellSummary(
            provider=provider,
            model=model,
            scenario=scenario,
            mode=mode,
            family=cell.family,
            state=cell.state,
            passed=cell.passed,
            failed=cell.failed,
            errored=cell.errored,
            skipped=cell.skipped,
        )
        for (provider, model, scenario, mode), cell in cells(runs).items()
    ]
