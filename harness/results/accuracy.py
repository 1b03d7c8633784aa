"""A scenario pack's accuracy per provider/model/mode, derived from a report's runs (`Report.accuracy`).

Accuracy is the pack's own verdict, kept apart from wire conformance: a judged run (pass or fail) is
right when none of its findings is a violation of the pack's checks, named `<source>.*` (BFCL:
`bfcl.*`), whatever the wire and stream checks found. A run that errored or was skipped was never
judged: it is counted in `left_out` and not as a wrong answer, so an outage cannot lower a score.
Runs of YAML scenarios (no `source`) are not summarised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from harness.core.accuracy import AccuracyScore, AccuracySummary
from harness.core.model import Mode, RunResult

Counts = Mapping[str, tuple[int, int]]


def _bfcl(counts: Counts) -> list[AccuracyScore]:
    from harness.packs.bfcl.score import accuracy_scores

    return accuracy_scores(counts)


def _per_category(counts: Counts) -> list[AccuracyScore]:
    return [
        AccuracyScore(name=name, accuracy=passed / total if total else None, total=total, passed=passed,
                      categories=[name])
        for name, (passed, total) in counts.items()
    ]


# Sources that publish groupings of their categories; any other source is summarised per category.
SCORERS: dict[str, Callable[[Counts], list[AccuracyScore]]] = {"bfcl": _bfcl}


def accuracy_summaries(runs: Iterable[RunResult]) -> list[AccuracySummary]:
    """One summary per source and provider/model/mode, in the order the runs first name them."""
    counts: dict[tuple[str, str, str, Mode], dict[str, list[int]]] = {}
    left_out: dict[tuple[str, str, str, Mode], int] = {}
    for run in runs:
        if run.source is None:
            continue
        where = (run.source.source, run.key.provider, run.key.model, run.key.mode)
        per_category = counts.setdefault(where, {})
        left_out.setdefault(where, 0)
        if run.outcome not in ("pass", "fail"):
            left_out[where] += 1
            continue
        tally = per_category.setdefault(run.source.category, [0, 0])
        tally[0] += not accuracy_failures(run)
        tally[1] += 1
    summaries = []
    for (source, provider, model, mode), per_category in counts.items():
        scorer = SCORERS.get(source, _per_category)
        frozen = {name: (passed, total) for name, (passed, total) in per_category.items()}
        summaries.append(
            AccuracySummary(
                source=source, provider=provider, model=model, mode=mode,
                scores=scorer(frozen) if frozen else [],
                judged=sum(total for _, total in frozen.values()),
                left_out=left_out[(source, provider, model, mode)],
            )
        )  # fmt: skip
    return summaries


def accuracy_failures(run: RunResult) -> list[str]:
    """The pack's check ids among the run's violations: empty means the answer was right."""
    prefix = f"{run.source.source}." if run.source else None
    return [f.check for f in run.violations if prefix and f.check.startswith(prefix)]
