"""Counted rates of the vendor view: a ratio that keeps its counts, and call/no-call confusion counts.

A percentage without its denominator hides how little it may rest on; both types keep the counts and
give None, never 0, when there was nothing to count.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ratio:
    """`good` of `total`; the value is None when nothing was counted."""

    good: int = 0
    total: int = 0

    @property
    def value(self) -> float | None:
        return self.good / self.total if self.total else None

    def __add__(self, other: Ratio) -> Ratio:
        return Ratio(self.good + other.good, self.total + other.total)


@dataclass(frozen=True)
class Confusion:
    """Call / no-call counts against a truth (a scenario's expectation, or a reference provider)."""

    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0

    @property
    def n(self) -> int:
        return self.tp + self.fn + self.fp + self.tn

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        """2PR / (P + R) = 2TP / (2TP + FP + FN); None without a positive prediction or truth."""
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else None

    def add(self, truth: bool, observed: bool) -> Confusion:
        return Confusion(
            self.tp + (truth and observed),
            self.fn + (truth and not observed),
            self.fp + (not truth and observed),
            self.tn + (not truth and not observed),
        )
