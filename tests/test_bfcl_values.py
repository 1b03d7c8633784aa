"""BFCL's parameter rules, one by one, on hand-built values (harness.packs.bfcl.values)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.packs.bfcl.values import check_value, standardize


def verdict(schema: dict[str, Any], options: list[Any], value: Any) -> str | None:
    mismatch = check_value("p", schema, options, value)
    return None if mismatch is None else mismatch.check


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
FLOAT = {"type": "float"}
BOOLEAN = {"type": "boolean"}
ANY = {"type": "any"}
DICT = {"type": "dict"}


def array(items: str, kind: str = "array") -> dict[str, Any]:
    return {"type": kind, "items": {"type": items}}


def test_standardize_drops_bfcls_punctuation_and_case_only() -> None:
    assert standardize("April 1, 2024") == standardize("april 1 2024") == "april12024"
    assert standardize("New-York_City/NY.*^") == "newyorkcityny"
    assert standardize("it's") == 'it"s'
    assert standardize("Hello!") != standardize("Hello")  # other punctuation counts
    assert standardize("Café") != standardize("Cafe")  # accents count


@pytest.mark.parametrize(
    ("schema", "options", "value", "expected"),
    [
        # strings: standardized, any possible answer
        (STRING, ["San Francisco, CA", "SF"], "san francisco ca", None),
        (STRING, ["San Francisco"], "Paris", "bfcl.wrong_value"),
        (STRING, ["San Francisco"], 7, "bfcl.wrong_type"),
        # integers: exact type, a bool is not an integer, a float is not an integer
        (INTEGER, [5], 5, None),
        (INTEGER, [5], 6, "bfcl.wrong_value"),
        (INTEGER, [1], True, "bfcl.wrong_type"),
        (INTEGER, [5], 5.0, "bfcl.wrong_type"),
        # floats: an integer is accepted at top level and compared by value
        (FLOAT, [5.0], 5, None),
        (FLOAT, [5.5], 5, "bfcl.wrong_value"),
        (FLOAT, [0.5], "0.5", "bfcl.wrong_type"),
        # booleans
        (BOOLEAN, [True], True, None),
        (BOOLEAN, [True], 1, "bfcl.wrong_type"),
        (BOOLEAN, [True], "true", "bfcl.wrong_type"),
        # `any` means a string
        (ANY, ["x"], "X", None),
        (ANY, ["x"], ["x"], "bfcl.wrong_type"),
        # answers of another type than declared ("variable"): that type is accepted, compared as is
        (STRING, [3], 3, None),
        (STRING, [3], "3", "bfcl.wrong_value"),
        (ANY, [1.5], 1.5, None),
    ],
)
def test_scalars(schema: dict[str, Any], options: list[Any], value: Any, expected: str | None) -> None:
    assert verdict(schema, options, value) == expected


def test_empty_string_marks_omission_and_matches_only_itself() -> None:
    assert verdict(STRING, ["", "metric"], "Metric") is None
    assert verdict(STRING, ["", "metric"], "") is None
    assert verdict(STRING, [""], "anything") == "bfcl.wrong_value"  # only "may be omitted": no value fits
    assert verdict(INTEGER, [""], 3) == "bfcl.wrong_value"


@pytest.mark.parametrize(
    ("schema", "options", "value", "expected"),
    [
        (array("string"), [["Paris", "New York"]], ["paris", "new york"], None),
        (array("string"), [["Paris", "Rome"]], ["Rome", "Paris"], "bfcl.wrong_value"),  # order counts
        (array("string"), [["Paris"]], ["Paris", "Paris"], "bfcl.wrong_value"),
        (array("string", "tuple"), [["a", "b"]], ["a", "b"], None),  # tuple is a list
        (array("integer"), [[1, 2]], [1, True], "bfcl.wrong_type"),  # items typed strictly
        (array("float"), [[1.0, 2.0]], [1.0, 2.0], None),
        (array("float"), [[1.0, 2.0]], [1, 2], "bfcl.wrong_type"),  # int for float only at top level
        (array("integer"), ["", [1]], [], None),  # "" reads as [] for lists
        (array("integer"), ["", [1]], ["x"], "bfcl.wrong_value"),  # a non-list option skips item types
        (array("array"), [[[1, 2], [3]]], [[1, 2], [3]], None),  # nested lists compared as is
        (array("array"), [[[1, 2], [3]]], [[3], [1, 2]], "bfcl.wrong_value"),
        (array("string"), [["a"]], "a", "bfcl.wrong_type"),
    ],
)
def test_arrays(schema: dict[str, Any], options: list[Any], value: Any, expected: str | None) -> None:
    assert verdict(schema, options, value) == expected


@pytest.mark.parametrize(
    ("options", "value", "expected"),
    [
        ([{"unit": ["celsius", "C"], "days": [3]}], {"unit": "Celsius", "days": 3}, None),
        ([{"unit": ["celsius"], "days": [3]}], {"unit": "celsius"}, "bfcl.wrong_value"),  # key missing
        ([{"unit": ["celsius"], "days": ["", 3]}], {"unit": "celsius"}, None),  # key may be omitted
        ([{"unit": ["celsius"]}], {"unit": "celsius", "extra": 1}, "bfcl.wrong_value"),  # unknown key
        ([{"unit": ["celsius"]}, {"unit": ["kelvin"]}], {"unit": "kelvin"}, None),  # any possible dict
        ([{"days": [3]}], {"days": 3.0}, None),  # dict values compared with ==
        ([""], {"unit": "x"}, "bfcl.wrong_value"),  # only "may be omitted"
        ([{"unit": ["celsius"]}], "celsius", "bfcl.wrong_type"),
    ],
)
def test_dicts(options: list[Any], value: Any, expected: str | None) -> None:
    assert verdict(DICT, options, value) == expected


def test_lists_of_dicts_match_item_by_item_in_order() -> None:
    schema = array("dict")
    options = [[{"name": ["Ann"], "age": [30]}, {"name": ["Bob"], "age": ["", 40]}]]
    assert verdict(schema, options, [{"name": "ann", "age": 30}, {"name": "Bob"}]) is None
    assert verdict(schema, options, [{"name": "Bob"}, {"name": "ann", "age": 30}]) == "bfcl.wrong_value"
    assert verdict(schema, options, [{"name": "ann", "age": 30}]) == "bfcl.wrong_value"
    assert verdict(schema, options, ["ann", {"name": "Bob"}]) == "bfcl.wrong_type"


def test_a_mismatch_carries_the_evidence() -> None:
    mismatch = check_value("city", STRING, ["Paris", "", "Lyon"], "Rome")
    assert mismatch is not None
    assert mismatch.expected == ["Paris", "Lyon"]
    assert mismatch.actual == "Rome"
    assert mismatch.message == (
        "parameter 'city': expected one of ['Paris', 'Lyon'] (compared standardized), got 'Rome'"
    )
    typed = check_value("days", array("float"), [[1.0]], [1])
    assert typed is not None
    assert typed.message == "parameter 'days': expected array of float, got array [1]"
