"""The support table: one row per provider/model, a column per family, streaming and wire conformance.

Errors (the request could not be judged) are shown beside the score, never counted as model failures;
replayed or recording-distorted timings never appear as latency.

The table is data first (`support_table`: typed columns, rows and cells carrying their counts, their
state and the runs they stand for); the terminal text (tabulate) and the HTML page are two renderings
of it, so neither parses the other and a cell's colour comes from its state, not from its glyph.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from tabulate import tabulate

from harness.core.model import Report, RunResult
from harness.reporting.clients import ClientsCell, clients_cell, used_clients, versions_line
from harness.results.cells import cells, pass_hat_k
from harness.scenario.spec import FAMILIES

# Findings that judge the expectations of a scenario, a client library's reading (`run --clients`) or
# BFCL's accuracy verdict, rather than the wire format of a response: the table keeps them apart.
SCENARIO_CHECK_PREFIXES = ("expect.", "loop.", "provider.", "cassette.", "client.", "bfcl.")
TABLE_FORMATS = {
    "plain": "simple",
    "markdown": "pipe",
    "github": "github",
    "html": "html",
    "grid": "grid",
    "rst": "rst",
}

CellState = Literal["pass", "fail", "mixed", "error", "empty"]
ColumnKind = Literal["score", "wire", "latency", "pass_hat_k", "cost", "clients"]
_MARK = {"pass": "✓", "fail": "✗", "mixed": "~"}


def is_wire_violation(check: str) -> bool:
    return not check.startswith(SCENARIO_CHECK_PREFIXES)


def _state(good: int, judged: int, errors: int) -> CellState:
    if judged == 0:
        return "error" if errors else "empty"
    return "pass" if good == judged else "fail" if good == 0 else "mixed"


def thin(judged: int, errors: int) -> bool:
    """Some runs were judged, but fewer than could not be: a score that must not pass for a success."""
    return 0 < judged < errors


def judged_note(judged: int, errors: int) -> str:
    return f" ({judged} of {judged + errors} judged)" if thin(judged, errors) else ""


@dataclass(frozen=True)
class ScoreCell:
    """Runs of one family (or all streamed runs) of one model: how many passed of those judged.

    `errors` are runs that could not be judged, shown beside the score; `flaky` counts cells (scenario
    x mode) whose trials disagreed. `runs` are the indices of the runs in the report.
    """

    passed: int
    judged: int
    errors: int
    flaky: int
    runs: tuple[int, ...]

    @property
    def state(self) -> CellState:
        return _state(self.passed, self.judged, self.errors)

    @property
    def thin(self) -> bool:
        """Most of the cell's runs could not be judged: its score rests on a minority of them."""
        return thin(self.judged, self.errors)

    @property
    def text(self) -> str:
        """`✓ 24/24`, `✗ 0/24`, `~ 6/24`, with errors beside the score and flaky scenarios counted; a thin
        cell says how many of its runs the score rests on: `✓ 6/6 +16err (6 of 22 judged)`."""
        if self.state in ("error", "empty"):
            return "err" if self.state == "error" else "–"
        return (
            f"{_MARK[self.state]} {self.passed}/{self.judged}"
            + (f" +{self.errors}err" if self.errors else "")
            + (f" ({self.flaky} flaky)" if self.flaky else "")
            + judged_note(self.judged, self.errors)
        )


@dataclass(frozen=True)
class WireCell:
    """Judged runs of one model without a wire-format violation, whatever their expectations said."""

    clean: int
    judged: int
    errors: int
    runs: tuple[int, ...]

    @property
    def state(self) -> CellState:
        return _state(self.clean, self.judged, self.errors)

    @property
    def thin(self) -> bool:
        return thin(self.judged, self.errors)

    @property
    def text(self) -> str:
        if self.state in ("error", "empty"):
            return "err" if self.state == "error" else "–"
        return f"{_MARK[self.state]} {self.clean}/{self.judged}" + judged_note(self.judged, self.errors)


@dataclass(frozen=True)
class ValueCell:
    """A figure with no verdict of its own (latency, pass^k, cost): its value and how it reads."""

    value: float | None
    text: str
    state: CellState = "empty"
    runs: tuple[int, ...] = ()
    thin: bool = False


Cell = ScoreCell | WireCell | ValueCell | ClientsCell


@dataclass(frozen=True)
class Column:
    key: str  # a family name, "streaming", "wire", "p50", "pass^k" or "cost"
    title: str
    kind: ColumnKind


@dataclass(frozen=True)
class Row:
    provider: str
    model: str
    cells: tuple[Cell, ...]
    runs: tuple[int, ...]  # every run of this provider/model, by index in the report

    @property
    def name(self) -> str:
        return f"{self.provider}/{self.model}"


