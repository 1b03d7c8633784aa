"""The scenario format: what a YAML scenario may say, as strict pydantic models.

Every model forbids unknown keys so a misspelt key is an error with a suggestion, never a silently
ignored expectation. `harness.scenarios` loads files into these models; `toolcall-harness schema`
prints their JSON Schema for editor autocompletion.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Family = Literal["single_call", "parallel", "chained", "forced_choice", "skip_call", "malformed_arguments"]
FAMILIES: tuple[str, ...] = Family.__args__  # type: ignore[attr-defined]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResultRef(Strict):
    """Points at a value an earlier simulated tool returned: `tool`'s latest result, then `path`."""

    tool: str
    path: str = Field(description="Dotted path into the JSON result, e.g. 'results.0.productId'")


MATCHERS = ("one_of", "approx", "from_result", "contains", "present")


class ArgSpec(Strict):
    """How one argument is judged. In YAML a scalar means exact, a list means one-of ("" = may be omitted)."""

    one_of: list[Any] | None = None
    normalize: bool = Field(False, description="Compare strings ignoring case, whitespace and punctuation")
    approx: float | None = None
    tolerance: float = 1e-6
    optional: bool = Field(False, description="May be omitted; when present it must satisfy the other fields")
    from_result: ResultRef | None = None
    contains: str | None = Field(None, description="The string argument contains this text (normalised)")
    present: bool = Field(False, description="Any value is accepted as long as the key is there")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {"one_of": value}
        if not isinstance(value, dict):
            return {"one_of": [value]}
        return value

    @model_validator(mode="after")
    def _one_matcher(self) -> ArgSpec:
        unset = (None, False)  # by identity: `approx: 0` is a matcher, though 0 == False
        given = [name for name in MATCHERS if not any(getattr(self, name) is u for u in unset)]
        if len(given) > 1:
            raise ValueError(f"give one matcher per argument, not {' and '.join(given)}")
        return self


class CallSpec(Strict):
    """An expected tool call: its name and the arguments that must match."""

    name: str
    arguments: dict[str, ArgSpec] = Field(default_factory=dict)
    no_extra_arguments: bool = False


class TurnExpect(Strict):
    """Expectations about one model response (turn 1 is the first response)."""

    turn: int = Field(1, ge=1)
    tool_calls: Literal["required", "forbidden", "any"] = "any"
    calls: list[CallSpec] | None = Field(None, description="Matched in any order; each spec used once")
    count: int | None = Field(None, ge=0)
    min_count: int | None = Field(None, ge=0)
    max_count: int | None = Field(None, ge=0)


class AnswerExpect(Strict):
    """Expectations about the final plain-text answer. An inner list means any of these phrasings."""

    contains: list[str | list[str]] = Field(default_factory=list)
    not_contains: list[str] = Field(default_factory=list)
    # Each group must appear in the answer within a short window: pairs a city with its own values.
    near: list[list[str | list[str]]] = Field(default_factory=list)
    window: int = Field(120, description="Characters within which a `near` group must appear")


class Expect(Strict):
    turns: list[TurnExpect] = Field(default_factory=list)
    tool_called: bool | None = Field(None, description="Whether any tool is called in the conversation")
    tools: list[str] | None = Field(None, description="Exactly this set of tool names is called overall")
    sequence: list[CallSpec] | None = Field(None, description="Calls in this order across turns")
    max_calls_per_turn: int | None = None
    answer: AnswerExpect | None = None
    max_turns: int | None = Field(None, ge=1, description="The conversation ends within N responses")
    final_answer: bool = Field(True, description="The conversation must end with a plain answer")
    accept_rejection: bool = Field(
        False, description="A 4xx answer is a valid outcome (e.g. an inconsistent history the API may refuse)"
    )


class ToolRule(Strict):
    """One simulated behaviour: when the arguments match, return `result` (a string is sent verbatim)."""

    match: dict[str, ArgSpec] = Field(default_factory=dict)
    result: Any


class FunctionDef(Strict):
    name: str
    description: str | None = None
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None


class ToolDef(Strict):
    """An OpenAI function tool definition, inline in a scenario or in the shared tool library."""

    type: Literal["function"] = "function"
    function: FunctionDef
    behaviour: list[ToolRule] = Field(default_factory=list)


class Options(Strict):
    tool_choice: Literal["auto", "required", "none"] | dict[str, Any] | None = None
    later_tool_choice: Literal["auto", "required", "none"] | dict[str, Any] | None = Field(
        None,
        description="tool_choice from the second request on, e.g. force a call first, then let it answer",
    )
    parallel_tool_calls: bool | None = None
    temperature: float | None = 0.0
    max_tokens: int | None = None
    seed: int | None = None
    extra_body: dict[str, Any] = Field(default_factory=dict)


class Scenario(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_]*$")
    description: str = Field(min_length=1)
    family: Family
    tags: list[str] = Field(default_factory=list)
    tools: list[str | ToolDef] = Field(default_factory=list)
    messages: list[dict[str, Any]] = Field(min_length=1)
    options: Options = Field(default_factory=Options)
    behaviour: dict[str, list[ToolRule]] = Field(
        default_factory=dict, description="Simulated results per tool name, overriding the library's"
    )
    expect: Expect = Field(default_factory=Expect)
    max_iterations: int = Field(5, ge=1)


class ScenarioFile(Strict):
    """A file holds one scenario or a list of them under `scenarios:`."""

    scenarios: list[Scenario]


class ToolLibrary(Strict):
    tools: dict[str, ToolDef]


class ResolvedScenario(BaseModel):
    """A scenario with tool references resolved, ready to run; knows where it came from."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    scenario: Scenario
    tools: list[ToolDef]
    file: str
    line: int

    @property
    def id(self) -> str:
        return self.scenario.id

    def tool(self, name: str) -> ToolDef | None:
        return next((t for t in self.tools if t.function.name == name), None)

    def rules(self, name: str) -> list[ToolRule]:
        if name in self.scenario.behaviour:
            return self.scenario.behaviour[name]
        tool = self.tool(name)
        return tool.behaviour if tool else []

    def openai_tools(self) -> list[dict[str, Any]]:
        return [t.model_dump(exclude={"behaviour"}, exclude_none=True) for t in self.tools]


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of a scenario file (one scenario, a `scenarios:` list, or a tool library) for editors."""
    from pydantic import TypeAdapter

    schema = TypeAdapter(Scenario | ScenarioFile | ToolLibrary).json_schema()
    arg = schema["$defs"]["ArgSpec"]
    # The YAML shorthand (a scalar means exact, a list means one-of) is valid input too.
    schema["$defs"]["ArgSpec"] = {
        "anyOf": [arg, {"type": "array"}, {"type": ["string", "number", "boolean", "null"]}],
        "description": arg.get("description", ""),
    }
    schema["title"] = "toolcall-harness scenario file"
    return schema
