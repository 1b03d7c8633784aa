"""A wire check for a team whose tool router expects OpenAI-shaped call ids.

The OpenAI wire contract only asks for a non-empty string (the built-in `tool_call.id` check), so other
shapes are not violations; for this team they are worth a warning in every report.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import harness
from harness import Exchange, Finding

OPENAI_ID = re.compile(r"^call_[A-Za-z0-9]{24}$")


@harness.check("example.call_id_format")
def call_id_format(exchange: Exchange) -> Iterator[Finding]:
    """Tool-call ids look like OpenAI's (`call_` and 24 letters or digits), as our router expects."""
    for position, call in enumerate(exchange.reply.tool_calls):
        if call.id and not OPENAI_ID.match(call.id):
            yield Finding(check="example.call_id_format", severity="warning",
                          expected="call_ + 24 letters or digits", actual=call.id,
                          message=f"tool call {position}: id {call.id!r} is not OpenAI-shaped")
