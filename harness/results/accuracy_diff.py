"""What `diff` says about a pack's accuracy: each category and grouping whose score moved, per model/mode.

Informational, like the vendor metrics: the verdict of a diff stays with its cells (a run that now
fails is already a regression there). Both sides are recomputed from the runs, so a report written
before `Report.accuracy` existed (2.2) compares too, as long as its runs carry `source`.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.core.accuracy import AccuracyScore
from harness.core.model import Report
from harness.results.accuracy import accuracy_summaries


@dataclass(frozen=True)
class AccuracyChange:
    source: str
    label: str  # provider/model[-stream]
    score: str  # a category or a grouping
    old: AccuracyScore | None
    new: AccuracyScore | None

    @property
    def text(self) -> str:
        def shown(s: AccuracyScore | None) -> str:
            if s is None or s.accuracy is None:
                return "–"
            counts = f"{s.passed}/{s.total}" if s.passed is not None else f"n={s.total}"
            return f"{s.accuracy:.1%} ({counts})"

        was, now = (s.accuracy if s else None for s in (self.old, self.new))
        moved = f" ({(now - was) * 100:+.1f}pp)" if was is not None and now is not None else ""
        return f"{self.source} {self.label} {self.score}: {shown(self.old)} → {shown(self.new)}{moved}"


def accuracy_changes(old: Report, new: Report) -> list[AccuracyChange]:
    """Scores that differ (accuracy or counts) or exist on one side only, in the new report's order."""
    before = {(s.source, s.label): s for s in accuracy_summaries(old.runs)}
    after = {(s.source, s.label): s for s in accuracy_summaries(new.runs)}
    changes = []
    for where in [*after, *(k for k in before if k not in after)]:
        was = {x.name: x for x in before[where].scores} if where in before else {}
        now = {x.name: x for x in after[where].scores} if where in after else {}
        for name in [*now, *(n for n in was if n not in now)]:
            a, b = was.get(name), now.get(name)
            if a is None or b is None or (a.accuracy, a.passed, a.total) != (b.accuracy, b.passed, b.total):
                changes.append(AccuracyChange(where[0], where[1], name, a, b))
    return changes
