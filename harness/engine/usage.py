"""Token counts and cost of a run, from the `usage` its turns reported."""

from __future__ import annotations

from harness.core.model import RunResult, run_token_counts
from harness.providers.registry import Price


def count_usage(result: RunResult, price: Price | None) -> None:
    """Token counts from the `usage` every answered turn reported, and their cost at the registry's prices.

    The counts are `run_token_counts`, the one reading of usage every layer shares: all or nothing, since
    a sum over the turns that happened to report would understate the run; the cost follows the counts.
    """
    counts = run_token_counts(result.turns)
    if counts is None:
        return
    result.prompt_tokens, result.completion_tokens = counts
    if price is not None:
        result.cost_usd = (
            result.prompt_tokens * price.input_per_mtok + result.completion_tokens * price.output_per_mtok
        ) / 1e6
