"""The report as one self-contained HTML page: support matrix, every run's evidence, latency and tokens.

The page is meant to be attached to a CI run and opened anywhere, so it loads nothing: CSS and the few
lines of script are inline and the latency chart is inline SVG. Without script, every run's details
are simply shown one after another.

Everything that came from a provider (content, tool arguments, raw bodies, error messages, usage) is
untrusted, so the page is a Jinja2 template with autoescaping on: a value is escaped unless it is
marked safe, and only our own CSS and script are. The template is fed typed data (the support table
of `harness.reporting.table`, `ModelStats`, `Chart`), never the text of the terminal table.
"""

from __future__ import annotations

import functools
import json
import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from harness.core.model import Report, RunResult, Turn
from harness.reporting.accuracy import accuracy_tables
from harness.reporting.clients import versions_line
from harness.reporting.table import live_latencies, support_table
from harness.reporting.vendor_view import by_model_tables
from harness.results.store import outcome_counts

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = "templates"
SCRIPT = resources.files("harness.reporting").joinpath(f"{TEMPLATES}/report.js").read_text(encoding="utf-8")
CSS = resources.files("harness.reporting").joinpath(f"{TEMPLATES}/report.css").read_text(encoding="utf-8")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: a value that was actually measured, stable for the few samples a run has."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass(frozen=True)
class ModelStats:
    """Latency of live requests (replayed ones measure the disk), live TTFT, and the runs' token counts.

    Tokens are the sums of the runs' own counts (`RunResult.prompt_tokens`, the numbers the JSON report
    holds), so page and report agree; runs that answered without usable usage are counted apart in
    `tokens_unknown` rather than summed as partial figures. None: no run has counts.
    """

    requests: int
    p50: float | None
    p95: float | None
    ttft_p50: float | None
    tokens_in: int | None
    tokens_out: int | None
    tokens_unknown: int


def model_stats(runs: Iterable[RunResult]) -> ModelStats:
    runs = list(runs)
    latencies = live_latencies(runs)
    ttft = [t.ttft_s for r in runs if r.provenance == "live" for t in r.turns if t.ttft_s is not None]
    counted = [r for r in runs if r.prompt_tokens is not None and r.completion_tokens is not None]
    return ModelStats(
        requests=len(latencies),
        p50=statistics.median(latencies) if latencies else None,
        p95=percentile(latencies, 0.95) if latencies else None,
        ttft_p50=statistics.median(ttft) if ttft else None,
        tokens_in=sum(r.prompt_tokens or 0 for r in counted) if counted else None,
        tokens_out=sum(r.completion_tokens or 0 for r in counted) if counted else None,
        tokens_unknown=sum(r.tokens_unknown for r in runs),
    )


@dataclass(frozen=True)
class Bar:
    name: str  # "p50", "p95" or "ttft_p50"
    label: str
    colour: str
    value: float
    x: int
    y: int
    width: float
    height: int


@dataclass(frozen=True)
class ChartRow:
    name: str
    label_y: int
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Chart:
    """Horizontal bars of p50, p95 and TTFT p50 per model, scaled to the slowest p95; geometry only."""

    width: int
    height: int
    label_x: int
    rows: tuple[ChartRow, ...]
    legend: tuple[Bar, ...]


_BARS = (("p50", "p50", "#0969da"), ("p95", "p95", "#8250df"), ("ttft_p50", "ttft p50", "#1a7f37"))
_LABEL_W, _PLOT_W, _BAR_H, _GAP = 300, 560, 10, 14


