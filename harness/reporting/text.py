"""Plain-text explanations of runs: why one failed and how to reproduce it, and stream/non-stream warnings."""

from __future__ import annotations

from harness.conformance.mode_mismatch import CHECK as MODE_MISMATCH
from harness.core.model import Report, RunResult


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
