"""Compare two reports cell by cell, so a nightly run can say what got worse since the night before.

A cell is one provider/model x scenario x mode; its trials are aggregated into pass/fail/error/skip
counts. A regression is a cell that passed every judged trial before and now passes none (by failing or
erroring: the diff is about what users of the provider saw, so an infrastructure error that turns a
passing cell red counts too, and is labelled as an error). Cells that both pass and do not pass are
flaky; they are listed separately and only fail the diff above `--max-flaky`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from harness.core.model import Report
from harness.results.accuracy_diff import AccuracyChange, accuracy_changes
from harness.results.cells import Cell, CellKey, State, cells
from harness.results.client_diff import ClientChange, client_changes
from harness.results.vendor_diff import MetricChange, metric_changes

ChangeKind = Literal["regression", "fix", "flaky", "changed", "new", "removed"]
SECTIONS: tuple[tuple[ChangeKind, str], ...] = (
    ("regression", "Regressions"),
    ("flaky", "Flaky"),
    ("fix", "Fixes"),
    ("changed", "Other changes"),
    ("new", "New cells"),
    ("removed", "Removed cells"),
)


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    key: CellKey
    old: Cell | None
    new: Cell | None

    @property
    def label(self) -> str:
        provider, model, scenario, mode = self.key
        return f"{provider}/{model} {scenario} ({mode})"

    @property
    def transition(self) -> str:
        old = score(self.old) if self.old else "—"
        new = score(self.new) if self.new else "—"
        return f"{old} → {new}"

    @property
    def reason(self) -> str:
        return (self.new.reason if self.new else None) or ""


@dataclass
class Diff:
    changes: list[Change] = field(default_factory=list)
    flaky_now: int = 0  # flaky cells in the new report, changed or not
    unchanged: int = 0
    metrics: list[MetricChange] = field(default_factory=list)  # the vendor view's moves; informational
    clients: list[ClientChange] = field(default_factory=list)  # `run --clients`: changed client tallies
    accuracy: list[AccuracyChange] = field(default_factory=list)  # packs (BFCL): scores that moved

    def of(self, kind: ChangeKind) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    def failed(self, max_flaky: int | None = None) -> bool:
        return bool(self.of("regression")) or (max_flaky is not None and self.flaky_now > max_flaky)


def seen(cell: Cell) -> State:
    """The cell as users of the provider saw it: here an error is as bad as a failure (see above)."""
    if cell.judged == 0:
        return "skip"
    if cell.passed == cell.judged:
        return "pass"
    if cell.passed:
        return "flaky"
    return "fail" if cell.failed else "error"


def score(cell: Cell) -> str:
    text = f"{cell.passed}/{cell.judged}" if cell.judged else "skip"
    state = seen(cell)
    return f"{state} {text}" if state not in ("pass", "skip") else text


def _classify(old: Cell, new: Cell) -> ChangeKind | None:
    before, after = seen(old), seen(new)
    if before == "pass" and after in ("fail", "error"):
        return "regression"
    if after == "flaky" and (before != "flaky" or old.passed * new.judged != new.passed * old.judged):
        return "flaky"
    if after == "pass" and before in ("fail", "error", "flaky"):
        return "fix"
    if before != after:
        return "changed"
    return None


def diff_reports(old: Report, new: Report) -> Diff:
    before, after = cells(old.runs), cells(new.runs)
    result = Diff(flaky_now=sum(seen(c) == "flaky" for c in after.values()))
    for key, cell in after.items():
        if key not in before:
            result.changes.append(Change("new", key, None, cell))
            continue
        kind = _classify(before[key], cell)
        if kind is None:
            result.unchanged += 1
        else:
            result.changes.append(Change(kind, key, before[key], cell))
    result.changes += [Change("removed", k, c, None) for k, c in before.items() if k not in after]
    result.changes.sort(key=lambda c: c.key)
    result.metrics = metric_changes(old, new)
    result.clients = client_changes(old, new)
    result.accuracy = accuracy_changes(old, new)
    return result


def _verdict(result: Diff, max_flaky: int | None) -> str:
    counts = [f"{len(result.of(kind))} {title.lower()}" for kind, title in SECTIONS if result.of(kind)]
    summary = ", ".join(counts) or "no changes"
    flaky = f"; {result.flaky_now} flaky cell(s) now" + (
        f" (limit {max_flaky})" if max_flaky is not None else ""
    )
    status = "FAILED" if result.failed(max_flaky) else "OK"
    return f"{status}: {summary}; {result.unchanged} unchanged{flaky}"


def render_text(result: Diff, max_flaky: int | None = None) -> str:
    lines = []
    for kind, title in SECTIONS:
        changes = result.of(kind)
        if not changes:
            continue
        lines.append(f"{title} ({len(changes)}):")
        for c in changes:
            reason = f"  — {c.reason}" if c.reason and kind in ("regression", "flaky", "changed") else ""
            lines.append(f"  {c.label}: {c.transition}{reason}")
    if result.metrics:
        lines.append(f"Vendor metrics ({len(result.metrics)}):")
        lines += [f"  {m.text}" for m in result.metrics]
    if result.clients:
        lines += [f"Clients ({len(result.clients)}):", *(f"  {c.text}" for c in result.clients)]
    if result.accuracy:
        lines += [f"Accuracy ({len(result.accuracy)}):", *(f"  {a.text}" for a in result.accuracy)]
    lines.append(_verdict(result, max_flaky))
    return "\n".join(lines)


def _md(text: str) -> str:
    """Table-safe markdown: pipes and newlines would break the row, and HTML must stay text."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("\n", " ")
    )


def render_markdown(result: Diff, max_flaky: int | None = None) -> str:
    """Markdown fit for $GITHUB_STEP_SUMMARY: a verdict line, then one table per kind of change."""
    icon = "❌" if result.failed(max_flaky) else "✅"
    lines = ["### toolcall-harness diff", "", f"{icon} {_md(_verdict(result, max_flaky))}", ""]
    for kind, title in SECTIONS:
        changes = result.of(kind)
        if not changes:
            continue
        lines += [
            f"#### {title} ({len(changes)})",
            "",
            "| cell | before → after | first finding |",
            "|---|---|---|",
        ]
        lines += [f"| {_md(c.label)} | {_md(c.transition)} | {_md(c.reason[:200])} |" for c in changes]
        lines.append("")
    if result.metrics:
        lines += [f"#### Vendor metrics ({len(result.metrics)})", "", "| model | change |", "|---|---|"]
        lines += [f"| {_md(m.canonical)} | {_md(m.text)} |" for m in result.metrics]
        lines.append("")
    if result.clients:
        lines += [f"#### Clients ({len(result.clients)})", ""]
        lines += [*(f"- {_md(c.text)}" for c in result.clients), ""]
    if result.accuracy:
        lines += [f"#### Accuracy ({len(result.accuracy)})", ""]
        lines += [*(f"- {_md(a.text)}" for a in result.accuracy), ""]
    return "\n".join(lines)
