"""Vendor verification: the same model served by several providers, measured side by side.

The question MoonshotAI's K2-Vendor-Verifier made famous: does this vendor's copy of a model call tools
when it should, emit arguments that fit the schema, and behave like the official API? Every figure here
is computed from the runs of a saved report (live or replayed), grouped by canonical model (the
registry's `canonical` mapping, saved in `TargetInfo`), and each keeps its counts, so a reader sees
what a percentage rests on. Definitions, per provider/model:

- **trigger precision / recall / F1**: over every trigger expectation the runs carry
  (`RunResult.triggers`, see `harness.conformance.triggers`), "call" is the positive class: TP = must
  call and called, FN = must call and did not, FP = must not and called, TN = must not and did not. A
  turn-level expectation is judged on that turn's reply; a run-level one on every reply of a run that
  ended without an error. An expectation whose turn was lost to an error, or never reached, is
  `unjudged`: errors never count as a trigger or a miss. None when the report does not record
  triggers (older than 2.2) or a denominator is zero.
- **schema accuracy**: of the tool calls in answered turns, those whose arguments are valid JSON and
  validate against the offered tool's schema (`ToolCall.arguments_match_schema`, recorded by the
  wire). A call naming a tool that was not offered, or with arguments that are not a JSON object,
  counts as inaccurate; a call whose offered schema is itself unusable decides nothing and is left out.
- **finish-reason correctness**: of the answered turns, those whose `finish_reason` is `tool_calls` (or
  the legacy `function_call`) exactly when the reply carries calls, `stop` for a call forced by a named
  `tool_choice` counting as correct (OpenAI's own behaviour, a warning of the wire check).
- **wire conformance**: of the answered turns, those without a wire-check violation.

Agreement with a reference (`harness.results.agreement`) is computed on top of these groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from harness.conformance.exchange import offered_tools
from harness.core.model import Report, RunResult, TargetInfo, TriggerExpectation, Turn
from harness.results.agreement import Agreement, agreement
from harness.results.rates import Confusion, Ratio


@dataclass(frozen=True)
class Triggers:
    """Trigger counts of one provider/model against the scenarios' expectations."""

    confusion: Confusion
    unjudged: int  # expectations whose turn was lost to an error or never reached


@dataclass(frozen=True)
class VendorMetrics:
    provider: str
    model: str
    canonical: str
    runs: int  # runs that were not skipped
    verdicts: int  # of those, runs that reached pass or fail
    errors: int
    triggers: Triggers | None  # None: the report does not record trigger expectations
    schema: Ratio
    finish_reason: Ratio
    wire: Ratio
    reference: bool = False  # this row is the reference of its canonical model

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.model}"


@dataclass
class ModelGroup:
    """One canonical model: its vendors, and the reference they are compared against, if any."""

    canonical: str
    vendors: list[VendorMetrics] = field(default_factory=list)
    reference: VendorMetrics | None = None
    agreements: dict[str, Agreement] = field(default_factory=dict)  # by vendor label, reference excluded


def answered(run: RunResult) -> list[Turn]:
    return [t for t in run.turns if t.reply is not None and t.error is None]


def observe_trigger(run: RunResult, expectation: TriggerExpectation) -> bool | None:
    """Whether the run called a tool where the expectation looks; None when that cannot be judged."""
    if expectation.turn is None:
        if run.error is not None or any(t.error is not None for t in run.turns):
            return None
        replies = answered(run)
        return any(t.reply.tool_calls for t in replies if t.reply) if replies else None
    turn = next((t for t in run.turns if t.number == expectation.turn), None)
    if turn is None or turn.reply is None or turn.error is not None:
        return None
    return bool(turn.reply.tool_calls)


def trigger_metrics(runs: Iterable[RunResult]) -> Triggers | None:
    confusion, unjudged, recorded = Confusion(), 0, False
    for run in runs:
        if run.triggers is None:
            continue
        recorded = True
        if run.outcome == "skip":
            continue
        for expectation in run.triggers:
            observed = observe_trigger(run, expectation)
            if observed is None:
                unjudged += 1
            else:
                confusion = confusion.add(expectation.call, observed)
    return Triggers(confusion, unjudged) if recorded else None


