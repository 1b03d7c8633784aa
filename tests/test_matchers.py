"""Argument matching (`harness/matchers.py`) and the YAML vocabulary it reads (`ArgSpec`, `harness/spec.py`).

Proves that every matcher kind (exact, one_of, "" = may be omitted, normalize, approx, optional,
from_result, contains, present, no_extra_arguments) accepts what docs/scenarios.md says it accepts and
rejects the rest with a message naming the key, the expectation and the value got; and that parallel
calls are paired with their specs in any order. Inputs are built the way the runner builds them: call
specs parsed from scenario YAML, tool calls from the model's `function.arguments` text by the wire
parser, earlier tool results held by the tool simulator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from harness.conformance.expectations import Conversation, evaluate
from harness.conformance.stream import read_arguments
from harness.core.model import Reply, ToolCall
from harness.scenario.matchers import (
    Resolver,
    assign_calls,
    check_argument,
    check_arguments,
    check_call,
    normalize_text,
)
from harness.scenario.simulator import Execution, ToolSimulator
from harness.scenario.spec import ArgSpec, CallSpec, Expect, ResolvedScenario, Scenario

# ------------------------------------------------------------------------------------------ builders


def spec(text: str) -> CallSpec:
    """A call spec from the YAML a scenario holds, e.g. `{name: get_weather, arguments: {unit: celsius}}`."""
    return CallSpec.model_validate(yaml.safe_load(text))


def call(name: str, arguments: str) -> ToolCall:
    """A tool call as the wire parser builds it from the model's `function.arguments` text."""
    parsed, _ = read_arguments(arguments)
    return parsed.model_copy(update={"name": name})


def simulator(results: Mapping[str, Any]) -> ToolSimulator:
    """A tool simulator in which each tool of `results` was called in turn 1 and returned its value."""
    tools = [{"function": {"name": n}, "behaviour": [{"match": {}, "result": r}]} for n, r in results.items()]
    scenario = Scenario.model_validate(
        {"id": "t", "description": "t", "family": "chained", "tools": tools, "messages": [{"role": "user"}]}
    )
    sim = ToolSimulator(ResolvedScenario(scenario=scenario, tools=scenario.tools, file="t.yaml", line=1))
    for name in results:
        sim.execute(call(name, "{}"), turn=1)
    return sim


def judge(spec_yaml: str, arguments: str, resolve: Resolver | None = None) -> list[str]:
    """The problems `check_call` finds with a call to the spec's own tool carrying `arguments`."""
    expected = spec(spec_yaml)
    return check_call(expected, call(expected.name, arguments), resolve)


# ------------------------------------------------------------------------------------------ matchers

WEATHER_ONE_OF = "{name: get_weather, arguments: {location: [San Francisco, SF]}}"
UNIT_OR_OMITTED = "{name: get_weather, arguments: {unit: ['', celsius, fahrenheit]}}"
SYMBOL_NORMALISED = "{name: get_stock_quote, arguments: {symbol: {one_of: [NVDA], normalize: true}}}"
CITY_NORMALISED = (
    "{name: get_weather, arguments: {location: {one_of: ['San Francisco, CA'], normalize: true}}}"
)
AMOUNT_APPROX = "{name: convert_currency, arguments: {amount: {approx: 3412.8, tolerance: 0.05}}}"
UNIT_OPTIONAL = "{name: get_weather, arguments: {unit: {one_of: [celsius], optional: true}}}"
LOCATION_CONTAINS = "{name: get_weather, arguments: {location: {contains: San Francisco}}}"
TERMS_PRESENT = "{name: searchBooks, arguments: {search_terms: {present: true}}}"
TARGET_OBJECT = "{name: set_thermostat, arguments: {target: {one_of: [{value: 21, unit: celsius}]}}}"
ATTENDEES_ARRAY = "{name: create_calendar_event, arguments: {attendees: {one_of: [[ana, bo]]}}}"

