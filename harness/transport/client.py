"""One request through the real openai SDK, with the raw bytes, the timings and bounded retries.

Streaming responses are read as raw bytes (`with_streaming_response`) so the harness assembles the
tool calls itself and wire defects stay visible; the SDK's own parse is checked separately. Provider
and transport failures become `ErrorInfo`, never exceptions, so one bad cell cannot stop a matrix.
"""

from __future__ import annotations

import codecs
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import openai

from harness.core.limits import DEFAULT_MAX_RESPONSE_BYTES, EVIDENCE_BYTES
from harness.core.model import ErrorInfo, Provenance
from harness.transport.bounds import Bound, bounded, earliest, passed, queued_total
from harness.transport.cassettes import CassetteMiss, Redactor
from harness.transport.errors import classify_error
from harness.transport.rate_hints import retry_after
from harness.transport.retry import RetryPolicy as RetryPolicy  # its home: stdlib only, cheap to import


@dataclass
class Attempt:
    status: int | None = None
    text: str | None = None
    error: ErrorInfo | None = None
    latency_s: float | None = None
    ttfb_s: float | None = None
    ttft_s: float | None = None
    retry_after: float | None = None
    http_error: bool = False  # the server answered with a non-2xx status (not a transport failure)
    streamed: bool = False
    ended: float | None = None  # time.perf_counter() when the body's last byte was read


@dataclass
class Exchanged:
    status: int | None
    text: str | None
    error: ErrorInfo | None
    latency_s: float | None
    ttfb_s: float | None
    ttft_s: float | None
    retries: list[str] = field(default_factory=list)


def _is_first_token(line: str) -> bool:
    """A data line whose delta carries text or a tool call: the first token the user could see."""
    if not line.startswith("data:"):
        return False
    try:
        chunk = json.loads(line[5:])
    except ValueError:
        return False
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    for choice in choices if isinstance(choices, list) else []:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if isinstance(delta, dict) and (delta.get("content") or delta.get("tool_calls")):
            return True
    return False


@dataclass(frozen=True)
class RequestLimits:
    """The bounds of one request: total seconds (connect and every read) and bytes of the body."""

    timeout: float | None = None
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES


def _read(response: Any, attempt: Attempt, start: float, stream: bool, cap: int) -> None:
    """Read the body into `attempt.text`, timing the first byte and token, stopping past `cap` bytes.

    Both modes are read as they arrive (the SDK would read a plain body whole, beyond any cap); a body
    over the cap keeps its first `EVIDENCE_BYTES` as evidence and ends as `too_large`.
    """
    http = response.http_response
    decoder = codecs.getincrementaldecoder(http.encoding or "utf-8")(errors="replace")
    chunks: list[bytes] = []
    size = 0
    pending = ""
    try:
        for chunk in response.iter_bytes():
            now = time.perf_counter() - start
            if attempt.ttfb_s is None:
                attempt.ttfb_s = now
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                head = b"".join(chunks)[:EVIDENCE_BYTES]
                attempt.text = head.decode("utf-8", "replace")
                attempt.error = ErrorInfo(
                    kind="too_large", status=attempt.status,
                    message=f"the response body passed {size} bytes, more than the {cap}-byte cap "
                    f"(--max-response-bytes); its first {len(head)} bytes are kept")
                return
            if stream and attempt.ttft_s is None:
                pending += decoder.decode(chunk)
                *lines, pending = pending.split("\n")
                if any(_is_first_token(line.strip()) for line in lines):
                    attempt.ttft_s = now
        # The answer is complete here: closing it, returning the connection to the pool and decoding
        # the text are the harness's work, which a thread may do late when others hold the GIL.
        attempt.ended = time.perf_counter()
    finally:
        if attempt.error is None:
            attempt.text = b"".join(chunks).decode(http.encoding or "utf-8", "replace")


_sent = threading.local()


def mark_sent(request: Any) -> None:
    """An httpx2 request hook: the moment the SDK, done building the request, hands it to the transport.

    A turn's latency is timed from here, not from the call into the SDK: building the request (the SDK
    walks every message through its type transforms, a millisecond or more under load) is the client's
    work, not the provider's time to answer. Clients built without the hook time from the call.
    """
    _sent.at = time.perf_counter()


