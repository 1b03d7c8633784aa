"""What a provider's response headers say about its rate limits: `x-ratelimit-*` and `retry-after`.

OpenAI's spelling is the de facto one (Groq, Together, OpenRouter and most gateways copy it):
`x-ratelimit-limit-requests`, `x-ratelimit-remaining-requests`, `x-ratelimit-reset-requests` and the
`-tokens` versions, resets written as Go durations (`1s`, `6m0s`, `120ms`, `1h2m3.5s`); on a 429,
`retry-after` (seconds, or an HTTP date) and `retry-after-ms`. Headers are the provider's to get wrong:
a missing, empty, negative or garbled value is read as absent, never as an error, because a run must
not fail on an advisory header. The limits themselves (`limit-*`) are not adopted as rates: some
providers send a per-day limit there (Groq's `limit-requests`), so only `remaining` and `reset` are used.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|us|µs|ns|h|m|s)")


def parse_duration(text: str | None) -> float | None:
    """Seconds in a Go-style duration (`6m0s`, `120ms`, `1.5s`) or a bare number of seconds; else None."""
    if text is None:
        return None
    text = text.strip().lower()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        parts = _PART.findall(text)
        if not parts or "".join(number + unit for number, unit in parts) != text:
            return None  # anything left over (`5 minutes`, `-1s`, `1s garbage`) is not a duration we know
        seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _count(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return int(value) if math.isfinite(value) and value >= 0 else None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The wait a server asks for: `retry-after-ms` when given (finer), else `retry-after` (seconds, date)."""
    millis = _count(headers.get("retry-after-ms"))
    if millis is not None:
        return millis / 1e3
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


@dataclass(frozen=True)
class Hints:
    """The rate-limit state one response reported; None where the header was absent or unreadable."""

    requests_remaining: int | None = None
    requests_reset_s: float | None = None
    tokens_remaining: int | None = None
    tokens_reset_s: float | None = None
    retry_after_s: float | None = None

    @property
    def empty(self) -> bool:
        return all(v is None for v in (self.requests_remaining, self.requests_reset_s, self.tokens_remaining,
                                       self.tokens_reset_s, self.retry_after_s))


def read_hints(headers: Mapping[str, str]) -> Hints:
    """The hints in a response's headers (a case-insensitive mapping, as httpx's `Headers` is)."""
    return Hints(
        requests_remaining=_count(headers.get("x-ratelimit-remaining-requests")),
        requests_reset_s=parse_duration(headers.get("x-ratelimit-reset-requests")),
        tokens_remaining=_count(headers.get("x-ratelimit-remaining-tokens")),
        tokens_reset_s=parse_duration(headers.get("x-ratelimit-reset-tokens")),
        retry_after_s=retry_after(headers),
    )
