"""Agreement with a reference provider: does this vendor answer the same request as the official API?

K2-Vendor-Verifier sends one set of requests to the official API and to each vendor and scores the
vendor's decisions against the official ones. Here the same request is the first request of a run:
every provider of a canonical model receives it unchanged (apart from the model name), while later
turns carry each provider's own history and so are no longer the same request. Runs are paired by
scenario, mode and trial; a pair counts only when both first requests were answered (an error on
either side is no evidence of disagreement).

- **trigger agreement** (K2VV's trigger F1): "called a tool" is the positive class and the reference's
  behaviour the truth: TP both called, FP only the vendor, FN only the reference, TN neither.
- **call-name agreement**: of the pairs where both called, those calling the same names (as a multiset).
- **argument agreement**: of the pairs with the same names, those whose arguments are equal too (parsed
  JSON compared as values; arguments that are not JSON compared as the raw text).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.core.model import Reply, RunResult
from harness.results.rates import Confusion, Ratio

PairKey = tuple[str, str, int]  # scenario, mode, trial


@dataclass(frozen=True)
class Agreement:
    reference: str  # provider/model of the reference
    pairs: int  # first requests answered by both
    trigger: Confusion
    names: Ratio
    arguments: Ratio


def first_reply(run: RunResult) -> Reply | None:
    first = next((t for t in run.turns if t.number == 1), None)
    if first is None or first.error is not None:
        return None
    return first.reply


def _call_names(reply: Reply) -> list[str]:
    return sorted(c.name or "" for c in reply.tool_calls)


def _call_values(reply: Reply) -> list[tuple[str, str]]:
    def value(arguments: Any, raw: str | None, valid: bool) -> str:
        return json.dumps(arguments, sort_keys=True) if valid else f"raw:{raw}"

    return sorted(
        (c.name or "", value(c.arguments, c.arguments_raw, c.arguments_valid_json)) for c in reply.tool_calls
    )


def _by_pair(runs: Iterable[RunResult]) -> dict[PairKey, RunResult]:
    return {(r.key.scenario, r.key.mode, r.key.trial): r for r in runs if r.outcome != "skip"}


def agreement(reference_label: str, reference: Iterable[RunResult], vendor: Iterable[RunResult]) -> Agreement:
    truth = _by_pair(reference)
    confusion, names, arguments, pairs = Confusion(), Ratio(), Ratio(), 0
    for key, run in _by_pair(vendor).items():
        if key not in truth:
            continue
        ours, theirs = first_reply(run), first_reply(truth[key])
        if ours is None or theirs is None:
            continue
        pairs += 1
        confusion = confusion.add(bool(theirs.tool_calls), bool(ours.tool_calls))
        if ours.tool_calls and theirs.tool_calls:
            same_names = _call_names(ours) == _call_names(theirs)
            names += Ratio(int(same_names), 1)
            if same_names:
                arguments += Ratio(int(_call_values(ours) == _call_values(theirs)), 1)
    return Agreement(reference_label, pairs, confusion, names, arguments)
