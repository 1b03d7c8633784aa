"""One provider's rate limit, shared by every run of it in the process: requests and tokens per minute,
the provider's own `x-ratelimit-*` hints, and a congestion window that backs off on 429.

Why a sliding window and not a token bucket. "N requests per minute" is enforced by providers as a
fixed window, a sliding window or a token bucket (capacity N, refilled at N per minute). Traffic with
at most N requests in *every* window of 60 s passes all three: any fixed window is one of those
windows, and such traffic has at most N·⌈T/60⌉ ≤ N + N·T/60 requests in any interval of T seconds,
which is exactly what a full bucket admits. A client-side bucket of capacity N is not that safe: it
sends N at once and then N/60 per second, i.e. up to 2N within one minute, which a sliding-window
server answers with 429s. So the limiter keeps every request it admitted in a window and admits
another only while fewer than N are in it. It loses nothing in the long run (N per minute is N per
minute) and lets a plan smaller than N run without any pacing at all.

A request counts from the moment it is admitted until one window after its answer came back (or it
failed). The server counts it at some moment in between that the client cannot see; counting from the
end is the only choice that can never let N+1 arrive within a window, whatever the network and the
thread scheduler do. It costs at most one response latency per window (2 s of 60 for a slow model).

Tokens are counted the same way, by estimate while the request is in flight (`paced.estimate_tokens`)
and by the response's `usage.total_tokens` once it is known. A request bigger than the whole budget is
admitted alone, when the window is empty: waiting for it would wait forever, and the provider, not the
limiter, should say that it is too big.

Concurrency adapts like TCP's congestion window (AIMD): on a 429 the requests allowed in flight are
halved (once per burst: 429s of requests sent before the last decrease are the same congestion), and
each success adds 1/window, i.e. one more request in flight per window of successes, up to the
configured concurrency. A 429 also holds every request of the provider for its `retry-after`, and a
response saying `remaining-requests: 0` holds them until its `reset-requests` (tokens likewise): the
key is shared, so one run's answer speaks for all. After such a reset one request goes first, and the
others wait for the headers of its answer: "reset" means the whole budget to some providers and one
freed slot to others, and guessing the first would send a herd into 429s. Waits a server asks for are
capped at `max_hold_s`: a daily limit's reset hours away should fail the run through its retries, not
hang it; a `retry-after` also at `max_retry_after_s`, the cap the user gave the retries of the request
that got it (`--retry-max-delay`), so the others never wait longer than it does.

The clock is injected, and `admit` never blocks, so tests drive the limiter with a fake clock.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.transport.rate_hints import Hints

WINDOW_S = 60.0  # "per minute"
MAX_HOLD_S = 120.0


@dataclass(frozen=True)
class Rates:
    """A provider's budget per window; None: no limit of that kind (hints and 429s still adapt)."""

    rpm: int | None = None
    tpm: int | None = None
    window_s: float = WINDOW_S  # 60: per minute; smaller only where a test or benchmark scales time

    def shared(self, processes: int) -> Rates:
        """This process's share when `processes` share the key: ⌊limit / processes⌋, at least 1."""
        if processes <= 1:
            return self
        return Rates(rpm=None if self.rpm is None else max(1, self.rpm // processes),
                     tpm=None if self.tpm is None else max(1, self.tpm // processes), window_s=self.window_s)


@dataclass(eq=False)
class Ticket:
    """One admitted request's place in the window."""

    sent: float
    tokens: int
    done: float | None = None
    observed: bool = False  # its answer's status and headers arrived


@dataclass(frozen=True)
class Wait:
    """Why a request may not go yet, and for how long; `seconds` None: until a request in flight ends."""

    seconds: float | None
    reason: str


@dataclass
class ThrottleStats:
    """What the limiter did, for the progress line and the benchmark: waits, their sum, 429s, backoffs."""

    waits: int = 0
    waited_s: float = 0.0
    rejected: int = 0  # answers with status 429
    decreases: int = 0  # times the window of requests in flight was halved
    reasons: dict[str, int] = field(default_factory=dict)

    def plus(self, other: ThrottleStats) -> ThrottleStats:
        """Both processes' limiters together (`--processes`): counts add, reasons by reason."""
        reasons = dict(self.reasons)
        for reason, n in other.reasons.items():
            reasons[reason] = reasons.get(reason, 0) + n
        return ThrottleStats(self.waits + other.waits, self.waited_s + other.waited_s,
                             self.rejected + other.rejected, self.decreases + other.decreases, reasons)

    def line(self, provider: str) -> str | None:
        """One sentence for the end of a run, or None when the limiter never held anything back."""
        if not self.waits and not self.rejected:
            return None
        reasons = sorted(self.reasons.items(), key=lambda r: -r[1])
        why = ", ".join(f"{n} for {reason}" for reason, n in reasons)
        waited = f"{self.waits} request(s) waited {self.waited_s:.1f}s in all ({why})" if self.waits \
            else "no request waited"
        backoff = f", in-flight window halved {self.decreases} time(s)" if self.decreases else ""
        return f"rate limit: {provider}: {waited}; {self.rejected} answer(s) were 429{backoff}"


class RateLimiter:
    """Admits a provider's requests within its rates, hints and congestion window (see the module doc)."""

    def __init__(self, rates: Rates, concurrency: int, clock: Callable[[], float] = time.monotonic,
                 max_hold_s: float = MAX_HOLD_S, max_retry_after_s: float = MAX_HOLD_S) -> None:
        self.rates = rates
        self.max_retry_after_s = min(max_hold_s, max_retry_after_s)
        self.max_window = float(max(1, concurrency))
        self.window = self.max_window  # requests allowed in flight (AIMD)
        self.clock = clock
        self.max_hold_s = max_hold_s
        self.stats = ThrottleStats()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._in_flight: set[Ticket] = set()
        self._done: deque[Ticket] = deque()  # answered, in the order they ended (so by `done`)
        self._tokens = 0  # in flight and in the window
        self._hold: tuple[float, str] = (0.0, "")  # no request before this moment, and why
        self._requests_left: tuple[int, float] | None = None  # the server's count, valid until a moment
        self._tokens_left: tuple[int, float] | None = None
        self._last_decrease = -math.inf

    # ------------------------------------------------------------------------------------ admission

    def admit(self, tokens: int) -> Ticket | Wait:
        """Admit a request of about `tokens` tokens now, or say how long to wait; never blocks."""
        with self._lock:
            return self._admit(tokens, self.clock())

    def acquire(self, tokens: int, give_up_at: float | None = None,
                on_wait: Callable[[float, str], None] | None = None) -> Ticket | None:
        """Wait until the request may go; None when `give_up_at` (the clock's time) comes first.

        `on_wait(seconds, reason)` hears the wait once it is over, when there was one.
        """
        started, reason = self.clock(), ""
        with self._lock:
            while True:
                now = self.clock()
                decided = self._admit(tokens, now)
                if isinstance(decided, Ticket):
                    break
                reason = reason or decided.reason
                timeout = decided.seconds
                if give_up_at is not None:
                    if now >= give_up_at:
                        return None
                    timeout = give_up_at - now if timeout is None else min(timeout, give_up_at - now)
                self._changed.wait(timeout)
            waited = now - started
            if reason:
                self.stats.waits += 1
                self.stats.waited_s += waited
                self.stats.reasons[reason] = self.stats.reasons.get(reason, 0) + 1
        if reason and on_wait is not None:
            on_wait(waited, reason)
        return decided

    def _admit(self, tokens: int, now: float) -> Ticket | Wait:
        self._expire(now)
        waits = [w for w in (self._held(now), self._congested(), self._over_requests(now),
                             self._over_tokens(tokens, now), self._server_says(tokens, now)) if w is not None]
        if waits:
            timed = [w for w in waits if w.seconds is not None]
            if len(timed) == len(waits):
                return max(timed, key=lambda w: w.seconds or 0.0)
            return next(w for w in waits if w.seconds is None)  # woken when a request ends
        ticket = Ticket(sent=now, tokens=tokens)
        self._in_flight.add(ticket)
        self._tokens += tokens
        if self._requests_left is not None:
            self._requests_left = (self._requests_left[0] - 1, self._requests_left[1])
        if self._tokens_left is not None:
            self._tokens_left = (self._tokens_left[0] - tokens, self._tokens_left[1])
        return ticket

    def _expire(self, now: float) -> None:
        window = self.rates.window_s
        while self._done and (self._done[0].done or 0.0) + window <= now:
            self._tokens -= self._done.popleft().tokens
        if self._requests_left is not None and self._requests_left[1] <= now:
            # Reset: whether the whole budget is back (OpenAI's meaning) or one slot (a sliding window's),
            # one request goes first and its answer's headers say which, instead of a herd of 429s.
            exhausted = self._requests_left[0] <= 0
            self._requests_left = (1, math.inf) if exhausted else None
        if self._tokens_left is not None and self._tokens_left[1] <= now:
            self._tokens_left = None  # the server's window has reset: its count is stale

    def _held(self, now: float) -> Wait | None:
        until, why = self._hold
        return Wait(until - now, why) if until > now else None

    def _congested(self) -> Wait | None:
        if len(self._in_flight) < max(1, math.floor(self.window)):
            return None
        if self.window >= self.max_window:
            return None  # the engine's own concurrency bounds this; not a throttle
        return Wait(None, "429 backoff")

    def _over_requests(self, now: float) -> Wait | None:
        rpm = self.rates.rpm
        counted = len(self._in_flight) + len(self._done)
        if rpm is None or counted < rpm:
            return None
        # The (counted - rpm + 1) oldest answered requests must leave the window; if not enough have
        # been answered, a request in flight must end first.
        k = counted - rpm + 1
        if k > len(self._done):
            return Wait(None, "rpm")
        return Wait(self._done[k - 1].done + self.rates.window_s - now, "rpm")  # type: ignore[operator]

    def _over_tokens(self, tokens: int, now: float) -> Wait | None:
        tpm = self.rates.tpm
        if tpm is None or self._tokens + tokens <= tpm or not (self._in_flight or self._done):
            return None
        # The oldest answered requests leave first; wait until enough of their tokens have left, or, with
        # nothing in flight, until the last has (an empty window admits a request of any size).
        excess = self._tokens + tokens - tpm
        freed = 0
        for i, ticket in enumerate(self._done):
            freed += ticket.tokens
            if freed >= excess or (not self._in_flight and i == len(self._done) - 1):
                return Wait((ticket.done or 0.0) + self.rates.window_s - now, "tpm")
        return Wait(None, "tpm")

    def _server_says(self, tokens: int, now: float) -> Wait | None:
        if self._requests_left is not None and self._requests_left[0] <= 0:
            until = self._requests_left[1]
            return Wait(None if until == math.inf else until - now, "x-ratelimit-remaining-requests: 0")
        if self._tokens_left is not None and self._tokens_left[0] < tokens:
            return Wait(self._tokens_left[1] - now, "x-ratelimit-remaining-tokens")
        return None

    # ------------------------------------------------------------------------------------- answers

    def observe(self, ticket: Ticket, status: int | None, hints: Hints) -> None:
        """What the answer's status line and headers say, as soon as they arrive."""
        with self._lock:
            now = self.clock()
            ticket.observed = True
            if hints.requests_remaining is not None and hints.requests_reset_s is not None:
                self._requests_left = (hints.requests_remaining, now + min(hints.requests_reset_s,
                                                                           self.max_hold_s))
            else:
                self._end_probe()
            if hints.tokens_remaining is not None and hints.tokens_reset_s is not None:
                self._tokens_left = (hints.tokens_remaining, now + min(hints.tokens_reset_s, self.max_hold_s))
            if status == 429:
                self.stats.rejected += 1
                if ticket.sent >= self._last_decrease:
                    self.window = max(1.0, self.window / 2)
                    self._last_decrease = now
                    self.stats.decreases += 1
                if hints.retry_after_s is not None:
                    until = now + min(hints.retry_after_s, self.max_retry_after_s)
                    if until > self._hold[0]:
                        self._hold = (until, "retry-after")
            elif status is not None and 200 <= status < 300:
                self.window = min(self.max_window, self.window + 1.0 / self.window)
            self._changed.notify_all()

    def finish(self, ticket: Ticket, used_tokens: int | None = None) -> None:
        """The request ended (answered in full, or failed): it counts for one window from now, with the
        tokens the response's usage reported when it did. Calling it twice is harmless."""
        with self._lock:
            if ticket not in self._in_flight:
                return
            self._in_flight.discard(ticket)
            if not ticket.observed:
                self._end_probe()  # no answer at all: nothing will say more about the server's count
            if used_tokens is not None:
                self._tokens += used_tokens - ticket.tokens
                ticket.tokens = used_tokens
            ticket.done = self.clock()
            self._done.append(ticket)
            self._changed.notify_all()

    def _end_probe(self) -> None:
        """The request sent first after a reset brought no count: stop waiting for one."""
        if self._requests_left is not None and self._requests_left[1] == math.inf:
            self._requests_left = None

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._in_flight)
