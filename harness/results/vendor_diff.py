"""What changed in the vendor view since the previous night: per provider/model, each metric before and
after, listed when it moved by at least one percentage point (or appeared, or could no longer be
computed). Informational: a metric change never fails the diff by itself; the cells' regressions do.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.core.model import Report
from harness.results.vendor import ModelGroup, VendorMetrics, model_groups

METRICS = ("trigger F1", "schema accuracy", "finish_reason", "wire", "agreement F1")


@dataclass(frozen=True)
class MetricChange:
    canonical: str
    vendor: str  # provider/model
    metric: str
    old: float | None
    new: float | None

    @property
    def text(self) -> str:
        def shown(value: float | None) -> str:
            return "–" if value is None else f"{value:.0%}"

        moved = ""
        if self.old is not None and self.new is not None:
            moved = f" ({round((self.new - self.old) * 100):+d}pp)"
        return f"{self.vendor} {self.metric}: {shown(self.old)} → {shown(self.new)}{moved}"


def _values(group: ModelGroup, v: VendorMetrics) -> dict[str, float | None]:
    agreed = group.agreements.get(v.label)
    return {
        "trigger F1": v.triggers.confusion.f1 if v.triggers else None,
        "schema accuracy": v.schema.value,
        "finish_reason": v.finish_reason.value,
        "wire": v.wire.value,
        "agreement F1": agreed.trigger.f1 if agreed and agreed.pairs else None,
    }


def _table(report: Report) -> dict[tuple[str, str], tuple[str, dict[str, float | None]]]:
    return {
        (g.canonical, v.label): (g.canonical, _values(g, v)) for g in model_groups(report) for v in g.vendors
    }


def metric_changes(old: Report, new: Report) -> list[MetricChange]:
    """Metrics of vendors present in both reports that moved by one point or more, or came or went."""
    before, after = _table(old), _table(new)
    changes = []
    for key, (canonical, values) in after.items():
        if key not in before:
            continue
        previous = before[key][1]
        for metric in METRICS:
            a, b = previous[metric], values[metric]
            moved = (a is None) != (b is None) or (a is not None and b is not None and abs(b - a) >= 0.005)
            if moved:
                changes.append(MetricChange(canonical, key[1], metric, a, b))
    return changes