MATCHER_CASES = [
    # exact value (a scalar in YAML)
    pytest.param(
        "{name: get_weather, arguments: {unit: celsius}}", '{"unit": "celsius"}', [], id="exact-pass"
    ),
    pytest.param(
        "{name: get_weather, arguments: {unit: celsius}}",
        '{"unit": "kelvin"}',
        ["get_weather: key 'unit': expected 'celsius', got 'kelvin'"],
        id="exact-fail",
    ),
    pytest.param(
        "{name: get_weather, arguments: {unit: celsius}}",
        "{}",
        ["get_weather: key 'unit': missing (expected 'celsius')"],
        id="exact-missing-fail",
    ),
    pytest.param(TARGET_OBJECT, '{"target": {"unit": "celsius", "value": 21.0}}', [], id="exact-object-pass"),
    pytest.param(
        TARGET_OBJECT,
        '{"target": {"value": 21, "unit": "celsius", "mode": "heat"}}',
        [
            "set_thermostat: key 'target': expected {'value': 21, 'unit': 'celsius'}, "
            "got {'value': 21, 'unit': 'celsius', 'mode': 'heat'}"
        ],
        id="exact-object-extra-key-fail",
    ),
    pytest.param(ATTENDEES_ARRAY, '{"attendees": ["ana", "bo"]}', [], id="exact-array-pass"),
    pytest.param(
        ATTENDEES_ARRAY,
        '{"attendees": ["bo", "ana"]}',
        ["create_calendar_event: key 'attendees': expected ['ana', 'bo'], got ['bo', 'ana']"],
        id="exact-array-other-order-fail",
    ),
    # one_of (a list in YAML, or the mapping form)
    pytest.param(WEATHER_ONE_OF, '{"location": "SF"}', [], id="one_of-pass"),
    pytest.param(
        WEATHER_ONE_OF,
        '{"location": "Paris"}',
        ["get_weather: key 'location': expected one of ['San Francisco', 'SF'], got 'Paris'"],
        id="one_of-fail",
    ),
    pytest.param(
        "{name: get_weather, arguments: {location: {one_of: [San Francisco, SF]}}}",
        '{"location": "San Francisco"}',
        [],
        id="one_of-mapping-form-pass",
    ),
    # "" among the accepted values: the key may be omitted
    pytest.param(UNIT_OR_OMITTED, '{"location": "Paris"}', [], id="empty-omitted-pass"),
    pytest.param(UNIT_OR_OMITTED, '{"unit": "fahrenheit"}', [], id="empty-listed-value-pass"),
    pytest.param(UNIT_OR_OMITTED, '{"unit": ""}', [], id="empty-string-sent-pass"),
    pytest.param(
        UNIT_OR_OMITTED,
        '{"unit": "kelvin"}',
        ["get_weather: key 'unit': expected one of ['celsius', 'fahrenheit'], got 'kelvin'"],
        id="empty-other-value-fail",
    ),
    pytest.param(
        UNIT_OR_OMITTED,
        '{"unit": null}',
        ["get_weather: key 'unit': expected one of ['celsius', 'fahrenheit'], got None"],
        id="empty-null-is-not-omission-fail",
    ),
    pytest.param(
        WEATHER_ONE_OF,
        '{"unit": "celsius"}',
        ["get_weather: key 'location': missing (expected one of ['San Francisco', 'SF'])"],
        id="omitted-without-empty-fail",
    ),
    pytest.param(
        "{name: get_weather, arguments: {unit: ['']}}",
        '{"unit": "kelvin"}',
        [],
        id="empty-alone-any-value-pass",
    ),
    # normalize: only when asked for
    pytest.param(SYMBOL_NORMALISED, '{"symbol": " nvda. "}', [], id="normalize-case-space-punct-pass"),
    pytest.param(CITY_NORMALISED, '{"location": "san   francisco ca"}', [], id="normalize-comma-spaces-pass"),
    pytest.param(
        "{name: get_weather, arguments: {location: {one_of: [Sao Paulo], normalize: true}}}",
        '{"location": "SÃO PAULO"}',
        [],
        id="normalize-accents-pass",
    ),
    pytest.param(
        "{name: x, arguments: {cities: {one_of: [[New York, Paris]], normalize: true}}}",
        '{"cities": ["new york", "PARIS!"]}',
        [],
        id="normalize-inside-array-pass",
    ),
    pytest.param(
        SYMBOL_NORMALISED,
        '{"symbol": "AAPL"}',
        ["get_stock_quote: key 'symbol': expected 'NVDA' (normalised), got 'AAPL'"],
        id="normalize-fail",
    ),
    pytest.param(
        CITY_NORMALISED,
        '{"location": "San Francisco"}',
        ["get_weather: key 'location': expected 'San Francisco, CA' (normalised), got 'San Francisco'"],
        id="normalize-is-not-contains-fail",
    ),
    pytest.param(
        "{name: get_stock_quote, arguments: {symbol: NVDA}}",
        '{"symbol": "nvda"}',
        ["get_stock_quote: key 'symbol': expected 'NVDA', got 'nvda'"],
        id="no-normalize-case-fail",
    ),
    pytest.param(
        "{name: get_stock_quote, arguments: {symbol: NVDA}}",
        '{"symbol": "NVDA "}',
        ["get_stock_quote: key 'symbol': expected 'NVDA', got 'NVDA '"],
        id="no-normalize-whitespace-fail",
    ),
    pytest.param(
        "{name: get_stock_quote, arguments: {symbol: NVDA}}",
        '{"symbol": "NVDA."}',
        ["get_stock_quote: key 'symbol': expected 'NVDA', got 'NVDA.'"],
        id="no-normalize-punctuation-fail",
    ),
    # numbers: int ~ float, but never bool ~ number or "3" ~ 3
    pytest.param(
        "{name: book_restaurant, arguments: {party_size: 3}}",
        '{"party_size": 3.0}',
        [],
        id="int-vs-float-pass",
    ),
    pytest.param(
        "{name: convert_currency, arguments: {amount: 3.0}}", '{"amount": 3}', [], id="float-vs-int-pass"
    ),
    pytest.param(
        "{name: book_restaurant, arguments: {party_size: 1}}",
        '{"party_size": true}',
        ["book_restaurant: key 'party_size': expected 1, got True"],
        id="bool-for-int-fail",
    ),
    pytest.param(
        "{name: create_calendar_event, arguments: {send_invites: true}}",
        '{"send_invites": 1}',
        ["create_calendar_event: key 'send_invites': expected True, got 1"],
        id="int-for-bool-fail",
    ),
    pytest.param(
        "{name: create_calendar_event, arguments: {send_invites: false}}",
        '{"send_invites": false}',
        [],
        id="bool-pass",
    ),
    pytest.param(
        "{name: book_restaurant, arguments: {party_size: 3}}",
        '{"party_size": "3"}',
        ["book_restaurant: key 'party_size': expected 3, got '3'"],
        id="numeric-string-for-int-fail",
    ),
    # approx + tolerance
    pytest.param(AMOUNT_APPROX, '{"amount": 3412.84}', [], id="approx-within-pass"),
    pytest.param(
        "{name: x, arguments: {n: {approx: 10, tolerance: 0.5}}}",
        '{"n": 10.5}',
        [],
        id="approx-edge-inclusive-pass",
    ),
    pytest.param(
        "{name: x, arguments: {n: {approx: 0.3}}}", '{"n": 0.30000000000000004}', [], id="approx-default-pass"
    ),
    pytest.param("{name: x, arguments: {n: {approx: 3}}}", '{"n": 3}', [], id="approx-int-pass"),
    pytest.param(
        AMOUNT_APPROX,
        '{"amount": 3413}',
        ["convert_currency: key 'amount': expected 3412.8 ± 0.05, got 3413"],
        id="approx-outside-fail",
    ),
    pytest.param(
        "{name: x, arguments: {n: {approx: 3}}}",
        '{"n": 3.001}',
        ["x: key 'n': expected 3.0 ± 1e-06, got 3.001"],
        id="approx-default-tolerance-fail",
    ),
    pytest.param(
        AMOUNT_APPROX,
        '{"amount": "3412.8"}',
        ["convert_currency: key 'amount': expected a number near 3412.8, got '3412.8'"],
        id="approx-numeric-string-fail",
    ),
    pytest.param(
        "{name: x, arguments: {n: {approx: 1}}}",
        '{"n": true}',
        ["x: key 'n': expected a number near 1.0, got True"],
        id="approx-bool-fail",
    ),
    pytest.param(
        AMOUNT_APPROX,
        "{}",
        ["convert_currency: key 'amount': missing (expected 3412.8 ± 0.05)"],
        id="approx-missing-fail",
    ),
    # optional
    pytest.param(UNIT_OPTIONAL, "{}", [], id="optional-omitted-pass"),
    pytest.param(UNIT_OPTIONAL, '{"unit": "celsius"}', [], id="optional-present-pass"),
    pytest.param(
        UNIT_OPTIONAL,
        '{"unit": "kelvin"}',
        ["get_weather: key 'unit': expected 'celsius', got 'kelvin'"],
        id="optional-present-wrong-fail",
    ),
    # contains (always normalised, a substring)
    pytest.param(LOCATION_CONTAINS, '{"location": "San Francisco, CA"}', [], id="contains-pass"),
    pytest.param(LOCATION_CONTAINS, '{"location": "san-francisco"}', [], id="contains-normalised-pass"),
    pytest.param(
        LOCATION_CONTAINS,
        '{"location": "Paris"}',
        ["get_weather: key 'location': expected text containing 'San Francisco', got 'Paris'"],
        id="contains-fail",
    ),
    pytest.param(
        LOCATION_CONTAINS, '{"location": ["weather", "San Francisco"]}', [], id="contains-array-item-pass"
    ),
    pytest.param(
        LOCATION_CONTAINS,
        '{"location": ["San", "Francisco"]}',
        [
            "get_weather: key 'location': expected an item containing 'San Francisco', "
            "got ['San', 'Francisco']"
        ],
        id="contains-array-no-item-fail",
    ),
    pytest.param(
        LOCATION_CONTAINS,
        '{"location": {"city": "San Francisco"}}',
        [
            "get_weather: key 'location': expected text containing 'San Francisco', "
            "got {'city': 'San Francisco'}"
        ],
        id="contains-object-fail",
    ),
    pytest.param(
        LOCATION_CONTAINS,
        "{}",
        ["get_weather: key 'location': missing (expected text containing 'San Francisco')"],
        id="contains-missing-fail",
    ),
    # present
    pytest.param(TERMS_PRESENT, '{"search_terms": ["joyce"]}', [], id="present-pass"),
    pytest.param(TERMS_PRESENT, '{"search_terms": null}', [], id="present-null-pass"),
    pytest.param(
        TERMS_PRESENT,
        "{}",
        ["searchBooks: key 'search_terms': missing (expected any value)"],
        id="present-fail",
    ),
    pytest.param(
        "{name: searchBooks, arguments: {search_terms: {present: true, optional: true}}}",
        "{}",
        [],
        id="present-optional-omitted-pass",
    ),
    # a bare mapping with no matcher field: the key must be there, any value; the message is vague
    pytest.param("{name: x, arguments: {k: {}}}", '{"k": 42}', [], id="empty-spec-pass"),
    pytest.param(
        "{name: x, arguments: {k: {}}}",
        "{}",
        ["x: key 'k': missing (expected one of [])"],
        id="empty-spec-fail",
    ),
    # unexpected extra keys: ignored unless no_extra_arguments
    pytest.param(WEATHER_ONE_OF, '{"location": "SF", "units": "c"}', [], id="extra-key-ignored-pass"),
    pytest.param(
        "{name: get_weather, arguments: {location: SF}, no_extra_arguments: true}",
        '{"location": "SF"}',
        [],
        id="no_extra-pass",
    ),
    pytest.param(
        "{name: get_weather, arguments: {location: SF}, no_extra_arguments: true}",
        '{"location": "SF", "units": "c"}',
        ["get_weather: key 'units': not expected"],
        id="no_extra-fail",
    ),
    pytest.param(
        "{name: get_weather, arguments: {location: SF, unit: celsius}, no_extra_arguments: true}",
        '{"location": "LA", "units": "c"}',
        [
            "get_weather: key 'location': expected 'SF', got 'LA'",
            "get_weather: key 'unit': missing (expected 'celsius')",
            "get_weather: key 'units': not expected",
        ],
        id="every-problem-reported-in-spec-order",
    ),
]


