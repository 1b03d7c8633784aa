"""Data that the harness produces and saves: findings, judged calls, turns, runs and the report.

Everything that reaches a file is a pydantic model, so the JSON report is the single source of truth
and every rendering (terminal table, markdown, HTML, diff) can be rebuilt from it offline.

Report versions are `version` (the major, an integer, as every report so far has written it) and
`minor`. A new major changes or removes something a reader relies on: an older harness must refuse
such a report with a clear message rather than misread it. A new minor only adds optional fields: an
older harness reads it and ignores the fields it does not know. A newer harness reads every older
report, migrating it when it validates (`Report._migrate`). History:

- 1: runs, targets and versions.
- 2: `cells`, and token counts and cost per run (a version-1 report reads with the counts taken from
  its turns' usage and no cells). 2.1: `minor` itself (a report without it is 2.0).
  2.2: the vendor view's inputs: `TargetInfo.canonical` (model id -> canonical model), `reference`
  and `declared` (capabilities the models endpoint declared), and `RunResult.triggers` (what the
  scenario says about calling a tool). A 2.1 report reads with none of them: trigger metrics unknown.
  2.3: `RunResult.source` (the scenario source and category of a pack's scenario, e.g. `bfcl` /
  `live_simple`) and `Report.accuracy` (a pack's accuracy per provider/model/mode, derived from the
  runs like `cells`). A 2.2 report reads without them: no pack summary.

Token usage is read one way: a reply keeps the provider's `usage` as it came (odd values are evidence,
never an error), and `token_counts` is the one reading of it, used by the engine, the JSON report, the
table and the HTML page alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    model_serializer,
    model_validator,
)

if TYPE_CHECKING:
    from harness.core.accuracy import AccuracySummary, SourceRef
    from harness.core.client_checks import ClientCheck
    from harness.core.shard import ShardInfo

REPORT_VERSION = 2  # the major version this harness writes and the newest it reads
REPORT_MINOR = 4
# Validation context key: set when reading a report of a newer minor version of our major.
NEWER_MINOR = "newer_minor"

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
    "timeout",  # a request (or a run) passed its time bound: --timeout, --run-timeout
    "deadline",  # the run was in flight when --deadline passed; --resume runs it again
    "too_large",  # the response body passed --max-response-bytes; its first bytes are kept
    "connection",
    "config",
    "worker",  # the worker process of --processes that ran it died first; run it again
]


class Saved(BaseModel):
    """A model that is written to a report: strict, except for fields a newer minor version added.

    Unknown keys are errors (a typo in a hand-built result must not vanish), unless the data is read
    with the `NEWER_MINOR` validation context, which `read_report` sets for a report whose minor
    version is newer than ours: those keys are fields we do not know yet, and are dropped.
    """

    # Deferred: validators are built on first use, so `validate` never builds the report models' schemas.
    model_config = ConfigDict(extra="forbid", defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_fields_of_a_newer_minor(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and info.context and info.context.get(NEWER_MINOR):
            return {k: v for k, v in data.items() if k in cls.model_fields}
        return data


class Finding(Saved):
    """One observation by a check: what was expected, what came, and where."""

    check: str
    severity: Severity = "violation"
    message: str
    turn: int | None = None
    expected: Any = None
    actual: Any = None


class ErrorInfo(Saved):
    """Why a request could not be judged: transport or provider failure, kept apart from model failures."""

    kind: ErrorKind
    message: str
    status: int | None = None


class ToolCall(Saved):
    """A tool call as it came over the wire, with its arguments kept raw beside their parse."""

    index: int | None = None
    id: str | None = None
    type: str | None = None
    name: str | None = None
    arguments_raw: str | None = None
    arguments: Any = None
    arguments_valid_json: bool = False
    arguments_match_schema: bool | None = None
    arguments_error: str | None = None


class TokenCounts(NamedTuple):
    """Integer prompt and completion token counts, as a provider's `usage` reports them."""

    prompt: int
    completion: int


