"""Scenario selection with pytest's -k grammar (`weather and not stream`), shared by both front-ends."""

from __future__ import annotations

from _pytest.mark.expression import Expression

from harness.core.errors import ConfigError
from harness.scenario.spec import ResolvedScenario


def select_scenarios(scenarios: list[ResolvedScenario], keyword: str | None) -> list[ResolvedScenario]:
    """Keep scenarios whose id, family or a tag contains each name used in `keyword`."""
    if not keyword:
        return scenarios
    try:
        expression = Expression.compile(keyword)
    except SyntaxError as exc:
        raise ConfigError(f"-k {keyword!r}: {exc}") from None

    def chosen(rs: ResolvedScenario) -> bool:
        words = [rs.id, rs.scenario.family, *rs.scenario.tags]

        def matches(name: str, /, **_: str | int | bool | None) -> bool:
            return any(name.lower() in w.lower() for w in words)

        return expression.evaluate(matches)

    return [rs for rs in scenarios if chosen(rs)]
