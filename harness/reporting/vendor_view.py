"""The vendor view: for each canonical model, its providers side by side (`report --by-model`).

A rendering of `harness.results.vendor` (metrics), `.agreement` (with the reference) and `.declared`
(declared against observed), in text, markdown or JSON, and as typed sections the HTML page shows.
Every percentage is printed with the counts it rests on; a figure that could not be computed is `–`,
never 0 %.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tabulate import tabulate

from harness.core.errors import ConfigError, did_you_mean
from harness.core.model import Report
from harness.reporting.table import TABLE_FORMATS
from harness.results.agreement import Agreement
from harness.results.declared import CapabilityRow, compare
from harness.results.rates import Confusion, Ratio
from harness.results.vendor import ModelGroup, VendorMetrics, group_runs, model_groups

BY_MODEL_FORMATS = ("plain", "markdown", "github", "grid", "json")


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def ratio(r: Ratio) -> str:
    return "–" if r.value is None else f"{r.value:.0%} {r.good}/{r.total}"


def delta(value: float | None, reference: float | None) -> str:
    if value is None or reference is None:
        return "–"
    points = round((value - reference) * 100)
    return f"{points:+d}pp" if points else "±0pp"


def trigger_text(v: VendorMetrics) -> str:
    if v.triggers is None:
        return "not recorded"
    c, unjudged = v.triggers.confusion, v.triggers.unjudged
    if c.n == 0:
        return "–" + (f" ({unjudged} unjudged)" if unjudged else "")
    extra = f", {unjudged} unjudged" if unjudged else ""
    return f"{pct(c.f1)} (P {pct(c.precision)} R {pct(c.recall)}, n={c.n}{extra})"


def agreement_text(a: Agreement | None) -> list[str]:
    if a is None:
        return ["–", "–", "–"]
    return [f"{pct(a.trigger.f1)} (n={a.pairs})" if a.pairs else "–", ratio(a.names), ratio(a.arguments)]


def f1(v: VendorMetrics) -> float | None:
    return v.triggers.confusion.f1 if v.triggers else None


@dataclass(frozen=True)
class GroupTable:
    """One canonical model as header and row texts: metrics, then (with a reference) deltas and agreement."""

    group: ModelGroup
    headers: list[str]
    rows: list[list[str]]
    capability_headers: list[str]
    capability_rows: list[list[str]]
    contradictions: int

    @property
    def title(self) -> str:
        ref = self.group.reference.label if self.group.reference else "none"
        return f"{self.group.canonical} — {len(self.group.vendors)} vendor(s), reference: {ref}"


def capability_cell(row: CapabilityRow) -> str:
    said = {True: "declared ✓", False: "declared ✗", None: "undeclared"}[row.declared]
    good, total = row.observed.good, row.observed.total
    mark = "✓" if good == total else "✗" if good == 0 else "~"
    seen = "not observed" if total == 0 else f"observed {mark} {good}/{total}"
    return ("⚠ " if row.contradiction else "") + f"{said} · {seen}"


def group_table(report: Report, group: ModelGroup) -> GroupTable:
    runs = group_runs(report)[group.canonical]
    ref = group.reference
    headers = ["provider/model", "judged", "trigger F1", "schema accuracy", "finish_reason", "wire"]
    if ref is not None:
        headers += ["Δ F1", "Δ schema", "agreement F1", "same names", "same arguments"]
    rows = []
    declared = {(t.provider, m): d for t in report.targets for m, d in t.declared.items()}
    cap_rows, contradictions = [], 0
    for v in group.vendors:
        name = v.label + (" (ref)" if v.reference else "")
        row = [
            name,
            f"{v.verdicts}/{v.runs}" + (f", {v.errors} err" if v.errors else ""),
            trigger_text(v),
            ratio(v.schema),
            ratio(v.finish_reason),
            ratio(v.wire),
        ]
        if v.reference:
            row += ["", "", "", "", ""]
        elif ref is not None:
            row += [delta(f1(v), f1(ref)), delta(v.schema.value, ref.schema.value)]
            row += agreement_text(group.agreements.get(v.label))
        rows.append(row)
        caps = compare(declared.get((v.provider, v.model)), runs[(v.provider, v.model)])
        contradictions += sum(c.contradiction for c in caps)
        cap_rows.append([v.label, *(capability_cell(c) for c in caps)])
    cap_headers = ["provider/model", "tools", "tool_choice", "parallel_tool_calls"]
    return GroupTable(group, headers, rows, cap_headers, cap_rows, contradictions)


def by_model_tables(report: Report, reference: str | None = None) -> list[GroupTable]:
    return [group_table(report, g) for g in model_groups(report, reference)]


def render_by_model(report: Report, fmt: str = "plain", reference: str | None = None) -> str:
    """The vendor view in `fmt` (`plain`, `markdown`, `github`, `grid` or `json`)."""
    if fmt == "json":
        return json.dumps(by_model_data(report, reference), indent=1)
    tables = by_model_tables(report, reference)
    markdown = fmt in ("markdown", "github")
    style = TABLE_FORMATS.get(fmt, fmt)
    parts = []
    for t in tables:
        parts.append(f"### {t.title}" if markdown else t.title)
        if markdown:
            parts.append("")
        parts.append(tabulate(t.rows, headers=t.headers, tablefmt=style, disable_numparse=True))
        parts.append("")
        note = f" — {t.contradictions} contradiction(s) ⚠" if t.contradictions else ""
        parts.append(("**Declared against observed**" if markdown else "declared against observed") + note)
        if markdown:
            parts.append("")
        parts.append(
            tabulate(t.capability_rows, headers=t.capability_headers, tablefmt=style, disable_numparse=True)
        )
        parts.append("")
    if not tables:
        parts.append("no runs in the report")
    return "\n".join(parts).rstrip()


# ------------------------------------------------------------------------------------------------ json


def _ratio(r: Ratio) -> dict[str, Any]:
    return {"good": r.good, "total": r.total, "value": r.value}


def _confusion(c: Confusion) -> dict[str, Any]:
    return {
        "tp": c.tp,
        "fn": c.fn,
        "fp": c.fp,
        "tn": c.tn,
        "precision": c.precision,
        "recall": c.recall,
        "f1": c.f1,
    }


def _agreement(a: Agreement) -> dict[str, Any]:
    return {
        "reference": a.reference,
        "pairs": a.pairs,
        "trigger": _confusion(a.trigger),
        "names": _ratio(a.names),
        "arguments": _ratio(a.arguments),
    }


def by_model_data(report: Report, reference: str | None = None) -> dict[str, Any]:
    """The vendor view as JSON data: every figure with its counts, for dashboards and `diff`."""
    declared = {(t.provider, m): d for t in report.targets for m, d in t.declared.items()}
    models = []
    for group in model_groups(report, reference):
        runs = group_runs(report)[group.canonical]
        vendors = []
        for v in group.vendors:
            found = declared.get((v.provider, v.model))
            caps = compare(found, runs[(v.provider, v.model)])
            agreed = group.agreements.get(v.label)
            vendors.append(
                {
                    "provider": v.provider,
                    "model": v.model,
                    "reference": v.reference,
                    "runs": v.runs,
                    "verdicts": v.verdicts,
                    "errors": v.errors,
                    "triggers": None
                    if v.triggers is None
                    else {**_confusion(v.triggers.confusion), "unjudged": v.triggers.unjudged},
                    "schema_accuracy": _ratio(v.schema),
                    "finish_reason": _ratio(v.finish_reason),
                    "wire": _ratio(v.wire),
                    "agreement": _agreement(agreed) if agreed else None,
                    "declared_source": found.source if found else None,
                    "capabilities": [
                        {
                            "capability": c.capability,
                            "declared": c.declared,
                            "observed": _ratio(c.observed),
                            "contradiction": c.contradiction,
                        }
                        for c in caps
                    ],
                }
            )
        ref = group.reference.label if group.reference else None
        models.append({"canonical": group.canonical, "reference": ref, "vendors": vendors})
    return {"report_version": f"{report.version}.{report.minor}", "models": models}


def by_model_text(report: Report, fmt: str, reference: str | None, *, by_model: bool) -> str:
    """`report --by-model [--reference PROVIDER] [--format F]`, its options checked with one sentence each."""
    if not by_model:
        raise ConfigError("--reference needs --by-model: it names the provider the vendor view compares with")
    if fmt not in BY_MODEL_FORMATS:
        raise ConfigError(
            f"--by-model renders {', '.join(BY_MODEL_FORMATS)}, not '{fmt}' (the HTML page "
            "has the vendor view as a section: --format html without --by-model)"
        )
    providers = {run.key.provider for run in report.runs}
    labels = {f"{run.key.provider}/{run.key.model}" for run in report.runs}
    if reference is not None and reference not in providers | labels:
        raise ConfigError(
            f"--reference '{reference}' ran nothing in this report{did_you_mean(reference, providers)}"
            f" (providers: {', '.join(sorted(providers))})"
        )
    return render_by_model(report, fmt, reference)
