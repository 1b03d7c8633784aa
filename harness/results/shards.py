"""Before shards are merged: is every shard of each run there, once, and from the same plan?

A merged report that silently lacks shard 3/4 looks like a complete run with fewer scenarios, and one
that mixes shards of two plans (scenarios edited between two CI jobs, another `--trials`) holds runs that
were never meant to be compared; both are refused. Shard reports are grouped by their plan's digest:
reports of different plans may be merged (one run per provider, as the nightly does), but each plan's
shards must be 1..N exactly once. Reports without a shard (whole runs) are not checked here.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.core.errors import ConfigError
from harness.core.model import Report


class ShardError(ConfigError):
    """Shards that do not make a whole run: missing, given twice, or of different plans."""


def check_shards(reports: Sequence[tuple[str, Report]]) -> list[str]:
    """Refuse (a `ShardError` naming every problem and the files) incomplete or mixed shards; else the
    warnings worth saying, e.g. a plan whose shards hold fewer runs than it planned (runs left out)."""
    plans: dict[str, list[tuple[str, Report]]] = {}
    for name, report in reports:
        if report.shard is not None:
            plans.setdefault(report.shard.plan, []).append((name, report))
    problems: list[str] = []
    warnings: list[str] = []
    for plan, group in plans.items():
        counts = sorted({r.shard.count for _, r in group if r.shard})
        given = ", ".join(f"{name} = {r.shard.label}" for name, r in group if r.shard)
        if len(counts) > 1:
            problems.append(f"plan {plan} is split into different numbers of shards ({given})")
            continue
        count = counts[0]
        seen: dict[int, list[str]] = {}
        for name, r in group:
            assert r.shard is not None
            seen.setdefault(r.shard.index, []).append(name)
        twice = [f"{i}/{count} ({', '.join(names)})" for i, names in sorted(seen.items()) if len(names) > 1]
        missing = [f"{i}/{count}" for i in range(1, count + 1) if i not in seen]
        if twice:
            problems.append(f"plan {plan}: shard {'; '.join(twice)} given more than once")
        if missing:
            problems.append(f"plan {plan}: shard(s) {', '.join(missing)} missing (given: {given}); run "
                            f"{'them' if len(missing) > 1 else 'it'} with --shard and merge again")
        if not twice and not missing:
            planned = group[0][1].shard.planned if group[0][1].shard else 0
            held = sum(len(r.runs) for _, r in group)
            if held < planned:
                warnings.append(f"merge: plan {plan}: its {count} shard(s) hold {held} of {planned} planned "
                                "run(s): some were not run (interrupted, or deselected under pytest)")
    if problems:
        hint = ""
        if len(plans) > 1 and any("missing" in p for p in problems):
            hint = ("; shards of one run share a plan: shards with different plans ran different scenarios, "
                    "models or options (or another checkout), and cannot complete each other")
        raise ShardError("cannot merge: " + "; ".join(problems) + hint)
    return warnings
