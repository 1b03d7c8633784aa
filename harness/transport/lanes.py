"""Connection pools lent one to each run in flight: many runs side by side without a shared pool's cost.

httpcore2's connection pool does its bookkeeping under one lock and, on every request and every response
closed, matches each waiting request against each connection (`_assign_requests_to_connections`,
connections x requests). One pool shared by 64 runs in flight spent about an eighth of the client's CPU
there, and its threads queued for that lock. A run plays its turns one after another, so it needs one
connection at a time: here each run borrows a pool of its own (a lane) for its whole conversation and
hands it back at the end, its connection kept alive for the next run that borrows it. Lanes are reused
last in, first out, so the warmest connection goes first, and there are never more of them than runs
were ever in flight at once. All lanes of a process share one TLS context (`shared_tls`): each new
transport would otherwise load the CA bundle again, about 22 ms of CPU here, and each worker process of
`--processes` makes its lanes anew; the parent makes the context before it forks them, so they inherit it.
"""

from __future__ import annotations

import functools
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx2


@functools.cache
def shared_tls() -> ssl.SSLContext:
    """The TLS context of this process's lanes (and of its forked children), made on first use."""
    return httpx2.create_ssl_context()


class Lanes:
    """Per key (a target's label), pools made by `make` and lent one per borrower; `close` closes them all."""

    def __init__(self, make: Callable[[ssl.SSLContext], httpx2.BaseTransport]) -> None:
        self._make = make
        self._free: dict[str, list[httpx2.BaseTransport]] = {}
        self._made: list[httpx2.BaseTransport] = []
        self._lock = threading.Lock()

    @contextmanager
    def lend(self, key: str) -> Iterator[httpx2.BaseTransport]:
        """A pool for this caller alone until the block ends; closing it there is not the caller's to do."""
        with self._lock:
            free = self._free.setdefault(key, [])
            lane = free.pop() if free else None
        if lane is None:  # made outside the lock: the other runs starting at once need not wait for it
            lane = self._make(shared_tls())
            with self._lock:
                self._made.append(lane)
        try:
            yield _Borrowed(lane)
        finally:
            with self._lock:
                free.append(lane)

    def __len__(self) -> int:
        return len(self._made)

    def close(self) -> None:
        with self._lock:
            made, self._made, self._free = self._made, [], {}
        for lane in made:
            lane.close()


class _Borrowed(httpx2.BaseTransport):
    """A lent pool, which the borrowing client's `close` must not close: the next borrower keeps it."""

    def __init__(self, pool: httpx2.BaseTransport) -> None:
        self.pool = pool

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        return self.pool.handle_request(request)

    def close(self) -> None:
        pass
