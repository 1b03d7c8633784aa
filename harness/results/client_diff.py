"""What changed per client library between two reports of runs with `--clients`.

Per provider/model and client, the tally of the turns' client checks (`node-openai ✓ 40/40`) before and
after; a pair whose tally changed is listed, with the client versions when those changed too, since a
new client release is as likely a cause as a new model. A client that only one report used is listed
as new or removed. The cells of `diff` already carry the verdicts; this says which client moved them.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.core.client_checks import ClientTally, checks_of, tally
from harness.core.model import Report, RunResult


@dataclass(frozen=True)
class ClientChange:
    target: str  # provider/model
    client: str
    old: ClientTally | None
    new: ClientTally | None

    @property
    def text(self) -> str:
        old = self.old.label().removeprefix(f"{self.client} ") if self.old else "—"
        new = self.new.label().removeprefix(f"{self.client} ") if self.new else "—"
        versions = (f" ({self.old.version} → {self.new.version})"
                    if self.old and self.new and self.old.version != self.new.version else "")
        return f"{self.target} {self.client}: {old} → {new}{versions}"


def _tallies(report: Report) -> dict[tuple[str, str], ClientTally]:
    by_target: dict[str, list[RunResult]] = {}
    for run in report.runs:
        by_target.setdefault(f"{run.key.provider}/{run.key.model}", []).append(run)
    return {(target, t.client): t for target, runs in by_target.items() for t in tally(checks_of(runs))}


def client_changes(old: Report, new: Report) -> list[ClientChange]:
    before, after = _tallies(old), _tallies(new)
    changes = []
    for key in sorted(before.keys() | after.keys()):
        was, now = before.get(key), after.get(key)
        if was is None or now is None or (was.counts, was.version) != (now.counts, now.version):
            changes.append(ClientChange(key[0], key[1], was, now))
    return changes
