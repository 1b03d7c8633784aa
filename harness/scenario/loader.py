"""YAML scenario files -> resolved scenarios, with every error of every file reported at once.

Files are parsed with PyYAML's safe loader (a crafted `!!python/...` tag is an error, never code), then
validated by the strict models in `harness.scenario.spec`. Errors carry
`path:line: scenario-id: field: message` and a "did you mean" for misspelt keys (placed by
`harness.core.yaml_source`, shared with the providers file), because a conformance tool whose inputs
silently shrink lies.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from harness.core.errors import HarnessError, did_you_mean
from harness.core.files import InputTooLarge, read_text
from harness.core.yaml_source import YamlSource, field_problems, syntax_problem
from harness.scenario.spec import ArgSpec, ResolvedScenario, Scenario, ToolDef, ToolLibrary, known_keys

LIBRARY_NAME = "tools.yaml"


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    scenario: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        parts = [f"{self.path}:{self.line}"]
        if self.scenario:
            parts.append(self.scenario)
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)


class ScenarioError(HarnessError):
    """Raised with all problems found; the front-ends print them and exit 2."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _problems_from(
    err: ValidationError,
    doc: YamlSource,
    base_loc: tuple[Any, ...],
    scenario_id: str | None,
    model: type[BaseModel],
) -> list[Problem]:
    return [
        Problem(doc.path, p.line, scenario_id, p.field, p.message)
        for p in field_problems(err, doc, model, base_loc, _unknown_key_hint)
    ]


def _unknown_key_hint(owner: type[BaseModel], key: str) -> str:
    """The closest known key; an argument spec also knows the registered plugin matchers."""
    hint = did_you_mean(key, known_keys(owner))
    if not hint and owner is ArgSpec:
        hint = " (not a built-in argument matcher; a plugin's must be installed or loaded with --plugins)"
    return hint


def yaml_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*") if q.suffix in (".yaml", ".yml")))
        else:
            files.append(p)
    return files


def _read(path: Path) -> tuple[YamlSource | None, list[Problem]]:
    try:
        text = read_text(path, "scenario files")
    except InputTooLarge as exc:
        return None, [Problem(str(path), 1, None, None, str(exc).removeprefix(f"{path}: "))]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), 1, None, None, f"cannot read file: {exc}")]
    try:
        # libyaml when present: a syntax error is still worded (and located) by the Python parser.
        return YamlSource(str(path), text, fast=True), []
    except yaml.MarkedYAMLError as exc:
        line, message = syntax_problem(exc)
        return None, [Problem(str(path), line, None, None, message)]


def _is_library(data: Any) -> bool:
    return isinstance(data, dict) and set(data) == {"tools"} and isinstance(data["tools"], dict)


def _load_library(doc: YamlSource) -> tuple[dict[str, ToolDef], list[Problem]]:
    try:
        lib = ToolLibrary.model_validate(doc.data)
    except ValidationError as err:
        return {}, _problems_from(err, doc, (), None, ToolLibrary)
    problems = [
        Problem(
            doc.path, doc.line(("tools", name)), None, f"tools.{name}", f"name differs: '{t.function.name}'"
        )
        for name, t in lib.tools.items()
        if t.function.name != name
    ]
    return lib.tools, problems


def _scenario_entries(doc: YamlSource) -> Iterator[tuple[tuple[Any, ...], Any]]:
    data = doc.data
    if isinstance(data, dict) and "scenarios" in data and "id" not in data:
        items = data["scenarios"]
        if isinstance(items, list):
            for i, item in enumerate(items):
                yield ("scenarios", i), item
            return
    yield (), data


