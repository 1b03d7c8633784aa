"""Reports are data first: the JSON report is the source of truth and the table is one rendering of it.

The support table has one row per provider/model and a column per family, plus streaming and wire
conformance. Errors (the request could not be judged) are shown beside the score, never counted as
model failures; replayed or recording-distorted timings never appear as latency.
"""

from __future__ import annotations

import statistics
import subprocess
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from pydantic import ValidationError
from tabulate import tabulate

import harness
from harness.cells import cells, pass_hat_k, summaries
from harness.models import Report, RunResult, TargetInfo
from harness.modes import CHECK as MODE_MISMATCH
from harness.modes import flag_mode_mismatches
from harness.providers import ConfigError, Target
from harness.spec import FAMILIES

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


def git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def new_report(targets: Iterable[TargetInfo], runs: list[RunResult]) -> Report:
    return Report(
        harness_version=harness.__version__,
        openai_version=version("openai"),
        git_revision=git_revision(),
        targets=list(targets),
        runs=flag_mode_mismatches(runs),
        cells=summaries(runs),
    )


def target_infos(targets: Iterable[Target]) -> list[TargetInfo]:
    infos: dict[str, TargetInfo] = {}
    for t in targets:
        infos.setdefault(
            t.provider, TargetInfo(provider=t.provider, base_url=t.base_url or "local", models=[])
        )
        infos[t.provider].models.append(t.model)
    return list(infos.values())


def write_report(report: Report, report_dir: str | Path, name: str | None = None) -> Path:
    directory = Path(report_dir)
    directory.mkdir(parents=True, exist_ok=True)
    if name is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        providers = "+".join(sorted({t.provider for t in report.targets})) or "run"
        name = f"{stamp}-{providers}"
    path = directory / f"{name}.json"
    path.write_text(report.model_dump_json(indent=1), encoding="utf-8")
    return path


def read_report(path: str | Path) -> Report:
    try:
        return Report.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read report: {exc.strerror}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{path}: not a toolcall-harness report: {where}: {first['msg']}") from None


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


def mode_mismatch_lines(report: Report, limit: int = 10) -> list[str]:
    """Streamed runs whose calls differ in shape from the non-streamed ones, one line each."""
    found = [(r, f) for r in report.runs for f in r.findings if f.check == MODE_MISMATCH]
    if not found:
        return []
    lines = [f"warning: {len(found)} streamed run(s) call differently from their non-streamed twin:"]
    lines += [f"  {r.key.label}: {f.message}" for r, f in found[:limit]]
    if len(found) > limit:
        lines.append(f"  … and {len(found) - limit} more in the report")
    return lines


def outcome_counts(runs: Iterable[RunResult]) -> dict[str, int]:
    counts = {"pass": 0, "fail": 0, "error": 0, "skip": 0}
    for r in runs:
        counts[r.outcome] += 1
    return counts


def describe_failure(run: RunResult, limit: int = 8) -> str:
    """A short explanation of a failed, errored or skipped run, ending with how to reproduce it."""
    lines = [f"{run.key.label}: {run.outcome.upper()}"]
    if run.error is not None:
        status = f" HTTP {run.error.status}" if run.error.status else ""
        lines.append(f"  error {run.error.kind}{status}: {run.error.message}")
    if run.skip_reason:
        lines.append(f"  skipped: {run.skip_reason}")
    shown = [f for f in run.findings if f.severity == "violation"][:limit]
    for f in shown:
        where = f" (turn {f.turn})" if f.turn else ""
        lines.append(f"  [{f.check}]{where} {f.message}")
    hidden = len(run.violations) - len(shown)
    if hidden > 0:
        lines.append(f"  … and {hidden} more")
    if run.cassette:
        lines.append(f"  cassette: {run.cassette}")
    if run.reproduce:
        lines.append(f"  reproduce: {run.reproduce}")
    return "\n".join(lines)


def merge_reports(shards: Iterable[Report]) -> tuple[Report, list[RunResult]]:
    """One report from shards (e.g. one per provider in CI) and the runs that a later shard replaced.

    Targets are united per provider (models in first-seen order); runs are concatenated, and when two
    shards hold the same run key the later shard wins, keeping the earlier run's position. The merged
    report carries the newest shard's creation time and the first shard's versions. Stream/non-stream
    warnings are found again over the merged runs.
    """
    shards = list(shards)
    if not shards:
        raise ConfigError("nothing to merge: give at least one report")
    targets: dict[str, TargetInfo] = {}
    runs: dict[object, RunResult] = {}
    replaced: list[RunResult] = []
    for shard in shards:
        for t in shard.targets:
            blank = TargetInfo(provider=t.provider, base_url=t.base_url, models=[])
            merged = targets.setdefault(t.provider, blank)
            merged.models += [m for m in t.models if m not in merged.models]
        for run in shard.runs:
            if run.key in runs:
                replaced.append(runs[run.key])
            runs[run.key] = run
    first = shards[0]
    report = first.model_copy(
        update={
            "created": max(s.created for s in shards),
            "targets": list(targets.values()),
            "runs": flag_mode_mismatches(runs.values()),
            "cells": summaries(runs.values()),
        }
    )
    return report, replaced
