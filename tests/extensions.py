"""Shared by the extension-point tests: every registry, and a fixture that undoes what a test registered.

Registries are process-wide, as plugins are; a test that registers a check or a matcher must leave the
registries as it found them, or a later test would see its extension.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from harness.app import plugins
from harness.conformance.check_registry import CONVERSATION_CHECKS, WIRE_CHECKS, load_builtin_checks
from harness.core.registry import Registry
from harness.providers.launchers import LAUNCHERS
from harness.reporting.reporters import REPORTERS
from harness.scenario.matcher_registry import ARGUMENT_MATCHERS, load_builtin_matchers
from harness.scenario.sources import SCENARIO_SOURCES

REGISTRIES: tuple[Registry[Any], ...] = (
    WIRE_CHECKS, CONVERSATION_CHECKS, ARGUMENT_MATCHERS, REPORTERS, LAUNCHERS, SCENARIO_SOURCES
)


@pytest.fixture
def scratch_registries() -> Iterator[None]:
    """Registries, loaded modules and the plugin loader's memory restored after the test."""
    load_builtin_checks()
    load_builtin_matchers()
    before = [set(r.ids()) for r in REGISTRIES]
    modules = set(sys.modules)
    done = set(plugins._done)
    path = list(sys.path)
    yield
    for registry, ids in zip(REGISTRIES, before, strict=True):
        for extra in set(registry.ids()) - ids:
            registry.remove(extra)
    for name in set(sys.modules) - modules:
        if not name.startswith(("harness", "_pytest", "pytest")):
            del sys.modules[name]
    plugins._done.clear()
    plugins._done.update(done)
    sys.path[:] = path
