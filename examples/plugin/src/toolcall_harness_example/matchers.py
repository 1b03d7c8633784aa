"""An argument matcher: the argument is text matching a regular expression.

In a scenario: `arguments: {location: {regex: {pattern: '^San Francisco', ignore_case: true}}}`. The
params are a pydantic model, so a misspelt key or a broken pattern is a located error when the
scenario loads, not a surprise in the middle of a run.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

import harness
from harness import MatchContext


class Regex(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern: str
    ignore_case: bool = False

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


def describe(params: Regex, ctx: MatchContext) -> str:
    return f"text matching {params.pattern!r}" + (" (any case)" if params.ignore_case else "")


@harness.matcher("regex", params=Regex, describe=describe)
def regex(value: Any, params: Regex, ctx: MatchContext) -> str | None:
    """Text matching a regular expression (re.search), optionally ignoring case."""
    flags = re.IGNORECASE if params.ignore_case else 0
    if isinstance(value, str) and re.search(params.pattern, value, flags):
        return None
    return f"expected {describe(params, ctx)}, got {value!r:.120}"