def _call(client: openai.OpenAI, body: dict[str, Any], limits: RequestLimits) -> Attempt:
    stream = bool(body.get("stream"))
    # The whole body travels in `extra_body`: it is the harness's own, already in wire form, and the SDK
    # lays `extra_body` over its typed fields, all `omit` here, so what it sends is the body, key for key
    # and in its order (tests/test_request_wire.py). Given as typed fields, the SDK would walk the
    # messages through its TypedDict transforms, an identity on wire-form dicts that cost about 1 ms of
    # CPU per request, and hash the `model` field's type, a Literal of every OpenAI model name, on every
    # request: about a tenth of the client's CPU with 64 runs in flight, under the GIL they share. The
    # answer is read raw either way (`with_streaming_response`), so the SDK need not know it streams.
    start = time.perf_counter()
    _sent.at = None
    attempt = Attempt(streamed=stream)
    # The request's own bound leaves out a wait for the rate limiter (`queue=False`), and so do its timings.
    request = Bound.after(limits.timeout, "timeout",
                          f"the request passed its time bound of {limits.timeout:g}s (--timeout)",
                          queue=False) if limits.timeout is not None else None
    queued_before = queued_total()

    def waited() -> float:
        return queued_total() - queued_before

    try:
        with bounded(request):
            with client.chat.completions.with_streaming_response.create(  # type: ignore[call-overload]
                model=openai.omit, messages=openai.omit, extra_body=body  # typed as required: given, as omit
            ) as response:
                start = _sent.at or start
                attempt.status = response.http_response.status_code
                _read(response, attempt, start + waited(), stream, limits.max_response_bytes)
    except openai.APIStatusError as exc:
        start = _sent.at or start
        attempt.status = exc.status_code
        attempt.text = exc.response.text
        attempt.error = classify_error(exc.status_code, attempt.text)
        attempt.retry_after = retry_after(exc.response.headers)
        attempt.http_error = True
    except Exception as exc:  # a stream cut midway surfaces from httpx2 as a protocol/read error
        start = _sent.at or start
        moved = replace(request, at=request.at + waited()) if request is not None else None
        attempt.error = _transport_error(exc, attempt.status, moved)
    # Timed from the request leaving the SDK (`mark_sent`) to its last byte, less any wait for the rate
    # limiter, which happens after the mark, in the transport.
    attempt.latency_s = (attempt.ended or time.perf_counter()) - start - waited()
    return attempt


def _transport_error(exc: Exception, status: int | None, request: Bound | None) -> ErrorInfo:
    """What a failure without an HTTP answer means: a bound that passed, a cassette miss, a timeout."""
    bound = passed() or (request if request is not None and request.left() <= 0 else None)
    if bound is not None:
        return ErrorInfo(kind=bound.kind, message=bound.message, status=status)
    cause = exc.__cause__
    if isinstance(exc, CassetteMiss) or isinstance(cause, CassetteMiss):
        return ErrorInfo(kind="not_found", message=str(cause if isinstance(cause, CassetteMiss) else exc))
    if isinstance(exc, openai.APITimeoutError):
        return ErrorInfo(kind="timeout", message="request timed out", status=status)
    if isinstance(exc, openai.APIConnectionError):
        return ErrorInfo(kind="connection", message=f"connection failed: {cause or exc}", status=status)
    return ErrorInfo(kind="connection", message=f"{type(exc).__name__}: {exc}", status=status)


def _retryable(attempt: Attempt, statuses: frozenset[int]) -> bool:
    """HTTP errors by status; transport failures of a plain body, or of a stream before any byte came.

    A stream cut after it started is not retried: a second request gets a different answer, and the
    partial SSE text is the evidence of what this one did. A plain body cut midway is only a broken
    transfer, as before it was read through the SDK.
    """
    if attempt.error is None:
        return False
    if attempt.http_error:
        return attempt.status in statuses
    if attempt.error.kind in ("deadline", "too_large") or passed() is not None:
        return False  # a run or deadline bound passed: no try can succeed now
    return not attempt.text or not attempt.streamed


def _note(number: int, attempt: Attempt, delay: float) -> str:
    assert attempt.error is not None
    status = f"HTTP {attempt.status}, " if attempt.http_error else ""
    asked = ""
    if attempt.retry_after is not None:
        asked = f"; Retry-After {attempt.retry_after:g}s" + (
            f" capped at {delay:g}s" if delay < attempt.retry_after else ""
        )
    return (
        f"try {number}: {attempt.error.kind} ({status}{attempt.error.message[:120]}){asked}; "
        f"retrying after {delay:.2f}s"
    )


def send(
    client: openai.OpenAI,
    body: dict[str, Any],
    policy: RetryPolicy,
    redact: Redactor,
    provenance: Callable[[], Provenance] | None = None,
    on_retry: Callable[[str], None] | None = None,
    limits: RequestLimits | None = None,
) -> Exchanged:
    """Send with retries; timings are dropped for replayed traffic and TTFB/TTFT for recorded traffic.

    `on_retry` hears each retry note as it is decided, before the backoff: a long Retry-After wait is
    then visible while it happens, not only in the result.
    """
    retries: list[str] = []
    waited = 0.0
    limits = limits or RequestLimits()
    for number in range(1, policy.tries + 1):
        attempt = _call(client, body, limits)
        how = provenance() if provenance else "live"
        if not _retryable(attempt, policy.statuses) or number == policy.tries:
            break
        delay = policy.delay(number, attempt.retry_after)
        bound = earliest()
        if waited + delay > policy.max_total_wait or (bound is not None and bound.left() <= delay):
            break  # the backoff alone would pass a bound of the run: the last error stands
        retries.append(redact(_note(number, attempt, delay)))
        if on_retry is not None:
            on_retry(retries[-1])
        if how != "replayed":
            time.sleep(delay)
            waited += delay
    error = attempt.error
    if error is not None:
        error = error.model_copy(update={"message": redact(error.message)})
    live = how == "live"
    return Exchanged(
        status=attempt.status,
        text=attempt.text,
        error=error,
        latency_s=attempt.latency_s if how != "replayed" else None,
        ttfb_s=attempt.ttfb_s if live else None,
        ttft_s=attempt.ttft_s if live else None,
        retries=retries,
    )
