"""BFCL's verdict on a reply (harness.packs.bfcl.checker.judge), one rule per test, on hand-built entries."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.core.model import ToolCall
from harness.packs.bfcl.categories import CATEGORIES
from harness.packs.bfcl.checker import CHECKS, judge
from harness.packs.bfcl.data import BfclEntry

WEATHER = {
    "name": "weather.get",
    "description": "Weather for a city.",
    "parameters": {
        "type": "dict",
        "properties": {
            "city": {"type": "string", "description": "City"},
            "unit": {"type": "string", "description": "Unit", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "description": "Days"},
        },
        "required": ["city"],
    },
}
TIME = {
    "name": "time_now",
    "description": "Time in a zone.",
    "parameters": {"type": "dict", "properties": {"zone": {"type": "string"}}, "required": ["zone"]},
}


def entry(category: str, answers: list[Any] | None, functions: list[Any] | None = None) -> BfclEntry:
    return BfclEntry(
        id=f"{category}_0",
        category=CATEGORIES[category],
        question=[[{"role": "user", "content": "?"}]],
        functions=functions or [WEATHER],
        answers=answers,
        file="test.json",
        line=1,
    )


def call(name: str | None, arguments: Any, raw: str | None = None) -> ToolCall:
    text = raw if raw is not None else json.dumps(arguments)
    return ToolCall(name=name, arguments_raw=text, arguments=arguments)


PARIS = {"weather.get": {"city": ["Paris", "Paris, France"], "unit": ["", "celsius"], "days": [3]}}
SIMPLE = entry("simple_python", [PARIS])


def checks(findings: list[Any]) -> list[str]:
    return [f.check for f in findings if f.severity == "violation"]


def test_a_matching_call_passes() -> None:
    assert judge(SIMPLE, [call("weather_get", {"city": "paris, france", "days": 3})]) == []
    assert judge(SIMPLE, [call("weather_get", {"city": "Paris", "unit": "Celsius", "days": 3})]) == []


def test_the_dotted_name_is_sent_with_underscores_and_the_dotted_one_is_wrong() -> None:
    [finding] = judge(SIMPLE, [call("weather.get", {"city": "Paris", "days": 3})])
    assert finding.check == "bfcl.wrong_function"
    assert (finding.expected, finding.actual) == ("weather_get", "weather.get")
    assert finding.message == "expected a call to 'weather_get', got 'weather.get'"


def test_every_parameter_problem_is_reported() -> None:
    findings = judge(SIMPLE, [call("weather_get", {"unit": "kelvin", "days": "3", "zone": "x"})])
    assert sorted(checks(findings)) == [
        "bfcl.missing_param",
        "bfcl.unexpected_param",
        "bfcl.wrong_type",
        "bfcl.wrong_value",
    ]
    assert [f.message for f in findings] == [
        "weather_get: parameter 'city' is missing",
        "weather_get: parameter 'unit': expected one of ['celsius'] (compared standardized), got 'kelvin'",
        "weather_get: parameter 'days': expected integer, got string '3'",
        "weather_get: parameter 'zone' is not in the function",
    ]
    assert all(f.turn == 1 for f in findings)


def test_a_parameter_the_answers_need_is_missing_even_when_not_required() -> None:
    [finding] = judge(SIMPLE, [call("weather_get", {"city": "Paris"})])
    assert finding.check == "bfcl.missing_param"
    assert finding.expected == [3]


def test_a_documented_parameter_absent_from_the_answers_is_unexpected() -> None:
    answers = [{"weather.get": {"city": ["Paris"]}}]
    [finding] = judge(entry("simple_python", answers), [call("weather_get", {"city": "Paris", "days": 2})])
    assert finding.check == "bfcl.unexpected_param"
    assert finding.message == "weather_get: parameter 'days' is not in the possible answers"


@pytest.mark.parametrize("calls", [[], [call("weather_get", {"city": "Paris", "days": 3})] * 2])
def test_simple_and_multiple_need_exactly_one_call(calls: list[ToolCall]) -> None:
    for category in ("simple_python", "multiple", "live_simple", "live_multiple"):
        assert checks(judge(entry(category, [PARIS]), calls)) == ["bfcl.wrong_count"]


def test_multiple_judges_the_expected_function_among_several() -> None:
    multiple = entry("multiple", [PARIS], functions=[TIME, WEATHER])
    assert judge(multiple, [call("weather_get", {"city": "Paris", "days": 3})]) == []
    assert checks(judge(multiple, [call("time_now", {"zone": "CET"})])) == ["bfcl.wrong_function"]


def test_unparsable_or_non_object_arguments_fail_as_bfcl_decoding_does() -> None:
    [unparsable] = judge(SIMPLE, [call("weather_get", None, raw='{"city": ')])
    assert unparsable.check == "bfcl.unparsable_arguments"
    assert unparsable.actual == '{"city": '
    [listed] = judge(SIMPLE, [call("weather_get", [1])])
    assert listed.check == "bfcl.arguments_not_object"
    # Python's json rules, as BFCL's: NaN parses (and is then simply a wrong value)
    assert checks(judge(SIMPLE, [call("weather_get", None, raw='{"city": "Paris", "days": NaN}')])) == [
        "bfcl.wrong_type"
    ]


TWO_CITIES = [
    {"weather.get": {"city": ["Paris"], "unit": [""], "days": ["", 3]}},
    {"weather.get": {"city": ["Rome"], "unit": [""], "days": ["", 3]}},
    {"time_now": {"zone": ["CET"]}},
]


def test_parallel_calls_match_in_any_order() -> None:
    parallel = entry("parallel_multiple", TWO_CITIES, functions=[WEATHER, TIME])
    calls = [call("time_now", {"zone": "cet"}), call("weather_get", {"city": "Rome"}),
             call("weather_get", {"city": "Paris", "days": 3})]  # fmt: skip
    assert judge(parallel, calls) == []


def test_a_parallel_mismatch_is_explained_by_the_closest_call_to_that_function() -> None:
    parallel = entry("parallel", TWO_CITIES[:2])
    calls = [call("weather_get", {"city": "Paris"}), call("weather_get", {"city": "Milan"})]
    findings = judge(parallel, calls)
    [finding] = findings
    assert finding.check == "bfcl.wrong_value"
    assert finding.message.startswith("expected call 2 vs call 2: weather_get: parameter 'city'")


def test_a_parallel_count_mismatch_says_which_call_is_missing() -> None:
    parallel = entry("parallel_multiple", TWO_CITIES, functions=[WEATHER, TIME])
    calls = [call("weather_get", {"city": "Paris"}), call("weather_get", {"city": "Rome"})]
    findings = judge(parallel, calls)
    assert checks(findings) == ["bfcl.wrong_count", "bfcl.missing_call"]
    assert findings[1].expected == "time_now"


def test_parallel_matching_is_greedy_in_the_expected_order_as_in_bfcl() -> None:
    """Expected call 1 accepts both calls and takes the first; expected call 2 then finds none left that
    fits, although swapping would fit both. BFCL fails this reply; so do we, to keep scores comparable."""
    answers = [
        {"weather.get": {"city": ["Paris", "Rome"], "unit": [""], "days": [""]}},
        {"weather.get": {"city": ["Paris"], "unit": [""], "days": [""]}},
    ]
    calls = [call("weather_get", {"city": "Paris"}), call("weather_get", {"city": "Rome"})]
    assert checks(judge(entry("parallel", answers), calls)) == ["bfcl.wrong_value"]
    assert judge(entry("parallel", answers), list(reversed(calls))) == []


def test_irrelevance_passes_only_without_a_call() -> None:
    irrelevance = entry("irrelevance", None)
    assert judge(irrelevance, []) == []
    [finding] = judge(irrelevance, [call("weather_get", {})])
    assert finding.check == "bfcl.unexpected_call"
    assert finding.message == "expected no call (no function fits), got ['weather_get']"


def test_irrelevance_counts_an_undecodable_call_as_no_call_and_keeps_it_as_a_warning() -> None:
    [warning] = judge(entry("live_irrelevance", None), [call("weather_get", None, raw="")])
    assert (warning.check, warning.severity) == ("bfcl.unparsable_arguments", "warning")


def test_relevance_passes_only_with_a_decodable_call() -> None:
    relevance = entry("live_relevance", None)
    assert judge(relevance, [call("weather_get", {})]) == []
    [finding] = judge(relevance, [])
    assert finding.check == "bfcl.no_call"
    assert checks(judge(relevance, [call("weather_get", "text")])) == ["bfcl.no_call"]


def test_every_reported_check_is_declared() -> None:
    assert all(c.startswith("bfcl.") for c in CHECKS)
