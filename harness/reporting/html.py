"""The report as one self-contained HTML page: support matrix, every run's evidence, latency and tokens.

The page is meant to be attached to a CI run and opened anywhere, so it loads nothing: CSS and the few
lines of script are inline and the latency chart is inline SVG. Everything that came from a provider
(content, tool arguments, raw bodies, error messages) is untrusted and goes through `html.escape`.
Without script, every run's details are simply shown one after another.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable
from html import escape
from typing import Any

from harness.core.model import Finding, Report, RunResult, Turn
from harness.reporting.table import live_latencies, score_cell, table_rows, wire_cell
from harness.results.store import outcome_counts
from harness.scenario.spec import FAMILIES

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em;color:#1d232b;background:#fff}
h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.6em 0 .5em}h3{font-size:1em;margin:.2em 0}
.meta{color:#59636e}table{border-collapse:collapse;margin:.4em 0}
th,td{border:1px solid #d0d7de;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f3f5f7}
td.cell{text-align:center;white-space:nowrap;cursor:pointer;font-weight:600}
td.cell:focus,td.sel{outline:3px solid #0969da;outline-offset:-3px}
.c-pass{background:#c8f0cf}.c-fail{background:#ffcfcc}.c-mixed{background:#ffe8a8}
.c-error{background:#ddd3f5}.c-empty{background:#f6f8fa;color:#8c959f;cursor:default}
.run{border:1px solid #d0d7de;border-radius:6px;padding:.6em .9em;margin:.6em 0}
.badge{display:inline-block;border-radius:4px;padding:0 .45em;font-size:.85em;margin-right:.4em}
.o-pass{background:#c8f0cf}.o-fail{background:#ffcfcc}.o-error{background:#ddd3f5}.o-skip{background:#eaeef2}
.finding{margin:.2em 0}.warning{color:#7d4e00}code,pre{font:12px/1.4 ui-monospace,monospace}
pre{background:#f6f8fa;padding:.5em;overflow:auto;max-height:24em;white-space:pre-wrap;word-break:break-all}
.msg{border-left:3px solid #d0d7de;padding-left:.6em;margin:.3em 0}.role{font-weight:600}
details>summary{cursor:pointer}svg text{font:12px system-ui,sans-serif}
"""

SCRIPT = """
(function(){
  var runs=document.querySelectorAll('.run');
  function show(td){
    runs.forEach(function(r){r.hidden=true;});
    document.querySelectorAll('td.sel').forEach(function(c){c.classList.remove('sel');});
    td.classList.add('sel');
    td.getAttribute('data-runs').split(' ').forEach(function(id){document.getElementById(id).hidden=false;});
    document.getElementById('detail-title').textContent=td.getAttribute('data-title');
    document.getElementById('details').scrollIntoView();
  }
  runs.forEach(function(r){r.hidden=true;});
  document.getElementById('detail-title').textContent='Click a cell of the matrix to see its runs';
  document.querySelectorAll('td[data-runs]').forEach(function(td){
    td.addEventListener('click',function(){show(td);});
    td.addEventListener('keydown',function(e){
      if(e.key==='Enter'||e.key===' '){e.preventDefault();show(td);}
    });
  });
})();
"""

_MARK_CLASS = {"✓": "c-pass", "✗": "c-fail", "~": "c-mixed", "e": "c-error"}


def _e(value: Any) -> str:
    return escape(value if isinstance(value, str) else json.dumps(value, indent=1, ensure_ascii=False))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: a value that was actually measured, stable for the few samples a run has."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _groups(report: Report) -> dict[str, list[tuple[int, RunResult]]]:
    groups: dict[str, list[tuple[int, RunResult]]] = {}
    for i, run in enumerate(report.runs):
        groups.setdefault(f"{run.key.provider}/{run.key.model}", []).append((i, run))
    return groups


def _matrix(report: Report) -> str:
    columns = [*FAMILIES, "streaming", "wire"]
    # pass^k and cost, when the terminal table has them, come as it computes them.
    headers, table = table_rows(report)
    extra = [h for h in headers if h.startswith("pass^") or h == "cost"]
    extra_values = {row[0]: [row[headers.index(h)] for h in extra] for row in table}
    head = "".join(f"<th>{_e(c)}</th>" for c in ["provider/model", *columns, *extra])
    rows = []
    for name, indexed in _groups(report).items():
        cells = [f"<th>{_e(name)}</th>"]
        for column in columns:
            if column == "wire":
                chosen = indexed
            elif column == "streaming":
                chosen = [(i, r) for i, r in indexed if r.key.mode == "stream"]
            else:
                chosen = [(i, r) for i, r in indexed if r.family == column]
            runs = [r for _, r in chosen]
            text = wire_cell(runs) if column == "wire" else score_cell(runs)
            css = _MARK_CLASS.get(text[:1], "c-empty")
            if not chosen:
                cells.append(f'<td class="cell {css}">{_e(text)}</td>')
                continue
            ids = " ".join(f"run-{i}" for i, _ in chosen)
            title = f"{name} — {column}"
            cells.append(
                f'<td class="cell {css}" tabindex="0" data-runs="{ids}" data-title="{_e(title)}">'
                f"{_e(text)}</td>"
            )
        cells += [f'<td class="cell c-empty">{_e(v)}</td>' for v in extra_values.get(name, [])]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    legend = (
        '<p class="meta"><span class="badge c-pass">✓ all pass</span>'
        '<span class="badge c-mixed">~ some</span>'
        '<span class="badge c-fail">✗ none</span><span class="badge c-error">err: could not be judged</span>'
        "wire: runs without a wire-format violation</p>"
    )
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>{legend}"


