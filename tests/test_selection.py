"""`-k` selection: pytest's keyword grammar, evaluated by our own small parser (pytest's is private)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.core.errors import ConfigError
from harness.scenario.keyword_expr import KeywordSyntaxError, evaluate, parse, substring_matcher
from harness.scenario.loader import load_scenarios
from harness.scenario.selection import select_scenarios

ROOT = Path(__file__).parents[1]
WORDS = ["weather_basic", "single_call", "weather", "enum"]


def matches(expression: str, words: list[str] = WORDS) -> bool:
    return evaluate(parse(expression), substring_matcher(words))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("weather", True),
        ("WEATHER", True),  # names match ignoring case
        ("eather_ba", True),  # a substring of a word
        ("books", False),
        ("weather and enum", True),
        ("weather and books", False),
        ("books or enum", True),
        ("not books", True),
        ("not not weather", True),
        ("books or weather and enum", True),  # and binds tighter than or
        ("(books or weather) and not enum", False),
        ("not books and not parallel", True),
        ("not (books or enum)", False),
        ("AND", False),  # keywords are lower case only; "AND" is a name
        ("single_call", True),
        ("call[", False),
        ("a.b:c/d-e+f\\g", False),  # every identifier character pytest allows
        ("", True),
    ],
)
def test_grammar(expression: str, expected: bool) -> None:
    assert matches(expression) is expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("weather and", "-k 'weather and': at column 12: expected not OR left parenthesis OR identifier; "
                        "got end of input"),  # fmt: skip
        ("(weather", "-k '(weather': at column 9: expected right parenthesis; got end of input"),
        ("weather enum", "-k 'weather enum': at column 9: expected end of input; got identifier"),
        ("weather)", "-k 'weather)': at column 8: expected end of input; got right parenthesis"),
        ("!weather", "-k '!weather': at column 1: unexpected character \"!\""),
        ("'weather'", "-k \"'weather'\": at column 1: expected not OR left parenthesis OR identifier; "
                      "got string literal"),  # fmt: skip
        (r'w(x="a\b")', r"""-k 'w(x="a\\b")': at column 7: escaping with "\" not supported in """
                        "marker expression"),  # fmt: skip
        ("w(class=1)", "-k 'w(class=1)': at column 3: unexpected reserved python keyword `class`"),
        ("w(x=1)", "-k 'w(x=1)': at column 2: keyword expressions do not support call parameters"),
        ("and", "-k 'and': at column 1: expected not OR left parenthesis OR identifier; got and"),
    ],
)
def test_malformed_expressions_say_where(expression: str, message: str) -> None:
    with pytest.raises(KeywordSyntaxError) as caught:
        parse(expression)
    assert str(caught.value) == message
    assert isinstance(caught.value, ConfigError)  # exit 2 in the CLI, UsageError under pytest


def test_select_scenarios_by_id_family_and_tag() -> None:
    scenarios = load_scenarios([ROOT / "scenarios"])
    ids = {rs.id for rs in scenarios}

    def chosen(keyword: str | None) -> set[str]:
        return {rs.id for rs in select_scenarios(scenarios, keyword)}

    assert chosen(None) == chosen("") == chosen("   ") == ids
    assert chosen("weather_basic") == {"weather_basic"}
    assert chosen("chained") == {rs.id for rs in scenarios if rs.scenario.family == "chained"}
    tagged = {rs.id for rs in scenarios if "system_prompt" in rs.scenario.tags}
    assert chosen("SYSTEM_PROMPT") >= tagged  # tags, ignoring case (ids may contain it too)
    assert chosen("weather and not chained") == {
        rs.id for rs in scenarios
        if any("weather" in w for w in [rs.id, *rs.scenario.tags]) and rs.scenario.family != "chained"
    }  # fmt: skip
    with pytest.raises(ConfigError, match="at column"):
        select_scenarios(scenarios, "weather and")


# pytest's own parser is private API: used here only as the oracle our grammar must agree with.
expression_module = pytest.importorskip("_pytest.mark.expression")

NAMES = st.sampled_from(["weather", "enum", "books", "call", "WEATHER", "a.b", "x-1", "[k]", "e/f", "_"])
PUNCTUATION = ["and", "or", "not", "(", ")", " ", "!", "AND", "\t", "=", ",", "'s'", '"', "1", "True", "if"]
TOKENS = st.one_of(NAMES, st.sampled_from(PUNCTUATION))


@settings(max_examples=400, deadline=None)
@given(st.lists(TOKENS, max_size=9))
def test_agrees_with_pytest_on_random_expressions(parts: list[str]) -> None:
    """Same verdict as `pytest -k` for any expression, valid or not, including where it fails."""
    text = " ".join(parts)
    words = ["weather_basic", "single_call", "enum"]
    try:
        theirs = expression_module.Expression.compile(text)
    except SyntaxError as exc:
        with pytest.raises(KeywordSyntaxError) as caught:
            parse(text)
        assert (caught.value.column, caught.value.reason) == (exc.offset, exc.msg)
        return
    if not text.strip():
        return  # pytest's -k skips selection for a blank expression; so do we (the compiler says False)
    if "(" in text and any(i for i in theirs.idents() if f"{i}(" in text.replace(" ", "")):
        # `name(x=1)` parses, and pytest's -k refuses it when it evaluates that name; we refuse it at once.
        with pytest.raises(KeywordSyntaxError, match="do not support call parameters"):
            parse(text)
        return
    expected = theirs.evaluate(lambda name, /, **_: any(name.lower() in w.lower() for w in words))
    assert matches(text, words) is expected
