"""BFCL's summary scores from per-category counts, in the groupings its leaderboard publishes.

The formulas are BFCL's (`eval_runner_helper.generate_leaderboard_csv`): the non-live AST summary is
the unweighted mean of simple, multiple, parallel and parallel-multiple; the live AST summary is their
count-weighted mean; irrelevance is the unweighted mean of the non-live and live irrelevance scores and
relevance is live relevance. One deliberate difference: BFCL's non-live "simple" is the mean of Python,
Java and JavaScript, and this pack runs Python only, so its "simple" is simple_python alone (BFCL
would count the two missing languages as 0). BFCL's overall score also needs the multi-turn and agentic
categories and is not computed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.core.accuracy import AccuracyScore


@dataclass(frozen=True)
class Score:
    name: str
    accuracy: float | None  # None when none of its categories was run
    total: int  # entries behind the score
    categories: tuple[str, ...]


NON_LIVE_AST = ("simple_python", "multiple", "parallel", "parallel_multiple")
LIVE_AST = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")


def summarize(counts: Mapping[str, tuple[int, int]]) -> list[Score]:
    """Scores from `{category: (passed, total)}`; a category absent from `counts` was not run.

    Per category first, then the summaries; a summary over some missing categories is computed over
    the ones present, as a partial (`--sample`) run needs, and says which it used.
    """
    scores = [
        Score(name, passed / total if total else None, total, (name,))
        for name, (passed, total) in counts.items()
    ]
    scores.append(_unweighted("non_live_ast", NON_LIVE_AST, counts))
    scores.append(_weighted("live_ast", LIVE_AST, counts))
    scores.append(_unweighted("irrelevance_overall", ("irrelevance", "live_irrelevance"), counts))
    scores.append(_weighted("relevance_overall", ("live_relevance",), counts))
    return scores


def _present(names: tuple[str, ...], counts: Mapping[str, tuple[int, int]]) -> tuple[str, ...]:
    return tuple(n for n in names if counts.get(n, (0, 0))[1] > 0)


def _unweighted(name: str, names: tuple[str, ...], counts: Mapping[str, tuple[int, int]]) -> Score:
    used = _present(names, counts)
    if not used:
        return Score(name, None, 0, used)
    mean = sum(counts[n][0] / counts[n][1] for n in used) / len(used)
    return Score(name, mean, sum(counts[n][1] for n in used), used)


def _weighted(name: str, names: tuple[str, ...], counts: Mapping[str, tuple[int, int]]) -> Score:
    used = _present(names, counts)
    total = sum(counts[n][1] for n in used)
    return Score(name, sum(counts[n][0] for n in used) / total if total else None, total, used)


def accuracy_scores(counts: Mapping[str, tuple[int, int]]) -> list[AccuracyScore]:
    """`summarize` as the report saves it: categories in BFCL's order with their counts, then groupings."""
    from harness.packs.bfcl.categories import CATEGORIES

    ordered = {name: counts[name] for name in CATEGORIES if name in counts}
    ordered.update({name: value for name, value in counts.items() if name not in ordered})
    return [
        AccuracyScore(
            name=s.name,
            accuracy=s.accuracy,
            total=s.total,
            passed=ordered[s.name][0] if s.categories == (s.name,) and s.name in ordered else None,
            categories=list(s.categories),
        )
        for s in summarize(ordered)
    ]
