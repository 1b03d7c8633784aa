"""One recorded exchange as the replay server serves it: the request body and the response as it came.

The exchange files of `judge` and the harness's cassettes hold the request body, the status and the
response text; cassettes also keep the headers. Neither keeps where the transfer was cut into chunks,
so by default a stream is sent one SSE event per HTTP chunk, as providers send it; a test that needs
other boundaries (an event split inside its JSON) gives them in `chunks`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.core.model import Turn

# Headers the replay server sets itself: it serves the decoded text, with its own framing.
HOP_BY_HOP = frozenset(
    {"content-length", "transfer-encoding", "content-encoding", "connection", "keep-alive", "date", "server"}
)


class RecordedLike(Protocol):
    """What `app.judge.Recorded` offers, read without importing the layer above."""

    label: str
    request: dict[str, Any]
    status: int | None
    text: str
    stream: bool


@dataclass(frozen=True)
class ReplayExchange:
    """The bytes to serve for one recorded request, and how the client should be called for it.

    `stream` is the mode of the recorded response (an SSE body or not), which decides how a driver
    calls its client whatever the recorded request says. `headers` are the recorded response headers
    (names lower-cased), empty when the recording kept none. `truncated` serves a transfer that was cut:
    the connection drops after the text, without the chunked terminator.
    """

    label: str
    request: dict[str, Any]
    status: int
    text: str
    stream: bool
    headers: Mapping[str, str] = field(default_factory=dict)
    chunks: tuple[str, ...] | None = None
    truncated: bool = False

    def __post_init__(self) -> None:
        if self.chunks is not None and "".join(self.chunks) != self.text:
            raise ValueError(f"{self.label}: chunks must join to exactly the recorded text")

    @classmethod
    def of(cls, recorded: RecordedLike, headers: Mapping[str, str] | None = None) -> ReplayExchange:
        """From a `judge` record (an exchange file or one cassette interaction)."""
        if recorded.status is None:
            raise ValueError(f"{recorded.label}: no HTTP status was recorded, so there is nothing to replay")
        return cls(label=recorded.label, request=dict(recorded.request), status=recorded.status,
                   text=recorded.text, stream=recorded.stream,
                   headers={k.lower(): v for k, v in (headers or {}).items()})

    @classmethod
    def from_turn(cls, turn: Turn, label: str) -> ReplayExchange | None:
        """From a live or replayed turn of `run`; None when no response came (timeout, connection)."""
        if turn.status is None or turn.response_text is None:
            return None
        return cls(label=f"{label}#{turn.number}", request=dict(turn.request), status=turn.status,
                   text=turn.response_text, stream=bool(turn.request.get("stream")))

    def content_type(self) -> str:
        """The recorded Content-Type, else the one the bytes call for (the exchange files keep no headers)."""
        recorded = self.headers.get("content-type")
        if recorded:
            return recorded
        head = self.text.lstrip(" \t\r\n\ufeff")[:1]
        if head == "<":
            return "text/html; charset=utf-8"
        if head in ("{", "["):
            try:
                json.loads(self.text)
                return "application/json"
            except ValueError:
                pass
        if self.stream and 200 <= self.status < 300:
            return "text/event-stream; charset=utf-8"
        return "application/json"

    def extra_headers(self) -> dict[str, str]:
        """Recorded headers to send as they were, less Content-Type and the framing the server owns."""
        return {k: v for k, v in self.headers.items() if k not in HOP_BY_HOP and k != "content-type"}

    def pieces(self) -> list[str]:
        """The text cut as it is sent: the recorded chunks, else one SSE event (with its blank line) each."""
        if self.chunks is not None:
            return [c for c in self.chunks if c]
        if not self.content_type().startswith("text/event-stream"):
            return [self.text] if self.text else []
        parts = re.split(r"(?<=\r\n\r\n)|(?<=\n\n)|(?<=\r\r)", self.text)
        return [p for p in parts if p]
