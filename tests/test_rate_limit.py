"""The rate limiter's decisions, driven by a fake clock: nothing here sleeps, nothing here is timed.

Pinned: at most `rpm` requests (and `tpm` tokens) in any window, counted until one window after each
answer; the usage correcting the estimate; the provider's `x-ratelimit-*` hints and `retry-after`; the
congestion window halving once per burst of 429s and growing back by one per window of successes; a
request bigger than the whole budget going alone; the shares of a key among processes. And the headers:
Go durations, and every missing or garbled value read as absent.
"""

from __future__ import annotations

import itertools
import threading

import pytest

from harness.transport.paced import estimate_tokens, usage_tokens
from harness.transport.rate_hints import Hints, parse_duration, read_hints, retry_after
from harness.transport.rate_limit import RateLimiter, Rates, Ticket, Wait


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(rpm: int | None = None, tpm: int | None = None, concurrency: int = 100,
            window_s: float = 60.0) -> tuple[RateLimiter, Clock]:
    clock = Clock()
    return RateLimiter(Rates(rpm, tpm, window_s), concurrency, clock=clock), clock


def send(lim: RateLimiter, tokens: int = 0) -> Ticket:
    ticket = lim.admit(tokens)
    assert isinstance(ticket, Ticket), ticket
    return ticket


def answered(lim: RateLimiter, ticket: Ticket, status: int = 200, used: int | None = None,
             hints: Hints | None = None) -> None:
    lim.observe(ticket, status, hints or Hints())
    lim.finish(ticket, used)


# --------------------------------------------------------------------------------------------- rpm


def test_rpm_admits_the_limit_at_once_then_waits_until_the_oldest_answer_leaves_the_window() -> None:
    lim, clock = limiter(rpm=3)
    tickets = [send(lim) for _ in range(3)]
    assert lim.admit(0) == Wait(None, "rpm")  # all three in flight: no moment is known yet
    for t, at in zip(tickets, (1.0, 2.0, 5.0), strict=True):
        clock.now = 1000.0 + at
        answered(lim, t)
    # Counted until one window after each answer: the first answer came at +1 s, so it leaves at +61 s.
    assert lim.admit(0) == Wait(pytest.approx(56.0), "rpm")
    clock.now = 1000.0 + 61.0 - 1e-6
    assert isinstance(lim.admit(0), Wait)
    clock.now = 1000.0 + 61.0
    send(lim)
    assert lim.admit(0) == Wait(pytest.approx(1.0), "rpm")  # the second leaves at +62 s


def test_no_window_of_the_limit_ever_holds_more_than_rpm_requests() -> None:
    """A long, irregular stream: whenever the limiter admits, fewer than rpm requests ended (or are in
    flight) within the last window — the invariant a sliding-window server checks at arrival."""
    lim, clock = limiter(rpm=5, window_s=10.0)
    spans: list[tuple[float, float | None]] = []  # (sent, answered)
    pending: list[tuple[Ticket, int]] = []
    latencies = itertools.cycle([0.3, 2.0, 0.1, 4.0, 0.7])
    for step in range(400):
        clock.now += 0.25
        for entry in [p for p in pending if spans[p[1]][0] + next(latencies) <= clock.now]:
            answered(lim, entry[0])
            spans[entry[1]] = (spans[entry[1]][0], clock.now)
            pending.remove(entry)
        decided = lim.admit(0)
        if isinstance(decided, Ticket):
            live = [s for s in spans if s[1] is None or s[1] + 10.0 > clock.now]
            assert len(live) < 5, (step, live)
            spans.append((clock.now, None))
            pending.append((decided, len(spans) - 1))
    assert len(spans) >= 40  # and it kept admitting: 100 s of 5 per 10 s allow at most 50


def test_a_plan_smaller_than_the_limit_is_never_held() -> None:
    lim, _ = limiter(rpm=10)
    for _ in range(10):
        send(lim)
    assert lim.stats.waits == 0


# --------------------------------------------------------------------------------------------- tpm


def test_tpm_counts_the_estimate_until_usage_replaces_it() -> None:
    lim, clock = limiter(tpm=1000)
    first = send(lim, 600)
    assert lim.admit(600) == Wait(None, "tpm")  # 1200 > 1000 while the first is in flight
    clock.now += 1
    answered(lim, first, used=150)  # it really cost 150
    second = send(lim, 600)  # 150 + 600 fits
    assert lim.admit(300) == Wait(pytest.approx(60.0), "tpm")  # 1050: the first's 150 must leave (at +61 s)
    assert lim.admit(700) == Wait(None, "tpm")  # 1450: the second, in flight, must end first
    clock.now += 2
    answered(lim, second)  # no usage in the answer: the estimate stands
    assert lim.admit(300) == Wait(pytest.approx(58.0), "tpm")
    clock.now = 1000.0 + 61.0
    send(lim, 300)  # 600 + 300


