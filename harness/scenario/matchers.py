"""Argument matching in the manner of BFCL's possible answers, with every mismatch named precisely.

A matcher answers "does this argument satisfy the spec?" with `None` (yes) or a sentence saying why not,
so a report can show `key 'location': expected one of ['San Francisco', 'SF'], got 'Paris'`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from harness.core.model import ToolCall
from harness.scenario.spec import ArgSpec, CallSpec, ResultRef

NOT_FOUND = object()
# Looks up the value an earlier tool returned; NOT_FOUND when no such result exists yet.
Resolver = Callable[[ResultRef], Any]


def normalize_text(value: str) -> str:
    """Case, accents, punctuation and whitespace runs do not matter: 'SF, CA' ~ 'sf ca'."""
    text = unicodedata.normalize("NFKD", value)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
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
    present = key in args
    value = args.get(key)
    accepted = list(spec.one_of or [])
    may_omit = spec.optional or "" in accepted
    if not present:
        return None if may_omit else f"key '{key}': missing (expected {_describe(spec)})"
    if spec.present:
        return None
    if spec.from_result is not None:
        ref = spec.from_result
        wanted = resolve(ref) if resolve else NOT_FOUND
        if wanted is NOT_FOUND:
            return f"key '{key}': expected the value {ref.tool} returned at '{ref.path}', but none exists"
        if not values_equal(wanted, value, normalize=spec.normalize):
            return f"key '{key}': expected {wanted!r} (from {ref.tool} result '{ref.path}'), got {value!r}"
        return None
    if spec.approx is not None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
            return f"key '{key}': expected a number near {spec.approx}, got {value!r:.80}"
        if abs(value - spec.approx) > spec.tolerance:
            return f"key '{key}': expected {spec.approx} ± {spec.tolerance}, got {value!r}"
        return None
    if spec.contains is not None:
        # A string contains the text; an array of strings (search terms, tags) has an item that does.
        texts = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        wanted = normalize_text(spec.contains)
        if not any(isinstance(t, str) and wanted in normalize_text(t) for t in texts):
            what = "an item containing" if isinstance(value, list) else "text containing"
            return f"key '{key}': expected {what} {spec.contains!r}, got {value!r:.120}"
        return None
    if not [a for a in accepted if a != ""]:
        return None  # only "may be omitted" was said: any value that is there is accepted
    candidates = [a for a in accepted if a != ""] if value != "" else accepted
    if any(values_equal(a, value, normalize=spec.normalize) for a in candidates):
        return None
    return f"key '{key}': expected {_describe(spec)}, got {value!r}"


def _describe(spec: ArgSpec) -> str:
    if spec.from_result is not None:
        return f"the value from {spec.from_result.tool} at '{spec.from_result.path}'"
    if spec.approx is not None:
        return f"{spec.approx} ± {spec.tolerance}"
    if spec.contains is not None:
        return f"text containing {spec.contains!r}"
    if spec.present:
        return "any value"
    shown = [a for a in spec.one_of or [] if a != ""]
    text = repr(shown[0]) if len(shown) == 1 else f"one of {shown!r}"
    return text + (" (normalised)" if spec.normalize else "")


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
