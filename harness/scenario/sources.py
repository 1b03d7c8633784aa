"""Scenario sources: where `--scenarios` values come from — YAML files by default, or a registered source.

A value `ID:ARGUMENT` names a source by its id (`bfcl:simple_python` for a benchmark pack); any other
value is a YAML file or folder, as always. A source turns its arguments into resolved scenarios, as
the YAML loader does, so the engine never knows where a scenario came from. All the values of one
source are given to it at once: the YAML loader resolves the shared tool library across every file
and reports every problem of every file together.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.core.errors import ConfigError, located
from harness.core.registry import Registry
from harness.scenario.loader import load_scenarios
from harness.scenario.spec import ResolvedScenario

GROUP = "toolcall_harness.scenario_sources"
YAML_SOURCE = "yaml"
LoadFn = Callable[[Sequence[str]], list[ResolvedScenario]]
# A source id before ':' — at least two characters, so a Windows drive (`C:\x`) stays a path.
_PREFIX = re.compile(r"^([a-z0-9][a-z0-9_.\-]+):(.*)$", re.DOTALL)


@dataclass(frozen=True)
class ScenarioSource:
    """One source: its id (the prefix in `--scenarios`) and `load(arguments) -> scenarios`.

    `load` raises a `HarnessError` (a `ScenarioError` with located problems, or a `ConfigError`) for bad
    input; it must never drop an entry it cannot read, or the suite would shrink without anyone noticing.
    """

    id: str
    load: LoadFn
    description: str = ""


SCENARIO_SOURCES: Registry[ScenarioSource] = Registry("scenario source", GROUP)


def scenario_source(id: str, *, description: str | None = None) -> Callable[[LoadFn], LoadFn]:
    """Register the decorated `load(arguments) -> list[ResolvedScenario]` as the source `id`."""

    def decorate(fn: LoadFn) -> LoadFn:
        text = description if description is not None else (fn.__doc__ or "")
        SCENARIO_SOURCES.add(id, ScenarioSource(id, fn, text.strip().split("\n")[0] if text else ""),
                             module=fn.__module__)
        return fn

    return decorate


@scenario_source(YAML_SOURCE)
def yaml_source(arguments: Sequence[str]) -> list[ResolvedScenario]:
    """YAML scenario files and folders (the default for a value without a source prefix)."""
    return load_scenarios(arguments)


def split_spec(spec: str) -> tuple[str, str]:
    """(source id, argument) of one `--scenarios` value; an existing path is always a YAML path."""
    match = _PREFIX.match(spec)
    if match is None or Path(spec).exists():
        return YAML_SOURCE, spec
    return match.group(1), match.group(2)


def resolve_scenarios(specs: Sequence[str], *, where: str = "--scenarios") -> list[ResolvedScenario]:
    """Every scenario the values name, source by source in the order the values first name them.

    Ids must be unique across sources, since a run is keyed by scenario id.
    """
    grouped: dict[str, list[str]] = {}
    for spec in specs:
        source_id, argument = split_spec(spec)
        if source_id not in SCENARIO_SOURCES:
            error = SCENARIO_SOURCES.unknown(source_id, f"{where} {spec}")
            raise ConfigError(f"{error}; a path containing ':' must exist") from None
        grouped.setdefault(source_id, []).append(argument)
    scenarios: list[ResolvedScenario] = []
    seen: dict[str, ResolvedScenario] = {}
    for source_id, arguments in grouped.items():
        for rs in SCENARIO_SOURCES.get(source_id).load(arguments):
            first = seen.setdefault(rs.id, rs)
            if first is not rs:
                raise ConfigError(located(
                    rs.file, rs.line, f"{rs.id}: scenario id also comes from {first.file}:{first.line}; ids "
                    f"must be unique across {where}"))
            scenarios.append(rs)
    return scenarios
