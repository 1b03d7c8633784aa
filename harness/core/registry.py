"""One registry shape for every kind of extension: checks, matchers, reporters, launchers, scenario sources.

Every extension point is a `Registry[T]` of entries with a stable id, so the harness offers one set of
behaviours everywhere: registering an id twice is an error naming both owners (a plugin cannot silently
replace a built-in check), looking up an unknown id says "did you mean", and `toolcall-harness plugins`
lists each entry with the package it came from. The built-ins register through the same `add` call as
third-party plugins; the loader in `harness.app.plugins` only sets which package is registering.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from harness.core.errors import ConfigError, did_you_mean, located

T = TypeVar("T")

# What a stable id may look like: it is typed on command lines, used as a YAML key (matchers) and as a
# prefix before ':' (scenario sources), so it stays lowercase and free of spaces and colons.
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")
HARNESS_PACKAGE = "toolcall-harness"
# The distribution whose entry point is being loaded; entries registered meanwhile are attributed to it.
_LOADING: contextvars.ContextVar[str | None] = contextvars.ContextVar("harness_loading", default=None)
# How many ids an "unknown" message lists in full; longer lists point at `toolcall-harness plugins`.
MAX_KNOWN_SHOWN = 12


class DuplicateIdError(ConfigError, ValueError):
    """Two registrations for one id: a plugin clash (exit 2) or, among built-ins, a harness bug."""


class UnknownIdError(ConfigError, LookupError):
    """An id that nothing registered, named by the user on a command line or in a file."""


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered extension and where it came from."""

    id: str
    value: T
    module: str
    loaded_from: str | None = None  # the distribution whose entry point registered it, when known

    @property
    def package(self) -> str:
        """The installed package that provides the entry, or `module NAME` for a local plugin module."""
        return self.loaded_from or package_of(self.module) or f"module {self.module}"


@contextlib.contextmanager
def loading(package: str | None) -> Iterator[None]:
    """Attribute every registration inside the block to `package` (used by the entry-point loader)."""
    token = _LOADING.set(package)
    try:
        yield
    finally:
        _LOADING.reset(token)


@functools.lru_cache(maxsize=1)
def _distributions() -> dict[str, list[str]]:
    import importlib.metadata  # only a listing needs it: registries are imported by every command

    return dict(importlib.metadata.packages_distributions())


def package_of(module: str) -> str | None:
    """The distribution that installs `module`, or None for a module outside any installed package.

    Looked up only when a listing asks, because scanning every installed distribution costs time that
    start-up should not pay.
    """
    top = module.partition(".")[0]
    if top == "harness":
        return HARNESS_PACKAGE
    found = _distributions().get(top)
    return found[0] if found else None


def unknown_id(noun: str, given: str, known: Sequence[str], where: str | None = None) -> UnknownIdError:
    """`where: unknown check 'x' — did you mean 'y'? (known: ...)`, the one shape of every lookup error."""
    listed = (
        f" (known: {', '.join(sorted(known))})"
        if len(known) <= MAX_KNOWN_SHOWN
        else " (`toolcall-harness plugins` lists them)"
    )
    message = f"unknown {noun} {given!r}{did_you_mean(given, known)}{listed}"
    return UnknownIdError(located(where, None, message) if where else message)


class Registry(Generic[T]):
    """Extensions of one kind by stable id, in registration order; thread-safe to fill and read."""

    def __init__(self, noun: str, group: str) -> None:
        self.noun = noun  # "check", "argument matcher", ...: the word every message uses
        self.group = group  # the entry-point group that fills it, e.g. "toolcall_harness.checks"
        self._entries: dict[str, Entry[T]] = {}
        self._lock = threading.Lock()

    def add(self, id: str, value: T, *, module: str | None = None) -> T:
        """Register `value` under `id`; `module` is where it is defined (for the package column)."""
        if not isinstance(id, str) or not ID_PATTERN.match(id):
            raise ConfigError(f"{self.noun} id {id!r} is not valid: use lowercase letters, digits, '_', '.' "
                              "and '-', starting with a letter or digit")
        where = module or getattr(value, "__module__", None) or "?"
        # A plugin's import may be what first imports a registry and so registers its built-ins: those
        # stay the harness's own, which lets registries fill when first imported, not all at start-up.
        loaded_from = None if where.partition(".")[0] == "harness" else _LOADING.get()
        entry = Entry(id, value, where, loaded_from)
        with self._lock:
            if id in self._entries:
                first = self._entries[id]
                raise DuplicateIdError(
                    f"{self.noun} {id!r} is already registered (by {first.package}); {entry.package} "
                    "registers it again: rename one of them or uninstall one of the plugins"
                )
            self._entries[id] = entry
        return value

    def remove(self, id: str) -> None:
        """Forget an entry; for tests and for tools that build a registry of their own."""
        with self._lock:
            self._entries.pop(id, None)

    def get(self, id: str, *, where: str | None = None) -> T:
        """The entry's value; an unknown id raises `UnknownIdError` located at `where` (an option, a file)."""
        entry = self._entries.get(id)
        if entry is None:
            raise self.unknown(id, where)
        return entry.value

    def unknown(self, id: str, where: str | None = None) -> UnknownIdError:
        """The error for an id nothing registered: the closest id, and the known ones when they are few."""
        return unknown_id(self.noun, id, self.ids(), where)

    def entry(self, id: str) -> Entry[T]:
        if id not in self._entries:
            raise self.unknown(id)
        return self._entries[id]

    def entries(self) -> list[Entry[T]]:
        with self._lock:
            return list(self._entries.values())

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._entries)

    def values(self) -> list[T]:
        return [e.value for e in self.entries()]

    def __contains__(self, id: object) -> bool:
        return id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.noun!r}, {len(self)} entries)"
