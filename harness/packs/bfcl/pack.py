"""The BFCL pack's extensions: the `bfcl` scenario source and the `bfcl.ast` conversation check.

Registered like a plugin's, through the public decorators, whenever the front-ends load plugins
(`harness.app.plugins.BUILTIN_PACKS`). Registering is cheap on purpose: this module imports only the
registries, and the data (bfcl-eval's files, about 3,500 entries) is read when the source loads, that
is when a `--scenarios bfcl:...` value is resolved — `validate`, `report` or a pytest session without
`--provider` never pay for it.

- `--scenarios bfcl:simple_python`, `bfcl:live`, `bfcl:all`, `bfcl:simple_python,multiple`: categories
  and BFCL's groups (docs/bfcl.md); `--sample N` draws N entries per category in proportion
  (`data.sample`, seeded by `--sample-seed`).
- `bfcl.ast`: BFCL's verdict on the first reply of a BFCL scenario, as the checker's `bfcl.*` findings;
  it says nothing about any other scenario. A request that could not be judged (HTTP error, unreadable
  body) never reaches it: the run stays an `error`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from harness.conformance.check_registry import CONVERSATION_CHECKS, check
from harness.core.model import Finding
from harness.scenario.sources import SCENARIO_SOURCES, Sample, scenario_source

if TYPE_CHECKING:
    from harness.conformance.expectations import ConversationContext
    from harness.scenario.spec import ResolvedScenario

SOURCE_ID = "bfcl"
CHECK_ID = "bfcl.ast"


def load_source(arguments: Sequence[str], sample: Sample | None = None) -> list[ResolvedScenario]:
    """BFCL v4 single-turn entries by category or group (bfcl:simple_python, bfcl:live, bfcl:all)."""
    from harness.packs.bfcl import convert, data
    from harness.packs.bfcl.categories import CATEGORIES, GROUPS
    from harness.packs.bfcl.errors import UnknownCategory

    names = [name.strip() for argument in arguments for name in argument.split(",") if name.strip()]
    if not names:
        raise UnknownCategory(f"name a BFCL category or group, e.g. bfcl:simple_python (categories: "
                              f"{', '.join(CATEGORIES)}; groups: {', '.join(GROUPS)})")
    entries = data.load(names)
    if sample is not None:
        entries = data.sample(entries, sample.size, sample.seed)
    return [convert.to_scenario(entry) for entry in entries]


def judge_first_reply(ctx: ConversationContext) -> Iterator[Finding]:
    """BFCL's AST-checker verdict on the first reply of a BFCL scenario (findings bfcl.*)."""
    from harness.packs.bfcl.checker import judge
    from harness.packs.bfcl.convert import BfclScenario

    scenario = ctx.scenario
    if isinstance(scenario, BfclScenario) and ctx.replies:
        for finding in judge(scenario.entry, ctx.replies[0].tool_calls):
            yield finding.model_copy(update={"turn": 1})


def register() -> None:
    """Register the source and the check, once; calling again (after a test removed them) re-registers."""
    if SOURCE_ID not in SCENARIO_SOURCES:
        scenario_source(SOURCE_ID, samples=True)(load_source)
    if CHECK_ID not in CONVERSATION_CHECKS:
        check(CHECK_ID, kind="conversation")(judge_first_reply)