def token_counts(usage: Any) -> TokenCounts | None:
    """The counts of one reply's `usage`, or None when it has no integer prompt and completion counts.

    Providers send odd things (`{"prompt_tokens": {"cached": 5}}`, floats, only `total_tokens`); those
    stay in `Reply.usage` as evidence and count as unknown here, so no reader ever does arithmetic on
    them. `bool` is not a count, although Python says it is an int.
    """
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if type(prompt) is int and type(completion) is int:
        return TokenCounts(prompt, completion)
    return None


def run_token_counts(turns: Iterable[Turn]) -> TokenCounts | None:
    """The counts of a run: summed over its answered turns, or None unless every one of them reported.

    All or nothing, because a sum over the turns that happened to report would understate the run and
    look exact; a run with no answer at all has no counts either.
    """
    counts = [token_counts(t.reply.usage) for t in turns if t.reply is not None]
    if not counts or any(c is None for c in counts):
        return None
    return TokenCounts(sum(c.prompt for c in counts if c), sum(c.completion for c in counts if c))


class Reply(Saved):
    """The assistant side of one response, assembled from a body or a stream; `usage` exactly as sent."""

    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    model: str | None = None
    upstream: str | None = None


class Turn(Saved):
    """One request/response round trip, with the raw evidence kept for the report and for `judge`."""

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
    # With `run --clients`: what each client library made of this turn's response (their findings are
    # in `findings` too, with the wire's). Absent from reports of runs without clients.
    client_checks: list[ClientCheck] = Field(default_factory=list)

    @model_serializer(mode="wrap")
    def _without_empty_client_checks(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A run without clients writes the same report as before `client_checks` existed."""
        data: dict[str, Any] = handler(self)
        if not self.client_checks:
            data.pop("client_checks", None)
        return data


class RunKey(Saved):
    """The identity of one cell entry: scenario x provider x model x mode x trial."""

    model_config = ConfigDict(frozen=True)

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


class TriggerExpectation(Saved):
    """What a scenario says about calling a tool: at response `turn`, or (None) anywhere in the run.

    `call` true: it must call a tool; false: it must not. The metrics of the vendor view
    (`harness.results.vendor`) judge the replies against these, so a report carries them itself.
    """

    turn: int | None = None
    call: bool


class RunResult(Saved):
    """The verdict of one run with everything needed to explain and reproduce it."""

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
    # `run_token_counts` of the turns (None unless every answer reported counts); cost only when the
    # registry gives the model's prices.
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    # The scenario's trigger expectations (2.2); None: not recorded (an older report), [] : none.
    triggers: list[TriggerExpectation] | None = None
    # 2.3: the scenario source and category (packs); None for YAML scenarios, and not written then.
    source: SourceRef | None = None

    @model_serializer(mode="wrap")
    def _without_source(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A run of a YAML scenario writes the same result as before `source` existed."""
        data: dict[str, Any] = handler(self)
        if self.source is None:
            data.pop("source", None)
        return data

    @model_validator(mode="after")
    def _counts_from_usage(self) -> RunResult:
        """Counts left unset are taken from the turns, so every reader sees the same numbers: the engine
        sets them the same way, and this fills them for version-1 reports and hand-built results."""
        if self.prompt_tokens is None and self.completion_tokens is None:
            counts = run_token_counts(self.turns)
            if counts is not None:
                self.prompt_tokens, self.completion_tokens = counts
        return self

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "violation"]

    @property
    def tokens_unknown(self) -> bool:
        """Answered, yet without counts: some answer reported no usable usage."""
        return self.prompt_tokens is None and any(t.reply is not None for t in self.turns)


class CellSummary(Saved):
    """The trials of one provider/model x scenario x mode: `flaky` when some passed and some did not."""

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


Declared = Literal["tools", "tool_choice", "parallel_tool_calls"]
DECLARED: tuple[Declared, ...] = ("tools", "tool_choice", "parallel_tool_calls")


