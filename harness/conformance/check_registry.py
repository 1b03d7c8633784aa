"""Checks as plain functions in registries, the public `@check` decorator, and `--checks` selection.

A check has a stable id (`tool_call.arguments_json`), a kind and one function of a typed context that
yields findings carrying that id:

- `wire` checks read one exchange (`harness.conformance.exchange.Exchange`) and run on every response;
- `conversation` checks read the finished conversation with the scenario's expectations
  (`harness.conformance.expectations.ConversationContext`) and run once per run.

Both kinds share one id space, so `--checks` and `--exclude-checks` name any check without saying its
kind. The built-ins register with the same decorator a plugin uses; this module imports none of them, so
a plugin that only imports `check` stays cheap to load (no openai SDK).
"""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from harness.core.errors import ConfigError, located
from harness.core.model import Finding
from harness.core.registry import DuplicateIdError, Registry, unknown_id

CheckKind = Literal["wire", "conversation"]
CHECK_KINDS: tuple[CheckKind, ...] = ("wire", "conversation")
GROUP = "toolcall_harness.checks"
CheckFn = Callable[[Any], Iterable[Finding]]
F = TypeVar("F", bound=Callable[..., Iterable[Finding]])
# The modules that hold the built-in checks; imported when a complete list is needed.
BUILTIN_MODULES = ("harness.conformance.checks", "harness.conformance.expectations")


@dataclass(frozen=True)
class Check:
    """One registered check: its stable id, what it reads, and the function that judges."""

    id: str
    kind: CheckKind
    fn: CheckFn
    description: str = ""


class CheckRegistry(Registry[Check]):
    """The checks of one kind, run in registration order; ids are unique across its peer registries."""

    def __init__(self, kind: CheckKind = "wire") -> None:
        super().__init__("check", GROUP)
        self.kind: CheckKind = kind
        self.peers: tuple[CheckRegistry, ...] = ()

    def add(self, id: str, value: Check, *, module: str | None = None) -> Check:
        for peer in self.peers:
            if id in peer:
                raise DuplicateIdError(
                    f"check {id!r} is already registered as a {peer.kind} check (by "
                    f"{peer.entry(id).package}); a {self.kind} check cannot take the same id"
                )
        return super().add(id, value, module=module or value.fn.__module__)

    def register(self, check_id: str, *, description: str | None = None) -> Callable[[F], F]:
        """Decorator: register a check function of this registry's kind under `check_id`."""

        def decorate(fn: F) -> F:
            self.add(check_id, Check(check_id, self.kind, fn, _first_line(description, fn)))
            return fn

        return decorate

    def run(self, context: Any, selection: CheckSelection | None = None) -> list[Finding]:
        """Every selected check on `context`, all of them (never stopping at the first finding)."""
        findings: list[Finding] = []
        for entry in self.values():
            if selection is None or selection.allows(entry.id):
                findings.extend(entry.fn(context))
        return findings

    def get_fn(self, check_id: str) -> CheckFn:
        return self.get(check_id).fn


# Filled by harness.conformance.checks and harness.conformance.expectations, and by plugins.
WIRE_CHECKS = CheckRegistry("wire")
CONVERSATION_CHECKS = CheckRegistry("conversation")
WIRE_CHECKS.peers = (CONVERSATION_CHECKS,)
CONVERSATION_CHECKS.peers = (WIRE_CHECKS,)
_BY_KIND = {"wire": WIRE_CHECKS, "conversation": CONVERSATION_CHECKS}


def check(check_id: str, *, kind: CheckKind = "wire", description: str | None = None) -> Callable[[F], F]:
    """Register a check, as the built-ins do; the public decorator for plugins (`harness.check`).

    ::

        @harness.check("acme.call_id_format", kind="wire")
        def call_id_format(exchange: Exchange) -> Iterator[Finding]:
            ...

    The function's findings should carry `check=check_id`, so selection and the report agree.
    """
    if kind not in _BY_KIND:
        raise ConfigError(f"check {check_id!r}: kind must be one of {', '.join(CHECK_KINDS)}, not {kind!r}")
    return _BY_KIND[kind].register(check_id, description=description)


def _first_line(description: str | None, fn: Callable[..., Any]) -> str:
    text = description if description is not None else (fn.__doc__ or "")
    return text.strip().splitlines()[0] if text.strip() else ""


def load_builtin_checks() -> None:
    """Import the modules of the built-in checks, so a listing or a selection sees all of them."""
    for name in BUILTIN_MODULES:
        importlib.import_module(name)


def all_checks() -> list[Check]:
    """Every registered check, wire checks first, each in registration order."""
    load_builtin_checks()
    return WIRE_CHECKS.values() + CONVERSATION_CHECKS.values()


# ------------------------------------------------------------------------------------------ selection


@dataclass(frozen=True)
class CheckSelection:
    """Which checks run: ids or `*` patterns to include (none: all) and to exclude (wins over include)."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def allows(self, check_id: str) -> bool:
        if any(fnmatch.fnmatchcase(check_id, p) for p in self.exclude):
            return False
        return not self.include or any(fnmatch.fnmatchcase(check_id, p) for p in self.include)

    @property
    def everything(self) -> bool:
        return not self.include and not self.exclude


ALL_CHECKS = CheckSelection()


def _patterns(values: Sequence[str] | str | None) -> tuple[str, ...]:
    """`--checks a,b --checks c` and `["a", "b,c"]` alike: comma-separated, repeatable."""
    if values is None:
        return ()
    items = [values] if isinstance(values, str) else list(values)
    return tuple(p.strip() for item in items for p in item.split(",") if p.strip())


def select_checks(
    include: Sequence[str] | str | None = None,
    exclude: Sequence[str] | str | None = None,
    *,
    include_option: str = "--checks",
    exclude_option: str = "--exclude-checks",
) -> CheckSelection:
    """A validated selection; an id nothing registered is an error located at its option, with a hint.

    Call it after the plugins are loaded, so their checks can be named too.
    """
    load_builtin_checks()
    known = WIRE_CHECKS.ids() + CONVERSATION_CHECKS.ids()
    selection = CheckSelection(_patterns(include), _patterns(exclude))
    for option, patterns in ((include_option, selection.include), (exclude_option, selection.exclude)):
        for pattern in patterns:
            if any(c in pattern for c in "*?["):
                if not fnmatch.filter(known, pattern):
                    raise ConfigError(located(option, None, f"{pattern!r} matches no check"))
            elif pattern not in known:
                raise unknown_id("check", pattern, known, option)
    return selection
