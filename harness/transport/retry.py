"""The retry policy of one request: how many tries, how long to back off, which statuses are worth it.

Kept apart from the client so that the front-ends can read its defaults and validate their options
without importing the openai SDK (stdlib only). A policy is checked when it is made: `tries=0` used to
reach the send loop and fail there with an UnboundLocalError; now it cannot exist.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

# 408/429 and 5xx are what gateways and overloaded servers answer and then recover from; every other
# 4xx (400, 401, 403, 404, 422, ...) says the request itself is wrong, and repeating it only costs quota.
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, honouring Retry-After up to `max_delay`.

    A provider may ask for minutes in Retry-After; the cap keeps one cell from stalling a matrix, and
    `max_total_wait` bounds the sleeping of a whole request, after which the last error stands.
    """

    tries: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_total_wait: float = 120.0

    statuses: frozenset[int] = RETRYABLE_STATUS

    def __post_init__(self) -> None:
        if isinstance(self.tries, bool) or not isinstance(self.tries, int) or self.tries < 1:
            raise ValueError(f"RetryPolicy.tries must be an integer of at least 1, got {self.tries!r}")
        for name in ("base_delay", "max_delay", "max_total_wait"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                    or value < 0:
                raise ValueError(f"RetryPolicy.{name} must be a finite number of 0 or more, got {value!r}")

    def for_provider(self, statuses: list[int] | None) -> RetryPolicy:
        """The policy with the provider's own retryable statuses, when its registry entry names them."""
        return self if statuses is None else replace(self, statuses=frozenset(statuses))

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
