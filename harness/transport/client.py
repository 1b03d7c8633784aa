"""One request through the real openai SDK, with the raw bytes, the timings and bounded retries.

Streaming responses are read as raw bytes (`with_streaming_response`) so the harness assembles the
tool calls itself and wire defects stay visible; the SDK's own parse is checked separately. Provider
and transport failures become `ErrorInfo`, never exceptions, so one bad cell cannot stop a matrix.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import openai

from harness.core.model import ErrorInfo, Provenance
from harness.transport.cassettes import CassetteMiss, Redactor
from harness.transport.errors import classify_error
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


@dataclass
class Exchanged:
    status: int | None
    text: str | None
    error: ErrorInfo | None
    latency_s: float | None
    ttfb_s: float | None
    ttft_s: float | None
    retries: list[str] = field(default_factory=list)


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


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


def _call(client: openai.OpenAI, body: dict[str, Any]) -> Attempt:
    stream = bool(body.get("stream"))
    rest = {k: v for k, v in body.items() if k not in ("model", "messages", "stream")}
    start = time.perf_counter()
    attempt = Attempt()
    try:
        if not stream:
            raw = client.chat.completions.with_raw_response.create(
                model=body["model"], messages=body["messages"], extra_body=rest
            )
            attempt.status = raw.http_response.status_code
            attempt.text = raw.http_response.text
        else:
            with client.chat.completions.with_streaming_response.create(
                model=body["model"], messages=body["messages"], stream=True, extra_body=rest
            ) as response:
                attempt.status = response.http_response.status_code
                parts: list[str] = []
                pending = ""
                try:
                    for piece in response.iter_text():
                        now = time.perf_counter() - start
                        if attempt.ttfb_s is None:
                            attempt.ttfb_s = now
                        parts.append(piece)
                        if attempt.ttft_s is None:
                            pending += piece
                            *lines, pending = pending.split("\n")
                            if any(_is_first_token(line.strip()) for line in lines):
                                attempt.ttft_s = now
                finally:
                    attempt.text = "".join(parts)
    except openai.APIStatusError as exc:
        attempt.status = exc.status_code
        attempt.text = exc.response.text
        attempt.error = classify_error(exc.status_code, attempt.text)
        attempt.retry_after = _retry_after(exc.response.headers)
        attempt.http_error = True
    except openai.APITimeoutError:
        attempt.error = ErrorInfo(kind="timeout", message="request timed out")
    except openai.APIConnectionError as exc:
        cause = exc.__cause__
        if isinstance(cause, CassetteMiss):
            attempt.error = ErrorInfo(kind="not_found", message=str(cause))
        else:
            attempt.error = ErrorInfo(kind="connection", message=f"connection failed: {cause or exc}")
    except Exception as exc:  # a stream cut midway surfaces from httpx2 as a protocol/read error
        if isinstance(exc.__cause__, CassetteMiss) or isinstance(exc, CassetteMiss):
            attempt.error = ErrorInfo(kind="not_found", message=str(exc))
        else:
            attempt.error = ErrorInfo(
                kind="connection", message=f"{type(exc).__name__}: {exc}", status=attempt.status
            )
    attempt.latency_s = time.perf_counter() - start
    return attempt


def _retryable(attempt: Attempt, statuses: frozenset[int]) -> bool:
    """HTTP errors by status; transport failures only before any byte of the answer arrived.

    A stream cut after it started is not retried: a second request gets a different answer, and the
    partial SSE text is the evidence of what this one did.
    """
    if attempt.error is None:
        return False
    if attempt.http_error:
        return attempt.status in statuses
    return not attempt.text


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
) -> Exchanged:
    """Send with retries; timings are dropped for replayed traffic and TTFB/TTFT for recorded traffic.

    `on_retry` hears each retry note as it is decided, before the backoff: a long Retry-After wait is
    then visible while it happens, not only in the result.
    """
    retries: list[str] = []
    waited = 0.0
    for number in range(1, policy.tries + 1):
        attempt = _call(client, body)
        how = provenance() if provenance else "live"
        if not _retryable(attempt, policy.statuses) or number == policy.tries:
            break
        delay = policy.delay(number, attempt.retry_after)
        if waited + delay > policy.max_total_wait:
            break
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
