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

from typing import Any, Literal

from pydantic import Field

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