@dataclass(frozen=True)
class SupportTable:
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]


def score_cell(runs: list[RunResult], indices: Iterable[int] = ()) -> ScoreCell:
    return ScoreCell(
        passed=sum(r.outcome == "pass" for r in runs),
        judged=sum(r.outcome in ("pass", "fail") for r in runs),
        errors=sum(r.outcome == "error" for r in runs),
        flaky=sum(c.state == "flaky" for c in cells(runs).values()),
        runs=tuple(indices),
    )


def wire_cell(runs: list[RunResult], indices: Iterable[int] = ()) -> WireCell:
    judged = [r for r in runs if r.outcome in ("pass", "fail")]
    return WireCell(
        clean=sum(not any(is_wire_violation(f.check) for f in r.violations) for r in judged),
        judged=len(judged),
        errors=sum(r.outcome == "error" for r in runs),
        runs=tuple(indices),
    )


def live_latencies(runs: Iterable[RunResult]) -> list[float]:
    return [
        t.latency_s for r in runs if r.provenance != "replayed" for t in r.turns if t.latency_s is not None
    ]


def _p50(runs: list[RunResult]) -> ValueCell:
    values = live_latencies(runs)
    if not values:
        return ValueCell(None, "n/a")
    median = statistics.median(values)
    return ValueCell(median, f"{median:.2f}s")


def _pass_hat_k(runs: list[RunResult], k: int) -> ValueCell:
    """`50%`, or `50% (3/4 cells)` when some cells have fewer than k verdicts and are left out."""
    table = cells(runs)
    found = pass_hat_k(table.values(), k)
    if found is None:
        return ValueCell(None, "–")
    value, used = found
    return ValueCell(value, f"{value:.0%}" + (f" ({used}/{len(table)} cells)" if used < len(table) else ""))


def _cost(runs: list[RunResult]) -> ValueCell:
    """What this run spent: replayed traffic costs nothing, whatever its recording did."""
    costs = [r.cost_usd for r in runs if r.cost_usd is not None and r.provenance != "replayed"]
    return ValueCell(sum(costs), f"${sum(costs):.4f}") if costs else ValueCell(None, "–")


def support_table(report: Report) -> SupportTable:
    """One row per provider/model; with several trials, a pass^k column (k = the number of trials), and
    with prices in the registry, the cost of the token usage of live and recorded runs."""
    trials = max((run.key.trial for run in report.runs), default=1)
    priced = any(run.cost_usd is not None and run.provenance != "replayed" for run in report.runs)
    columns = [Column(family, family, "score") for family in FAMILIES]
    columns += [Column("streaming", "streaming", "score"), Column("wire", "wire", "wire")]
    columns.append(Column("p50", "p50", "latency"))
    if trials > 1:
        columns.append(Column("pass^k", f"pass^{trials}", "pass_hat_k"))
    if priced:
        columns.append(Column("cost", "cost", "cost"))
    if used_clients(report):
        columns.append(Column("clients", "clients", "clients"))
    groups: dict[tuple[str, str], list[tuple[int, RunResult]]] = {}
    for index, run in enumerate(report.runs):
        groups.setdefault((run.key.provider, run.key.model), []).append((index, run))
    rows = []
    for (provider, model), indexed in groups.items():
        runs = [r for _, r in indexed]
        row: list[Cell] = []
        for family in FAMILIES:
            chosen = [(i, r) for i, r in indexed if r.family == family]
            row.append(score_cell([r for _, r in chosen], (i for i, _ in chosen)))
        streamed = [(i, r) for i, r in indexed if r.key.mode == "stream"]
        row.append(score_cell([r for _, r in streamed], (i for i, _ in streamed)))
        row += [wire_cell(runs, (i for i, _ in indexed)), _p50(runs)]
        if trials > 1:
            row.append(_pass_hat_k(runs, trials))
        if priced:
            row.append(_cost(runs))
        if used_clients(report):
            row.append(clients_cell(runs, (i for i, _ in indexed)))
        rows.append(Row(provider, model, tuple(row), tuple(i for i, _ in indexed)))
    return SupportTable(tuple(columns), tuple(rows))


def table_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    """The support table as header and row texts, for tabulate and for tests that compare text."""
    table = support_table(report)
    headers = ["provider/model", *(c.title for c in table.columns)]
    return headers, [[row.name, *(cell.text for cell in row.cells)] for row in table.rows]


def render_table(report: Report, fmt: str = "plain") -> str:
    headers, rows = table_rows(report)
    text = tabulate(rows, headers=headers, tablefmt=TABLE_FORMATS.get(fmt, fmt), disable_numparse=True)
    versions = versions_line(report)
    return f"{text}\n{versions}" if versions else text
