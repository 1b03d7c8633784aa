"""A local OpenAI-compatible chat-completions server for tests and benchmarks.

The harness judges what a provider sends on the wire, so its own tests need a provider whose wire
bytes they control: one that answers correctly, one that breaks a single rule of the protocol
(`BREAKS`), and one that fails the way networks and gateways fail (`Fault`). This package is that
provider, stdlib only so it runs anywhere the package is installed, and bound to 127.0.0.1 only. It
imports nothing else of the harness, so it stays an independent witness of what the wire carried.

    with StubServer(breaks={"duplicate_ids"}) as stub:
        client = openai.OpenAI(base_url=stub.base_url, api_key="test")

A responder turns a request body into either an assistant message or a control dict
`{"message": {...}, "breaks": [...], "finish_reason": ..., "usage": {...}}` (any key but "message"
optional; "breaks" replaces the server's breaks for that response; `"usage": None` sends no usage at
all). In a message, a tool call may be written short as `{"name": ..., "arguments": {...}}`: the stub
adds a deterministic id, the type and JSON-encodes the arguments. Calls written in full (`{"id",
"type", "function"}`) are sent verbatim.

The pieces live by concept: `faults` (breaks and faults), `responders` (the stub's "model"), `wire`
(replies rendered as bodies and SSE events) and `server` (the HTTP server). This module is the one
import tests use.
"""

from __future__ import annotations

from harness.testing.faults import BREAKS, FAULT_KINDS, UNKNOWN_TOOL, Fault, FaultKind
from harness.testing.rate_limit import RateLimit
from harness.testing.responders import (
    Responder,
    by_last_user,
    echo_responder,
    example_arguments,
    example_value,
    scripted,
)
from harness.testing.server import STOP_GRACE_S, StubServer

__all__ = [
    "BREAKS",
    "FAULT_KINDS",
    "STOP_GRACE_S",
    "UNKNOWN_TOOL",
    "Fault",
    "FaultKind",
    "RateLimit",
    "Responder",
    "StubServer",
    "by_last_user",
    "echo_responder",
    "example_arguments",
    "example_value",
    "scripted",
]
