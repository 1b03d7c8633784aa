"""Scenario expectations: what the model should have done, judged on the finished conversation.

Every expectation yields findings with a stable check id (`expect.calls`, `expect.answer`, ...) and is
evaluated in full — the report says everything that went wrong, not only the first thing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from harness.core.model import Finding, Reply
from harness.scenario.matchers import assign_calls, check_call, normalize_text
from harness.scenario.simulator import ToolSimulator
from harness.scenario.spec import AnswerExpect, Expect, TurnExpect


@dataclass(frozen=True)
class Conversation:
    """What the runner observed: one reply per completed turn, the tool runs, and how it ended."""

    replies: list[Reply]
    simulator: ToolSimulator
    final_answer: str | None
    hit_max_iterations: bool


def evaluate(expect: Expect, conv: Conversation) -> list[Finding]:
    findings: list[Finding] = []
    for turn in expect.turns:
        findings += _turn(turn, conv)
    findings += _overall(expect, conv)
    if expect.answer is not None:
        findings += _answer(expect.answer, conv.final_answer)
    return findings


def _fail(
    check: str, message: str, turn: int | None = None, expected: object = None, actual: object = None
) -> Finding:
    return Finding(check=check, message=message, turn=turn, expected=expected, actual=actual)


def _turn(exp: TurnExpect, conv: Conversation) -> Iterator[Finding]:
    n = exp.turn
    if n > len(conv.replies):
        yield _fail("expect.turn", f"turn {n} never happened (the conversation had {len(conv.replies)})", n)
        return
    calls = conv.replies[n - 1].tool_calls
    names = [c.name for c in calls]
    if exp.tool_calls == "required" and not calls:
        yield _fail(
            "expect.tool_calls", "expected a tool call, the model answered in text", n, "required", []
        )
    if exp.tool_calls == "forbidden" and calls:
        yield _fail("expect.tool_calls", f"expected no tool call, got {names}", n, "forbidden", names)
    count = len(calls)
    if exp.count is not None and count != exp.count:
        yield _fail("expect.count", f"expected {exp.count} call(s), got {count} {names}", n, exp.count, count)
    if exp.min_count is not None and count < exp.min_count:
        yield _fail(
            "expect.count", f"expected at least {exp.min_count} call(s), got {count}", n, exp.min_count, count
        )
    if exp.max_count is not None and count > exp.max_count:
        yield _fail(
            "expect.count", f"expected at most {exp.max_count} call(s), got {count}", n, exp.max_count, count
        )
    if exp.calls is not None:
        problems, extra = assign_calls(exp.calls, calls, conv.simulator.resolver(before_turn=n))
        for p in problems:
            yield _fail("expect.calls", p, n)
        if exp.count is None and extra:
            extra_names = [calls[j].name for j in extra]
            yield _fail("expect.calls", f"unexpected extra call(s): {extra_names}", n, len(exp.calls), count)


def _overall(expect: Expect, conv: Conversation) -> Iterator[Finding]:
    executions = conv.simulator.executions
    called = [ex.call for ex in executions]
    names = [c.name for c in called]
    if expect.tool_called is True and not called:
        yield _fail("expect.tool_called", "expected a tool call, none was made", expected=True, actual=False)
    if expect.tool_called is False and called:
        yield _fail("expect.tool_called", f"expected no tool call, got {names}", expected=False, actual=names)
    if expect.tools is not None and set(names) != set(expect.tools):
        yield _fail(
            "expect.tools",
            f"expected tools {sorted(expect.tools)}, used {sorted(set(map(str, names)))}",
            expected=sorted(expect.tools),
            actual=sorted(set(map(str, names))),
        )
    if expect.sequence is not None:
        yield from _sequence(expect, conv)
    if expect.max_calls_per_turn is not None:
        for i, reply in enumerate(conv.replies, start=1):
            if len(reply.tool_calls) > expect.max_calls_per_turn:
                yield _fail(
                    "expect.max_calls_per_turn",
                    f"expected at most {expect.max_calls_per_turn} call(s) per turn, got "
                    f"{len(reply.tool_calls)}",
                    i,
                    expect.max_calls_per_turn,
                    len(reply.tool_calls),
                )
    if expect.max_turns is not None and len(conv.replies) > expect.max_turns:
        yield _fail(
            "expect.max_turns",
            f"expected to finish within {expect.max_turns} turn(s), took {len(conv.replies)}",
            expected=expect.max_turns,
            actual=len(conv.replies),
        )
    if conv.hit_max_iterations and expect.final_answer:
        yield _fail("loop.max_iterations", f"still calling tools after {len(conv.replies)} turns (a loop?)")
    elif expect.final_answer and conv.final_answer is None:
        yield _fail("expect.final_answer", "the conversation did not end with a plain answer")


def _sequence(expect: Expect, conv: Conversation) -> Iterator[Finding]:
    """The calls, flattened across turns, must follow the expected order (other calls may sit between)."""
    assert expect.sequence is not None
    executions = conv.simulator.executions
    position = 0
    for spec in expect.sequence:
        best: list[str] | None = None
        for k in range(position, len(executions)):
            ex = executions[k]
            problems = check_call(spec, ex.call, conv.simulator.resolver(before_turn=ex.turn))
            if not problems:
                position = k + 1
                best = None
                break
            if ex.call.name == spec.name and best is None:
                best = problems
        else:
            detail = "; ".join(best) if best else "no such call"
            yield _fail(
                "expect.sequence",
                f"expected {spec.name} after the previous step: {detail}",
                expected=[s.name for s in expect.sequence],
                actual=[ex.call.name for ex in executions],
            )
            return


def _answer(exp: AnswerExpect, answer: str | None) -> Iterator[Finding]:
    if answer is None:
        if exp.contains or exp.near:
            yield _fail("expect.answer", "no final answer to check")
        return
    text = normalize_text(answer)
    for item in exp.contains:
        options = [item] if isinstance(item, str) else item
        if not any(normalize_text(o) in text for o in options):
            yield _fail(
                "expect.answer",
                f"answer does not mention {_options(options)}",
                expected=options,
                actual=answer,
            )
    for bad in exp.not_contains:
        if normalize_text(bad) in text:
            yield _fail(
                "expect.answer", f"answer should not mention {bad!r}", expected=f"not {bad!r}", actual=answer
            )
    for i, group in enumerate(exp.near):
        others = [p for j, g in enumerate(exp.near) if j != i for p in _positions(text, _members(g[0]))]
        if not _near(text, group, exp.window, others):
            yield _fail(
                "expect.answer",
                f"answer does not pair {_group(group)} within {exp.window} characters",
                expected=group,
                actual=answer,
            )


def _options(options: list[str]) -> str:
    return repr(options[0]) if len(options) == 1 else "any of " + repr(options)


def _group(group: list[str | list[str]]) -> str:
    return " + ".join(_options([g] if isinstance(g, str) else g) for g in group)


def _positions(text: str, options: list[str]) -> list[int]:
    found = []
    for option in options:
        needle = normalize_text(option)
        start = text.find(needle)
        while needle and start != -1:
            found.append(start)
            start = text.find(needle, start + 1)
    return found


def _members(item: str | list[str]) -> list[str]:
    return [item] if isinstance(item, str) else item


def _near(text: str, group: list[str | list[str]], window: int, others: list[int]) -> bool:
    """One occurrence of each member lies within `window` characters of an occurrence of the first member
    with no other group's first member in between: "SF: 45°F. New York: 62°F" does not pair SF with 62."""
    anchors = _positions(text, _members(group[0]))
    rest = [_positions(text, _members(g)) for g in group[1:]]

    def paired(a: int, p: int) -> bool:
        low, high = min(a, p), max(a, p)
        return abs(p - a) <= window and not any(low < o < high for o in others)

    return any(all(any(paired(a, p) for p in ps) for ps in rest) for a in anchors)
