"""One conversation of a run: the tool loop of the seed guides, judged turn by turn.

request -> tool_calls -> simulated tool -> `tool` message with the matching `tool_call_id` -> again,
until the model answers in text or the scenario's `max_iterations` is reached. Every turn is judged by
the wire checks as it comes; the whole conversation by the scenario's expectations at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai

from harness.conformance.check_registry import CheckSelection
from harness.conformance.expectations import Conversation, evaluate
from harness.conformance.wire import assess
from harness.core.model import ErrorInfo, Finding, Mode, Provenance, Reply, RunKey, RunResult, Turn
from harness.engine.config import TurnHook
from harness.providers.registry import Target
from harness.scenario.simulator import ToolSimulator
from harness.scenario.spec import ResolvedScenario
from harness.transport.cassettes import CassetteTransport, Redactor
from harness.transport.client import RequestLimits, send
from harness.transport.retry import RetryPolicy


def assistant_message(reply: Reply) -> dict[str, Any]:
    """The assistant turn echoed back in the history, with the arguments exactly as the model sent them."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": c.id or "",
                "type": "function",
                "function": {
                    "name": c.name or "",
                    "arguments": c.arguments_raw if c.arguments_raw is not None else "",
                },
            }
            for c in reply.tool_calls
        ]
    return message


def request_body(
    rs: ResolvedScenario, target: Target, messages: list[dict[str, Any]], mode: Mode, turn: int = 1
) -> dict[str, Any]:
    opts = rs.scenario.options
    body: dict[str, Any] = {"model": target.model, "messages": messages}
    if rs.tools:
        body["tools"] = rs.openai_tools()
    for name in ("tool_choice", "parallel_tool_calls", "temperature", "max_tokens", "seed"):
        value = getattr(opts, name)
        if value is not None:
            body[name] = value
    if turn > 1 and opts.later_tool_choice is not None:
        body["tool_choice"] = opts.later_tool_choice
    if mode == "stream":
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    body.update(target.extra_body)
    body.update(opts.extra_body)
    return body


def converse(
    rs: ResolvedScenario,
    target: Target,
    key: RunKey,
    client: openai.OpenAI,
    transport: CassetteTransport | None,
    policy: RetryPolicy,
    redact: Redactor,
    on_retry: Callable[[int, str], None] | None = None,
    after_turn: TurnHook | None = None,
    limits: RequestLimits | None = None,
    checks: CheckSelection | None = None,
) -> RunResult:
    """Hold the conversation and judge it; `on_retry(turn, note)` hears each retry as it is decided,
    `after_turn` sees each judged turn and may add findings to it (`run --clients`).

    `checks` (from `select_checks`) limits the wire and conversation checks; None runs every one.
    """
    sim = ToolSimulator(rs)
    messages = [dict(m) for m in rs.scenario.messages]
    turns: list[Turn] = []
    replies: list[Reply] = []
    findings: list[Finding] = []
    final: str | None = None
    hit_max = True
    policy = policy.for_provider(target.retry_statuses)

    def how() -> Provenance:
        return transport.provenance[-1] if transport and transport.provenance else "live"

    for number in range(1, rs.scenario.max_iterations + 1):
        body = request_body(rs, target, [dict(m) for m in messages], key.mode, number)
        heard = (lambda note, n=number: on_retry(n, note)) if on_retry else None
        sent = send(client, body, policy, redact, how, heard, limits)
        judged = (
            assess(body, sent.status, sent.text or "", stream=key.mode == "stream", checks=checks)
            if sent.error is None
            else None
        )
        error = sent.error or (judged.error if judged else None)
        turn_findings = [f.model_copy(update={"turn": number}) for f in (judged.findings if judged else [])]
        reply = judged.reply if judged else None
        turn = Turn(
            number=number,
            request=body,
            status=sent.status,
            response_text=sent.text,
            reply=reply,
            error=error,
            findings=turn_findings,
            latency_s=sent.latency_s,
            ttfb_s=sent.ttfb_s,
            ttft_s=sent.ttft_s,
            retries=sent.retries,
        )
        if after_turn is not None:
            turn = after_turn(key, turn, judged)
        turns.append(turn)
        findings += turn.findings
        if error is not None:
            return _errored(rs, key, turns, findings, error)
        assert reply is not None
        replies.append(reply)
        if not reply.tool_calls:
            final = reply.content or ""
            hit_max = False
            break
        messages.append(assistant_message(reply))
        for call in reply.tool_calls:
            output = sim.execute(call, number)
            messages.append({"role": "tool", "tool_call_id": call.id or "", "content": output})
    findings += evaluate(rs.scenario.expect, Conversation(replies, sim, final, hit_max), checks)
    return _judged(rs, key, turns, findings, final)


def _errored(
    rs: ResolvedScenario, key: RunKey, turns: list[Turn], findings: list[Finding], error: ErrorInfo
) -> RunResult:
    """A request that could not be judged is an error, unless the scenario accepts a rejection (4xx)."""
    status = turns[-1].status
    if rs.scenario.expect.accept_rejection and status is not None and 400 <= status < 500 and status != 429:
        findings.append(
            Finding(
                check="provider.rejected",
                severity="warning",
                turn=len(turns),
                actual=status,
                message=f"the provider rejected the request with HTTP {status}: {error.message}",
            )
        )
        return _judged(rs, key, turns, findings, None)
    return RunResult(
        key=key, family=rs.scenario.family, outcome="error", error=error, findings=findings, turns=turns
    )


def _judged(
    rs: ResolvedScenario, key: RunKey, turns: list[Turn], findings: list[Finding], final: str | None
) -> RunResult:
    """A run that could be judged: it fails exactly when some finding is a violation."""
    failed = any(f.severity == "violation" for f in findings)
    return RunResult(key=key, family=rs.scenario.family, outcome="fail" if failed else "pass",
                     findings=findings, turns=turns, final_answer=final)
