"""Declared against observed: what a provider's models endpoint says, beside what the runs showed.

Per capability, what the runs observed (counts kept):

- `tools`: of the runs that reached a verdict and offered tools, those in which the model called one;
- `tool_choice`: of the `forced_choice` runs that reached a verdict, those that passed;
- `parallel_tool_calls`: of the `parallel` runs that reached a verdict, those that passed.

A contradiction is a declaration the runs refute: declared True and not one of at least one observed
run managed it, or declared False and some run did. An undeclared capability (None) is never a
contradiction: unknown stays unknown, and nothing observed stays "not observed", never "unsupported".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.core.model import DECLARED, Declared, DeclaredCapabilities, RunResult
from harness.results.rates import Ratio

FAMILY_OF: dict[Declared, str] = {"tool_choice": "forced_choice", "parallel_tool_calls": "parallel"}


@dataclass(frozen=True)
class CapabilityRow:
    capability: Declared
    declared: bool | None
    observed: Ratio

    @property
    def contradiction(self) -> bool:
        if self.declared is True:
            return self.observed.total > 0 and self.observed.good == 0
        if self.declared is False:
            return self.observed.good > 0
        return False


def observed(capability: Declared, runs: Iterable[RunResult]) -> Ratio:
    judged = [r for r in runs if r.outcome in ("pass", "fail")]
    if capability == "tools":
        offered = [r for r in judged if any(t.request.get("tools") for t in r.turns)]
        called = [r for r in offered if any(t.reply is not None and t.reply.tool_calls for t in r.turns)]
        return Ratio(len(called), len(offered))
    family = [r for r in judged if r.family == FAMILY_OF[capability]]
    return Ratio(sum(r.outcome == "pass" for r in family), len(family))


def compare(declared: DeclaredCapabilities | None, runs: Iterable[RunResult]) -> list[CapabilityRow]:
    """One row per capability; a model the report holds no declaration for is all unknown."""
    runs = list(runs)
    said = declared or DeclaredCapabilities()
    return [CapabilityRow(c, said.of(c), observed(c, runs)) for c in DECLARED]
