"""A well-behaved model for the stub server: the right calls for tests/data/scenarios, then answers."""

from __future__ import annotations

from typing import Any

from harness.testing.stub import Responder, by_last_user, echo_responder

SF = {"name": "get_weather", "arguments": {"location": "San Francisco"}}
NYC = {"name": "get_weather", "arguments": {"location": "New York"}}


def _first_turn(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("tool_choice") == "none":
        return {"role": "assistant", "content": "I can't check live weather right now."}
    return {"role": "assistant", "content": None, "tool_calls": [SF]}


def oracle() -> Responder:
    """Answers tool results with their contents (echo); otherwise picks the call a good model would make."""
    first = by_last_user(
        {
            "boiling point": "Water boils at 100 °C at sea level.",
            "San Francisco and New York": {"role": "assistant", "content": None, "tool_calls": [SF, NYC]},
        },
        default=_first_turn,
    )

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        messages = body.get("messages") or []
        if messages and messages[-1].get("role") == "tool":
            return echo_responder(body)
        return first(body)

    return responder
