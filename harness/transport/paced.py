"""The rate limiter at the one place that knows a request goes on the wire: the live HTTP transport.

The engine puts `PacedTransport` in front of a provider's connection pool only for live traffic, and a
cassette passes a request to it only when it has no recorded answer; so a replayed run, or a replayed
turn of a recording run, never waits for a limit it does not spend. The transport asks the provider's
`RateLimiter` for a place before sending, tells it the answer's status and `x-ratelimit-*` headers as
soon as they arrive, and the tokens the response's `usage` reported once its body has been read.

The estimate of a request's tokens, before it is sent: its JSON body's bytes / 4, plus the completion
it may ask for (`max_completion_tokens` or `max_tokens`, else `DEFAULT_COMPLETION_TOKENS`). Four
bytes a token is the usual English average for the BPE tokenizers; the body's JSON punctuation, tool
schemas and keys are counted as text, so the prompt part errs high, which is the safe side for a budget.
Providers that meter `max_tokens` up front (OpenAI) count the completion the same way. The estimate
stands until the answer's `usage.total_tokens` replaces it; `usage` is looked for in the body's last
`TAIL_BYTES` (where both a completion and the last SSE chunk carry it), and where it is not found the
estimate is kept.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator

import httpx2

from harness.transport.bounds import queue_bound, queued
from harness.transport.rate_hints import read_hints
from harness.transport.rate_limit import RateLimiter, Ticket

BYTES_PER_TOKEN = 4
DEFAULT_COMPLETION_TOKENS = 256
TAIL_BYTES = 16_384


def estimate_tokens(body: bytes) -> int:
    """About how many tokens a request will spend (see the module doc); 0 for a request without a body."""
    if not body:
        return 0
    prompt = math.ceil(len(body) / BYTES_PER_TOKEN)
    try:
        data = json.loads(body)
    except ValueError:
        return prompt
    completion = DEFAULT_COMPLETION_TOKENS
    if isinstance(data, dict):
        for name in ("max_completion_tokens", "max_tokens"):
            value = data.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                completion = value
                break
    return prompt + completion


def usage_tokens(tail: bytes) -> int | None:
    """`usage.total_tokens` (else prompt + completion) of the last `"usage"` object in the text; None
    when there is none, or it is cut or not numbers."""
    text = tail.decode("utf-8", "replace")
    decoder = json.JSONDecoder()
    at = text.rfind('"usage"')
    while at >= 0:
        start = text.find(":", at + len('"usage"')) + 1
        while 0 < start < len(text) and text[start] in " \t\r\n":
            start += 1
        try:
            usage = decoder.raw_decode(text, start)[0] if start > 0 else None
        except ValueError:
            usage = None
        if isinstance(usage, dict):
            total, prompt, completion = (usage.get(k) for k in ("total_tokens", "prompt_tokens",
                                                                 "completion_tokens"))
            if isinstance(total, int) and _number(total):
                return total
            if isinstance(prompt, int) and isinstance(completion, int) and _number(prompt) \
                    and _number(completion):
                return prompt + completion
        at = text.rfind('"usage"', 0, at)
    return None


def _number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class PacedTransport(httpx2.BaseTransport):
    """One run's way to the wire through its provider's limiter; `on_wait(seconds, reason)` hears waits."""

    def __init__(self, inner: httpx2.BaseTransport, limiter: RateLimiter,
                 on_wait: Callable[[float, str], None] | None = None) -> None:
        self.inner = inner
        self.limiter = limiter
        self.on_wait = on_wait

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        bound = queue_bound()  # the run's own bounds (--run-timeout, --deadline) hold while it waits
        started = self.limiter.clock()
        ticket = self.limiter.acquire(estimate_tokens(request.read()), bound.at if bound else None,
                                      self.on_wait)
        queued(self.limiter.clock() - started)
        if ticket is None:
            assert bound is not None
            raise httpx2.PoolTimeout(bound.message)  # reported as the bound's error, as a socket's would be
        try:
            response = self.inner.handle_request(request)
        except BaseException:
            self.limiter.finish(ticket)
            raise
        self.limiter.observe(ticket, response.status_code, read_hints(response.headers))
        response.stream = _Settled(response.stream, self.limiter, ticket)
        return response

    def close(self) -> None:
        self.inner.close()


class _Settled(httpx2.SyncByteStream):
    """The body as it passes, its tail kept: when it ends the limiter learns the tokens it really cost."""

    def __init__(self, inner: object, limiter: RateLimiter, ticket: Ticket) -> None:
        self.inner = inner
        self.limiter = limiter
        self.ticket = ticket
        self.tail = bytearray()
        self.settled = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:  # type: ignore[attr-defined]
            self.tail += chunk
            if len(self.tail) > 2 * TAIL_BYTES:
                del self.tail[:-TAIL_BYTES]
            yield chunk
        self._settle()

    def close(self) -> None:
        try:
            close = getattr(self.inner, "close", None)
            if close is not None:
                close()
        finally:
            self._settle()

    def _settle(self) -> None:
        if not self.settled:
            self.settled = True
            self.limiter.finish(self.ticket, usage_tokens(bytes(self.tail[-TAIL_BYTES:])))
