"""What a provider's models endpoint declares about tool calling, as a typed capability set.

The Lunos guide tells users to check `GET /v1/models` before relying on tool calling, and providers
answer in different shapes, when at all. This module reads a whole `/models` body (the JSON as it came)
for one model id into `DeclaredCapabilities` (tools, tool_choice, parallel_tool_calls), keeping the
field it read. It is pure (no SDK, no network), so the report can be built from a recorded body and
the rules are pinned on hand-built bodies:

- OpenRouter's `supported_parameters`: an exhaustive list of the request parameters the model takes,
  so a parameter absent from it is declared unsupported (False);
- a capability field (`capabilities` or `features`, Lunos-style gateways): a list of names, where tool
  support is any of the usual words and `tool_choice` / `parallel_tool_calls` are named when declared
  (absent: unknown, since such lists name coarse features), or a mapping of flags (read as given);
- a plain OpenAI listing (`id`, `object`, `owned_by`) declares nothing: every capability stays None.
"""

from __future__ import annotations

from typing import Any

from harness.core.model import DeclaredCapabilities

TOOL_WORDS = frozenset(
    {
        "tools",
        "tool_use",
        "tool_calling",
        "tool-calling",
        "function_calling",
        "function-calling",
        "functions",
        "function_call",
    }
)
CHOICE_WORDS = frozenset({"tool_choice", "tool-choice", "forced_tool_choice"})
PARALLEL_WORDS = frozenset({"parallel_tool_calls", "parallel-tool-calls", "parallel_function_calling"})
CAPABILITY_KEYS = ("capabilities", "features")


def model_entry(body: Any, model: str) -> dict[str, Any] | None:
    """The entry of `model` in a `/models` body (`{"data": [...]}` or a bare list), if listed."""
    entries = body.get("data") if isinstance(body, dict) else body
    if not isinstance(entries, list):
        return None
    return next((e for e in entries if isinstance(e, dict) and e.get("id") == model), None)


def _flag(flags: dict[str, Any], words: frozenset[str]) -> bool | None:
    hits = [flags[w] for w in words if w in flags]
    return any(bool(h) for h in hits) if hits else None


def entry_capabilities(entry: dict[str, Any]) -> DeclaredCapabilities:
    """The capabilities one `/models` entry declares (see the module docstring for the shapes)."""
    params = entry.get("supported_parameters")
    if isinstance(params, list):
        names = {str(p) for p in params}
        return DeclaredCapabilities(
            tools="tools" in names,
            tool_choice="tool_choice" in names,
            parallel_tool_calls="parallel_tool_calls" in names,
            source="supported_parameters",
        )
    for key in CAPABILITY_KEYS:
        value = entry.get(key)
        if isinstance(value, list):
            words = {str(v).lower() for v in value}
            return DeclaredCapabilities(
                tools=bool(words & TOOL_WORDS),
                tool_choice=True if words & CHOICE_WORDS else None,
                parallel_tool_calls=True if words & PARALLEL_WORDS else None,
                source=key,
            )
        if isinstance(value, dict):
            flags = {str(k).lower(): v for k, v in value.items()}
            found = DeclaredCapabilities(
                tools=_flag(flags, TOOL_WORDS),
                tool_choice=_flag(flags, CHOICE_WORDS),
                parallel_tool_calls=_flag(flags, PARALLEL_WORDS),
                source=key,
            )
            if (found.tools, found.tool_choice, found.parallel_tool_calls) != (None, None, None):
                return found
    return DeclaredCapabilities()


def declared_capabilities(body: Any, model: str) -> DeclaredCapabilities:
    """What the body declares for `model`; nothing (all unknown) when it is not listed or says nothing."""
    entry = model_entry(body, model)
    return entry_capabilities(entry) if entry is not None else DeclaredCapabilities()
