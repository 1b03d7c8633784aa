"""What the stub can do wrong on purpose: protocol breaks in its answers and faults in its transport.

Names are checked loudly (`check_names`): a misspelt break or fault kind that were silently ignored
would make the test using it pass without testing anything.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

FaultKind = Literal[
    "status",
    "html",
    "invalid_json",
    "empty_choices",
    "unknown_finish_reason",
    "timeout",
    "reset_midstream",
    "cut_before_done",
    "trickle",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
BREAKS: frozenset[str] = frozenset(
    {
        "duplicate_ids",  # every call carries the first call's id
        "arguments_object",  # function.arguments is a JSON object, not a string
        "missing_type",  # no "type": "function" on calls
        "missing_id",  # no "id" on calls
        "wrong_finish_reason",  # "stop" although calls are present
        "no_done",  # stream ends without `data: [DONE]`
        "no_index",  # stream tool-call deltas carry no "index"
        "repeat_header",  # stream continuation deltas repeat id, type and name
        "no_finish_reason",  # finish_reason is never set (stream: no final chunk)
        "invalid_json_args",  # arguments cut in half, so they no longer parse
        "unknown_tool",  # the first call names a tool that was not offered
    }
)
UNKNOWN_TOOL = "stub_unknown_tool"


def check_names(kind: str, given: Iterable[str], allowed: Iterable[str]) -> None:
    """Reject a misspelt break or fault kind loudly: a silently ignored one makes a test vacuous."""
    allowed = sorted(allowed)
    for name in given:
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f" — did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(allowed)}"
            raise ValueError(f"unknown {kind} {name!r}{hint}")


@dataclass(frozen=True)
class Fault:
    """A failure to inject into one chat-completions request, or into every one (`every=True`).

    Faults pinned with `request=N` (1-based, counting chat-completions requests) fire on that request;
    the unpinned ones are consumed in list order by the following requests; an `every` fault fires
    whenever neither applies, which is how benchmarks model a persistently broken provider.
    `status` defaults to 500 for "status" and 200 for "html" (a login or proxy page served as success).
    """

    kind: FaultKind
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | bytes | dict[str, Any] | None = None
    seconds: float = 1.0  # "timeout": how long to stall before answering; "trickle": between bytes
    after_events: int = 2  # "reset_midstream": SSE events sent before the socket is closed
    finish_reason: str = "end_turn"  # "unknown_finish_reason": the value sent
    request: int | None = None
    every: bool = False

    def __post_init__(self) -> None:
        check_names("fault kind", [self.kind], FAULT_KINDS)
        if self.every and self.request is not None:
            raise ValueError("a Fault is either pinned to one request or applies to every request, not both")