def test_a_request_bigger_than_the_whole_budget_goes_alone_when_the_window_is_empty() -> None:
    lim, clock = limiter(tpm=100)
    small = send(lim, 50)
    assert lim.admit(500) == Wait(None, "tpm")
    answered(lim, small)
    assert lim.admit(500) == Wait(pytest.approx(60.0), "tpm")
    clock.now += 60
    send(lim, 500)  # alone: waiting longer could never make it fit


# --------------------------------------------------------------------------------- provider hints


def test_remaining_zero_holds_every_request_until_the_reset() -> None:
    lim, clock = limiter()
    ticket = send(lim)
    answered(lim, ticket, hints=Hints(requests_remaining=0, requests_reset_s=1.5))
    assert lim.admit(0) == Wait(pytest.approx(1.5), "x-ratelimit-remaining-requests: 0")
    clock.now += 1.5
    probe = send(lim)  # one goes first after the reset; the rest wait for what its answer says
    assert lim.admit(0) == Wait(None, "x-ratelimit-remaining-requests: 0")
    lim.observe(probe, 200, Hints(requests_remaining=5, requests_reset_s=2.0))
    send(lim)


def test_a_probe_whose_answer_says_nothing_does_not_hold_the_others_forever() -> None:
    lim, clock = limiter()
    answered(lim, send(lim), hints=Hints(requests_remaining=0, requests_reset_s=1.0))
    clock.now += 1.0
    probe = send(lim)
    lim.finish(probe)  # failed without an answer
    send(lim)
    clock.now += 1.0
    answered(lim, send(lim), hints=Hints(requests_remaining=0, requests_reset_s=1.0))
    clock.now += 1.0
    answered(lim, send(lim), hints=Hints())  # answered, without the headers this time
    send(lim)


def test_the_servers_count_is_spent_by_later_requests_and_forgotten_at_its_reset() -> None:
    lim, clock = limiter()
    answered(lim, send(lim), hints=Hints(requests_remaining=2, requests_reset_s=10.0))
    send(lim)
    send(lim)
    assert lim.admit(0) == Wait(pytest.approx(10.0), "x-ratelimit-remaining-requests: 0")
    clock.now += 10.0
    send(lim)


def test_remaining_tokens_below_the_estimate_hold_until_their_reset() -> None:
    lim, clock = limiter()
    answered(lim, send(lim, 10), hints=Hints(tokens_remaining=100, tokens_reset_s=6.0))
    send(lim, 80)
    assert lim.admit(80) == Wait(pytest.approx(6.0), "x-ratelimit-remaining-tokens")
    clock.now += 6.0
    send(lim, 80)


def test_a_429s_retry_after_holds_the_whole_provider_capped() -> None:
    lim, clock = limiter()
    answered(lim, send(lim), status=429, hints=Hints(retry_after_s=3.0))
    assert lim.admit(0) == Wait(pytest.approx(3.0), "retry-after")
    clock.now += 3.0
    answered(lim, send(lim), status=429, hints=Hints(retry_after_s=86_400.0))  # a daily limit
    assert lim.admit(0) == Wait(pytest.approx(lim.max_hold_s), "retry-after")
    capped = RateLimiter(Rates(), 4, clock=clock, max_retry_after_s=0.05)  # --retry-max-delay 0.05
    answered(capped, send(capped), status=429, hints=Hints(retry_after_s=30.0))
    assert capped.admit(0) == Wait(pytest.approx(0.05), "retry-after")


# ----------------------------------------------------------------------------------------- AIMD


def test_429s_halve_the_window_once_per_burst_and_successes_grow_it_back() -> None:
    lim, clock = limiter(concurrency=8)
    burst = [send(lim) for _ in range(8)]
    clock.now += 1
    for ticket in burst:  # eight 429s of requests all sent before the decrease: one congestion event
        answered(lim, ticket, status=429)
    assert lim.window == 4.0 and lim.stats.decreases == 1 and lim.stats.rejected == 8
    held = [send(lim) for _ in range(4)]
    assert lim.admit(0) == Wait(None, "429 backoff")  # four in flight is the window now
    clock.now += 1
    answered(lim, held[0], status=429)  # sent after the decrease: a new event
    assert lim.window == 2.0
    answered(lim, held[1])
    assert lim.window == 2.5  # each success adds 1/window: one more in flight per window of successes
    for ticket in held[2:]:
        answered(lim, ticket)
    sizes = []
    for _ in range(40):
        answered(lim, send(lim))
        sizes.append(lim.window)
    assert sizes == sorted(sizes) and sizes[-1] == 8.0  # grows steadily, capped at the concurrency
    assert 20 < sizes.index(8.0) < 30  # from about 3 to 8 takes about 3+4+5+6+7 = 25 successes