@pytest.mark.parametrize(("spec_yaml", "arguments", "problems"), MATCHER_CASES)
def test_argument_matchers(spec_yaml: str, arguments: str, problems: list[str]) -> None:
    assert judge(spec_yaml, arguments) == problems


# ------------------------------------------------------------------------------------------ from_result

PRODUCT = "{name: getProductDetails, arguments: {productId: {from_result: {tool: searchProducts, path: %s}}}}"
SEARCH_RESULT = {"results": [{"productId": "P-30417"}, {"productId": "P-51120"}]}
FIRST_ID = PRODUCT % "results.0.productId"

FROM_RESULT_CASES = [
    pytest.param(FIRST_ID, '{"productId": "P-30417"}', [], id="pass"),
    pytest.param(PRODUCT % "results.-1.productId", '{"productId": "P-51120"}', [], id="negative-index-pass"),
    pytest.param(
        FIRST_ID,
        '{"productId": "P-99999"}',
        [
            "getProductDetails: key 'productId': expected 'P-30417' (from searchProducts result "
            "'results.0.productId'), got 'P-99999'"
        ],
        id="other-value-fail",
    ),
    pytest.param(
        FIRST_ID,
        '{"productId": "p-30417"}',
        [
            "getProductDetails: key 'productId': expected 'P-30417' (from searchProducts result "
            "'results.0.productId'), got 'p-30417'"
        ],
        id="not-normalised-by-default-fail",
    ),
    pytest.param(
        "{name: getProductDetails, arguments: {productId: "
        "{from_result: {tool: searchProducts, path: results.0.productId}, normalize: true}}}",
        '{"productId": "p 30417"}',
        [],
        id="normalize-pass",
    ),
    pytest.param(
        PRODUCT % "results.5.productId",
        '{"productId": "P-30417"}',
        [
            "getProductDetails: key 'productId': expected the value searchProducts returned at "
            "'results.5.productId', but none exists"
        ],
        id="path-leads-nowhere-fail",
    ),
    pytest.param(
        FIRST_ID,
        "{}",
        [
            "getProductDetails: key 'productId': missing (expected the value from searchProducts at "
            "'results.0.productId')"
        ],
        id="missing-fail",
    ),
]


