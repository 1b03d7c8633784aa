"""BFCL's single-turn categories, how each is judged, and the groups BFCL publishes its scores in.

The judging kind is data in this table rather than a test on the category's name (BFCL itself asks
`"parallel" in category`), so a new category states how it is judged where it is declared.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from harness.core.errors import did_you_mean
from harness.packs.bfcl.errors import UnknownCategory, UnsupportedCategory


class Kind(enum.Enum):
    """How an entry is judged (BFCL's `ast_checker` branches and its relevance runner)."""

    SIMPLE = "simple"  # exactly one call, to the one expected function
    MULTIPLE = "multiple"  # exactly one call, chosen among several functions
    PARALLEL = "parallel"  # several calls, matched to the expected ones in any order
    IRRELEVANCE = "irrelevance"  # no function fits: passes only without a call
    RELEVANCE = "relevance"  # some function fits: passes with at least one call

    @property
    def has_answers(self) -> bool:
        """Judged against possible answers (BFCL's AST categories)."""
        return self not in (Kind.IRRELEVANCE, Kind.RELEVANCE)


@dataclass(frozen=True)
class Category:
    name: str
    kind: Kind
    live: bool

    @property
    def file_name(self) -> str:
        return f"BFCL_v4_{self.name}.json"


CATEGORIES: dict[str, Category] = {
    c.name: c
    for c in (
        Category("simple_python", Kind.SIMPLE, live=False),
        Category("multiple", Kind.MULTIPLE, live=False),
        Category("parallel", Kind.PARALLEL, live=False),
        Category("parallel_multiple", Kind.PARALLEL, live=False),
        Category("irrelevance", Kind.IRRELEVANCE, live=False),
        Category("live_simple", Kind.SIMPLE, live=True),
        Category("live_multiple", Kind.MULTIPLE, live=True),
        Category("live_parallel", Kind.PARALLEL, live=True),
        Category("live_parallel_multiple", Kind.PARALLEL, live=True),
        Category("live_irrelevance", Kind.IRRELEVANCE, live=True),
        Category("live_relevance", Kind.RELEVANCE, live=True),
    )
}

# BFCL categories this pack knows but does not run, and why: refused by name rather than "unknown".
UNSUPPORTED: dict[str, str] = {
    "simple_java": (
        "its arguments are Java literals sent as strings; judging them needs BFCL's Java value "
        "converter, which this pack does not reimplement yet"
    ),
    "simple_javascript": (
        "its arguments are JavaScript literals sent as strings; judging them needs BFCL's JavaScript "
        "value converter, which this pack does not reimplement yet"
    ),
    "multi_turn_base": "multi-turn categories need BFCL's executable API classes (a later step)",
    "multi_turn_miss_func": "multi-turn categories need BFCL's executable API classes (a later step)",
    "multi_turn_miss_param": "multi-turn categories need BFCL's executable API classes (a later step)",
    "multi_turn_long_context": "multi-turn categories need BFCL's executable API classes (a later step)",
    "memory": "agentic categories need BFCL's memory backends",
    "web_search": "agentic categories need a live web search backend",
    "format_sensitivity": "a prompting-model category: it does not use the tools API",
}

_NON_LIVE = [c.name for c in CATEGORIES.values() if not c.live]
_LIVE = [c.name for c in CATEGORIES.values() if c.live]

# BFCL's published groups (bfcl_eval.constants.category_mapping), limited to the categories above:
# BFCL's `non_live` also holds simple_java and simple_javascript, and its `all` the multi-turn and
# agentic categories, which this pack does not run.
GROUPS: dict[str, list[str]] = {
    "all": list(CATEGORIES),
    "single_turn": list(CATEGORIES),
    "python": list(CATEGORIES),
    "non_live": _NON_LIVE,
    "live": _LIVE,
    "ast": [c.name for c in CATEGORIES.values() if c.kind.has_answers],
}


def resolve(names: Iterable[str]) -> list[Category]:
    """Categories for names and group names, in table order, each once.

    Raises `UnknownCategory` (with the closest known name) or `UnsupportedCategory` (with the reason).
    """
    wanted: set[str] = set()
    for name in names:
        if name in GROUPS:
            wanted.update(GROUPS[name])
        elif name in CATEGORIES:
            wanted.add(name)
        elif name in UNSUPPORTED:
            raise UnsupportedCategory(f"BFCL category '{name}' is not supported: {UNSUPPORTED[name]}")
        else:
            known = [*CATEGORIES, *GROUPS]
            raise UnknownCategory(
                f"unknown BFCL category '{name}'{did_you_mean(name, known)} "
                f"(categories: {', '.join(CATEGORIES)}; groups: {', '.join(GROUPS)})"
            )
    return [c for c in CATEGORIES.values() if c.name in wanted]