def _message(message: Any) -> str:
    if not isinstance(message, dict):
        return f'<div class="msg"><pre>{_e(message)}</pre></div>'
    role = message.get("role", "?")
    parts = [f'<span class="role">{_e(role)}</span>']
    if message.get("tool_call_id"):
        parts.append(f" <code>tool_call_id={_e(message['tool_call_id'])}</code>")
    if message.get("content") not in (None, ""):
        parts.append(f"<pre>{_e(message['content'])}</pre>")
    for call in message.get("tool_calls") or []:
        parts.append(f"<pre>tool call {_e(call)}</pre>")
    rest = {k: v for k, v in message.items() if k not in ("role", "content", "tool_calls", "tool_call_id")}
    if rest:
        parts.append(f"<pre>{_e(rest)}</pre>")
    return f'<div class="msg">{"".join(parts)}</div>'


def _turn(turn: Turn) -> str:
    facts = [f"HTTP {turn.status}" if turn.status is not None else "no status"]
    facts += [
        f"{name} {value:.2f}s"
        for name, value in (("latency", turn.latency_s), ("ttft", turn.ttft_s))
        if value is not None
    ]
    if turn.reply is not None and turn.reply.usage:
        facts.append(f"usage {json.dumps(turn.reply.usage)}")
    request = turn.request
    settings = {k: v for k, v in request.items() if k not in ("messages", "tools")}
    tools = [t.get("function", {}).get("name") for t in request.get("tools") or [] if isinstance(t, dict)]
    out = [f"<details><summary>Turn {turn.number} — {_e(', '.join(facts))}</summary>"]
    out.append(
        f"<h4>Request</h4><pre>{_e(settings)}</pre><p>tools offered: {_e(', '.join(map(str, tools)))}</p>"
    )
    out += [_message(m) for m in request.get("messages") or []]
    out.append("<h4>Response</h4>")
    if turn.error is not None:
        out.append(f"<p>error {_e(turn.error.kind)}: {_e(turn.error.message)}</p>")
    if turn.reply is not None:
        reply = turn.reply
        out.append(f"<p>finish_reason: <code>{_e(str(reply.finish_reason))}</code></p>")
        if reply.content:
            out.append(f"<pre>{_e(reply.content)}</pre>")
        if reply.tool_calls:
            out.append(
                "<table><tr><th>#</th><th>id</th><th>type</th><th>name</th><th>arguments (raw)</th>"
                "<th>valid JSON</th><th>matches schema</th></tr>"
            )
            out += [
                f"<tr><td>{_e(str(c.index))}</td><td><code>{_e(str(c.id))}</code></td><td>{_e(str(c.type))}</td>"
                f"<td>{_e(str(c.name))}</td><td><pre>{_e(str(c.arguments_raw))}</pre></td>"
                f"<td>{c.arguments_valid_json}</td><td>{c.arguments_match_schema}</td></tr>"
                for c in reply.tool_calls
            ]
            out.append("</table>")
    out += [_finding(f) for f in turn.findings]
    if turn.response_text:
        out.append(f"<details><summary>raw response</summary><pre>{_e(turn.response_text)}</pre></details>")
    out.append("</details>")
    return "".join(out)


def _finding(f: Finding) -> str:
    detail = ""
    if f.expected is not None or f.actual is not None:
        detail = f"<br><small>expected {_e(f.expected)} · actual {_e(f.actual)}</small>"
    where = f" (turn {f.turn})" if f.turn else ""
    return (
        f'<div class="finding {_e(f.severity)}"><code>{_e(f.check)}</code>{where} '
        f"{_e(f.message)}{detail}</div>"
    )


def _run(index: int, run: RunResult) -> str:
    meta = [run.family, run.provenance]
    if run.duration_s is not None:
        meta.append(f"{run.duration_s:.2f}s")
    out = [
        f'<section class="run" id="run-{index}"><h3><span class="badge o-{_e(run.outcome)}">'
        f'{_e(run.outcome.upper())}</span>{_e(run.key.label)}</h3><p class="meta">{_e(" · ".join(meta))}</p>'
    ]
    if run.error is not None:
        status = f" HTTP {run.error.status}" if run.error.status else ""
        out.append(f"<p>error {_e(run.error.kind)}{_e(status)}: {_e(run.error.message)}</p>")
    if run.skip_reason:
        out.append(f"<p>skipped: {_e(run.skip_reason)}</p>")
    out += [_finding(f) for f in run.findings]
    if run.final_answer:
        out.append(f"<p>final answer:</p><pre>{_e(run.final_answer)}</pre>")
    if run.cassette:
        out.append(f"<p>cassette: <code>{_e(run.cassette)}</code></p>")
    if run.reproduce:
        out.append(f"<p>reproduce:</p><pre>{_e(run.reproduce)}</pre>")
    out += [_turn(t) for t in run.turns]
    out.append("</section>")
    return "".join(out)


