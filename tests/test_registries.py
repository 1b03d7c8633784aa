"""The extension registries without any front-end: ids, clashes, lookups, checks, matchers and reporters.

Pins the behaviour a plugin author meets: a second registration of an id names both owners; an unknown
id is a located message with "did you mean"; a plugin check runs beside the built-ins and can be
selected away; a plugin matcher is judged, described, located and put in the JSON Schema like the
built-ins; a reporter renders a saved report to text or bytes. Every message is pinned in full.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import SCENARIOS
from extensions import scratch_registries  # noqa: F401  (a fixture)
from pydantic import BaseModel, ConfigDict, ValidationError

import harness
from harness.conformance.check_registry import (
    CONVERSATION_CHECKS,
    WIRE_CHECKS,
    CheckSelection,
    all_checks,
    select_checks,
)
from harness.conformance.expectations import Conversation, ConversationContext, evaluate
from harness.conformance.wire import assess
from harness.core.errors import ConfigError
from harness.core.model import Finding, Reply, Report, RunKey, RunResult, ToolCall
from harness.core.registry import DuplicateIdError, Registry, UnknownIdError, loading
from harness.reporting.reporters import REPORTERS, render_report, write_rendered
from harness.reporting.table import render_table
from harness.scenario.loader import ScenarioError, load_scenarios
from harness.scenario.matchers import check_call
from harness.scenario.simulator import ToolSimulator
from harness.scenario.spec import ArgSpec, CallSpec, Expect, ResolvedScenario, Scenario, scenario_json_schema

pytestmark = pytest.mark.usefixtures("scratch_registries")

# ------------------------------------------------------------------------------------------ the registry


def test_a_second_registration_names_both_owners() -> None:
    registry: Registry[int] = Registry("widget", "toolcall_harness.widgets")
    with loading("acme-widgets"):
        registry.add("round", 1, module="acme_widgets.shapes")
    with pytest.raises(DuplicateIdError) as caught:
        registry.add("round", 2, module="tests.test_registries")
    assert str(caught.value) == (
        "widget 'round' is already registered (by acme-widgets); module tests.test_registries registers it "
        "again: rename one of them or uninstall one of the plugins"
    )
    assert isinstance(caught.value, ConfigError)  # the front-ends print it and exit 2


def test_an_unknown_id_is_located_with_the_closest_one() -> None:
    registry: Registry[int] = Registry("widget", "toolcall_harness.widgets")
    for name in ("round", "square"):
        registry.add(name, 0, module="harness.x")
    with pytest.raises(UnknownIdError) as caught:
        registry.get("sqare", where="--widget")
    assert str(caught.value) == (
        "--widget: unknown widget 'sqare' — did you mean 'square'? (known: round, square)")
    assert str(registry.unknown("zzz")) == "unknown widget 'zzz' (known: round, square)"


def test_a_long_list_of_ids_points_at_the_listing_instead() -> None:
    registry: Registry[int] = Registry("widget", "toolcall_harness.widgets")
    for n in range(20):
        registry.add(f"w{n}", n, module="harness.x")
    assert str(registry.unknown("w100")).endswith("(`toolcall-harness plugins` lists them)")


@pytest.mark.parametrize("bad", ["", "Upper", "has space", "a:b", "-lead", "x/y"])
def test_ids_are_stable_tokens(bad: str) -> None:
    with pytest.raises(ConfigError, match="is not valid: use lowercase letters"):
        Registry[int]("widget", "g").add(bad, 0)


def test_each_entry_says_which_package_it_comes_from() -> None:
    registry: Registry[int] = Registry("widget", "g")
    registry.add("builtin", 0, module="harness.conformance.checks")
    registry.add("local", 0, module="my_local_checks")
    with loading("acme-widgets"):
        registry.add("installed", 0, module="acme_widgets")
    assert {e.id: e.package for e in registry.entries()} == {
        "builtin": "toolcall-harness", "local": "module my_local_checks", "installed": "acme-widgets"}
    assert [e.package for e in WIRE_CHECKS.entries()] == ["toolcall-harness"] * len(WIRE_CHECKS)


# ------------------------------------------------------------------------------------------------ checks

WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}
REQUEST = {"model": "m", "messages": [{"role": "user", "content": "Weather in SF?"}], "tools": [WEATHER]}


def _body(call_id: str) -> str:
    call = {"id": call_id, "type": "function",
            "function": {"name": "get_weather", "arguments": '{"location": "SF"}'}}
    return json.dumps({"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": None, "tool_calls": [call]},
         "finish_reason": "tool_calls"}]})


def _register_id_check() -> None:
    @harness.check("acme.call_id_prefix")
    def call_id_prefix(exchange: harness.Exchange) -> Iterator[Finding]:
        """Call ids start with `call_`."""
        for call in exchange.reply.tool_calls:
            if not (call.id or "").startswith("call_"):
                yield Finding(check="acme.call_id_prefix", severity="warning", message=f"id {call.id!r}")


def test_a_plugin_wire_check_runs_beside_the_built_ins_and_can_be_excluded() -> None:
    _register_id_check()
    judged = assess(REQUEST, 200, _body("tool-1"), stream=False)
    assert [(f.check, f.message) for f in judged.findings] == [("acme.call_id_prefix", "id 'tool-1'")]
    assert assess(REQUEST, 200, _body("call_1"), stream=False).findings == []
    quiet = select_checks(exclude=["acme.call_id_prefix"])
    assert assess(REQUEST, 200, _body("tool-1"), stream=False, checks=quiet).findings == []
    missing_id = _body("tool-1").replace('"id": "tool-1", ', "")
    only_plugin = select_checks(include=["acme.*"])
    assert [f.check for f in assess(REQUEST, 200, missing_id, stream=False, checks=only_plugin).findings] == [
        "acme.call_id_prefix"]  # tool_call.id is not selected, so the missing id is not its finding


def _conversation(replies: list[Reply], final: str | None = "done") -> Conversation:
    scenario = Scenario.model_validate({"id": "t", "description": "t", "family": "single_call",
                                        "tools": [WEATHER], "messages": [{"role": "user"}]})
    rs = ResolvedScenario(scenario=scenario, tools=scenario.tools, file="t.yaml", line=1)  # type: ignore[arg-type]
    return Conversation(replies, ToolSimulator(rs), final, hit_max_iterations=False)


def test_a_plugin_conversation_check_reads_the_finished_conversation() -> None:
    @harness.check("acme.short_answer", kind="conversation")
    def short_answer(ctx: ConversationContext) -> Iterator[Finding]:
        answer = ctx.conversation.final_answer or ""
        if len(answer) > 10:
            yield Finding(check="acme.short_answer", message=f"{len(answer)} characters in {ctx.scenario.id}")

    expect = Expect.model_validate({"tool_called": True})
    conv = _conversation([Reply(content="a rather long answer")], final="a rather long answer")
    assert [(f.check, f.message) for f in evaluate(expect, conv)] == [
        ("expect.tool_called", "expected a tool call, none was made"),
        ("acme.short_answer", "20 characters in t"),
    ]
    unexpected = select_checks(exclude=["expect.*"])
    assert [f.check for f in evaluate(expect, conv, unexpected)] == ["acme.short_answer"]


def test_findings_of_several_turns_come_turn_by_turn() -> None:
    expect = Expect.model_validate(yaml.safe_load(
        "{turns: [{turn: 1, count: 2, calls: [{name: get_weather}]},"
        " {turn: 2, tool_calls: forbidden, count: 0}]}"))
    call = ToolCall(id="c", name="lookup", arguments={}, arguments_raw="{}", arguments_valid_json=True)
    conv = _conversation([Reply(tool_calls=[call]), Reply(tool_calls=[call])])
    assert [(f.turn, f.check) for f in evaluate(expect, conv)] == [
        (1, "expect.count"), (1, "expect.calls"), (2, "expect.tool_calls"), (2, "expect.count")]


def test_check_ids_are_one_space_across_kinds() -> None:
    with pytest.raises(DuplicateIdError, match="check 'tool_call.id' is already registered as a wire check "
                       r"\(by toolcall-harness\); a conversation check cannot take the same id"):
        harness.check("tool_call.id", kind="conversation")(lambda ctx: [])
    with pytest.raises(ConfigError, match="kind must be one of wire, conversation, not 'exchange'"):
        harness.check("acme.x", kind="exchange")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("include", "exclude", "message"),
    [
        (["tool_call.nme"], None, "--checks: unknown check 'tool_call.nme' — did you mean 'tool_call.name'? "
                                  "(`toolcall-harness plugins` lists them)"),
        (None, ["sdk.parse,expect.anser"], "--exclude-checks: unknown check 'expect.anser' — did you mean "
                                           "'expect.answer'? (`toolcall-harness plugins` lists them)"),
        (["strem.*"], None, "--checks: 'strem.*' matches no check"),
    ],
)
def test_selecting_an_unknown_check_is_a_located_error(
    include: list[str] | None, exclude: list[str] | None, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        select_checks(include, exclude)
    assert str(caught.value) == message


def test_selection_takes_ids_patterns_and_commas_and_exclusion_wins() -> None:
    selection = select_checks(["stream.*,sdk.parse", "expect.calls"], ["stream.done"])
    assert selection == CheckSelection(("stream.*", "sdk.parse", "expect.calls"), ("stream.done",))
    chosen = [c.id for c in all_checks() if selection.allows(c.id)]
    assert chosen == ["stream.index", "stream.header_repeated", "stream.finish_reason", "sdk.parse",
                      "expect.calls"]
    assert select_checks().everything and all(select_checks().allows(c.id) for c in all_checks())
    # 27 conformance checks and the BFCL pack's bfcl.ast (registered for the session by conftest.py)
    assert len(all_checks()) == len(WIRE_CHECKS) + len(CONVERSATION_CHECKS) == 28


# ---------------------------------------------------------------------------------------------- matchers


class Regex(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern: str
    ignore_case: bool = False


def _register_regex() -> None:
    @harness.matcher("regex", params=Regex, describe=lambda p, ctx: f"text matching {p.pattern!r}")
    def regex(value: Any, params: Regex, ctx: harness.MatchContext) -> str | None:
        """Text matching a regular expression."""
        flags = re.IGNORECASE if params.ignore_case else 0
        ok = isinstance(value, str) and re.search(params.pattern, value, flags)
        return None if ok else f"expected text matching {params.pattern!r}, got {value!r}"


def _call(arguments: str) -> ToolCall:
    return ToolCall(name="get_weather", arguments=json.loads(arguments), arguments_raw=arguments,
                    arguments_valid_json=True)


def test_a_plugin_matcher_judges_like_a_built_in() -> None:
    _register_regex()
    spec = CallSpec.model_validate(yaml.safe_load(
        "{name: get_weather, arguments: {location: {regex: {pattern: '^San Fran'}},"
        " unit: {regex: {pattern: c}, optional: true}}}"))
    assert check_call(spec, _call('{"location": "San Francisco"}')) == []
    assert check_call(spec, _call('{"location": "Paris", "unit": "kelvin"}')) == [
        "get_weather: key 'location': expected text matching '^San Fran', got 'Paris'",
        "get_weather: key 'unit': expected text matching 'c', got 'kelvin'",
    ]
    assert check_call(spec, _call("{}")) == ["get_weather: key 'location': missing (expected text matching "
                                             "'^San Fran')"]
    assert spec.arguments["location"].custom_matchers == {"regex": Regex(pattern="^San Fran")}


def test_one_matcher_per_argument_counts_plugin_matchers_too() -> None:
    _register_regex()
    with pytest.raises(ValidationError, match="give one matcher per argument, not contains and regex"):
        ArgSpec.model_validate({"contains": "San", "regex": {"pattern": "x"}})


def _scenario_file(folder: Path, arguments: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "tools.yaml").write_text((SCENARIOS / "tools.yaml").read_text())
    path = folder / "plugin.yaml"
    path.write_text(
        "scenarios:\n"
        "  - id: weather_regex\n"
        "    description: A plugin matcher in an expectation.\n"
        "    family: single_call\n"
        "    tools: [get_weather]\n"
        "    messages: [{role: user, content: 'Weather in SF?'}]\n"
        "    expect:\n"
        "      turns:\n"
        f"        - calls: [{{name: get_weather, arguments: {{location: {arguments}}}}}]\n"
    )
    return path


@pytest.mark.parametrize(
    ("registered", "arguments", "problem"),
    [
        (True, "{regx: {pattern: '^San'}}", "unknown key 'regx' — did you mean 'regex'?"),
        (False, "{regex: {pattern: '^San'}}",
         "unknown key 'regex' (not a built-in argument matcher; a plugin's must be installed or loaded with "
         "--plugins)"),
        (True, "{regex: {patern: '^San'}}", "regex: pattern: Field required; patern: Extra inputs are not "
                                            "permitted"),
    ],
)
def test_a_scenario_with_an_unknown_or_bad_matcher_gets_a_located_error(
    tmp_path: Path, registered: bool, arguments: str, problem: str
) -> None:
    if registered:
        _register_regex()
    path = _scenario_file(tmp_path, arguments)
    with pytest.raises(ScenarioError) as caught:
        load_scenarios([tmp_path])
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:9: weather_regex: expect.turns.0.calls.0.arguments.location: {problem}"]


def test_the_json_schema_includes_plugin_matchers(tmp_path: Path) -> None:
    builtin = scenario_json_schema()
    _register_regex()
    schema = scenario_json_schema()
    properties = schema["$defs"]["ArgSpec"]["anyOf"][0]["properties"]
    assert "regex" not in builtin["$defs"]["ArgSpec"]["anyOf"][0]["properties"]
    assert properties["regex"]["description"] == (
        f"Text matching a regular expression. (argument matcher from module {__name__})")
    assert properties["regex"]["required"] == ["pattern"]
    document = yaml.safe_load(_scenario_file(tmp_path, "{regex: {pattern: '^San'}}").read_text())
    jsonschema.validate(document, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, builtin)
    assert [rs.id for rs in load_scenarios([tmp_path])] == ["weather_regex"]


# --------------------------------------------------------------------------------------------- reporters


def _report() -> Report:
    key = RunKey(provider="stub", model="stubby", scenario="weather_sf", mode="nonstream")
    finding = Finding(check="tool_call.id", message="tool call 0 'get_weather': id is missing")
    return Report(runs=[RunResult(key=key, family="single_call", outcome="fail", findings=[finding])])


def test_the_built_in_formats_render_a_saved_report() -> None:
    report = _report()
    assert set(REPORTERS.ids()) == {"plain", "github", "markdown", "grid", "rst", "json", "html"}
    assert render_report(report) == render_table(report)
    assert render_report(report, "github") == render_table(report, "github")
    assert Report.model_validate_json(render_report(report, "json")) == report
    page = render_report(report, "html")
    assert isinstance(page, str) and page.startswith("<!DOCTYPE html>") and "weather_sf" in page


def test_an_unknown_format_is_a_located_error() -> None:
    with pytest.raises(UnknownIdError) as caught:
        render_report(_report(), "jsno")
    assert str(caught.value) == ("--format: unknown reporter 'jsno' — did you mean 'json'? (known: github, "
                                 "grid, html, json, markdown, plain, rst)")


def test_a_plugin_reporter_may_render_bytes(tmp_path: Path) -> None:
    @harness.reporter("outcomes", suffix=".bin")
    def outcomes(report: Report) -> bytes:
        """Outcomes, one byte each."""
        return bytes(ord(r.outcome[0]) for r in report.runs)

    rendered = render_report(_report(), "outcomes")
    assert rendered == b"f"
    write_rendered(rendered, tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == b"f"
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    write_rendered(rendered, stream=stream)
    write_rendered("text", stream=stream)
    stream.flush()
    assert stream.buffer.getvalue() == b"ftext\n"  # type: ignore[attr-defined]
    assert REPORTERS.entry("outcomes").value.suffix == ".bin"