def schema_accuracy(runs: Iterable[RunResult]) -> Ratio:
    good = total = 0
    for run in runs:
        for turn in answered(run):
            assert turn.reply is not None
            tools, _ = offered_tools(turn.request)
            for call in turn.reply.tool_calls:
                usable = not (
                    call.name in tools
                    and isinstance(call.arguments, dict)
                    and call.arguments_match_schema is None
                )
                if usable:
                    total += 1
                    good += call.arguments_valid_json and call.arguments_match_schema is True
    return Ratio(good, total)


def _forced_name(request: dict[str, object]) -> str | None:
    choice = request.get("tool_choice")
    function = choice.get("function") if isinstance(choice, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    return name if isinstance(name, str) else None


def finish_reason_ok(turn: Turn) -> bool:
    assert turn.reply is not None
    calls, reason = turn.reply.tool_calls, turn.reply.finish_reason
    if not calls:
        return reason is not None and reason != "tool_calls"
    if reason in ("tool_calls", "function_call"):
        return True
    forced = _forced_name(turn.request)
    return reason == "stop" and forced is not None and all(c.name == forced for c in calls)


def finish_reason_correctness(runs: Iterable[RunResult]) -> Ratio:
    turns = [t for r in runs for t in answered(r)]
    return Ratio(sum(finish_reason_ok(t) for t in turns), len(turns))


def wire_conformance(runs: Iterable[RunResult]) -> Ratio:
    turns = [t for r in runs for t in answered(r)]
    return Ratio(sum(not any(f.severity == "violation" for f in t.findings) for t in turns), len(turns))


def vendor_metrics(provider: str, model: str, canonical: str, runs: list[RunResult]) -> VendorMetrics:
    return VendorMetrics(
        provider=provider,
        model=model,
        canonical=canonical,
        runs=sum(r.outcome != "skip" for r in runs),
        verdicts=sum(r.outcome in ("pass", "fail") for r in runs),
        errors=sum(r.outcome == "error" for r in runs),
        triggers=trigger_metrics(runs),
        schema=schema_accuracy(runs),
        finish_reason=finish_reason_correctness(runs),
        wire=wire_conformance(runs),
    )


def canonical_of(targets: Iterable[TargetInfo]) -> dict[tuple[str, str], str]:
    return {(t.provider, m): t.canonical_model(m) for t in targets for m in t.models}


def group_runs(report: Report) -> dict[str, dict[tuple[str, str], list[RunResult]]]:
    """canonical model -> (provider, model) -> runs, in first-run order."""
    canonical = canonical_of(report.targets)
    groups: dict[str, dict[tuple[str, str], list[RunResult]]] = {}
    for run in report.runs:
        pm = (run.key.provider, run.key.model)
        groups.setdefault(canonical.get(pm, run.key.model), {}).setdefault(pm, []).append(run)
    return groups


def pick_reference(
    vendors: list[VendorMetrics], targets: Iterable[TargetInfo], reference: str | None
) -> VendorMetrics | None:
    """The row named by `reference` (a provider, or provider/model when a provider serves several models
    of one canonical model), else the first of a provider marked `reference`."""
    if reference is not None:
        return next((v for v in vendors if reference in (v.provider, v.label)), None)
    marked = {t.provider for t in targets if t.reference}
    return next((v for v in vendors if v.provider in marked), None)


def model_groups(report: Report, reference: str | None = None) -> list[ModelGroup]:
    """Every canonical model of the report with its vendors' metrics; one-vendor models included."""
    result = []
    for canonical, by_target in group_runs(report).items():
        vendors = [vendor_metrics(p, m, canonical, runs) for (p, m), runs in by_target.items()]
        ref = pick_reference(vendors, report.targets, reference)
        if ref is not None:
            vendors = [VendorMetrics(**{**v.__dict__, "reference": True}) if v is ref else v for v in vendors]
            ref = next(v for v in vendors if v.reference)
        group = ModelGroup(canonical, vendors, ref)
        if ref is not None:
            truth = by_target[(ref.provider, ref.model)]
            group.agreements = {
                v.label: agreement(ref.label, truth, by_target[(v.provider, v.model)])
                for v in vendors
                if v is not ref
            }
        result.append(group)
    return result
