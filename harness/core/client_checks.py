"""What a real client library made of one recorded response, normalised so every client compares alike.

These models live in `core` because runs save them (`Turn.client_checks`); the `clients` layer, which
produces them, re-exports them from `harness.clients.result`.

A `ClientResult` keeps what the client *exposes*, not what we think it should: the tool call ids,
names and arguments exactly as the library hands them to its user (a JSON string from the openai
SDKs, a parsed object from the AI SDK), the finish reason in the client's own vocabulary, or the
exception it raised. `compare` (in `compare.py`) does the judging; this module only holds the data,
so that reports can store it and re-render it without running a client again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.core import model
from harness.core.model import Finding, Mode, Saved

# Where the client failed: while making the call (it raised), or while its result was read the way a
# user reads it (`completion.choices[0].message.tool_calls` on something that is not a completion).
ErrorStage = Literal["call", "result"]
# The verdict of one client on one exchange, derived from the findings of `compare`:
#   same      the client surfaced the calls the wire carried (no finding)
#   raised    the client raised, as it should: the wire was an error (HTTP 4xx/5xx, unreadable body), or
#             the SDK reports a legitimate finish reason by an exception (see compare.RAISES_BY_DESIGN)
#   repairs   the wire broke the contract, the client hid it and surfaced usable calls (warning)
#   rejects   the client raised on a response it should have read
#   mismatch  the client returned, but with other calls than the wire carried
#   error     the harness could not drive the client (not a verdict on the provider)
Verdict = Literal["same", "raised", "repairs", "rejects", "mismatch", "error"]
VERDICTS: tuple[Verdict, ...] = ("same", "raised", "repairs", "rejects", "mismatch", "error")


class ClientCall(Saved):
    """One tool call as the client hands it to its user; values kept as given (string or object)."""

    id: Any = None
    name: Any = None
    arguments: Any = None
    # The client itself flagged the call as unusable (the AI SDK's `invalid: true` with its error).
    rejected: str | None = None


class ClientError(Saved):
    """The exception a client raised: its class name and message, as a user's `except` would see it."""

    type: str
    message: str
    stage: ErrorStage = "call"


class ClientResult(Saved):
    """One client's reading of one exchange, with the client's name and version for traceability."""

    client: str
    library: str
    version: str
    mode: Mode
    api: str
    tool_calls: list[ClientCall] = Field(default_factory=list)
    finish_reason: str | None = None
    text: str | None = None
    error: ClientError | None = None
    # The harness could not drive the client (process died, timeout, the client refused the recorded
    # request before sending it). Kept apart from `error`: it says nothing about the provider.
    driver_error: str | None = None
    requests: int | None = None
    duration_s: float | None = None

    @property
    def raised(self) -> bool:
        return self.error is not None


class ClientCheck(Saved):
    """One client's verdict on one exchange: the unit a report stores per turn and per client."""

    client: str
    version: str
    verdict: Verdict
    findings: list[Finding] = Field(default_factory=list)
    result: ClientResult


# ------------------------------------------------------------------------------------------- tallies
# Per-client compatibility over many exchanges, for a report column: `node-ai-sdk ~ 20/22`. Here rather
# than in `clients`, so the table, the HTML page and `diff` count alike without importing any client.

COMPATIBLE = frozenset({"same", "raised", "repairs"})


class ClientTally(BaseModel):
    """One client's verdict counts, and the symbol the table shows: ✓ all, ~ some, ✗ none compatible."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when first used, as `Saved`

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


def checks_of(runs: Iterable[model.RunResult]) -> list[ClientCheck]:
    """Every client check of these runs, turn by turn: what the table, the page and `diff` count."""
    return [check for run in runs for turn in run.turns for check in turn.client_checks]


def client_versions(runs: Iterable[model.RunResult]) -> dict[str, str]:
    """Client id -> `library version`, as first seen: the report header traces verdicts to releases."""
    found: dict[str, str] = {}
    for check in checks_of(runs):
        found.setdefault(check.client, f"{check.result.library} {check.version}")
    return found


# `Turn` holds `ClientCheck`s: it, and the models that hold turns, find it in their module's namespace
# when first built (their build is deferred, see `Saved`).
model.ClientCheck = ClientCheck  # type: ignore[misc]