def latency_chart(stats: Mapping[str, ModelStats]) -> Chart | None:
    measured = {name: s for name, s in stats.items() if s.p95 is not None}
    if not measured:
        return None
    top = max(s.p95 or 0.0 for s in measured.values()) or 1.0
    row_h = _BAR_H * len(_BARS) + _GAP
    height = row_h * len(measured) + 30
    rows = []
    for n, (name, s) in enumerate(measured.items()):
        y = n * row_h + 4
        bars = []
        for k, (field, label, colour) in enumerate(_BARS):
            value = getattr(s, field)
            if value is not None:
                width = max(1.0, _PLOT_W * value / top)
                bars.append(Bar(field, label, colour, value, _LABEL_W, y + k * _BAR_H, width, _BAR_H - 2))
        rows.append(ChartRow(name, y + _BAR_H * 2, tuple(bars)))
    legend = tuple(
        Bar(field, label, colour, 0.0, _LABEL_W + k * 110, height - 8, 10, 10)
        for k, (field, label, colour) in enumerate(_BARS)
    )
    return Chart(_LABEL_W + _PLOT_W + 80, height, _LABEL_W - 8, tuple(rows), legend)


def shown(value: Any) -> str:
    """Text for a value of any shape: strings as they are, anything else as indented JSON."""
    return value if isinstance(value, str) else json.dumps(value, indent=1, ensure_ascii=False, default=str)


def turn_facts(turn: Turn) -> str:
    facts = [f"HTTP {turn.status}" if turn.status is not None else "no status"]
    facts += [
        f"{name} {value:.2f}s"
        for name, value in (("latency", turn.latency_s), ("ttft", turn.ttft_s))
        if value is not None
    ]
    if turn.reply is not None and turn.reply.usage:
        facts.append(f"usage {json.dumps(turn.reply.usage, ensure_ascii=False, default=str)}")
    return ", ".join(facts)


def offered_tools(request: Mapping[str, Any]) -> str:
    """The names of the offered tools, whatever shape the request body (kept as sent) has."""
    tools = request.get("tools")
    if not isinstance(tools, list):
        return ""
    return ", ".join(str(t.get("function", {}).get("name")) for t in tools if isinstance(t, dict))


def without(mapping: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """The entries of a request or message that the page does not show in their own place."""
    return {k: v for k, v in mapping.items() if k not in keys}


def run_meta(run: RunResult) -> str:
    meta = [run.family, run.provenance]
    if run.duration_s is not None:
        meta.append(f"{run.duration_s:.2f}s")
    return " · ".join(meta)


def seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}s"


def tokens(value: int | None, unknown: int) -> str:
    """A token total, and how many runs it leaves out because they reported no usable usage."""
    text = "n/a" if value is None else str(value)
    return text + (f" (+{unknown} run{'s' if unknown != 1 else ''} without usage)" if unknown else "")


@functools.cache
def _environment() -> Environment:
    # Imported here, not at the top: listing reporters or rendering a table should not pay for Jinja2.
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("harness.reporting", TEMPLATES),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(shown=shown, seconds=seconds)
    env.globals.update(
        turn_facts=turn_facts, offered_tools=offered_tools, run_meta=run_meta, tokens=tokens, without=without
    )
    return env


def render_html(report: Report) -> str:
    from markupsafe import Markup

    counts = outcome_counts(report.runs)
    table = support_table(report)
    # The page has its own latency section, so the matrix leaves out the table's p50 column.
    shown_columns = [i for i, c in enumerate(table.columns) if c.kind != "latency"]
    stats = {row.name: model_stats(report.runs[i] for i in row.runs) for row in table.rows}
    return _environment().get_template("report.html.j2").render(
        report=report,
        summary=", ".join(f"{n} {k}" for k, n in counts.items() if n) or "no runs",
        created=report.created.isoformat(timespec="seconds"),
        columns=[table.columns[i] for i in shown_columns],
        rows=[(row, [row.cells[i] for i in shown_columns]) for row in table.rows],
        stats=stats,
        chart=latency_chart(stats),
        vendors=by_model_tables(report),
        accuracy=accuracy_tables(report),
        clients=versions_line(report),
        css=Markup(CSS),  # our own files, the only unescaped text on the page
        script=Markup(SCRIPT),
    )
