"""Scenario expectations: what the model should have done, judged on the finished conversation.

Each expectation is a conversation check registered under the id its findings carry (`expect.calls`,
`expect.answer`, ...), through the same decorator a plugin uses, and every one is evaluated in full —
the report says everything that went wrong, not only the first thing. A check whose expectation the
scenario does not state yields nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from harness.conformance.check_registry import CONVERSATION_CHECKS, CheckSelection, check
from harness.core.model import Finding, Reply
from harness.scenario.matchers import assign_calls, check_call, normalize_text
from harness.scenario.simulator import ToolSimulator
from harness.scenario.spec import AnswerExpect, Expect, ResolvedScenario, TurnExpect


@dataclass(frozen=True)
class Conversation:
    """What the runner observed: one reply per completed turn, the tool runs, and how it ended."""

    replies: list[Reply]
    simulator: ToolSimulator
    final_answer: str | None
    hit_max_iterations: bool


@dataclass(frozen=True)
class ConversationContext:
    """What a conversation check reads: the scenario's expectations and the finished conversation."""

    expect: Expect
    conversation: Conversation

    @property
    def scenario(self) -> ResolvedScenario:
        return self.conversation.simulator.scenario

    @property
    def replies(self) -> list[Reply]:
        return self.conversation.replies


# The checks of one `turns:` entry; their findings are reported turn by turn, in the order of the YAML.
TURN_CHECKS = ("expect.turn", "expect.tool_calls", "expect.count", "expect.calls")


def evaluate(expect: Expect, conv: Conversation, checks: CheckSelection | None = None) -> list[Finding]:
    """Every selected conversation check (all by default) on one finished conversation."""
    findings = CONVERSATION_CHECKS.run(ConversationContext(expect, conv), checks)
    first = {turn.turn: i for i, turn in reversed(list(enumerate(expect.turns)))}
    rest = len(expect.turns)
    return sorted(findings, key=lambda f: first.get(f.turn or 0, rest) if f.check in TURN_CHECKS else rest)


def _fail(
    check: str, message: str, turn: int | None = None, expected: object = None, actual: object = None
) -> Finding:
    return Finding(check=check, message=message, turn=turn, expected=expected, actual=actual)


def _happened(ctx: ConversationContext) -> Iterator[tuple[TurnExpect, Reply]]:
    """The `turns:` expectations whose turn took place, with that turn's reply."""
    for exp in ctx.expect.turns:
        if exp.turn <= len(ctx.replies):
            yield exp, ctx.replies[exp.turn - 1]


# ------------------------------------------------------------------------------------------ per turn


@check("expect.turn", kind="conversation")
def turn_happened(ctx: ConversationContext) -> Iterator[Finding]:
    """An expected turn took place at all."""
    for exp in ctx.expect.turns:
        if exp.turn > len(ctx.replies):
            yield _fail("expect.turn", f"turn {exp.turn} never happened (the conversation had "
                        f"{len(ctx.replies)})", exp.turn)


@check("expect.tool_calls", kind="conversation")
def tool_calls_required_or_forbidden(ctx: ConversationContext) -> Iterator[Finding]:
    """`tool_calls: required | forbidden` for a turn."""
    for exp, reply in _happened(ctx):
        calls = reply.tool_calls
        if exp.tool_calls == "required" and not calls:
            yield _fail("expect.tool_calls", "expected a tool call, the model answered in text", exp.turn,
                        "required", [])
        if exp.tool_calls == "forbidden" and calls:
            names = [c.name for c in calls]
            yield _fail("expect.tool_calls", f"expected no tool call, got {names}", exp.turn, "forbidden",
                        names)


@check("expect.count", kind="conversation")
def call_count(ctx: ConversationContext) -> Iterator[Finding]:
    """`count`, `min_count` and `max_count` of a turn's calls."""
    for exp, reply in _happened(ctx):
        n, count, names = exp.turn, len(reply.tool_calls), [c.name for c in reply.tool_calls]
        if exp.count is not None and count != exp.count:
            yield _fail("expect.count", f"expected {exp.count} call(s), got {count} {names}", n, exp.count,
                        count)
        if exp.min_count is not None and count < exp.min_count:
            yield _fail("expect.count", f"expected at least {exp.min_count} call(s), got {count}", n,
                        exp.min_count, count)
        if exp.max_count is not None and count > exp.max_count:
            yield _fail("expect.count", f"expected at most {exp.max_count} call(s), got {count}", n,
                        exp.max_count, count)


