"""Data that the harness produces and saves: findings, judged calls, turns, runs and the report.

Everything that reaches a file is a pydantic model, so the JSON report is the single source of truth
and every rendering (terminal table, markdown, HTML, diff) can be rebuilt from it offline.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# 2: cells, and token usage and cost per run (a version-1 report still reads: the new fields default).
REPORT_VERSION = 2

Severity = Literal["violation", "warning"]
Outcome = Literal["pass", "fail", "error", "skip"]
Mode = Literal["stream", "nonstream"]
# How the traffic of a run was obtained: only "live" timings are latency figures.
Provenance = Literal["live", "recorded", "replayed"]
ErrorKind = Literal[
    "bad_request",
    "unauthorized",
    "not_found",
    "rate_limited",
    "server_error",
    "invalid_body",
    "timeout",
    "connection",
    "config",
]


class Finding(BaseModel):
    """One observation by a check: what was expected, what came, and where."""

    model_config = ConfigDict(extra="forbid")

    check: str
    severity: Severity = "violation"
    message: str
    turn: int | None = None
    expected: Any = None
    actual: Any = None


class ErrorInfo(BaseModel):
    """Why a request could not be judged: transport or provider failure, kept apart from model failures."""

    model_config = ConfigDict(extra="forbid")

    kind: ErrorKind
    message: str
    status: int | None = None


class ToolCall(BaseModel):
    """A tool call as it came over the wire, with its arguments kept raw beside their parse."""

    model_config = ConfigDict(extra="forbid")

    index: int | None = None
    id: str | None = None
    type: str | None = None
    name: str | None = None
    arguments_raw: str | None = None
    arguments: Any = None
    arguments_valid_json: bool = False
    arguments_match_schema: bool | None = None
    arguments_error: str | None = None


class Reply(BaseModel):
    """The assistant side of one response, assembled from a body or a stream."""

    model_config = ConfigDict(extra="forbid")

    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    model: str | None = None
    upstream: str | None = None


class Turn(BaseModel):
    """One request/response round trip, with the raw evidence kept for the report and for `judge`."""

    model_config = ConfigDict(extra="forbid")

    number: int
    request: dict[str, Any]
    status: int | None = None
    response_text: str | None = None
    reply: Reply | None = None
    error: ErrorInfo | None = None
    findings: list[Finding] = Field(default_factory=list)
    latency_s: float | None = None
    ttfb_s: float | None = None
    ttft_s: float | None = None
    retries: list[str] = Field(default_factory=list)


class RunKey(BaseModel):
    """The identity of one cell entry: scenario x provider x model x mode x trial."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str
    model: str
    scenario: str
    mode: Mode
    trial: int = 1

    @property
    def label(self) -> str:
        suffix = "-stream" if self.mode == "stream" else ""
        trial = f"-t{self.trial}" if self.trial > 1 else ""
        return f"{self.scenario}[{self.provider}/{self.model}{suffix}{trial}]"


class RunResult(BaseModel):
    """The verdict of one run with everything needed to explain and reproduce it."""

    model_config = ConfigDict(extra="forbid")

    key: RunKey
    family: str
    outcome: Outcome
    provenance: Provenance = "live"
    findings: list[Finding] = Field(default_factory=list)
    error: ErrorInfo | None = None
    skip_reason: str | None = None
    turns: list[Turn] = Field(default_factory=list)
    final_answer: str | None = None
    cassette: str | None = None
    duration_s: float | None = None
    reproduce: str | None = None
    # Summed over the turns that reported usage; cost only when the registry gives the model's prices.
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "violation"]


class CellSummary(BaseModel):
    """The trials of one provider/model x scenario x mode: `flaky` when some passed and some did not."""

    model_config = ConfigDict(extra="forbid")

    provider: str
    model: str
    scenario: str
    mode: Mode
    family: str
    state: Literal["pass", "fail", "error", "flaky", "skip"]
    passed: int
    failed: int
    errored: int
    skipped: int


class TargetInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str
    base_url: str
    models: list[str]


class Report(BaseModel):
    """A versioned run report: the harness, SDK and git versions, targets, and every run."""

    model_config = ConfigDict(extra="forbid")

    version: int = REPORT_VERSION
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    harness_version: str = ""
    openai_version: str = ""
    git_revision: str | None = None
    targets: list[TargetInfo] = Field(default_factory=list)
    runs: list[RunResult] = Field(default_factory=list)
    # Derived from `runs` (harness.cells.summaries) when the report is built, for readers of the JSON;
    # the harness itself (table, diff) always recomputes cells from `runs`.
    cells: list[CellSummary] = Field(default_factory=list)
