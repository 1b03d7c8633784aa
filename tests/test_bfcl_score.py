"""BFCL's summary formulas (harness.packs.bfcl.score) on hand-made counts."""

from __future__ import annotations

import pytest

from harness.packs.bfcl.score import summarize


def by_name(counts: dict[str, tuple[int, int]]) -> dict[str, tuple[float | None, int, tuple[str, ...]]]:
    return {s.name: (s.accuracy, s.total, s.categories) for s in summarize(counts)}


def test_non_live_is_unweighted_and_live_is_weighted_as_bfcl_publishes() -> None:
    scores = by_name({
        "simple_python": (300, 400), "multiple": (100, 200), "parallel": (200, 200),
        "parallel_multiple": (0, 200),
        "live_simple": (200, 250), "live_multiple": (500, 1000), "live_parallel": (16, 16),
        "live_parallel_multiple": (0, 24),
        "irrelevance": (120, 240), "live_irrelevance": (884, 884), "live_relevance": (8, 16),
    })  # fmt: skip
    assert scores["simple_python"] == (0.75, 400, ("simple_python",))
    assert scores["non_live_ast"][0] == pytest.approx((0.75 + 0.5 + 1 + 0) / 4)
    assert scores["live_ast"][0] == pytest.approx((200 + 500 + 16 + 0) / (250 + 1000 + 16 + 24))
    assert scores["irrelevance_overall"][0] == pytest.approx((0.5 + 1) / 2)
    assert scores["relevance_overall"][0] == pytest.approx(0.5)


def test_a_partial_run_summarizes_what_it_ran_and_says_so() -> None:
    scores = by_name({"multiple": (1, 2), "live_simple": (3, 4)})
    assert scores["non_live_ast"] == (0.5, 2, ("multiple",))
    assert scores["live_ast"] == (0.75, 4, ("live_simple",))
    assert scores["relevance_overall"] == (None, 0, ())
