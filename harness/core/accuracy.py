"""What a report saves about scenario packs (BFCL): where a run's scenario came from, and the accuracy.

These models live in `core` because runs and reports save them (`RunResult.source`,
`Report.accuracy`); `harness.results.accuracy` computes the summaries from the runs and
`harness.reporting.accuracy` renders them. Report 2.3 added both (see `harness.core.model`).
"""

from __future__ import annotations

from pydantic import Field

from harness.core import model
from harness.core.model import Mode, Saved


class SourceRef(Saved):
    """Where a run's scenario came from when a scenario source groups it (BFCL: `bfcl`, `live_simple`).

    Filled at plan time from the scenario, so a report can summarise a pack's accuracy by category
    without loading the pack's data again. YAML scenarios have none.
    """

    source: str
    category: str


class AccuracyScore(Saved):
    """One line of a pack's summary: a category (`passed` of `total`) or a grouping (a mean over some)."""

    name: str
    accuracy: float | None  # None: none of its categories was run
    total: int
    passed: int | None = None  # categories only; a grouping's accuracy is a (weighted) mean
    categories: list[str] = Field(default_factory=list)


class AccuracySummary(Saved):
    """A pack's accuracy for one provider/model/mode, kept apart from wire conformance.

    A run counts when it was judged (pass or fail) and passes when none of its findings is a violation
    of the pack's own checks (BFCL: `bfcl.*`), whatever the wire checks said. Errored and skipped
    runs could not be judged: they are counted in `left_out`, never as wrong answers.
    """

    source: str
    provider: str
    model: str
    mode: Mode
    scores: list[AccuracyScore] = Field(default_factory=list)
    judged: int = 0
    left_out: int = 0

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.model}" + ("-stream" if self.mode == "stream" else "")


# `RunResult` and `Report` hold these: they find them in their module's namespace when first built
# (their build is deferred, see `Saved`).
model.SourceRef = SourceRef  # type: ignore[misc]
model.AccuracySummary = AccuracySummary  # type: ignore[misc]