@pytest.mark.parametrize(("spec_yaml", "arguments", "problems"), FROM_RESULT_CASES)
def test_from_result(spec_yaml: str, arguments: str, problems: list[str]) -> None:
    resolve = simulator({"searchProducts": SEARCH_RESULT}).resolver(before_turn=2)
    assert judge(spec_yaml, arguments, resolve) == problems


def test_from_result_is_type_aware() -> None:
    resolve = simulator({"searchBooks": [{"id": 4300}]}).resolver(before_turn=2)
    book = "{name: getBookDetails, arguments: {book_id: {from_result: {tool: searchBooks, path: '0.id'}}}}"
    assert judge(book, '{"book_id": 4300.0}', resolve) == []
    assert judge(book, '{"book_id": "4300"}', resolve) == [
        "getBookDetails: key 'book_id': expected 4300 (from searchBooks result '0.id'), got '4300'"
    ]


@pytest.mark.parametrize(
    "resolve",
    [
        pytest.param(simulator({"searchProducts": SEARCH_RESULT}).resolver(before_turn=1), id="same-turn"),
        pytest.param(simulator({"getProductDetails": {}}).resolver(before_turn=2), id="tool-never-ran"),
        pytest.param(None, id="no-resolver"),
    ],
)
def test_from_result_needs_a_result_from_an_earlier_turn(resolve: Resolver | None) -> None:
    assert judge(FIRST_ID, '{"productId": "P-30417"}', resolve) == [
        "getProductDetails: key 'productId': expected the value searchProducts returned at "
        "'results.0.productId', but none exists"
    ]


