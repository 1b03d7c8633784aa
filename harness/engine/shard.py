"""`--shard I/N`: one of N disjoint, balanced parts of a plan, the same on every machine.

A CI job runs one shard; `toolcall-harness report --merge` unites the N reports. Three rules:

- Every planned run is in exactly one shard, and the split depends on the plan alone: units are ordered
  by their own names, never by `hash()` (which `PYTHONHASHSEED` changes) or by the order files were
  found, so N machines that plan the same runs agree on who runs what.
- The unit of work is a scenario on one provider/model: all its modes and trials go to one shard. A cell
  (scenario x model x mode) must keep its trials together, since flakiness and pass^k are computed over
  them (`results/cells.py`); and the streamed runs of a scenario are compared with their non-streamed
  twins (`conformance/mode_mismatch.py`). The merge finds those warnings again over the merged runs,
  but keeping both modes in one shard lets each shard's own table show them too.
- Shards are balanced by expected requests, not by runs: a chained scenario of three tool rounds costs
  four requests, a forced single call one (`expected_requests`). Units are placed largest first on the
  least loaded shard (greedy longest-processing-time), so the most and the least loaded shard differ by
  at most the largest unit.

I is 1-based (`1/4` .. `4/4`), as CI matrices count. A shard may be empty when N exceeds the number of
units; that is said plainly and is not a failure.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harness.core.shard import ShardInfo
from harness.engine.plan import PlannedRun
from harness.scenario.spec import ResolvedScenario

_FORM = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`"2/4"` -> Shard(2, 4); a ValueError whose message completes "--shard ..." otherwise."""
        match = _FORM.fullmatch(text)
        if match is None:
            raise ValueError(f"must be I/N with whole numbers, e.g. 2/4 for the second of four shards, "
                             f"got {text!r}")
        index, count = int(match[1]), int(match[2])
        if count < 1:
            raise ValueError(f"must split into at least 1 shard, got {text!r}")
        if not 1 <= index <= count:
            raise ValueError(f"counts shards from 1: I must be between 1 and {count}, got {text!r}")
        return cls(index, count)

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"


def expected_requests(rs: ResolvedScenario) -> int:
    """How many requests one run of a scenario is expected to make: its expected tool rounds + 1.

    An estimate from what the scenario expects, since the model decides: no round when it forbids tool
    calls (`tool_called: false`, `tool_choice: none`, a first turn that forbids them); otherwise as many
    rounds as its longest `sequence` of calls or its last turn that requires a call, and at least one;
    one more request for the final answer unless `final_answer: false`; never more than
    `max_iterations` (the engine's bound) or `expect.max_turns`. It is what a conforming model needs: a
    model that stops early makes fewer, one that loops more, up to `max_iterations`.
    """
    scenario, expect = rs.scenario, rs.scenario.expect
    first_forbidden = any(t.turn == 1 and t.tool_calls == "forbidden" for t in expect.turns)
    if expect.tool_called is False or scenario.options.tool_choice == "none" or first_forbidden:
        rounds = 0
    else:
        required = [t.turn for t in expect.turns if t.tool_calls == "required"]
        rounds = max([1, len(expect.sequence or []), *required])
    requests = rounds + (1 if expect.final_answer else 0)
    bounds = [scenario.max_iterations, *([expect.max_turns] if expect.max_turns else [])]
    return max(1, min(requests, *bounds))


@dataclass(frozen=True)
class Unit:
    """The runs of one scenario on one provider/model, every mode and trial: they go to one shard."""

    name: tuple[str, str, str]  # provider, model, scenario
    runs: tuple[PlannedRun, ...]
    cost: int  # expected requests of all its runs


def units(runs: Iterable[PlannedRun]) -> list[Unit]:
    grouped: dict[tuple[str, str, str], list[PlannedRun]] = {}
    for run in runs:
        grouped.setdefault((run.key.provider, run.key.model, run.key.scenario), []).append(run)
    return [Unit(name, tuple(group), sum(expected_requests(r.scenario) for r in group))
            for name, group in grouped.items()]


def split(runs: Sequence[PlannedRun], count: int) -> list[list[PlannedRun]]:
    """The plan cut into `count` shards (index 0 is shard 1/count), each in plan order."""
    loads = [0] * count
    home: dict[tuple[str, str, str], int] = {}
    for unit in sorted(units(runs), key=lambda u: (-u.cost, u.name)):
        target = min(range(count), key=lambda i: (loads[i], i))
        loads[target] += unit.cost
        home[unit.name] = target
    shards: list[list[PlannedRun]] = [[] for _ in range(count)]
    for run in runs:
        shards[home[(run.key.provider, run.key.model, run.key.scenario)]].append(run)
    return shards


def plan_digest(runs: Iterable[PlannedRun]) -> str:
    """Names the whole plan, so that a merge can tell shards of one run from shards of another.

    Over the run keys and the content of their scenarios (tools and expectations included), not their
    file paths or the order files were found in: two checkouts of one commit on two machines agree.
    """
    contents: dict[str, str] = {}
    lines = []
    for run in runs:
        if run.scenario.id not in contents:
            contents[run.scenario.id] = hashlib.sha256(
                (run.scenario.scenario.model_dump_json() + "\0"
                 + "\0".join(t.model_dump_json() for t in run.scenario.tools)).encode()).hexdigest()
        k = run.key
        lines.append(f"{k.provider}\0{k.model}\0{k.scenario}\0{k.mode}\0{k.trial}\0{contents[k.scenario]}\n")
    digest = hashlib.sha256("".join(sorted(lines)).encode())
    return digest.hexdigest()[:16]


def select(runs: Sequence[PlannedRun], shard: Shard) -> tuple[list[PlannedRun], ShardInfo]:
    """This shard's runs in plan order, and what its report says about it."""
    mine = split(runs, shard.count)[shard.index - 1]
    info = ShardInfo(index=shard.index, count=shard.count, plan=plan_digest(runs), planned=len(runs),
                     runs=len(mine), units=len(units(runs)))
    return mine, info
