"""Token counts and cost of a run, from the `usage` its turns reported."""

from __future__ import annotations

from typing import Any

from harness.core.model import RunResult
from harness.providers.registry import Price


def count_usage(result: RunResult, price: Price | None) -> None:
    """Token counts from the `usage` every answered turn reported, and their cost at the registry's prices.

    All or nothing: when a turn reported no usage (or no integer counts), a sum would understate the run,
    so the counts and the cost stay unknown.
    """
    replies = [t.reply for t in result.turns if t.reply is not None]
    counts = [_token_counts(r.usage or {}) for r in replies]
    if not counts or None in counts:
        return
    result.prompt_tokens = sum(c[0] for c in counts if c is not None)
    result.completion_tokens = sum(c[1] for c in counts if c is not None)
    if price is not None:
        result.cost_usd = (
            result.prompt_tokens * price.input_per_mtok + result.completion_tokens * price.output_per_mtok
        ) / 1e6


def _token_counts(usage: dict[str, Any]) -> tuple[int, int] | None:
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if type(prompt) is int and type(completion) is int:  # not bool, not float, not missing
        return prompt, completion
    return None
