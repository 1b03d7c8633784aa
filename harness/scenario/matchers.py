"""Argument matching in the manner of BFCL's possible answers, with every mismatch named precisely.

A matcher answers "does this argument satisfy the spec?" with `None` (yes) or a sentence saying why not,
so a report can show `key 'location': expected one of ['San Francisco', 'SF'], got 'Paris'`. The
built-in matchers below register with `@matcher` as a plugin's do; `check_argument` dispatches to the
one a spec names, so a plugin matcher gets the same "missing", "optional" and message handling.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from harness.core.model import ToolCall
from harness.scenario.matcher_registry import ARGUMENT_MATCHERS, MatchContext, Resolver, matcher
from harness.scenario.spec import ArgSpec, CallSpec, ResultRef

NOT_FOUND = object()
__all__ = ["NOT_FOUND", "Resolver", "assign_calls", "check_argument", "check_arguments", "check_call"]


def normalize_text(value: str) -> str:
    """Case, accents, punctuation and whitespace runs do not matter: 'SF, CA' ~ 'sf ca'."""
    text = value
    if not text.isascii():  # ASCII has no accents to strip (and is its own NFKD form)
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = text.casefold()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def values_equal(expected: Any, actual: Any, *, normalize: bool = False) -> bool:
    """Equality that accepts an int where a number is expected but never confuses booleans with numbers."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return expected == actual  # exact, even above 2**53 and for ints too large for a float
    if isinstance(expected, str) and isinstance(actual, str):
        return normalize_text(expected) == normalize_text(actual) if normalize else expected == actual
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            values_equal(e, a, normalize=normalize) for e, a in zip(expected, actual, strict=True)
        )
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(
            values_equal(expected[k], actual[k], normalize=normalize) for k in expected
        )
    return bool(expected == actual) and type(expected) is type(actual)


def _finite(value: int | float) -> bool:
    """False for NaN, infinities and integers too large for a float (a model can write 10**400 in JSON)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def lookup(data: Any, path: str) -> Any:
    """Follow a dotted path ('results.0.productId') into JSON data; NOT_FOUND when it leads nowhere."""
    current = data
    for part in path.split(".") if path else []:
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, Sequence) and not isinstance(current, str) and part.lstrip("-").isdigit():
            index = int(part)
            if not -len(current) <= index < len(current):
                return NOT_FOUND
            current = current[index]
        else:
            return NOT_FOUND
    return current


def check_argument(
    key: str, spec: ArgSpec, args: Mapping[str, Any], resolve: Resolver | None = None
) -> str | None:
    """None when argument `key` of `args` satisfies `spec`, else why not."""
    name, params = spec.matcher
    judge = ARGUMENT_MATCHERS.get(name)
    ctx = MatchContext(key, spec, resolve)
    may_omit = spec.optional or "" in (spec.one_of or [])
    if key not in args:
        return None if may_omit else f"key '{key}': missing (expected {judge.describe(params, ctx)})"
    reason = judge.check(args[key], params, ctx)
    return None if reason is None else f"key '{key}': {reason}"


# ------------------------------------------------------------------------------------ built-in matchers


def _describe_one_of(accepted: list[Any], ctx: MatchContext) -> str:
    shown = [a for a in accepted if a != ""]
    text = repr(shown[0]) if len(shown) == 1 else f"one of {shown!r}"
    return text + (" (normalised)" if ctx.spec.normalize else "")


@matcher("one_of", params=list[Any], describe=_describe_one_of)
def one_of(value: Any, accepted: list[Any], ctx: MatchContext) -> str | None:
    """Equal to one of the values (a scalar in YAML is a one-value list); "" = may be omitted."""
    if not [a for a in accepted if a != ""]:
        return None  # only "may be omitted" was said: any value that is there is accepted
    candidates = [a for a in accepted if a != ""] if value != "" else accepted
    if any(values_equal(a, value, normalize=ctx.spec.normalize) for a in candidates):
        return None
    return f"expected {_describe_one_of(accepted, ctx)}, got {value!r}"


@matcher("approx", params=float, describe=lambda approx, ctx: f"{approx} ± {ctx.spec.tolerance}")
def approx(value: Any, approx: float, ctx: MatchContext) -> str | None:
    """A number within `tolerance` of the value."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
        return f"expected a number near {approx}, got {value!r:.80}"
    if abs(value - approx) > ctx.spec.tolerance:
        return f"expected {approx} ± {ctx.spec.tolerance}, got {value!r}"
    return None


def _describe_ref(ref: ResultRef, ctx: MatchContext) -> str:
    return f"the value from {ref.tool} at '{ref.path}'"


