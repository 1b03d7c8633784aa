"""Each provider's rate limiter, made once per engine and shared by every run of the provider.

A key's limits belong to the provider, not to one model: four models of one provider on a 60-rpm key
get 60 requests a minute between them, so the limiter is keyed by provider. `--rpm/--tpm` (in
`RunConfig`) replace every provider's registry values; `rate_processes` divides what is left among the
processes sharing the key (xdist workers), each getting ⌊limit / processes⌋.
"""

from __future__ import annotations

import threading

from harness.engine.config import RunConfig
from harness.providers.registry import Target
from harness.transport.rate_limit import RateLimiter, Rates, ThrottleStats


class Limiters:
    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._by_provider: dict[str, RateLimiter] = {}
        self._elsewhere: list[dict[str, ThrottleStats]] = []  # what worker processes' limiters did

    def rates(self, target: Target) -> Rates:
        cfg = self.config
        rates = Rates(rpm=cfg.rpm if cfg.rpm is not None else target.rpm,
                      tpm=cfg.tpm if cfg.tpm is not None else target.tpm, window_s=cfg.rate_window_s)
        return rates.shared(cfg.rate_processes)

    def of(self, target: Target) -> RateLimiter:
        with self._lock:
            if target.provider not in self._by_provider:
                cfg = self.config  # a 429's hold is capped as its own retry is: --retry-max-delay
                self._by_provider[target.provider] = RateLimiter(self.rates(target), cfg.concurrency,
                                                                 max_retry_after_s=cfg.retry.max_delay)
            return self._by_provider[target.provider]

    def stats(self) -> dict[str, ThrottleStats]:
        """What each provider's limiter did so far (waits, 429s, backoffs), for the end of a run."""
        with self._lock:
            parts = [{p: limiter.stats for p, limiter in self._by_provider.items()}, *self._elsewhere]
        total: dict[str, ThrottleStats] = {}
        for part in parts:
            for provider, stats in part.items():
                total[provider] = total[provider].plus(stats) if provider in total else stats
        return total

    def add_elsewhere(self, stats: dict[str, ThrottleStats]) -> None:
        """Count what a worker process's limiters did (`--processes`) in `stats`."""
        with self._lock:
            self._elsewhere.append(stats)
