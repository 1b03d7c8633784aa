"""One parameter value against BFCL's possible answers, with the semantics of BFCL's AST checker.

These rules are BFCL's, quirks included, because the point is a score comparable with the leaderboard
(docs/bfcl.md lists each rule and where it is stricter or looser than our YAML matchers):

- the declared type is checked exactly (`type(v) is T`: a bool is not an integer), except that an
  integer is accepted for a top-level `float` parameter; `tuple` means a list and `any` a string;
- when the possible answers are of another type than the declared one (BFCL calls this a "variable"),
  a value of the answers' type is accepted and compared as is;
- arrays check their items' declared type one level deep, and accept any items when some possible
  answer is not a list (e.g. `""`);
- strings, strings in a list, and string values of a dict are compared after `standardize`;
- a dict matches when some possible dict has every key it gives, with an accepted value, and it gives
  every key that cannot be omitted; a list of dicts matches item by item, in order;
- everything else is compared with Python's `==` against each possible answer (so `5 == 5.0`).

`""` among the answers marks a parameter that may be omitted; it is never a value a present parameter
can match except `""` itself (and, for lists, `[]`, as in BFCL).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# BFCL parameter type -> the Python type a JSON value must have (BFCL's PYTHON_TYPE_MAPPING).
PYTHON_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
_WITH_ITEMS = ("array", "tuple")
_IGNORED = str.maketrans("", "", " ,./-_*^")


def standardize(text: str) -> str:
    """BFCL's string normalisation: drop spaces and `,./-_*^`, lower-case, single quotes to double.

    So 'April 1, 2024' ~ 'april 1 2024' and "New York" ~ 'new-york'; other punctuation and accents count.
    """
    return text.translate(_IGNORED).lower().replace("'", '"')


@dataclass(frozen=True)
class Mismatch:
    """Why a value does not satisfy its possible answers (`bfcl.wrong_type` or `bfcl.wrong_value`)."""

    check: str
    message: str
    expected: Any
    actual: Any


def check_value(param: str, schema: dict[str, Any], options: list[Any], value: Any) -> Mismatch | None:
    """None when `value` of parameter `param` (declared by `schema`) matches one of `options`."""
    declared = schema["type"]
    expected = PYTHON_TYPES[declared]
    item_type = PYTHON_TYPES[schema["items"]["type"]] if declared in _WITH_ITEMS else None
    if declared == "float" and type(value) is int:
        value = float(value)
    typed = _type_check(value, options, expected, item_type)
    if typed is None:
        items = f" of {schema['items']['type']}" if item_type is not None else ""
        return Mismatch(
            "bfcl.wrong_type",
            f"parameter '{param}': expected {declared}{items}, got {_type_name(value)} {value!r:.120}",
            f"{declared}{items}",
            value,
        )
    if typed == "variable":
        matched = value in options
    elif expected is dict:
        matched = _dict_matches(value, options)
    elif expected is list and item_type is dict:
        matched = _dicts_match(value, options)
    elif expected is str:
        matched = standardize(value) in [standardize(o) for o in options if type(o) is str]
    elif expected is list:
        matched = _list_matches(value, options)
    else:
        matched = value in options
    if matched:
        return None
    shown = [o for o in options if o != ""]
    how = " (compared standardized)" if expected is str and typed != "variable" else ""
    message = f"parameter '{param}': expected one of {shown!r}{how}, got {value!r}"
    return Mismatch("bfcl.wrong_value", message, shown, value)


def _answer_type(options: list[Any]) -> type | None:
    """The type of the first possible answer that is not `""` (None when only `""` is given)."""
    return next((type(o) for o in options if o != ""), None)


def _type_check(value: Any, options: list[Any], expected: type, item_type: type | None) -> str | None:
    """'typed' or 'variable' when the type is accepted (how to compare next), None when it is not."""
    answers = _answer_type(options)
    variable = answers is not None and answers is not expected
    if type(value) is expected:
        if item_type is None or any(_items_typed(value, option, item_type) for option in options):
            return "variable" if variable else "typed"
        return None
    if answers is not None and type(value) is answers:
        return "variable"
    return None


def _items_typed(value: Any, option: Any, item_type: type) -> bool:
    """Every item has the declared item type (or the option's own item type); a non-list option
    (such as `""`) accepts any items, one level deep only, as in BFCL."""
    if type(option) is not list:
        return True
    answers = _answer_type(option)
    return all(type(item) is item_type or (answers is not None and type(item) is answers) for item in value)


def _standard(value: Any) -> Any:
    return standardize(value) if type(value) is str else value


def _list_matches(value: list[Any], options: list[Any]) -> bool:
    """Items compared in order, strings standardized; a possible answer `""` reads as `[]`."""
    mine = [_standard(v) for v in value]
    for option in options:
        if isinstance(option, list | str) and mine == [_standard(o) for o in option]:
            return True
    return False


def _dict_matches(value: dict[str, Any], options: list[Any]) -> bool:
    return any(_one_dict_matches(value, option) for option in options if option != "")


def _one_dict_matches(value: Any, option: Any) -> bool:
    if not isinstance(value, dict) or not isinstance(option, dict):
        return False
    for key, given in value.items():
        if key not in option or _standard(given) not in [_standard(o) for o in option[key]]:
            return False
    return all(key in value or "" in accepted for key, accepted in option.items())


def _dicts_match(value: list[Any], options: list[Any]) -> bool:
    """A list of dicts: same length as a possible list, each dict matching its counterpart in order."""
    for option in options:
        if not isinstance(option, list | str) or len(option) != len(value):
            continue
        if all(_one_dict_matches(v, o) for v, o in zip(value, option, strict=True)):
            return True
    return False


def _type_name(value: Any) -> str:
    names = {str: "string", int: "integer", float: "float", bool: "boolean", list: "array", dict: "dict"}
    return names.get(type(value), type(value).__name__)
