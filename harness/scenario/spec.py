"""The scenario format: what a YAML scenario may say, as strict pydantic models.

Every model forbids unknown keys so a misspelt key is an error with a suggestion, never a silently
ignored expectation. `harness.scenarios` loads files into these models; `toolcall-harness schema`
prints their JSON Schema for editor autocompletion.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from harness.core.accuracy import SourceRef
from harness.scenario.matcher_registry import ARGUMENT_MATCHERS

Family = Literal["single_call", "parallel", "chained", "forced_choice", "skip_call", "malformed_arguments"]
FAMILIES: tuple[str, ...] = Family.__args__  # type: ignore[attr-defined]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResultRef(Strict):
    """Points at a value an earlier simulated tool returned: `tool`'s latest result, then `path`."""

    tool: str
    path: str = Field(description="Dotted path into the JSON result, e.g. 'results.0.productId'")


# The matchers that are fields of ArgSpec, in the order a "one matcher per argument" error names them.
BUILTIN_MATCHERS = ("one_of", "approx", "from_result", "contains", "present")


class ArgSpec(Strict):
    """How one argument is judged. In YAML a scalar means exact, a list means one-of ("" = may be omitted)."""

    # Besides the built-in matcher fields, a mapping may name one registered plugin matcher by its key;
    # its params are validated by the matcher's own type and kept apart (`custom_matchers`).

    one_of: list[Any] | None = None
    normalize: bool = Field(False, description="Compare strings ignoring case, whitespace and punctuation")
    approx: float | None = None
    tolerance: float = 1e-6
    optional: bool = Field(False, description="May be omitted; when present it must satisfy the other fields")
    from_result: ResultRef | None = None
    contains: str | None = Field(None, description="The string argument contains this text (normalised)")
    present: bool = Field(False, description="Any value is accepted as long as the key is there")
    _custom: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _plugin_matchers(cls, value: Any, handler: Any) -> Any:
        """Take the keys of registered plugin matchers out before the strict fields are validated."""
        custom: dict[str, Any] = {}
        if isinstance(value, dict):
            names = [k for k in value if isinstance(k, str) and k not in cls.model_fields
                     and k in ARGUMENT_MATCHERS]
            custom = {k: value[k] for k in names}
            value = {k: v for k, v in value.items() if k not in custom}
        spec: ArgSpec = handler(value)
        if not custom:
            return spec
        for name, raw in custom.items():
            try:
                custom[name] = ARGUMENT_MATCHERS.get(name).validate(raw)
            except ValidationError as exc:
                details = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" if e["loc"] else e["msg"]
                    for e in exc.errors()
                )
                raise PydanticCustomError(
                    "matcher_params", "{matcher}: {detail}", {"matcher": name, "detail": details}
                ) from None
        spec._custom = custom
        given = spec.given_matchers()
        if len(given) > 1:
            raise ValueError(f"give one matcher per argument, not {' and '.join(given)}")
        return spec

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
        given = self.given_matchers()
        if len(given) > 1:
            raise ValueError(f"give one matcher per argument, not {' and '.join(given)}")
        return self

    def given_matchers(self) -> list[str]:
        """The matchers this spec names: built-in fields that are set, then plugin matchers."""
        unset = (None, False)  # by identity: `approx: 0` is a matcher, though 0 == False
        given = [name for name in BUILTIN_MATCHERS if not any(getattr(self, name) is u for u in unset)]
        return given + list(self._custom)

    @property
    def custom_matchers(self) -> dict[str, Any]:
        """Plugin matchers named by this spec, by name, with their validated params."""
        return dict(self._custom)

    @property
    def matcher(self) -> tuple[str, Any]:
        """The one matcher that judges this argument and its params; `one_of` when none is named."""
        given = self.given_matchers()
        if not given:
            return "one_of", self.one_of or []
        name = given[0]
        return name, self._custom[name] if name in self._custom else getattr(self, name)


def known_keys(model: type[BaseModel]) -> list[str]:
    """The keys a mapping of `model` may hold, for "did you mean": an argument spec also takes the names
    of the plugin matchers that are registered."""
    keys = list(model.model_fields)
    if model is ArgSpec:
        keys += [name for name in ARGUMENT_MATCHERS.ids() if name not in keys]
    return keys


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
    # The scenario source and category of a pack's scenario, copied to every run's result (None: YAML).
    source: SourceRef | None = None

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
    """JSON Schema of a scenario file (one scenario, a `scenarios:` list, or a tool library) for editors.

    Plugin matchers that are registered when it is built appear as argument-spec keys with their params.
    """
    from pydantic import TypeAdapter

    schema = TypeAdapter(Scenario | ScenarioFile | ToolLibrary).json_schema()
    arg = schema["$defs"]["ArgSpec"]
    for entry in ARGUMENT_MATCHERS.entries():
        if entry.id in arg["properties"]:
            continue
        params = entry.value.json_schema()
        for name, definition in params.pop("$defs", {}).items():
            schema["$defs"].setdefault(name, definition)
        arg["properties"][entry.id] = {**params, "description": f"{entry.value.description} "
                                       f"(argument matcher from {entry.package})".lstrip()}
    # The YAML shorthand (a scalar means exact, a list means one-of) is valid input too.
    schema["$defs"]["ArgSpec"] = {
        "anyOf": [arg, {"type": "array"}, {"type": ["string", "number", "boolean", "null"]}],
        "description": arg.get("description", ""),
    }
    schema["title"] = "toolcall-harness scenario file"
    return schema
