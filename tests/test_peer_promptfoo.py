"""The promptfoo config of the peer benchmark: its shape, and that it asks for the harness's own bodies.

No Node and no promptfoo here (CI never installs them): `promptfoo validate` accepted this config when the
benchmark was written, and the benchmark itself compares the two sides' bodies at the stub on every run.
These tests keep the generator honest in between.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.peer_config import (  # noqa: E402
    SCENARIOS,
    first_request,
    one_request_scenarios,
    peer_scenarios,
    promptfoo_config,
    tool_files,
    write_promptfoo_suite,
)
from benchmarks.peer_promptfoo import _numbers  # noqa: E402
from harness.scenario.loader import load_scenarios  # noqa: E402
from harness.scenario.spec import ResolvedScenario  # noqa: E402

BASE_URL = "http://127.0.0.1:9/v1"
# Top-level keys of promptfoo's config (its config reference), and the assertion types the generator uses.
CONFIG_KEYS = {"description", "tags", "providers", "prompts", "tests", "scenarios", "defaultTest",
               "outputPath", "sharing", "nunjucksFilters", "env", "derivedMetrics", "extensions", "metadata",
               "evaluateOptions"}
TEST_KEYS = {"description", "vars", "provider", "assert", "options", "threshold", "metadata"}
TOOL_CALL_ASSERTIONS = {"is-valid-openai-tools-call", "javascript"}


@pytest.fixture(scope="module")
def scenarios() -> list[ResolvedScenario]:
    return peer_scenarios()


def promptfoo_body(test: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
    """The body promptfoo's openai chat provider builds for a test (its `getOpenAiBody`, with
    `omitDefaults`): the model from the provider id, the messages from the rendered JSON prompt, the tools
    from the templated file, `tool_choice`, then `passthrough` spread over everything."""
    config = test["provider"]["config"]
    body: dict[str, Any] = {"model": test["provider"]["id"].removeprefix("openai:chat:"),
                            "messages": json.loads(test["vars"]["messages"])}
    if "tools" in config:
        name = config["tools"].removeprefix("file://").replace("{{ scenario }}", test["vars"]["scenario"])
        body["tools"] = files[name]
    if "tool_choice" in config:
        body["tool_choice"] = config["tool_choice"]
    return {**body, **config.get("passthrough", {})}


def test_one_test_per_scenario_each_with_a_tool_call_assertion(scenarios: list[ResolvedScenario]) -> None:
    config = promptfoo_config(scenarios, BASE_URL)
    assert set(config) <= CONFIG_KEYS
    assert [t["description"] for t in config["tests"]] == [rs.id for rs in scenarios]
    assert len(scenarios) >= 60  # the whole library, not a sample of it
    for test in config["tests"]:
        assert set(test) <= TEST_KEYS, test["description"]
        assert test["assert"] and {a["type"] for a in test["assert"]} <= TOOL_CALL_ASSERTIONS
        assert test["provider"]["config"]["apiBaseUrl"] == BASE_URL
        assert test["provider"]["config"]["omitDefaults"] is True
    assert config["providers"][0]["config"]["apiBaseUrl"] == BASE_URL
    assert config["sharing"] is False


def test_promptfoo_is_asked_for_the_harness_s_own_first_request(scenarios: list[ResolvedScenario]) -> None:
    config = promptfoo_config(scenarios, BASE_URL)
    files = tool_files(scenarios)
    for rs, test in zip(scenarios, config["tests"], strict=True):
        assert promptfoo_body(test, files) == first_request(rs), rs.id
        assert "stream" not in first_request(rs)  # promptfoo's provider does not stream


def test_assertions_follow_the_first_turn_expectation(scenarios: list[ResolvedScenario]) -> None:
    config = promptfoo_config(scenarios, BASE_URL)
    by_id = {t["description"]: t["assert"] for t in config["tests"]}
    for rs in scenarios:
        first = next((t for t in rs.scenario.expect.turns if t.turn == 1), None)
        types = [a["type"] for a in by_id[rs.id]]
        if first is not None and first.tool_calls == "forbidden":
            assert by_id[rs.id] == [{"type": "javascript", "value": "typeof output === 'string'"}], rs.id
        elif first is not None and (first.tool_calls == "required" or first.calls):
            assert types == ["is-valid-openai-tools-call", "javascript"], rs.id
            for call in first.calls or []:
                assert json.dumps(call.name) in by_id[rs.id][1]["value"], rs.id
    kinds = {tuple(a["type"] for a in asserts) for asserts in by_id.values()}
    assert ("is-valid-openai-tools-call", "javascript") in kinds and ("javascript",) in kinds


def test_the_written_suite_reads_back_with_every_tool_file(
    scenarios: list[ResolvedScenario], tmp_path: Path
) -> None:
    path = write_promptfoo_suite(tmp_path, scenarios, BASE_URL)
    written = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert written == promptfoo_config(scenarios, BASE_URL)
    for rs in scenarios:
        tools = tmp_path / "tools" / f"{rs.id}.json"
        assert tools.is_file() == bool(rs.tools), rs.id
        if rs.tools:
            assert json.loads(tools.read_text(encoding="utf-8")) == rs.openai_tools()


def test_the_harness_side_stops_after_one_request_per_scenario(
    scenarios: list[ResolvedScenario], tmp_path: Path
) -> None:
    copies = load_scenarios([one_request_scenarios(SCENARIOS, tmp_path)])
    assert [rs.id for rs in copies] == [rs.id for rs in scenarios]
    assert {rs.scenario.max_iterations for rs in copies} == {1}
    assert [first_request(c) for c in copies] == [first_request(rs) for rs in scenarios]


def test_numbers_compare_as_json_numbers() -> None:
    """Python writes 0.0 where JavaScript writes 0; the stub's bodies are compared as JSON text."""
    body = {"temperature": 0.0, "top_p": 0.5, "n": [1.0, True, "0.0"]}
    assert json.dumps(_numbers(body)) == '{"temperature": 0, "top_p": 0.5, "n": [1, true, "0.0"]}'