def model_stats(runs: Iterable[RunResult]) -> dict[str, Any]:
    """Latency of live requests (replayed ones measure the disk), live TTFT, and tokens from usage."""
    runs = list(runs)
    latencies = live_latencies(runs)
    ttft = [t.ttft_s for r in runs if r.provenance == "live" for t in r.turns if t.ttft_s is not None]
    usages = [t.reply.usage for r in runs for t in r.turns if t.reply is not None and t.reply.usage]
    return {
        "requests": len(latencies),
        "p50": statistics.median(latencies) if latencies else None,
        "p95": percentile(latencies, 0.95) if latencies else None,
        "ttft_p50": statistics.median(ttft) if ttft else None,
        "tokens_in": sum(int(u.get("prompt_tokens") or 0) for u in usages),
        "tokens_out": sum(int(u.get("completion_tokens") or 0) for u in usages),
    }


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}s"


def _performance(report: Report) -> str:
    stats = {name: model_stats(r for _, r in indexed) for name, indexed in _groups(report).items()}
    rows = "".join(
        f"<tr><th>{_e(name)}</th><td>{s['requests']}</td><td>{_seconds(s['p50'])}</td><td>{_seconds(s['p95'])}</td>"
        f"<td>{_seconds(s['ttft_p50'])}</td><td>{s['tokens_in']}</td><td>{s['tokens_out']}</td></tr>"
        for name, s in stats.items()
    )
    table = (
        "<table><tr><th>provider/model</th><th>live requests</th><th>p50</th><th>p95</th><th>TTFT p50</th>"
        f"<th>tokens in</th><th>tokens out</th></tr>{rows}</table>"
    )
    return table + _chart(stats)


def _chart(stats: dict[str, dict[str, Any]]) -> str:
    measured = {name: s for name, s in stats.items() if s["p95"] is not None}
    if not measured:
        return '<p class="meta">No live latency measured (replayed runs are excluded).</p>'
    bars = (("p50", "#0969da"), ("p95", "#8250df"), ("ttft_p50", "#1a7f37"))
    label_w, plot_w, bar_h, gap = 300, 560, 10, 14
    top = max(s["p95"] for s in measured.values()) or 1.0
    row_h = bar_h * len(bars) + gap
    height = row_h * len(measured) + 30
    out = [
        f'<svg width="{label_w + plot_w + 80}" height="{height}" role="img" aria-label="latency per model">'
    ]
    for n, (name, s) in enumerate(measured.items()):
        y = n * row_h + 4
        out.append(f'<text x="{label_w - 8}" y="{y + bar_h * 2}" text-anchor="end">{_e(name)}</text>')
        for k, (field, colour) in enumerate(bars):
            value = s[field]
            if value is None:
                continue
            width = max(1.0, plot_w * value / top)
            by = y + k * bar_h
            out.append(
                f'<rect x="{label_w}" y="{by}" width="{width:.1f}" height="{bar_h - 2}" fill="{colour}">'
                f"<title>{_e(name)} {field} {value:.3f}s</title></rect>"
            )
            out.append(f'<text x="{label_w + width + 4:.1f}" y="{by + bar_h - 2}">{value:.2f}s</text>')
    legend_y = height - 8
    for k, (field, colour) in enumerate(bars):
        x = label_w + k * 110
        out.append(
            f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{legend_y}">{field.replace("_p50", " p50")}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def render_html(report: Report) -> str:
    counts = outcome_counts(report.runs)
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "no runs"
    targets = "".join(
        f"<tr><td>{_e(t.provider)}</td><td><code>{_e(t.base_url)}</code></td>"
        f"<td>{_e(', '.join(t.models))}</td></tr>"
        for t in report.targets
    )
    meta = (
        f"created {report.created.isoformat(timespec='seconds')} · harness {report.harness_version} · "
        f"openai {report.openai_version} · git {report.git_revision or 'n/a'}"
    )
    runs = "".join(_run(i, r) for i, r in enumerate(report.runs))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>toolcall-harness report — {_e(summary)}</title><style>{CSS}</style></head><body>"
        f'<h1>toolcall-harness report</h1><p class="meta">{_e(meta)}</p><p><strong>{_e(summary)}</strong></p>'
        f"<h2>Support matrix</h2>{_matrix(report)}"
        f"<h2>Latency and tokens</h2>{_performance(report)}"
        "<h2>Targets</h2><table><tr><th>provider</th><th>base URL</th><th>models</th></tr>"
        f"{targets}</table>"
        f'<h2 id="details">Runs</h2><p class="meta" id="detail-title">All runs</p>{runs}'
        f"<script>{SCRIPT}</script></body></html>"
    )
