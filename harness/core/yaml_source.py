"""YAML input that can say where a value sits, and pydantic errors turned into located problems.

Scenario files and the providers file are both YAML validated by strict pydantic models, and a user who
mistypes a key in either deserves the same answer: the file, the line, the field, and "did you mean".
This module is that one mapping from a pydantic error location to a YAML node, so neither loader keeps
its own copy.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from harness.core.errors import did_you_mean
from harness.core.limits import ALIAS_BUDGET

Loc = tuple[Any, ...]


# libyaml's safe loader, where PyYAML was built with it: the same safe constructors, parsing in C. The
# cassettes replayed on every run go through it (the pure-Python parser was 80% of a replay's CPU).
FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse(text: str, loader_class: type[yaml.SafeLoader]) -> tuple[yaml.Node | None, Any]:
    """Compose once, check the aliases, then build the data from the same nodes (as `yaml.load` does)."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        check_aliases(node)
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


class YamlSource:
    """A YAML document parsed into nodes (which carry line numbers), and plain data built from them.

    Raises `yaml.YAMLError` as PyYAML does; `syntax_problem` turns it into a located message. The safe
    loader is used (or `fast`: libyaml's), so a `!!python/...` tag is an error, never code.
    """

    def __init__(self, path: str, text: str, fast: bool = False) -> None:
        self.path = path
        try:
            self.node, self.data = _parse(text, FAST_LOADER if fast else yaml.SafeLoader)
        except yaml.YAMLError:
            if not fast:
                raise
            # libyaml words some problems differently: the located message is always the Python parser's.
            self.node, self.data = _parse(text, yaml.SafeLoader)

    def node_at(self, loc: Iterable[Any]) -> yaml.Node | None:
        """The node at `loc` exactly, or None when some part of it is not in the document."""
        node = self.node
        for part in loc:
            node = _child(node, part)
        return node

    def line(self, loc: Iterable[Any]) -> int:
        """The 1-based line of the deepest node along `loc` that exists (a missing key: its parent)."""
        node = self.node
        for part in loc:
            child = _child(node, part)
            if child is None:
                break
            node = child
        return (node.start_mark.line + 1) if node is not None else 1

    def key_line(self, loc: Loc) -> int:
        """The line of the key that ends `loc` (where an unknown key is written), else of its parent."""
        key = _key_node(self.node_at(loc[:-1]), str(loc[-1])) if loc else None
        return key.start_mark.line + 1 if key is not None else self.line(loc)


class AliasBomb(yaml.MarkedYAMLError):
    """Aliases that expand beyond the budget; a MarkedYAMLError, so loaders place it like a syntax error."""


def check_aliases(node: yaml.Node | None, budget: int = ALIAS_BUDGET) -> None:
    """Raise `AliasBomb` at the first alias whose expansion passes `budget` nodes (or loops).

    The composed graph shares aliased nodes, so it is small; its expanded size is counted once per
    node (memoised), which keeps the check linear in the document whatever it describes.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def expanded(n: yaml.Node) -> int:
        key = id(n)
        if key in sizes:
            return sizes[key]
        if key in active:  # an alias to an ancestor: infinite
            raise _bomb(n, budget)
        active.add(key)
        total = 1
        if isinstance(n, yaml.SequenceNode):
            children: list[yaml.Node] = list(n.value)
        elif isinstance(n, yaml.MappingNode):
            children = [part for pair in n.value for part in pair]
        else:
            children = []
        for child in children:
            total += expanded(child)
            if total > budget:
                raise _bomb(child, budget)
        active.discard(key)
        sizes[key] = total
        return total

    if node is not None:
        expanded(node)


def _bomb(node: yaml.Node, budget: int) -> AliasBomb:
    return AliasBomb(problem=f"YAML aliases expand to more than {budget} nodes; write the values out",
                     problem_mark=node.start_mark)


def _child(node: yaml.Node | None, part: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                return value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]
    return None


def _key_node(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, _ in node.value:
            if k.value == key:
                return k
    return None


def syntax_problem(exc: yaml.YAMLError) -> tuple[int, str]:
    """The line and a one-line reason for a YAML syntax error (tags are named as not allowed)."""
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else 1
    reason = getattr(exc, "problem", None) or str(exc)
    if "could not determine a constructor" in str(exc):
        reason = f"YAML tags are not allowed ({reason.split(' for the tag ')[-1] if reason else 'tag'})"
    return line, f"invalid YAML: {reason}"


def model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class whose fields the last element of `loc` names, for "did you mean" suggestions.

    Walks field annotations through optional values, unions, lists and dict values (a dict key in
    `loc`, such as a provider name, is stepped over), so `providers.local.prices.m1` ends at `Price`.
    """
    current: Any = model
    for part in loc:
        nested = _step(current, part)
        if nested is None:
            return None
        current = nested
    return _first(current, lambda t: isinstance(t, type) and issubclass(t, BaseModel))


def _step(annotation: Any, part: Any) -> Any:
    for option in _options(annotation):
        if isinstance(option, type) and issubclass(option, BaseModel):
            if isinstance(part, str) and part in option.model_fields:
                return option.model_fields[part].annotation
            if part == option.__name__:  # pydantic names the union member it tried: `tools.0.ToolDef`
                return option
            continue
        origin, args = typing.get_origin(option), typing.get_args(option)
        if origin is dict and len(args) == 2:
            return args[1]
        if origin in (list, tuple, set, frozenset) and args and isinstance(part, int):
            return args[0]
    return None


def _options(annotation: Any) -> list[Any]:
    """The alternatives of a union (Optional included) and the type inside `Annotated`."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _options(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [o for arg in typing.get_args(annotation) for o in _options(arg)]
    return [annotation]


def _first(annotation: Any, wanted: Callable[[Any], bool]) -> Any:
    return next((o for o in _options(annotation) if wanted(o)), None)


@dataclass(frozen=True)
class FieldProblem:
    """One validation error placed in the source: line, dotted field (None at the top) and message."""

    line: int
    field: str | None
    message: str


def field_problems(
    err: ValidationError,
    source: YamlSource,
    model: type[BaseModel],
    base_loc: Loc = (),
    unknown_hint: Callable[[type[BaseModel], str], str] | None = None,
) -> list[FieldProblem]:
    """Every error of `err` (raised validating the data at `base_loc` as `model`), placed in `source`.

    An unknown key is reported on the line of the key itself, against the field that holds it, with the
    closest known field name; any other error shows the offending scalar, since pydantic's message
    alone ("Input should be a valid integer") does not say what was written. `unknown_hint(owner, key)`
    replaces the default suggestion (the closest field of the owner) where a model accepts more keys
    than its fields.
    """
    problems = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        field = ".".join(str(p) for p in loc) or None
        message = e["msg"]
        line = source.line(base_loc + loc)
        if e["type"] == "extra_forbidden" and loc:
            name = str(loc[-1])
            owner = model_at(model, loc[:-1])
            line = source.key_line(base_loc + loc)
            message = f"unknown key '{name}'"
            if owner is not None:
                hint = unknown_hint or (lambda model, key: did_you_mean(key, model.model_fields))
                message += hint(owner, name)
            field = ".".join(str(p) for p in loc[:-1]) or None
        elif e["type"] != "missing" and "input" in e and not isinstance(e["input"], dict | list):
            if repr(e["input"]) not in message:  # a custom message may already quote what was written
                message += f" (got {e['input']!r})"
        problems.append(FieldProblem(line, field, message))
    return problems
