"""BFCL's verdict on the first reply, as `bfcl.*` findings: the entry passes exactly when none is a violation.

The calls are read as BFCL's OpenAI function-calling handler decodes them (`json.loads` of each call's
raw arguments, by Python's rules), then judged as BFCL's AST checker and relevance runner judge them:

- simple and multiple categories: exactly one call, to the expected function, with matching arguments;
- parallel categories: as many calls as expected, each expected call matched to the first unmatched
  call that satisfies it, in the expected order (BFCL's greedy order-free matching);
- irrelevance: passes unless the reply decodes to at least one call; relevance: passes only then.

Where BFCL stops at the first problem, every problem is reported; the verdict is the same because
BFCL's checks are independent of one another.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.core.model import Finding, ToolCall
from harness.packs.bfcl.categories import Kind
from harness.packs.bfcl.convert import sent_name
from harness.packs.bfcl.data import BfclEntry
from harness.packs.bfcl.values import Mismatch, check_value

# Every check id this module reports, for registries and docs.
CHECKS = (
    "bfcl.unparsable_arguments",  # a call's arguments are not JSON (BFCL: the decoder failed)
    "bfcl.arguments_not_object",  # a call's arguments are JSON but not an object
    "bfcl.wrong_count",  # not as many calls as expected
    "bfcl.wrong_function",  # the call names another function than expected
    "bfcl.missing_call",  # parallel: no call left to the expected function
    "bfcl.missing_param",  # a required parameter, or one the answers need, is absent
    "bfcl.unexpected_param",  # a parameter the function or the answers do not have
    "bfcl.wrong_type",
    "bfcl.wrong_value",
    "bfcl.unexpected_call",  # irrelevance: a call was made
    "bfcl.no_call",  # relevance: no call was made
)


@dataclass(frozen=True)
class Decoded:
    """A call as BFCL's FC handler decodes it: its name and `json.loads` of its raw arguments."""

    index: int
    name: str | None
    arguments: Any


def judge(entry: BfclEntry, calls: Sequence[ToolCall]) -> list[Finding]:
    """BFCL's verdict on the tool calls of the first reply, as findings (none: the entry passes)."""
    decoded, problems = _decode(calls)
    kind = entry.category.kind
    if kind is Kind.IRRELEVANCE or kind is Kind.RELEVANCE:
        return _relevance(kind, calls, decoded, problems)
    assert entry.answers is not None
    if problems:  # BFCL: the decoder failed or gave the wrong format, so the entry fails
        return problems
    expected = entry.answers
    findings: list[Finding] = []
    if len(decoded) != len(expected):
        names = [c.name for c in decoded]
        findings.append(
            _finding(
                "bfcl.wrong_count",
                f"expected {len(expected)} call(s), got {len(decoded)} {names}",
                len(expected),
                len(decoded),
            )
        )
        if kind is not Kind.PARALLEL or not decoded:
            return findings
    if kind is Kind.PARALLEL:
        return findings + _parallel(entry, expected, decoded)
    # Simple: the one function document; multiple: the expected function's document.
    doc = entry.functions[0] if kind is Kind.SIMPLE else _doc(entry, _name(expected[0]))
    return findings + [_call_finding(m) for m in check_call(doc, expected[0], decoded[0])]


def _decode(calls: Sequence[ToolCall]) -> tuple[list[Decoded], list[Finding]]:
    decoded: list[Decoded] = []
    problems: list[Finding] = []
    for i, call in enumerate(calls):
        try:
            arguments = json.loads(call.arguments_raw)  # type: ignore[arg-type]  # None fails, as in BFCL
        except (TypeError, ValueError) as exc:
            problems.append(
                _finding(
                    "bfcl.unparsable_arguments",
                    f"call {i + 1} ({call.name}): arguments are not JSON: {exc}",
                    "a JSON object",
                    call.arguments_raw,
                )
            )
            continue
        if not isinstance(arguments, dict):
            problems.append(
                _finding(
                    "bfcl.arguments_not_object",
                    f"call {i + 1} ({call.name}): arguments are JSON but not an object",
                    "a JSON object",
                    arguments,
                )
            )
        decoded.append(Decoded(i, call.name, arguments))
    return decoded, problems


