"""Plugins: load third-party extensions once at start-up, and list every extension point's entries.

Extensions come from two places, as in inspect_ai and schemathesis:

- installed packages, through entry-point groups (`toolcall_harness.checks`, `.matchers`, `.reporters`,
  `.launchers`, `.scenario_sources`, `.clients`). An entry point names a
  module whose import registers its extensions with the public decorators (`harness.check`, ...), or
  a function to call that does;
- local modules named by `--plugins MODULE` (repeatable, comma-separated) or the environment variable
  `TOOLCALL_HARNESS_PLUGINS`: a module on the Python path or the current folder, or a `.py` file.

Nothing here runs when the pytest plugin is imported: a front-end calls `load_plugins` once, after it
has parsed its options, and only for commands that judge, render or list. Loading twice is a no-op.
A plugin that fails to import is one located line and exit 2, never a traceback in the user's face.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import os
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from harness.app.flags import PLUGINS_ENV
from harness.core.errors import ConfigError
from harness.core.registry import Entry, loading

LISTING_VERSION = 1


class PluginError(ConfigError):
    """A plugin that cannot be found or fails to load; the front-ends print it and exit 2."""


@dataclass(frozen=True)
class ExtensionPoint:
    """One kind of extension: its name, its entry-point group and how to read its registry."""

    name: str
    group: str
    description: str
    entries: Callable[[], list[Entry[Any]]] | None  # imports the registry and its built-ins; None: reserved


# Scenario packs shipped with the harness. Each registers its extensions like a plugin (`register()`,
# idempotent) whenever plugins load; registering imports only the registries, never a pack's data.
BUILTIN_PACKS = ("harness.packs.bfcl.pack",)


def load_builtin_packs() -> None:
    for name in BUILTIN_PACKS:
        importlib.import_module(name).register()


def _checks() -> list[Entry[Any]]:
    from harness.conformance.check_registry import CONVERSATION_CHECKS, WIRE_CHECKS, load_builtin_checks

    load_builtin_checks()
    load_builtin_packs()
    return WIRE_CHECKS.entries() + CONVERSATION_CHECKS.entries()  # in the order they run


def _matchers() -> list[Entry[Any]]:
    from harness.scenario.matcher_registry import ARGUMENT_MATCHERS, load_builtin_matchers

    load_builtin_matchers()
    return ARGUMENT_MATCHERS.entries()


def _reporters() -> list[Entry[Any]]:
    from harness.reporting.reporters import REPORTERS

    return REPORTERS.entries()


def _launchers() -> list[Entry[Any]]:
    from harness.providers.launchers import LAUNCHERS

    return LAUNCHERS.entries()


def _clients() -> list[Entry[Any]]:
    from harness.clients.driver import CLIENTS, load_builtin_clients

    load_builtin_clients()
    return CLIENTS.entries()


def _sources() -> list[Entry[Any]]:
    from harness.scenario.sources import SCENARIO_SOURCES

    load_builtin_packs()
    return SCENARIO_SOURCES.entries()


EXTENSION_POINTS: tuple[ExtensionPoint, ...] = (
    ExtensionPoint("checks", "toolcall_harness.checks", "wire and conversation checks", _checks),
    ExtensionPoint("matchers", "toolcall_harness.matchers", "argument matchers for scenario expectations",
                   _matchers),
    ExtensionPoint("reporters", "toolcall_harness.reporters", "report formats for --format", _reporters),
    ExtensionPoint("launchers", "toolcall_harness.launchers", "local servers started for a provider",
                   _launchers),
    ExtensionPoint("scenario_sources", "toolcall_harness.scenario_sources",
                   "where --scenarios values come from (ID:ARGUMENT)", _sources),
    ExtensionPoint("clients", "toolcall_harness.clients", "client-library drivers for --clients", _clients),
)
# Registries whose built-ins live apart from the registry, filled before plugins load so a clash with a
# built-in id is reported at start-up (and `validate` needs both). The reporters' and launchers' built-ins
# register when their registry's module is imported, which a plugin registering one must do first, so
# a clash still surfaces while plugins load: `validate` need not import tabulate or the launchers. The
# checks' built-ins import the openai SDK, so their clash surfaces when the checks are selected
# (`select_checks`), still before anything runs.
_EAGER_BUILTINS = ("matchers", "scenario_sources")


@dataclass
class LoadedPlugins:
    """What one `load_plugins` call loaded: `group: name = value (package)` lines and module names."""

    entry_points: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)


_lock = threading.Lock()
_done: set[str] = set()  # entry points ("group:name=value") and modules already loaded in this process


def plugin_modules(option: Iterable[str] | None = None, environ: Mapping[str, str] | None = None
                   ) -> list[tuple[str, str]]:
    """(module, where) pairs from `--plugins` values and the environment variable, comma-separated."""
    env = os.environ if environ is None else environ
    found = [(m.strip(), "--plugins") for value in option or () for m in value.split(",") if m.strip()]
    found += [(m.strip(), PLUGINS_ENV) for m in env.get(PLUGINS_ENV, "").split(",") if m.strip()]
    return found


def load_plugins(
    modules: Iterable[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    entry_points: bool = True,
) -> LoadedPlugins:
    """Load installed plugins (entry points) and the local modules named by `--plugins`/the environment.

    Call once at start-up, before options that name extensions (`--checks`, `--format`, a providers
    file's `launcher:`, scenario files using plugin matchers) are validated.
    """
    loaded = LoadedPlugins()
    with _lock:
        for point in EXTENSION_POINTS:
            if point.name in _EAGER_BUILTINS and point.entries is not None:
                point.entries()
        if entry_points:
            installed = importlib.metadata.entry_points()  # one scan of the installed distributions
            for point in EXTENSION_POINTS:
                if point.entries is not None:
                    loaded.entry_points += _load_group(installed.select(group=point.group), point.group)
        for name, where in plugin_modules(modules, environ):
            if f"module:{name}" not in _done:
                _import_module(name, where)
                _done.add(f"module:{name}")
                loaded.modules.append(name)
    return loaded


def _load_group(found: importlib.metadata.EntryPoints, group: str) -> list[str]:
    lines = []
    for ep in found:
        key = f"{group}:{ep.name}={ep.value}"
        if key in _done:
            continue
        package = ep.dist.name if ep.dist is not None else None
        plugin = f"plugin {ep.name} = {ep.value} (package {package}, group {group})"
        try:
            with loading(package):
                target = ep.load()
                if not isinstance(target, ModuleType) and callable(target):
                    target()  # a registration hook rather than a module that registers on import
        except ConfigError as exc:  # a clash of ids or a bad id: already a message for the user
            raise PluginError(f"{plugin}: {exc}") from None
        except Exception as exc:
            raise PluginError(f"{plugin} failed to load: {type(exc).__name__}: {exc}") from None
        _done.add(key)
        lines.append(f"{group}: {ep.name} = {ep.value} ({package})")
    return lines


def _import_module(name: str, where: str) -> ModuleType:
    """A module by dotted name (the current folder is searched too) or a `.py` file by path."""
    try:
        if name.endswith(".py") or os.sep in name or "/" in name:
            return _import_file(Path(name), where)
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.append(os.getcwd())  # as `python -m` would: a plugin module next to the scenarios
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.split(".")[0] == exc.name.split(".")[0]:
            raise PluginError(f"{where}: no module named {name!r} (give a module on the Python path or in "
                              "the current folder, or a path to a .py file)") from None
        raise PluginError(f"{where}: plugin module {name!r} failed to import: {exc}") from None
    except ConfigError as exc:
        raise PluginError(f"{where}: plugin module {name!r}: {exc}") from None
    except Exception as exc:
        raise PluginError(f"{where}: plugin module {name!r} failed to import: {type(exc).__name__}: "
                          f"{exc}") from None


def _import_file(path: Path, where: str) -> ModuleType:
    if not path.is_file():
        raise PluginError(f"{where}: no such file: {path}")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"{where}: cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[path.stem]
        raise
    return module


# -------------------------------------------------------------------------------------------- listing


@dataclass(frozen=True)
class Listed:
    """One row of `toolcall-harness plugins`."""

    id: str
    package: str
    module: str
    description: str
    kind: str | None = None  # checks only: wire or conversation


@dataclass(frozen=True)
class ListedPoint:
    name: str
    group: str
    description: str
    reserved: bool
    entries: list[Listed]


def list_extensions() -> list[ListedPoint]:
    """Every extension point with its registered entries (built-in and loaded plugins), in run order.

    A reserved group lists the entry points installed packages declare for it, without loading them.
    """
    points = []
    for point in EXTENSION_POINTS:
        if point.entries is None:
            entries = [Listed(ep.name, ep.dist.name if ep.dist else "?", ep.value, "declared, not loaded")
                       for ep in importlib.metadata.entry_points(group=point.group)]
        else:
            entries = [_listed(entry) for entry in point.entries()]
        points.append(ListedPoint(point.name, point.group, point.description, point.entries is None,
                                  entries))
    return points


def _listed(entry: Entry[Any]) -> Listed:
    value = entry.value
    description = getattr(value, "description", "") or ""
    return Listed(entry.id, entry.package, entry.module, description, getattr(value, "kind", None))


def render_plugins(fmt: str = "text") -> str:
    """The listing as text (one block per extension point) or as versioned JSON (`--format json`)."""
    points = list_extensions()
    if fmt == "json":
        return json.dumps({"version": LISTING_VERSION, "extension_points": [asdict(p) for p in points]},
                          indent=2)
    if fmt != "text":
        raise ConfigError(f"--format: unknown format {fmt!r} for plugins (known: json, text)")
    lines: list[str] = []
    for point in points:
        lines.append(f"{point.name} ({point.group}): {point.description}")
        if not point.entries:
            lines.append("  (none)")
        width = max((len(e.id) for e in point.entries), default=0)
        kind_width = max((len(e.kind or "") for e in point.entries), default=0)
        for e in point.entries:
            kind = f"  {(e.kind or ''):{kind_width}}" if kind_width else ""
            text = f"  {e.id:{width}}{kind}  {e.package}" + (f"  — {e.description}" if e.description else "")
            lines.append(text.rstrip())
        lines.append("")
    return "\n".join(lines).rstrip()


def run_plugins(fmt: str = "text", modules: Sequence[str] | None = None) -> int:
    """`toolcall-harness plugins [--format text|json] [--plugins MODULE]`: load, list, exit 0."""
    load_plugins(modules)
    print(render_plugins(fmt))
    return 0