def load_scenarios(paths: Iterable[str | Path]) -> list[ResolvedScenario]:
    """Load every scenario under `paths`, resolving tool references; raise ScenarioError on any problem."""
    paths = list(paths)
    files = yaml_files(paths)
    problems: list[Problem] = [
        Problem(str(p), 1, None, None, f"no scenario files (*.yaml, *.yml) in {p}")
        for p in map(Path, paths) if p.is_dir() and not any(f.parent == p or p in f.parents for f in files)
    ]
    library: dict[str, ToolDef] = {}
    docs: list[YamlSource] = []
    extra_libs = {f.parent / LIBRARY_NAME for f in files if (f.parent / LIBRARY_NAME).is_file()}
    for path in sorted(set(files) | extra_libs):
        if not path.exists():
            problems.append(Problem(str(path), 1, None, None, "no such file or directory"))
            continue
        doc, errs = _read(path)
        problems += errs
        if doc is None or doc.data is None:
            continue
        if _is_library(doc.data):
            defined, errs = _load_library(doc)
            library.update(defined)
            problems += errs
        elif path in files:
            docs.append(doc)

    resolved: list[ResolvedScenario] = []
    seen: dict[str, str] = {}
    for doc in docs:
        for base, item in _scenario_entries(doc):
            sid = item.get("id") if isinstance(item, dict) else None
            try:
                scenario = Scenario.model_validate(item)
            except ValidationError as err:
                problems += _problems_from(err, doc, base, sid if isinstance(sid, str) else None, Scenario)
                continue
            line = doc.line(base)
            if scenario.id in seen:
                problems.append(
                    Problem(doc.path, line, scenario.id, "id", f"duplicate id (first in {seen[scenario.id]})")
                )
                continue
            seen[scenario.id] = f"{doc.path}:{line}"
            tools, errs = _resolve_tools(scenario, library, doc, base)
            problems += errs
            problems += _cross_check(scenario, tools, doc, base)
            resolved.append(ResolvedScenario(scenario=scenario, tools=tools, file=doc.path, line=line))
    if not resolved and not problems:
        where = ", ".join(str(p) for p in paths)
        problems.append(Problem(where, 1, None, None, f"no scenarios in {where}: only tool libraries"))
    if problems:
        raise ScenarioError(problems)
    return resolved


def _resolve_tools(
    scenario: Scenario, library: dict[str, ToolDef], doc: YamlSource, base: tuple[Any, ...]
) -> tuple[list[ToolDef], list[Problem]]:
    tools: list[ToolDef] = []
    problems = []
    for i, ref in enumerate(scenario.tools):
        if isinstance(ref, ToolDef):
            tools.append(ref)
        elif ref in library:
            tools.append(library[ref])
        else:
            hint = did_you_mean(ref, library)
            problems.append(
                Problem(
                    doc.path,
                    doc.line(base + ("tools", i)),
                    scenario.id,
                    f"tools.{i}",
                    f"unknown tool '{ref}'{hint}",
                )
            )
    return tools, problems


def _cross_check(
    scenario: Scenario, tools: list[ToolDef], doc: YamlSource, base: tuple[Any, ...]
) -> list[Problem]:
    """Names used in behaviour and expectations must be offered tools: a typo would make a check vacuous."""
    offered = {t.function.name for t in tools}
    problems = []

    def unknown(name: str, loc: tuple[Any, ...]) -> None:
        if name not in offered:
            hint = did_you_mean(name, sorted(offered))
            field = ".".join(str(p) for p in loc)
            problems.append(
                Problem(
                    doc.path,
                    doc.line(base + loc),
                    scenario.id,
                    field,
                    f"'{name}' is not an offered tool{hint}",
                )
            )

    for name in scenario.behaviour:
        unknown(name, ("behaviour", name))
    exp = scenario.expect
    for t, turn in enumerate(exp.turns):
        for c, call in enumerate(turn.calls or []):
            unknown(call.name, ("expect", "turns", t, "calls", c, "name"))
    for c, call in enumerate(exp.sequence or []):
        unknown(call.name, ("expect", "sequence", c, "name"))
    for n, name in enumerate(exp.tools or []):
        unknown(name, ("expect", "tools", n))
    return problems
