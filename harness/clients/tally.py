"""Per-client compatibility over many exchanges, for a report column: `node-ai-sdk ~ 20/22`.

An exchange counts as compatible when the client gave its user what the wire carried (`same`), raised
where it should (`raised`), or hid a wire violation (`repairs`: the user is not hurt, the warning says
what was hidden). `rejects` and `mismatch` count against it. Exchanges the harness could not drive the
client on (`error`) are left out of the fraction and shown apart, like errors everywhere else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from harness.clients.result import VERDICTS, ClientCheck

COMPATIBLE = frozenset({"same", "raised", "repairs"})


class ClientTally(BaseModel):
    """One client's verdict counts, and the symbol the table shows: ✓ all, ~ some, ✗ none compatible."""

    model_config = ConfigDict(extra="forbid")

    client: str
    version: str
    counts: dict[str, int]

    @property
    def judged(self) -> int:
        return sum(n for verdict, n in self.counts.items() if verdict != "error")

    @property
    def compatible(self) -> int:
        return sum(self.counts.get(verdict, 0) for verdict in COMPATIBLE)

    def label(self) -> str:
        """`node-openai ✓ 40/40`, `node-ai-sdk ~ 37/40`, with `(2 errors)` when some could not be driven."""
        judged, ok = self.judged, self.compatible
        mark = "✓" if judged and ok == judged else "✗" if judged and ok == 0 else "~" if judged else "-"
        errors = self.counts.get("error", 0)
        extra = f" ({errors} error{'s' if errors != 1 else ''})" if errors else ""
        return f"{self.client} {mark} {ok}/{judged}{extra}"


def tally(checks: Iterable[ClientCheck]) -> list[ClientTally]:
    """Counts per client, in the order clients first appear; verdict keys in `VERDICTS` order."""
    counters: dict[str, Counter[str]] = {}
    versions: dict[str, str] = {}
    for check in checks:
        counters.setdefault(check.client, Counter())[check.verdict] += 1
        versions.setdefault(check.client, check.version)
    return [ClientTally(client=client, version=versions[client],
                        counts={v: counter[v] for v in VERDICTS if counter[v]})
            for client, counter in counters.items()]