def test_from_result_uses_the_latest_result() -> None:
    sim = simulator({"searchProducts": SEARCH_RESULT})
    sim.executions.append(Execution(2, call("searchProducts", "{}"), {"results": [{"productId": "N"}]}, ""))
    assert judge(FIRST_ID, '{"productId": "N"}', sim.resolver(before_turn=3)) == []
    assert judge(FIRST_ID, '{"productId": "P-30417"}', sim.resolver(before_turn=2)) == []


# ------------------------------------------------------------------------------------------ one call


@pytest.mark.parametrize(
    ("spec_yaml", "name", "arguments", "problems"),
    [
        pytest.param(
            WEATHER_ONE_OF,
            "get_stock_quote",
            '{"location": "SF"}',
            ["expected a call to 'get_weather', got 'get_stock_quote'"],
            id="wrong-tool-fail",
        ),
        pytest.param(
            WEATHER_ONE_OF,
            "get_weather",
            '["SF"]',
            ["get_weather: arguments are not a JSON object ('[\"SF\"]')"],
            id="array-arguments-fail",
        ),
        pytest.param(
            WEATHER_ONE_OF,
            "get_weather",
            "{location: SF}",
            ["get_weather: arguments are not a JSON object ('{location: SF}')"],
            id="invalid-json-fail",
        ),
        pytest.param("{name: get_current_time}", "get_current_time", "{}", [], id="no-arguments-pass"),
        # Surprising: a spec without arguments accepts arguments that are not JSON at all, even with
        # no_extra_arguments (the separate wire checks report the invalid JSON).
        pytest.param(
            "{name: get_current_time, no_extra_arguments: true}",
            "get_current_time",
            "not json",
            [],
            id="no-arguments-spec-accepts-invalid-json",
        ),
        pytest.param(
            "{name: get_current_time, no_extra_arguments: true}",
            "get_current_time",
            '{"tz": "UTC"}',
            ["get_current_time: key 'tz': not expected"],
            id="no-arguments-spec-extra-key-fail",
        ),
    ],
)
def test_check_call(spec_yaml: str, name: str, arguments: str, problems: list[str]) -> None:
    assert check_call(spec(spec_yaml), call(name, arguments)) == problems


