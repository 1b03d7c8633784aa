"""Argument matchers as registered entries: the YAML key that names one, its params, a check and a describe.

A scenario says how an argument is judged with a key of its argument spec: `{approx: 3412.8}`,
`{contains: San Francisco}`, or a plugin's own, e.g. `{regex: '^San Francisco'}`. The matcher registered
under that key validates the value given there with its `params` type (a pydantic model, or any type
pydantic validates), answers "does this argument satisfy it?" with `None` or the reason why not, and
describes what it expects for the "missing" message. The built-ins in `harness.scenario.matchers`
register through the same `@matcher` decorator a plugin uses; `ArgSpec` keeps them as typed fields
(`spec.approx`), while a plugin matcher's params sit beside them, validated by its own type.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import TypeAdapter

from harness.core.registry import Registry

if TYPE_CHECKING:
    from harness.scenario.spec import ArgSpec, ResultRef

GROUP = "toolcall_harness.matchers"
P = TypeVar("P")
# Looks up the value an earlier tool returned (`from_result`); a sentinel when no such result exists yet.
Resolver = Callable[["ResultRef"], Any]


@dataclass(frozen=True)
class MatchContext:
    """What a matcher may read besides the value: the key, the whole spec (its `normalize`, `tolerance`
    and `optional` modifiers) and the results earlier tools returned."""

    key: str
    spec: ArgSpec
    resolve: Resolver | None = None


CheckFn = Callable[[Any, P, MatchContext], "str | None"]
DescribeFn = Callable[[P, MatchContext], str]


@dataclass(frozen=True)
class Matcher(Generic[P]):
    """One argument matcher. `check(value, params, ctx)` returns None when the argument passes, else the
    reason (`expected text containing 'SF', got 'Paris'`); the harness prefixes `key 'k': `."""

    name: str
    params: Any  # the type of the value under `name:` in YAML, validated by pydantic
    check: CheckFn[P]
    describe: DescribeFn[P]
    description: str = ""

    def validate(self, raw: Any) -> P:
        """The params of a YAML value; raises pydantic's ValidationError when they do not fit."""
        validated: P = _adapter(self.params).validate_python(raw)
        return validated

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema of the params, for editors (referenced definitions under `$defs`)."""
        return _adapter(self.params).json_schema(ref_template="#/$defs/{model}")


@functools.cache
def _adapter(params: Any) -> TypeAdapter[Any]:
    return TypeAdapter(params)


# Filled by harness.scenario.matchers (the built-ins) and by plugins.
ARGUMENT_MATCHERS: Registry[Matcher[Any]] = Registry("argument matcher", GROUP)


def register_matcher(entry: Matcher[P]) -> Matcher[P]:
    """Register a matcher; the module of its check function is where it comes from."""
    ARGUMENT_MATCHERS.add(entry.name, entry, module=getattr(entry.check, "__module__", None))
    return entry


def matcher(
    name: str, *, params: Any, describe: DescribeFn[P], description: str | None = None
) -> Callable[[CheckFn[P]], CheckFn[P]]:
    """Register the decorated check function as the matcher `name`; the public decorator for plugins.

    ::

        @harness.matcher("regex", params=Regex, describe=lambda p, ctx: f"text matching {p.pattern!r}")
        def regex(value: Any, params: Regex, ctx: MatchContext) -> str | None:
            ...
    """

    def decorate(fn: CheckFn[P]) -> CheckFn[P]:
        text = description if description is not None else (fn.__doc__ or "")
        register_matcher(Matcher(name, params, fn, describe, text.strip().split("\n")[0] if text else ""))
        return fn

    return decorate


def load_builtin_matchers() -> None:
    """Import the built-in matchers, so a listing or a lookup sees all of them."""
    import harness.scenario.matchers  # noqa: F401  (registers on import)