class DeclaredCapabilities(Saved):
    """What a provider's models endpoint says one model supports: True, False, or None (it does not say).

    `source` names the field the declaration came from (`supported_parameters`, `capabilities`, …);
    no source means nothing was declared, and every capability stays unknown.
    """

    tools: bool | None = None
    tool_choice: bool | None = None
    parallel_tool_calls: bool | None = None
    source: str | None = None

    def of(self, capability: Declared) -> bool | None:
        value: bool | None = getattr(self, capability)
        return value


class TargetInfo(Saved):
    provider: str
    base_url: str
    models: list[str]
    # 2.2: model id -> canonical model, for the models the registry maps (unmapped: the id itself);
    # whether this provider is the reference for its models; what its models endpoint declared.
    canonical: dict[str, str] = Field(default_factory=dict)
    reference: bool = False
    declared: dict[str, DeclaredCapabilities] = Field(default_factory=dict)

    def canonical_model(self, model: str) -> str:
        return self.canonical.get(model, model)

    def merge(self, other: TargetInfo) -> None:
        """Unite another shard's entry of the same provider into this one (models in first-seen order)."""
        self.models += [m for m in other.models if m not in self.models]
        self.canonical.update(other.canonical)
        self.declared.update(other.declared)
        self.reference = self.reference or other.reference


class Report(Saved):
    """A versioned run report: the harness, SDK and git versions, targets, and every run.

    `version` is the major and `minor` the minor version of the format (see the module docstring);
    a report read from a file keeps the numbers it was written with.
    """

    version: int = Field(default=REPORT_VERSION, strict=True)
    minor: int = Field(default=REPORT_MINOR, strict=True)
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    harness_version: str = ""
    openai_version: str = ""
    git_revision: str | None = None
    targets: list[TargetInfo] = Field(default_factory=list)
    runs: list[RunResult] = Field(default_factory=list)
    # Derived from `runs` (harness.cells.summaries) when the report is built, for readers of the JSON;
    # the harness itself (table, diff) always recomputes cells from `runs`.
    cells: list[CellSummary] = Field(default_factory=list)
    # 2.3: derived from `runs` as well (`harness.results.accuracy`); empty, and not written, without packs.
    accuracy: list[AccuracySummary] = Field(default_factory=list)
    shard: ShardInfo | None = None  # 2.4: this report is one shard of a run (`--shard I/N`)

    @model_serializer(mode="wrap")
    def _without_empty_accuracy(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A run without pack scenarios or shards writes the same report as before those fields."""
        data: dict[str, Any] = handler(self)
        for name in ("accuracy", "shard"):
            if not getattr(self, name):
                data.pop(name, None)
        return data

    @model_validator(mode="before")
    @classmethod
    def _readable_version(cls, data: Any) -> Any:
        """A newer major may mean anything: refuse it here too, for readers that bypass `read_report`.
        A report without `minor` was written before minors existed: it is x.0."""
        if isinstance(data, dict):
            major, _ = declared_version(data)
            if major > REPORT_VERSION:
                raise ValueError(f"report version {major} is newer than this harness reads: {REPORT_VERSION}")
            if "version" in data and "minor" not in data:
                data = {**data, "minor": 0}
        return data


def declared_version(data: dict[str, Any]) -> tuple[int, int]:
    """The (major, minor) a report's data declares: no `version` means ours, no `minor` means 0.

    Values that are not integers count as ours here and are rejected by the model's validation.
    """
    version, minor = data.get("version", REPORT_VERSION), data.get("minor", 0)
    return (
        version if type(version) is int else REPORT_VERSION,
        minor if type(minor) is int else 0,
    )


# `ClientCheck` holds `Finding`s, so it is defined after them: its module puts it in this module's
# namespace (see the end of `client_checks.py`), where `Turn`, `RunResult` and `Report` find it when they
# are first used and built. The same for `SourceRef` (in `RunResult`) and `AccuracySummary` (in `Report`),
# a pack's summary, and `ShardInfo`.
import harness.core.accuracy  # noqa: E402,F401
import harness.core.client_checks  # noqa: E402,F401
import harness.core.shard  # noqa: E402,F401  (`ShardInfo`, in `Report`)
