"""Time bounds that hold whatever the server does: on every request, on a run, and at `--deadline`.

A per-read timeout does not stop a server that trickles one byte every two seconds, and `--deadline`
checked between runs does not stop the run in flight. So every socket operation of a request — connect,
each write, each read of headers and body — is given only the time left before the earliest bound in
force on its thread (`bounded`), through the network backend of the connection pool (`bounded_pool`).
When a bound passes, the operation fails at once with `BoundPassed`, which the client reports as an
`error` of that bound's kind: `timeout` for `--timeout`/`--run-timeout`, `deadline` for `--deadline`.

Bounds are per thread because each run is played on one thread, from the first request to the last
byte it reads; nested bounds (deadline > run > request) all hold, the earliest decides.

Time a request spends waiting for its provider's rate limiter (`rate_limit.py`) is not the provider's:
it counts toward the run's bounds (`--run-timeout`, `--deadline`) but not toward the request's own
`--timeout`, which `queued` moves later by the wait, and the request's timings leave it out
(`queued_total`). Otherwise a throttled request would time out, and report as slow, for waiting its turn.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpcore2
import httpx2
from httpcore2 import NetworkStream, SyncBackend

from harness.core.model import ErrorKind


@dataclass(frozen=True)
class Bound:
    """A moment (time.monotonic) by which the work must be done, and what passing it means."""

    at: float
    kind: ErrorKind
    message: str
    queue: bool = True  # whether a wait for the rate limiter counts toward it (not for one request's own)

    @staticmethod
    def after(seconds: float, kind: ErrorKind, message: str, queue: bool = True) -> Bound:
        return Bound(time.monotonic() + seconds, kind, message, queue)

    def left(self) -> float:
        return self.at - time.monotonic()


_local = threading.local()


def _stack() -> list[Bound]:
    if not hasattr(_local, "bounds"):
        _local.bounds = []
    stack: list[Bound] = _local.bounds
    return stack


@contextmanager
def bounded(*bounds: Bound | None) -> Iterator[None]:
    """Hold the given bounds (None: no bound) on this thread for the duration of the block."""
    stack = _stack()
    given = [b for b in bounds if b is not None]
    stack.extend(given)
    try:
        yield
    finally:
        del stack[len(stack) - len(given):]


def earliest() -> Bound | None:
    stack = _stack()
    return min(stack, key=lambda b: b.at) if stack else None


def queue_bound() -> Bound | None:
    """The earliest bound on this thread that a wait for the rate limiter counts toward."""
    waits = [b for b in _stack() if b.queue]
    return min(waits, key=lambda b: b.at) if waits else None


def queued(seconds: float) -> None:
    """This thread waited `seconds` for the rate limiter: bounds it does not count toward move later."""
    stack = _stack()
    stack[:] = [b if b.queue else replace(b, at=b.at + seconds) for b in stack]
    _local.queued = queued_total() + seconds


def queued_total() -> float:
    """Seconds this thread has waited for the rate limiter so far; a request's timings subtract theirs."""
    total: float = getattr(_local, "queued", 0.0)
    return total


def passed() -> Bound | None:
    """The earliest bound in force on this thread if it has passed."""
    bound = earliest()
    return bound if bound is not None and bound.left() <= 0 else None


class BoundPassed(httpcore2.ReadTimeout):
    """A socket operation stopped because a bound passed (a timeout, to every layer above)."""

    def __init__(self, bound: Bound) -> None:
        super().__init__(bound.message)
        self.bound = bound


def _timeout(given: float | None) -> float | None:
    bound = earliest()
    if bound is None:
        return given
    left = bound.left()
    if left <= 0:
        raise BoundPassed(bound)
    return left if given is None else min(given, left)


class _BoundedStream(NetworkStream):
    def __init__(self, inner: NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return self.inner.read(max_bytes, _timeout(timeout))
        except httpcore2.TimeoutException:
            self._raise_passed()
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            self.inner.write(buffer, _timeout(timeout))
        except httpcore2.TimeoutException:
            self._raise_passed()
            raise

    @staticmethod
    def _raise_passed() -> None:
        bound = passed()
        if bound is not None:
            raise BoundPassed(bound) from None

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> NetworkStream:
        return _BoundedStream(self.inner.start_tls(ssl_context, server_hostname, _timeout(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _BoundedBackend(SyncBackend):
    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options: Iterable[Any] | None = None
                    ) -> NetworkStream:
        try:
            stream = super().connect_tcp(host, port, _timeout(timeout), local_address, socket_options)
        except httpcore2.TimeoutException:
            _BoundedStream._raise_passed()
            raise
        return _BoundedStream(stream)


def bounded_pool(keepalive: int = 20, verify: ssl.SSLContext | bool = True) -> httpx2.HTTPTransport:
    """An HTTP transport whose every socket operation honours the bounds of the calling thread.

    It keeps `keepalive` idle connections (httpx2 keeps 20); the engine lends each run in flight a pool
    of its own (`lanes.py`), which keeps the one connection that run's turns take one after another. The
    number of connections is not capped here: the engine's per-provider limit is the cap, and a cap in
    the pool would queue requests inside it, where the wait counts as latency.

    httpx2 has no public seam for the network backend; its connection pool has (`network_backend`), and
    the transport keeps the pool in `_pool`. tests/test_time_bounds.py fails if that ever changes.
    """
    transport = httpx2.HTTPTransport(
        verify=verify,
        limits=httpx2.Limits(max_connections=None, max_keepalive_connections=keepalive)
    )
    pool = getattr(transport, "_pool", None)
    if not isinstance(pool, httpcore2.ConnectionPool) or not hasattr(pool, "_network_backend"):
        raise RuntimeError("httpx2 changed: cannot bound the time of requests")
    pool._network_backend = _BoundedBackend()
    return transport