def _relevance(
    kind: Kind, calls: Sequence[ToolCall], decoded: list[Decoded], problems: list[Finding]
) -> list[Finding]:
    """BFCL counts a reply as a call only when every call decodes to an object and there is one."""
    made_call = bool(calls) and not problems
    names = [c.name for c in calls]
    if kind is Kind.IRRELEVANCE:
        if made_call:
            return [_finding("bfcl.unexpected_call", f"expected no call (no function fits), got {names}",
                             [], names)]
        # Undecodable calls count as no call in BFCL: kept as evidence, not as a failure.
        return [p.model_copy(update={"severity": "warning"}) for p in problems]
    if made_call:
        return []
    why = "" if not calls else f" (BFCL cannot decode {names}: {'; '.join(p.message for p in problems)})"
    return [_finding("bfcl.no_call", f"expected at least one call, got none{why}", "a call", names)]


def check_call(doc: dict[str, Any], answer: dict[str, dict[str, list[Any]]], call: Decoded) -> list[Mismatch]:
    """Why `call` does not satisfy one possible answer `{function: {parameter: [values]}}` for `doc`."""
    name = _name(answer)
    options = answer[name]
    wanted = sent_name(name)
    if call.name != wanted:
        return [Mismatch("bfcl.wrong_function", f"expected a call to '{wanted}', got '{call.name}'",
                         wanted, call.name)]
    args: dict[str, Any] = call.arguments
    properties = doc["parameters"].get("properties", {})
    missing = [p for p in doc["parameters"].get("required", []) if p not in args]
    # Required by the function, or needed by the answers (no `""` among them), and absent.
    missing += [p for p, accepted in options.items() if p not in args and "" not in accepted]
    problems = [
        Mismatch("bfcl.missing_param", f"{wanted}: parameter '{p}' is missing", options.get(p, "required"),
                 None)
        for p in dict.fromkeys(missing)
    ]
    for param, value in args.items():
        if param not in properties or param not in options:
            where = "the function" if param not in properties else "the possible answers"
            problems.append(
                Mismatch("bfcl.unexpected_param", f"{wanted}: parameter '{param}' is not in {where}",
                         sorted(options), param)
            )
            continue
        mismatch = check_value(param, properties[param], options[param], value)
        if mismatch is not None:
            problems.append(
                Mismatch(mismatch.check, f"{wanted}: {mismatch.message}", mismatch.expected, mismatch.actual)
            )
    return problems


def _parallel(entry: BfclEntry, expected: list[dict[str, Any]], decoded: list[Decoded]) -> list[Finding]:
    """Each expected call, in order, takes the first unmatched call that satisfies it (BFCL's greedy
    order); an expected call nothing satisfies is explained by the closest unmatched call to its function."""
    free = list(range(len(decoded)))
    findings: list[Finding] = []
    for number, answer in enumerate(expected, start=1):
        doc = _doc(entry, _name(answer))
        tried = {i: check_call(doc, answer, decoded[i]) for i in free}
        match = next((i for i in free if not tried[i]), None)
        if match is not None:
            free.remove(match)
            continue
        same = [i for i in free if decoded[i].name == sent_name(_name(answer))]
        if not same:
            findings.append(
                _finding(
                    "bfcl.missing_call",
                    f"expected call {number} to '{sent_name(_name(answer))}' matches no unmatched call "
                    f"{[decoded[i].name for i in free]}",
                    sent_name(_name(answer)),
                    [decoded[i].name for i in free],
                )
            )
            continue
        closest = min(same, key=lambda i: len(tried[i]))
        findings += [
            _call_finding(m, f"expected call {number} vs call {closest + 1}: ")
            for m in tried[closest]
        ]
    return findings


def _name(answer: dict[str, Any]) -> str:
    return next(iter(answer))


def _doc(entry: BfclEntry, name: str) -> dict[str, Any]:
    return next(f for f in entry.functions if f["name"] == name)  # data.py checked that it exists


def _call_finding(mismatch: Mismatch, prefix: str = "") -> Finding:
    return _finding(mismatch.check, prefix + mismatch.message, mismatch.expected, mismatch.actual)


def _finding(check: str, message: str, expected: Any, actual: Any) -> Finding:
    return Finding(check=check, message=message, turn=1, expected=expected, actual=actual)
