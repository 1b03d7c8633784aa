"""A BFCL entry as BFCL's OpenAI function-calling handler sends it: tools, messages, and the name map.

The rules follow `bfcl_eval`'s data loading (`load_dataset_entry` with its default language hint) and
its chat-completions FC handler (`convert_to_tool` with `GORILLA_TO_OPENAPI`, `_cast_to_openai_type`,
`inference_single_turn_FC`); docs/bfcl.md lists each one. The result is plain data first
(`BfclRequest`); `to_scenario` wraps it in a `ResolvedScenario` so the engine runs it unchanged.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from harness.core.accuracy import SourceRef
from harness.packs.bfcl.categories import Kind
from harness.packs.bfcl.data import BfclEntry
from harness.scenario.spec import Expect, FunctionDef, Options, ResolvedScenario, Scenario, ToolDef

# BFCL's default `--temperature` for generation.
TEMPERATURE = 0.001
# Appended to every function description of the Python categories (BFCL's language-specific hint).
PYTHON_HINT = " Note that the provided function is in Python 3 syntax."
# Appended to the description of a `float` parameter, which also gets `"format": "float"`.
FLOAT_HINT = " This is a float type value."

# BFCL parameter type -> JSON Schema type. Types not listed become "string", as in BFCL.
JSON_SCHEMA_TYPES: dict[str, str] = {
    "integer": "integer",
    "number": "number",
    "float": "number",
    "string": "string",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "dict": "object",
    "object": "object",
    "tuple": "array",
    "any": "string",
    "byte": "integer",
    "short": "integer",
    "long": "integer",
    "double": "number",
    "char": "string",
    "ArrayList": "array",
    "Array": "array",
    "HashMap": "object",
    "Hashtable": "object",
    "Queue": "array",
    "Stack": "array",
    "Any": "string",
    "String": "string",
    "Bigint": "integer",
}

_FAMILY = {
    Kind.SIMPLE: "single_call",
    Kind.MULTIPLE: "single_call",
    Kind.PARALLEL: "parallel",
    Kind.IRRELEVANCE: "skip_call",
    Kind.RELEVANCE: "single_call",
}


def sent_name(name: str) -> str:
    """The function name as sent: OpenAI allows `^[a-zA-Z0-9_-]{1,64}$`, so BFCL turns dots into `_`.

    Only dots, exactly as BFCL does (no v4 single-turn name has another character OpenAI rejects).
    """
    return name.replace(".", "_")


@dataclass(frozen=True)
class BfclRequest:
    """What BFCL sends for one entry, as plain data."""

    entry_id: str
    category: str
    tools: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    names: dict[str, str]  # sent name -> BFCL's name, to map the model's calls back when judging
    temperature: float = TEMPERATURE

    def body(self, model: str) -> dict[str, Any]:
        """The chat-completions body BFCL's handler builds (without `store: false`, an OpenAI-only flag)."""
        body: dict[str, Any] = {"messages": self.messages, "model": model, "temperature": self.temperature}
        if self.tools:
            body["tools"] = self.tools
        return body


def convert(entry: BfclEntry) -> BfclRequest:
    tools = [to_tool(doc) for doc in entry.functions]
    return BfclRequest(
        entry_id=entry.id,
        category=entry.category.name,
        tools=tools,
        # Single-turn categories: the first (only) turn, system messages included, verbatim.
        messages=copy.deepcopy(entry.question[0]),
        names={sent_name(doc["name"]): doc["name"] for doc in entry.functions},
    )


def to_tool(doc: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI `tools` item for one BFCL function document."""
    function = copy.deepcopy(doc)
    function["name"] = sent_name(doc["name"])
    function["description"] = str(doc.get("description", "")) + PYTHON_HINT
    parameters = function["parameters"]
    parameters["type"] = "object"  # BFCL writes "dict"
    parameters["properties"] = _cast_properties(parameters.get("properties", {}))
    return {"type": "function", "function": function}


def _cast_properties(properties: dict[str, Any]) -> dict[str, Any]:
    """BFCL types to JSON Schema in place, to the depth BFCL converts (see docs/bfcl.md)."""
    for schema in properties.values():
        given = schema.get("type")
        if given is None:
            schema["type"] = "string"
        else:
            if given == "float":
                schema["format"] = "float"
                schema["description"] = str(schema.get("description", "")) + FLOAT_HINT
            schema["type"] = JSON_SCHEMA_TYPES.get(given, "string")
        if schema["type"] not in ("array", "object"):
            continue
        if "properties" in schema:
            schema["properties"] = _cast_properties(schema["properties"])
        elif "items" in schema:
            items = schema["items"]
            items["type"] = JSON_SCHEMA_TYPES.get(items.get("type"), "string")
            if items["type"] == "array" and "items" in items:
                items["items"]["type"] = JSON_SCHEMA_TYPES.get(items["items"].get("type"), "string")
            elif items["type"] == "object" and "properties" in items:
                items["properties"] = _cast_properties(items["properties"])
    return properties


def scenario_id(entry_id: str) -> str:
    """`bfcl_` + the entry id with `-` as `_` (scenario ids are `[a-z0-9_]`): live_simple_0-0-0 ->
    bfcl_live_simple_0_0_0. Unique over BFCL v4 (a test checks it)."""
    return "bfcl_" + re.sub(r"[^a-z0-9_]", "_", entry_id.lower())


class BfclScenario(ResolvedScenario):
    """A BFCL entry ready for the engine, carrying the entry and request that judging needs."""

    entry: BfclEntry
    request: BfclRequest


def to_scenario(entry: BfclEntry, request: BfclRequest | None = None) -> BfclScenario:
    """A scenario the engine runs unchanged: one request, judged by `checker.judge` on its reply.

    `max_iterations=1` and `final_answer=False`: BFCL judges the first response only, and the
    scenario's own expectations stay empty because the verdict is BFCL's (`bfcl.*` findings).
    """
    request = request or convert(entry)
    category = entry.category
    tools = [ToolDef(function=FunctionDef(**tool["function"])) for tool in request.tools]
    scenario = Scenario(
        id=scenario_id(entry.id),
        description=f"BFCL {category.name} {entry.id}",
        family=_FAMILY[category.kind],  # type: ignore[arg-type]
        # No "live"/"non_live" tag: -k matches substrings, so `-k live` would select both; the category
        # names already answer `-k live` and `-k "not live"`.
        tags=["bfcl", category.name],
        tools=list(tools),
        messages=request.messages,
        options=Options(temperature=request.temperature),
        expect=Expect(final_answer=False),
        max_iterations=1,
    )
    return BfclScenario(
        scenario=scenario, tools=tools, file=entry.file, line=entry.line, entry=entry, request=request,
        source=SourceRef(source="bfcl", category=category.name),
    )