def test_check_arguments_checks_only_named_keys_as_behaviour_rules_do() -> None:
    rule = spec("{name: get_weather, arguments: {location: {contains: London}}}").arguments
    assert check_arguments(rule, {"location": "London, UK", "unit": "kelvin"}) == []
    assert check_arguments(rule, {"unit": "celsius"}) == [
        "key 'location': missing (expected text containing 'London')"
    ]
    assert check_arguments({}, {"anything": 1}) == []


# ------------------------------------------------------------------------------------------ parallel calls

SF = "{name: get_weather, arguments: {location: {contains: San Francisco}}}"
NY = "{name: get_weather, arguments: {location: {contains: New York}}}"
CALL_SF = ("get_weather", '{"location": "San Francisco"}')
CALL_NY = ("get_weather", '{"location": "New York"}')
CALL_PARIS = ("get_weather", '{"location": "Paris"}')


@pytest.mark.parametrize(
    ("specs", "calls", "problems", "unused"),
    [
        pytest.param([SF, NY], [CALL_SF, CALL_NY], [], [], id="same-order"),
        pytest.param([SF, NY], [CALL_NY, CALL_SF], [], [], id="other-order"),
        pytest.param(
            # A greedy pairing would give the SF call to the first spec and fail the second.
            ["{name: get_weather, arguments: {location: [San Francisco, New York]}}", SF],
            [CALL_SF, CALL_NY],
            [],
            [],
            id="needs-a-swap",
        ),
        pytest.param(
            [SF, NY],
            [CALL_SF, CALL_SF],
            ["get_weather: key 'location': expected text containing 'New York', got 'San Francisco'"],
            [],
            id="two-calls-fit-one-spec",
        ),
        pytest.param(
            [SF, NY],
            [CALL_PARIS, CALL_SF],
            ["get_weather: key 'location': expected text containing 'New York', got 'Paris'"],
            [],
            id="one-wrong-argument",
        ),
        pytest.param(
            [SF, NY],
            [CALL_NY],
            ["expected a call to 'get_weather', but no unmatched call is left"],
            [],
            id="missing-call",
        ),
        pytest.param(
            [SF],
            [],
            ["expected a call to 'get_weather', but no unmatched call is left"],
            [],
            id="no-call-at-all",
        ),
        pytest.param([SF], [CALL_NY, CALL_SF], [], [0], id="extra-call"),
        pytest.param([], [CALL_SF, CALL_NY], [], [0, 1], id="no-spec"),
    ],
)
def test_assign_calls(
    specs: list[str], calls: list[tuple[str, str]], problems: list[str], unused: list[int]
) -> None:
    assert assign_calls([spec(s) for s in specs], [call(*c) for c in calls]) == (problems, unused)