def test_waiting_threads_are_woken_when_a_request_ends() -> None:
    lim = RateLimiter(Rates(rpm=1, window_s=0.0), concurrency=4)  # a zero window: only in-flight counts
    first = send(lim)
    got: list[Ticket | None] = []
    waiter = threading.Thread(target=lambda: got.append(lim.acquire(0)))
    waiter.start()
    lim.finish(first)
    waiter.join(timeout=10)
    assert not waiter.is_alive() and isinstance(got[0], Ticket) and lim.stats.waits == 1


def test_acquire_gives_up_at_the_bound_it_is_given() -> None:
    lim, clock = limiter(rpm=1)
    send(lim)
    assert lim.acquire(0, give_up_at=clock.now) is None


def test_a_keys_limit_is_divided_among_the_processes_sharing_it() -> None:
    assert Rates(120, 90_000).shared(4) == Rates(30, 22_500)
    assert Rates(3, None).shared(4) == Rates(1, None)  # never below one
    assert Rates(120).shared(1) == Rates(120)


# -------------------------------------------------------------------------------------- headers


@pytest.mark.parametrize(("text", "seconds"), [
    ("1s", 1.0), ("6m0s", 360.0), ("120ms", 0.12), ("1h2m3.5s", 3723.5), ("0.5s", 0.5), ("2", 2.0),
    ("59.9s", 59.9), (" 20ms ", 0.02), ("250us", 0.00025),
])
def test_reset_durations_as_providers_write_them(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", [None, "", "soon", "-1s", "5 minutes", "1s garbage", "nan", "inf", "-3",
                                  "s", "1x"])
def test_garbled_durations_are_absent(text: str | None) -> None:
    assert parse_duration(text) is None


def test_hints_from_headers_and_garbage_read_as_absent() -> None:
    hints = read_hints({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6m0s",
                        "x-ratelimit-remaining-tokens": "149984", "x-ratelimit-reset-tokens": "6ms"})
    assert hints == Hints(0, 360.0, 149984, 0.006)
    garbage = read_hints({"x-ratelimit-remaining-requests": "lots", "x-ratelimit-reset-requests": "tomorrow",
                          "x-ratelimit-remaining-tokens": "-4", "retry-after": "whenever"})
    assert garbage.empty and read_hints({}).empty


def test_retry_after_prefers_milliseconds_and_reads_dates() -> None:
    assert retry_after({"retry-after": "2", "retry-after-ms": "1500"}) == 1.5
    assert retry_after({"retry-after": "2"}) == 2.0
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert retry_after({"retry-after-ms": "x", "retry-after": "1"}) == 1.0


def test_garbled_hints_hold_nothing() -> None:
    lim, _ = limiter()
    garbled = {"retry-after": "later", "x-ratelimit-reset-requests": "?",
               "x-ratelimit-remaining-requests": "0"}
    answered(lim, send(lim), status=429, hints=read_hints(garbled))
    send(lim)  # remaining 0 without a readable reset says nothing about when: no hold


# ------------------------------------------------------------------------------- estimate, usage


def test_the_estimate_is_a_quarter_of_the_bytes_plus_the_completion_asked_for() -> None:
    body = b'{"model": "m", "messages": [], "max_tokens": 50}'
    assert estimate_tokens(body) == -(-len(body) // 4) + 50
    assert estimate_tokens(b'{"messages": []}') == 4 + 256  # no max_tokens: the default completion
    assert estimate_tokens(b"") == 0 and estimate_tokens(b"not json!") == 3


def test_usage_is_read_from_a_completion_and_from_the_last_sse_chunk() -> None:
    completion = (b'{"choices": [], "usage": '
                  b'{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}')
    assert usage_tokens(completion) == 15
    sse = (b'data: {"choices": [{"delta": {}}], "usage": null}\n\n'
           b'data: {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}}\n\n'
           b'data: [DONE]\n\n')
    assert usage_tokens(sse) == 10
    assert usage_tokens(b'{"usage": {"total_tokens": 1') is None  # cut
    assert usage_tokens(b'{"usage": {"total_tokens": "many"}}') is None
    assert usage_tokens(b"no usage here") is None
