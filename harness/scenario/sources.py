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

from harness.core.errors import ConfigError, HarnessError, located
from harness.core.registry import Registry
from harness.scenario.loader import load_scenarios
from harness.scenario.spec import ResolvedScenario

GROUP = "toolcall_harness.scenario_sources"
YAML_SOURCE = "yaml"
# `load(arguments)`, or `load(arguments, sample)` for a source registered with `samples=True`.
LoadFn = Callable[..., list[ResolvedScenario]]
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
    samples: bool = False  # takes `--sample` itself: `load(arguments, sample)`


@dataclass(frozen=True)
class Sample:
    """`--sample N --sample-seed S`: how many entries a sampling source draws, and with which seed."""

    size: int
    seed: int = 0


SCENARIO_SOURCES: Registry[ScenarioSource] = Registry("scenario source", GROUP)


def scenario_source(
    id: str, *, description: str | None = None, samples: bool = False
) -> Callable[[LoadFn], LoadFn]:
    """Register the decorated `load(arguments) -> list[ResolvedScenario]` as the source `id`.

    With `samples=True` the source draws `--sample` itself, called as `load(arguments, sample)` with a
    `Sample` or None, so it can stratify (BFCL draws per category); other sources always load in full.
    """

    def decorate(fn: LoadFn) -> LoadFn:
        text = description if description is not None else (fn.__doc__ or "")
        first = text.strip().split("\n")[0] if text else ""
        SCENARIO_SOURCES.add(id, ScenarioSource(id, fn, first, samples), module=fn.__module__)
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


def resolve_scenarios(
    specs: Sequence[str], *, where: str = "--scenarios", sample: Sample | None = None
) -> list[ResolvedScenario]:
    """Every scenario the values name, source by source in the order the values first name them.

    Ids must be unique across sources, since a run is keyed by scenario id.
    """
    found = resolve_sources(specs, where=where, sample=sample)
    return [rs for scenarios in found.values() for rs in scenarios]


def resolve_sources(
    specs: Sequence[str], *, where: str = "--scenarios", sample: Sample | None = None
) -> dict[str, list[ResolvedScenario]]:
    """The scenarios of each source named, by source id (`yaml` for files): what the pytest front-end
    needs to give every source its own collector. `sample` goes to the sources that sample; naming it
    when none of them does is an error, since it would silently run everything."""
    grouped: dict[str, list[str]] = {}
    for spec in specs:
        source_id, argument = split_spec(spec)
        if source_id not in SCENARIO_SOURCES:
            error = SCENARIO_SOURCES.unknown(source_id, f"{where} {spec}")
            raise ConfigError(f"{error}; a path containing ':' must exist") from None
        grouped.setdefault(source_id, []).append(argument)
    sources = {source_id: SCENARIO_SOURCES.get(source_id) for source_id in grouped}
    if sample is not None and not any(s.samples for s in sources.values()):
        sampling = ", ".join(sorted(e.id for e in SCENARIO_SOURCES.values() if e.samples)) or "none"
        raise ConfigError(f"--sample applies to the scenario sources that sample ({sampling}), and {where} "
                          "names none of them; YAML scenarios always run in full")
    found: dict[str, list[ResolvedScenario]] = {}
    seen: dict[str, ResolvedScenario] = {}
    for source_id, arguments in grouped.items():
        source = sources[source_id]
        found[source_id] = []
        for rs in _load(source, arguments, sample, where):
            first = seen.setdefault(rs.id, rs)
            if first is not rs:
                raise ConfigError(located(
                    rs.file, rs.line, f"{rs.id}: scenario id also comes from {first.file}:{first.line}; ids "
                    f"must be unique across {where}"))
            found[source_id].append(rs)
    return found


def _load(source: ScenarioSource, arguments: list[str], sample: Sample | None, where: str
          ) -> list[ResolvedScenario]:
    """The source's scenarios; a source's one-sentence error is located at the values that caused it
    (YAML errors, which list every problem of every file, are already located)."""
    if source.id == YAML_SOURCE:
        return source.load(arguments)
    try:
        return source.load(arguments, sample) if source.samples else source.load(arguments)
    except HarnessError as exc:
        if getattr(exc, "problems", None) is not None or str(exc).startswith(where):
            raise
        message = located(f"{where} {' '.join(f'{source.id}:{a}' for a in arguments)}", None, str(exc))
        try:
            relocated = type(exc)(message)
        except TypeError:  # an error class with a constructor of its own
            relocated = ConfigError(message)
        raise relocated from None
