"""Scenario selection with pytest's -k grammar (`weather and not stream`), shared by both front-ends."""

from __future__ import annotations

from harness.scenario.keyword_expr import evaluate, parse, substring_matcher
from harness.scenario.spec import ResolvedScenario


def select_scenarios(scenarios: list[ResolvedScenario], keyword: str | None) -> list[ResolvedScenario]:
    """Keep scenarios whose id, family or a tag contains each name used in `keyword`, as pytest's `-k`
    would; a blank keyword keeps everything. A malformed one raises `KeywordSyntaxError` (exit 2)."""
    if not keyword or not keyword.strip():
        return scenarios
    expression = parse(keyword)
    return [
        rs
        for rs in scenarios
        if evaluate(expression, substring_matcher([rs.id, rs.scenario.family, *rs.scenario.tags]))
    ]
