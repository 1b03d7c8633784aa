"""A reporter: the runs of a report as CSV, one line each, for a spreadsheet or a dashboard import."""

from __future__ import annotations

import csv
import io

import harness
from harness import Report

COLUMNS = ["scenario", "provider", "model", "mode", "trial", "outcome", "findings"]


@harness.reporter("csv", suffix=".csv")
def render_csv(report: Report) -> str:
    """One CSV line per run: its key, its outcome and the ids of its findings."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for run in report.runs:
        key = run.key
        findings = " ".join(sorted({f.check for f in run.findings}))
        writer.writerow([key.scenario, key.provider, key.model, key.mode, key.trial, run.outcome, findings])
    return out.getvalue().rstrip("\n")