@pytest.mark.parametrize(
    ("count", "messages"),
    [
        pytest.param("", ["unexpected extra call(s): ['get_weather']"], id="without-count-fail"),
        pytest.param("count: 2", [], id="with-count-pass"),
    ],
)
def test_extra_call_finding(count: str, messages: list[str]) -> None:
    expect = Expect.model_validate(yaml.safe_load(f"{{turns: [{{turn: 1, calls: [{SF}], {count}}}]}}"))
    reply = Reply(tool_calls=[call(*CALL_NY), call(*CALL_SF)])
    conv = Conversation(replies=[reply], simulator=simulator({}), final_answer="ok", hit_max_iterations=False)
    assert [f.message for f in evaluate(expect, conv) if f.check == "expect.calls"] == messages


def test_assign_calls_messages_do_not_depend_on_call_order() -> None:
    specs = [
        spec("{name: get_weather, arguments: {location: SF, unit: celsius}}"),
        spec("{name: get_stock_quote, arguments: {symbol: NVDA}}"),
    ]
    calls = [
        call("get_stock_quote", '{"symbol": "AAPL"}'),
        call("get_weather", '{"location": "SF", "unit": "fahrenheit"}'),
    ]
    expected = [
        "get_weather: key 'unit': expected 'celsius', got 'fahrenheit'",
        "get_stock_quote: key 'symbol': expected 'NVDA', got 'AAPL'",
    ]
    assert assign_calls(specs, calls[::-1]) == (expected, [])
    assert assign_calls(specs, calls) == (expected, [])


# ------------------------------------------------------------------------------------------ YAML vocabulary


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        pytest.param("celsius", ArgSpec(one_of=["celsius"]), id="scalar-is-exact"),
        pytest.param("2", ArgSpec(one_of=[2]), id="int-scalar"),
        pytest.param("false", ArgSpec(one_of=[False]), id="bool-scalar"),
        pytest.param("null", ArgSpec(one_of=[None]), id="null-scalar"),
        pytest.param("['', celsius]", ArgSpec(one_of=["", "celsius"]), id="list-is-one_of"),
        pytest.param("{approx: 3}", ArgSpec(approx=3.0), id="mapping-is-fields"),
        pytest.param(
            "{from_result: {tool: searchBooks, path: '0.id'}}",
            ArgSpec.model_validate({"from_result": {"tool": "searchBooks", "path": "0.id"}}),
            id="from_result",
        ),
    ],
)
def test_yaml_shorthand(text: str, parsed: ArgSpec) -> None:
    assert ArgSpec.model_validate(yaml.safe_load(text)) == parsed


