"""A BFCL entry as BFCL's OpenAI FC handler sends it, and as a scenario the engine runs unchanged."""

from __future__ import annotations

import importlib.util
import re
from typing import Any

import pytest

from harness.engine.conversation import request_body
from harness.packs.bfcl import data
from harness.packs.bfcl.categories import CATEGORIES
from harness.packs.bfcl.convert import BfclScenario, convert, scenario_id, to_scenario, to_tool
from harness.packs.bfcl.data import BfclEntry
from harness.providers.registry import Target
from harness.scenario.selection import select_scenarios

needs_bfcl = pytest.mark.skipif(
    importlib.util.find_spec("bfcl_eval") is None, reason="bfcl-eval is not installed"
)

DOC = {
    "name": "geo.distance.find",
    "description": "Distance between places.",
    "parameters": {
        "type": "dict",
        "properties": {
            "origin": {"type": "string", "description": "From"},
            "scale": {"type": "float", "description": "Scale", "default": 1.0},
            "point": {"type": "tuple", "items": {"type": "float"}, "description": "A point"},
            "options": {
                "type": "dict",
                "description": "Options",
                "properties": {"mode": {"type": "any", "description": "Mode"}, "k": {"type": "float"}},
            },
            "stops": {
                "type": "array",
                "items": {"type": "dict", "properties": {"at": {"type": "integer"}}},
                "description": "Stops",
            },
            "grid": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
            "odd": {"type": "complex", "description": "Unknown type"},
            "untyped": {"description": "No type"},
        },
        "required": ["origin"],
    },
}


def test_types_become_json_schema_as_bfcl_converts_them() -> None:
    tool = to_tool(DOC)
    function = tool["function"]
    assert tool["type"] == "function"
    assert function["name"] == "geo_distance_find"
    hint = " Note that the provided function is in Python 3 syntax."
    assert function["description"] == "Distance between places." + hint
    params = function["parameters"]
    assert params["type"] == "object" and params["required"] == ["origin"]
    props = params["properties"]
    assert props["origin"] == {"type": "string", "description": "From"}
    float_hint = " This is a float type value."
    scale = {"type": "number", "format": "float", "default": 1.0, "description": "Scale" + float_hint}
    assert props["scale"] == scale
    assert props["point"] == {"type": "array", "items": {"type": "number"}, "description": "A point"}
    assert props["options"]["type"] == "object"
    assert props["options"]["properties"]["mode"] == {"type": "string", "description": "Mode"}
    assert props["options"]["properties"]["k"] == {
        "type": "number", "format": "float", "description": " This is a float type value."
    }  # fmt: skip
    assert props["stops"]["items"] == {"type": "object", "properties": {"at": {"type": "integer"}}}
    assert props["grid"]["items"] == {"type": "array", "items": {"type": "integer"}}
    assert props["odd"]["type"] == "string"
    assert props["untyped"]["type"] == "string"
    assert DOC["parameters"]["type"] == "dict"  # the entry itself is left alone


def entry(category: str = "live_simple", entry_id: str = "live_simple_3-2-1") -> BfclEntry:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "How far?"}]
    return BfclEntry(entry_id, CATEGORIES[category], [messages], [DOC], None, "/data/BFCL_v4_x.json", 4)


def test_the_request_is_the_first_turn_with_the_tools_and_the_name_map() -> None:
    request = convert(entry())
    assert request.entry_id == "live_simple_3-2-1" and request.category == "live_simple"
    assert request.messages == entry().question[0]
    assert request.names == {"geo_distance_find": "geo.distance.find"}
    assert request.body("m") == {
        "messages": request.messages, "model": "m", "temperature": 0.001, "tools": request.tools
    }  # fmt: skip


def test_the_scenario_sends_exactly_the_request() -> None:
    rs = to_scenario(entry())
    assert isinstance(rs, BfclScenario)
    assert (rs.id, rs.file, rs.line) == ("bfcl_live_simple_3_2_1", "/data/BFCL_v4_x.json", 4)
    assert rs.scenario.family == "single_call"
    assert rs.scenario.tags == ["bfcl", "live_simple"]
    assert rs.scenario.max_iterations == 1 and rs.scenario.expect.final_answer is False
    target = Target(provider="p", model="m", base_url="http://127.0.0.1:1/v1", api_key_env=None)
    body = request_body(rs, target, [dict(m) for m in rs.scenario.messages], "nonstream")
    assert body == rs.request.body("m")


@pytest.mark.parametrize(
    ("category", "family"),
    [("parallel", "parallel"), ("irrelevance", "skip_call"), ("live_relevance", "single_call")],
)
def test_families_follow_the_kind(category: str, family: str) -> None:
    assert to_scenario(entry(category, f"{category}_0")).scenario.family == family


def test_selection_by_category_and_entry_id() -> None:
    scenarios = [to_scenario(entry("parallel", "parallel_1")),
                 to_scenario(entry("live_simple", "live_simple_0-0-0"))]  # fmt: skip
    assert [s.id for s in select_scenarios(scenarios, "live")] == ["bfcl_live_simple_0_0_0"]
    assert [s.id for s in select_scenarios(scenarios, "not live")] == ["bfcl_parallel_1"]
    assert [s.id for s in select_scenarios(scenarios, "parallel_1")] == ["bfcl_parallel_1"]
    assert scenario_id("live_multiple_10-4-2") == "bfcl_live_multiple_10_4_2"


@needs_bfcl
def test_every_installed_entry_converts_to_a_unique_valid_scenario() -> None:
    entries = data.load("all")
    seen: set[str] = set()
    for item in entries:
        rs = to_scenario(item)
        assert rs.id not in seen
        seen.add(rs.id)
        names: list[Any] = [t["function"]["name"] for t in rs.request.tools]
        assert all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", n) for n in names), item.id
        assert rs.openai_tools() == rs.request.tools, item.id
        assert rs.scenario.messages == item.question[0]
