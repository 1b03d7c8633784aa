"""The accuracy summary of scenario packs (BFCL) as text: one block per source, a column per model/mode.

A rendering of `Report.accuracy` (derived from the runs by `harness.results.accuracy`), printed under
the support table by the table reporters, so `run` and `report` show it alike. Accuracy is the pack's
verdict (`bfcl.*`), kept apart from the table's wire columns; errored and skipped runs are not counted
and the last line says how many were left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from tabulate import tabulate

from harness.core.accuracy import AccuracyScore, AccuracySummary
from harness.core.model import Report

TITLES = {"bfcl": "BFCL accuracy (BFCL's AST-checker verdict on the first reply; wire conformance is above)"}


def render_accuracy(report: Report, tablefmt: str = "plain") -> str:
    """The summaries of every source in the report; empty when it ran no pack scenarios."""
    return "\n\n".join(
        f"{t.title}\n{tabulate(t.rows, headers=t.headers, tablefmt=tablefmt, disable_numparse=True)}"
        for t in accuracy_tables(report)
    )


@dataclass(frozen=True)
class AccuracyTable:
    """One source's summary as the HTML page shows it."""

    source: str
    title: str
    headers: list[str]
    rows: list[list[str]]


def accuracy_tables(report: Report) -> list[AccuracyTable]:
    """One table per source, in the order the report names them."""
    tables = []
    for source in dict.fromkeys(s.source for s in report.accuracy):
        headers, rows = accuracy_rows([s for s in report.accuracy if s.source == source])
        tables.append(AccuracyTable(source, TITLES.get(source, f"{source} accuracy"), headers, rows))
    return tables


def accuracy_rows(summaries: list[AccuracySummary]) -> tuple[list[str], list[list[str]]]:
    """Headers (score, then one per provider/model[-stream]) and rows: categories, groupings, left out."""
    names = list(dict.fromkeys(score.name for s in summaries for score in s.scores))
    by_name = [{score.name: score for score in s.scores} for s in summaries]
    rows = [[name] + [cell(scores.get(name)) for scores in by_name] for name in names]
    rows.append(["judged"] + [str(s.judged) for s in summaries])
    rows.append(["left out (error/skip)"] + [str(s.left_out) for s in summaries])
    return ["score"] + [s.label for s in summaries], rows


def cell(score: AccuracyScore | None) -> str:
    """`40.0 % (2/5)` for a category, `31.2 % (n=20)` for a grouping, `-` when nothing was judged."""
    if score is None or score.accuracy is None:
        return "-"
    if score.passed is not None:
        return f"{score.accuracy:.1%} ({score.passed}/{score.total})".replace("%", " %")
    return f"{score.accuracy:.1%} (n={score.total})".replace("%", " %")