@pytest.mark.parametrize(
    ("text", "error"),
    [
        pytest.param("{approx: 3, tolerence: 0.1}", "tolerence", id="misspelt-key"),
        pytest.param("{value: 21, unit: celsius}", "value", id="object-value-needs-one_of"),
        pytest.param("{from_result: {tool: searchBooks}}", "from_result.path", id="from_result-without-path"),
    ],
)
def test_yaml_refused(text: str, error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        ArgSpec.model_validate(yaml.safe_load(text))


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("{approx: 3, one_of: [4]}", "one_of and approx"),
        ("{contains: York, present: true}", "contains and present"),
        ("{approx: 0, one_of: [1]}", "one_of and approx"),  # 0 is falsy but still a matcher
    ],
)
def test_two_matchers_for_one_argument_are_refused(text: str, error: str) -> None:
    with pytest.raises(ValidationError, match=f"give one matcher per argument, not {error}"):
        ArgSpec.model_validate(yaml.safe_load(text))


# ------------------------------------------------------------------------------------------ fixed bugs


def test_optional_alone_accepts_absence_and_any_value() -> None:
    assert judge("{name: get_weather, arguments: {unit: {optional: true}}}", "{}") == []
    assert judge("{name: get_weather, arguments: {unit: {optional: true}}}", '{"unit": "kelvin"}') == []


def test_large_integers_are_compared_exactly() -> None:
    user = "{name: lookup_user, arguments: {user_id: 9007199254740993}}"
    assert judge(user, '{"user_id": 9007199254740992}') == [
        "lookup_user: key 'user_id': expected 9007199254740993, got 9007199254740992"
    ]


def test_approx_rejects_nan() -> None:
    assert check_argument("amount", ArgSpec(approx=3412.8), {"amount": float("nan")}) is not None


def test_integers_too_large_for_a_float_are_a_mismatch_not_a_crash() -> None:
    huge = 10**400
    assert (
        check_argument("n", ArgSpec(approx=3), {"n": huge})
        == f"key 'n': expected a number near 3.0, got {huge!r:.80}"
    )
    assert check_argument("n", ArgSpec(one_of=[3.5]), {"n": huge}) is not None
    assert check_argument("n", ArgSpec(one_of=[huge]), {"n": huge}) is None


def test_two_failing_calls_to_one_tool_give_the_same_messages_in_any_order() -> None:
    specs = [
        spec("{name: get_weather, arguments: {location: SF}}"),
        spec("{name: get_weather, arguments: {location: NY}}"),
    ]
    calls = [call("get_weather", '{"location": "Paris"}'), call("get_weather", '{"location": "London"}')]
    first = assign_calls(specs, calls)
    assert first == assign_calls(specs, calls[::-1])
    assert len(first[0]) == 2 and first[1] == []


def test_unmatched_calls_are_reported_by_their_arrival_position() -> None:
    specs = [spec("{name: get_weather, arguments: {location: SF}}")]
    calls = [call("get_weather", '{"location": "Paris"}'), call("get_stock_quote", '{"symbol": "A"}'),
             call("get_weather", '{"location": "SF"}')]  # fmt: skip
    assert assign_calls(specs, calls) == ([], [0, 1])


@pytest.mark.parametrize(("text", "normal"), [
    ("SF, CA", "sf ca"), ("  New   York ", "new york"), ("São Paulo", "sao paulo"), ("Zürich!!", "zurich"),
    ("ﬁne", "fine"), ("Ａｂｃ", "abc"), ("straße", "strasse"), ("O'Hare-Int'l", "o hare int l"),
])
def test_normalize_text_folds_case_accents_width_and_punctuation(text: str, normal: str) -> None:
    assert normalize_text(text) == normal