@check("expect.calls", kind="conversation")
def expected_calls(ctx: ConversationContext) -> Iterator[Finding]:
    """A turn's calls match `calls:` in any order, each spec used once; extra calls fail without `count`."""
    for exp, reply in _happened(ctx):
        if exp.calls is None:
            continue
        calls = reply.tool_calls
        resolver = ctx.conversation.simulator.resolver(before_turn=exp.turn)
        problems, extra = assign_calls(exp.calls, calls, resolver)
        for p in problems:
            yield _fail("expect.calls", p, exp.turn)
        if exp.count is None and extra:
            extra_names = [calls[j].name for j in extra]
            yield _fail("expect.calls", f"unexpected extra call(s): {extra_names}", exp.turn, len(exp.calls),
                        len(calls))


# ------------------------------------------------------------------------------------ whole conversation


@check("expect.tool_called", kind="conversation")
def tool_called(ctx: ConversationContext) -> Iterator[Finding]:
    """`tool_called: true | false` over the whole conversation."""
    names = [ex.call.name for ex in ctx.conversation.simulator.executions]
    if ctx.expect.tool_called is True and not names:
        yield _fail("expect.tool_called", "expected a tool call, none was made", expected=True, actual=False)
    if ctx.expect.tool_called is False and names:
        yield _fail("expect.tool_called", f"expected no tool call, got {names}", expected=False, actual=names)


@check("expect.tools", kind="conversation")
def tools_used(ctx: ConversationContext) -> Iterator[Finding]:
    """Exactly the set of tools in `tools:` is called overall."""
    expected = ctx.expect.tools
    names = [ex.call.name for ex in ctx.conversation.simulator.executions]
    if expected is not None and set(names) != set(expected):
        used = sorted(set(map(str, names)))
        yield _fail("expect.tools", f"expected tools {sorted(expected)}, used {used}",
                    expected=sorted(expected), actual=used)


@check("expect.sequence", kind="conversation")
def sequence(ctx: ConversationContext) -> Iterator[Finding]:
    """The calls, flattened across turns, follow `sequence:` (other calls may sit between)."""
    expect, sim = ctx.expect, ctx.conversation.simulator
    if expect.sequence is None:
        return
    executions = sim.executions
    position = 0
    for spec in expect.sequence:
        best: list[str] | None = None
        for k in range(position, len(executions)):
            ex = executions[k]
            problems = check_call(spec, ex.call, sim.resolver(before_turn=ex.turn))
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


@check("expect.max_calls_per_turn", kind="conversation")
def max_calls_per_turn(ctx: ConversationContext) -> Iterator[Finding]:
    """No turn makes more calls than `max_calls_per_turn`."""
    limit = ctx.expect.max_calls_per_turn
    if limit is None:
        return
    for i, reply in enumerate(ctx.replies, start=1):
        if len(reply.tool_calls) > limit:
            yield _fail("expect.max_calls_per_turn", f"expected at most {limit} call(s) per turn, got "
                        f"{len(reply.tool_calls)}", i, limit, len(reply.tool_calls))


@check("expect.max_turns", kind="conversation")
def max_turns(ctx: ConversationContext) -> Iterator[Finding]:
    """The conversation ends within `max_turns` responses."""
    limit, took = ctx.expect.max_turns, len(ctx.replies)
    if limit is not None and took > limit:
        yield _fail("expect.max_turns", f"expected to finish within {limit} turn(s), took {took}",
                    expected=limit, actual=took)


@check("loop.max_iterations", kind="conversation")
def still_calling(ctx: ConversationContext) -> Iterator[Finding]:
    """The model was still calling tools when the scenario's `max_iterations` ran out (a loop?)."""
    if ctx.conversation.hit_max_iterations and ctx.expect.final_answer:
        yield _fail("loop.max_iterations", f"still calling tools after {len(ctx.replies)} turns (a loop?)")


@check("expect.final_answer", kind="conversation")
def final_answer(ctx: ConversationContext) -> Iterator[Finding]:
    """The conversation ends with a plain answer (a loop is reported by `loop.max_iterations` instead)."""
    conv = ctx.conversation
    if ctx.expect.final_answer and not conv.hit_max_iterations and conv.final_answer is None:
        yield _fail("expect.final_answer", "the conversation did not end with a plain answer")


@check("expect.answer", kind="conversation")
def answer(ctx: ConversationContext) -> Iterator[Finding]:
    """The final answer mentions, avoids and pairs what `answer:` says."""
    if ctx.expect.answer is not None:
        yield from _answer(ctx.expect.answer, ctx.conversation.final_answer)


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
