"""The support table: one row per provider/model, a column per family, streaming and wire conformance.

Errors (the request could not be judged) are shown beside the score, never counted as model failures;
replayed or recording-distorted timings never appear as latency.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from tabulate import tabulate

from harness.core.model import Report, RunResult
from harness.results.cells import cells, pass_hat_k
from harness.scenario.spec import FAMILIES

# Findings that judge the expectations of a scenario rather than the wire format of a response.
SCENARIO_CHECK_PREFIXES = ("expect.", "loop.", "provider.", "cassette.")
TABLE_FORMATS = {
    "plain": "simple",
    "markdown": "pipe",
    "github": "github",
    "html": "html",
    "grid": "grid",
    "rst": "rst",
}


def is_wire_violation(check: str) -> bool:
    return not check.startswith(SCENARIO_CHECK_PREFIXES)


def score_cell(runs: list[RunResult]) -> str:
    """`✓ 24/24`, `✗ 0/24`, `~ 6/24`, with errors beside the score and flaky scenarios counted."""
    passed = sum(r.outcome == "pass" for r in runs)
    judged = sum(r.outcome in ("pass", "fail") for r in runs)
    errors = sum(r.outcome == "error" for r in runs)
    if judged == 0:
        return "err" if errors else "–"
    mark = "✓" if passed == judged else "✗" if passed == 0 else "~"
    flaky = sum(c.state == "flaky" for c in cells(runs).values())
    return (
        f"{mark} {passed}/{judged}"
        + (f" +{errors}err" if errors else "")
        + (f" ({flaky} flaky)" if flaky else "")
    )


def wire_cell(runs: list[RunResult]) -> str:
    judged = [r for r in runs if r.outcome in ("pass", "fail")]
    if not judged:
        return "err" if any(r.outcome == "error" for r in runs) else "–"
    clean = sum(not any(is_wire_violation(f.check) for f in r.violations) for r in judged)
    mark = "✓" if clean == len(judged) else "✗" if clean == 0 else "~"
    return f"{mark} {clean}/{len(judged)}"


def live_latencies(runs: Iterable[RunResult]) -> list[float]:
    return [
        t.latency_s for r in runs if r.provenance != "replayed" for t in r.turns if t.latency_s is not None
    ]


def _p50(runs: list[RunResult]) -> str:
    values = live_latencies(runs)
    return f"{statistics.median(values):.2f}s" if values else "n/a"


def _pass_hat_k(runs: list[RunResult], k: int) -> str:
    """`50%`, or `50% (3/4 cells)` when some cells have fewer than k verdicts and are left out."""
    table = cells(runs)
    found = pass_hat_k(table.values(), k)
    if found is None:
        return "–"
    value, used = found
    return f"{value:.0%}" + (f" ({used}/{len(table)} cells)" if used < len(table) else "")


def table_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    """One row per provider/model; with several trials, a pass^k column (k = the number of trials), and
    with prices in the registry, the cost of the token usage of live and recorded runs."""
    trials = max((run.key.trial for run in report.runs), default=1)
    priced = any(run.cost_usd is not None and run.provenance != "replayed" for run in report.runs)
    headers = ["provider/model", *FAMILIES, "streaming", "wire", "p50"]
    if trials > 1:
        headers.append(f"pass^{trials}")
    if priced:
        headers.append("cost")
    groups: dict[tuple[str, str], list[RunResult]] = {}
    for run in report.runs:
        groups.setdefault((run.key.provider, run.key.model), []).append(run)
    rows = []
    for (provider, model), runs in groups.items():
        row = [f"{provider}/{model}"]
        row += [score_cell([r for r in runs if r.family == fam]) for fam in FAMILIES]
        row += [score_cell([r for r in runs if r.key.mode == "stream"]), wire_cell(runs), _p50(runs)]
        if trials > 1:
            row.append(_pass_hat_k(runs, trials))
        if priced:  # what this run spent: replayed traffic costs nothing, whatever its recording did
            costs = [r.cost_usd for r in runs if r.cost_usd is not None and r.provenance != "replayed"]
            row.append(f"${sum(costs):.4f}" if costs else "–")
        rows.append(row)
    return headers, rows


def render_table(report: Report, fmt: str = "plain") -> str:
    headers, rows = table_rows(report)
    return tabulate(rows, headers=headers, tablefmt=TABLE_FORMATS.get(fmt, fmt), disable_numparse=True)
