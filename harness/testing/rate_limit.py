"""The stub as a provider with a rate limit: at most N chat-completions requests in any window of W seconds.

A sliding window is the strictest of the ways providers count "N per minute" (a client that passes it
passes a fixed window and a token bucket too), so a harness that stays clear of 429s here stays clear
of them anywhere. Requests are counted when they arrive; a request answered 429 is not counted, as
providers do not charge a refused request against the limit. Every answer carries OpenAI's headers:
`x-ratelimit-limit-requests`, `x-ratelimit-remaining-requests`, and `x-ratelimit-reset-requests`, the
time until the oldest counted request leaves the window (when none remain, the time until one more is
admitted) as a Go duration (`1.5s`, `120ms`); a 429 adds `retry-after` (whole seconds, rounded up) and
`retry-after-ms`.

The window is a parameter so that tests and benchmarks can scale time: "120 per 6 s" has the shape of
"120 per minute" ten times faster. Whoever scales it should say so.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    requests: int
    window_s: float = 60.0

    def __post_init__(self) -> None:
        if isinstance(self.requests, bool) or not isinstance(self.requests, int) or self.requests < 1:
            raise ValueError(f"RateLimit.requests must be an integer of at least 1, got {self.requests!r}")
        window = self.window_s
        if not (isinstance(window, int | float) and math.isfinite(window) and window > 0):
            raise ValueError(f"RateLimit.window_s must be a number of seconds above 0, got {self.window_s!r}")


def go_duration(seconds: float) -> str:
    """`120ms` under a second, else `1.5s` / `6m0s`, as OpenAI writes its reset headers; rounded up to the
    millisecond, so a client that waits what it says is never early."""
    millis = max(0, math.ceil(seconds * 1000))
    if millis < 1000:
        return f"{millis}ms"
    minutes, rest = divmod(millis, 60_000)
    text = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    return f"{minutes}m{text}s" if minutes else f"{text}s"


@dataclass(frozen=True)
class Verdict:
    admitted: bool
    headers: dict[str, str]


class SlidingWindow:
    """Admits a request while fewer than `limit.requests` arrived in the last `limit.window_s` seconds."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._arrivals: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self) -> Verdict:
        with self._lock:
            now = self.clock()
            while self._arrivals and self._arrivals[0] + self.limit.window_s <= now:
                self._arrivals.popleft()
            admitted = len(self._arrivals) < self.limit.requests
            if admitted:
                self._arrivals.append(now)
            remaining = self.limit.requests - len(self._arrivals)
            reset = self._arrivals[0] + self.limit.window_s - now if self._arrivals else 0.0
        headers = {
            "x-ratelimit-limit-requests": str(self.limit.requests),
            "x-ratelimit-remaining-requests": str(remaining),
            "x-ratelimit-reset-requests": go_duration(reset),
        }
        if not admitted:
            headers["retry-after"] = str(max(1, math.ceil(reset)))
            headers["retry-after-ms"] = str(max(1, math.ceil(reset * 1000)))
        return Verdict(admitted, headers)