@matcher("from_result", params=ResultRef, describe=_describe_ref)
def from_result(value: Any, ref: ResultRef, ctx: MatchContext) -> str | None:
    """The value an earlier simulated tool returned, at a dotted path of its latest result."""
    wanted = ctx.resolve(ref) if ctx.resolve else NOT_FOUND
    if wanted is NOT_FOUND:
        return f"expected the value {ref.tool} returned at '{ref.path}', but none exists"
    if not values_equal(wanted, value, normalize=ctx.spec.normalize):
        return f"expected {wanted!r} (from {ref.tool} result '{ref.path}'), got {value!r}"
    return None


@matcher("contains", params=str, describe=lambda text, ctx: f"text containing {text!r}")
def contains(value: Any, text: str, ctx: MatchContext) -> str | None:
    """The string contains the text (normalised), or an array of strings has an item that does."""
    texts = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    wanted = normalize_text(text)
    if not any(isinstance(t, str) and wanted in normalize_text(t) for t in texts):
        what = "an item containing" if isinstance(value, list) else "text containing"
        return f"expected {what} {text!r}, got {value!r:.120}"
    return None


@matcher("present", params=bool, describe=lambda _, ctx: "any value")
def present(value: Any, _: bool, ctx: MatchContext) -> str | None:
    """Any value, as long as the key is there."""
    return None


def check_arguments(
    specs: Mapping[str, ArgSpec],
    args: Mapping[str, Any],
    resolve: Resolver | None = None,
    *,
    no_extra: bool = False,
) -> list[str]:
    problems = [p for key, spec in specs.items() if (p := check_argument(key, spec, args, resolve))]
    if no_extra:
        problems += [f"key '{k}': not expected" for k in args if k not in specs]
    return problems


def check_call(spec: CallSpec, call: ToolCall, resolve: Resolver | None = None) -> list[str]:
    """Why `call` does not satisfy `spec` (empty when it does)."""
    if call.name != spec.name:
        return [f"expected a call to '{spec.name}', got '{call.name}'"]
    if not isinstance(call.arguments, dict):
        if not spec.arguments:
            return []
        return [f"{spec.name}: arguments are not a JSON object ({call.arguments_raw!r})"]
    problems = check_arguments(spec.arguments, call.arguments, resolve, no_extra=spec.no_extra_arguments)
    return [f"{spec.name}: {p}" for p in problems]


def assign_calls(
    specs: Sequence[CallSpec], calls: Sequence[ToolCall], resolve: Resolver | None = None
) -> tuple[list[str], list[int]]:
    """Match specs to calls in any order, each used once.

    Returns the mismatch messages of the best assignment and the indices of calls left unmatched. With a
    handful of calls per turn an exhaustive search is cheap and, unlike a greedy one, never reports a
    false mismatch when two specs could swap. The best assignment has the fewest failing specs and, among
    those, pairs specs with calls of their own tool, so the messages name the wrong arguments rather than
    a tool mix-up, whatever order the calls came in.
    """
    # Calls are searched in a canonical order, so ties between equally good pairings (two wrong cities
    # for two get_weather specs) are broken the same way whatever order the calls arrived in.
    order = sorted(range(len(calls)), key=lambda j: (calls[j].name or "", calls[j].arguments_raw or ""))
    table = [[check_call(spec, calls[j], resolve) for j in order] for spec in specs]
    failing = len(specs) + 1  # one failing spec outweighs every name mismatch together
    weight = [
        [0 if not table[i][k] else failing + (calls[j].name != spec.name) for k, j in enumerate(order)]
        for i, spec in enumerate(specs)
    ]
    best: tuple[int, list[int | None]] | None = None

    def search(i: int, used: frozenset[int], chosen: list[int | None], cost: int) -> None:
        nonlocal best
        if best is not None and cost >= best[0]:
            return
        if i == len(specs):
            best = (cost, list(chosen))
            return
        for j in range(len(calls)):
            if j not in used:
                search(i + 1, used | {j}, chosen + [j], cost + weight[i][j])
        search(i + 1, used, chosen + [None], cost + failing + 1)

    search(0, frozenset(), [], 0)
    assert best is not None
    matched = {k for k in best[1] if k is not None}
    unused = [k for k in range(len(calls)) if k not in matched]
    problems: list[str] = []
    for i, k in enumerate(best[1]):
        if k is not None:
            problems += table[i][k]
            continue
        nearest = min((table[i][u] for u in unused), key=len, default=None)
        problems += nearest or [f"expected a call to '{specs[i].name}', but no unmatched call is left"]
    return problems, sorted(order[k] for k in unused)
