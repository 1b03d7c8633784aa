"""toolcall-harness: conformance tests for tool calling over OpenAI-compatible chat-completions APIs.

The public extension API, for plugins (see docs/plugins.md)::

    import harness

    @harness.check("acme.call_id_format")            # a wire check of one exchange
    @harness.check("acme.polite", kind="conversation")  # a check of the finished conversation
    @harness.matcher("regex", params=Regex, describe=...)
    @harness.reporter("csv", suffix=".csv")
    @harness.launcher("vllm")                        # on a harness.Launcher subclass
    @harness.scenario_source("bfcl")
    @harness.client                                  # on a harness.ClientDriver subclass (--clients)

Each name is imported on first use: importing `harness` (as pytest does for the plugin) stays free.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name -> the module that defines it.
_PUBLIC = {
    "check": "harness.conformance.check_registry",
    "Exchange": "harness.conformance.exchange",
    "ConversationContext": "harness.conformance.expectations",
    "Finding": "harness.core.model",
    "Report": "harness.core.model",
    "matcher": "harness.scenario.matcher_registry",
    "MatchContext": "harness.scenario.matcher_registry",
    "reporter": "harness.reporting.reporters",
    "launcher": "harness.providers.launchers.base",
    "Launcher": "harness.providers.launchers.base",
    "LauncherError": "harness.providers.launchers.base",
    "ProcessLauncher": "harness.providers.launchers.process",
    "scenario_source": "harness.scenario.sources",
    "client": "harness.clients.driver",
    "ClientDriver": "harness.clients.driver",
    "ResolvedScenario": "harness.scenario.spec",
}
__all__ = [
    "ClientDriver", "ConversationContext", "Exchange", "Finding", "Launcher", "LauncherError", "MatchContext",
    "ProcessLauncher", "Report", "ResolvedScenario", "__version__", "check", "client", "launcher", "matcher",
    "reporter", "scenario_source",
]  # fmt: skip

if TYPE_CHECKING:
    from harness.clients.driver import ClientDriver, client
    from harness.conformance.check_registry import check
    from harness.conformance.exchange import Exchange
    from harness.conformance.expectations import ConversationContext
    from harness.core.model import Finding, Report
    from harness.providers.launchers.base import Launcher, LauncherError, launcher
    from harness.providers.launchers.process import ProcessLauncher
    from harness.reporting.reporters import reporter
    from harness.scenario.matcher_registry import MatchContext, matcher
    from harness.scenario.sources import scenario_source
    from harness.scenario.spec import ResolvedScenario


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
