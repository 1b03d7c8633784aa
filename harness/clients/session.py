"""A run's client checks: one replay server and one open driver per client, reused for every exchange.

    with ClientSession(["python-openai", "node-openai", "node-ai-sdk"]) as session:
        checks = session.check(exchange)       # list[ClientCheck], one per client, in the given order

`check` replays the exchange to every client at once (each on its own thread; the Node drivers answer
concurrently), judges the same bytes on the wire with `conformance.wire.assess`, and compares. A front-end
that already has the wire's assessment (the engine, per turn) passes it in to avoid judging twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from harness.clients.compare import compare, verdict
from harness.clients.driver import DEFAULT_TIMEOUT_S, ClientDriver, create_driver
from harness.clients.exchange import ReplayExchange
from harness.clients.replay import ReplayServer
from harness.clients.result import ClientCheck, ClientResult
from harness.conformance.wire import Assessment, assess


class ClientSession:
    """Opens the drivers (raising `ClientUnavailable` for one that cannot run) and the replay server."""

    def __init__(self, client_ids: Sequence[str], *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.client_ids = list(client_ids)
        self.timeout_s = timeout_s
        self.drivers: list[ClientDriver] = []
        self.server = ReplayServer()
        self._pool: ThreadPoolExecutor | None = None

    def open(self) -> ClientSession:
        try:
            self.drivers = [create_driver(cid, timeout_s=self.timeout_s) for cid in self.client_ids]
            for driver in self.drivers:
                driver.open()
            self.server.start()
        except BaseException:
            self.close()
            raise
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(self.drivers)), thread_name_prefix="client")
        return self

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        for driver in self.drivers:
            driver.close()
        self.server.stop()

    def __enter__(self) -> ClientSession:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def versions(self) -> dict[str, str]:
        """Client id -> library version, for the report header (known once open)."""
        return {driver.id: f"{driver.library} {driver.version}" for driver in self.drivers}

    def replay(self, exchange: ReplayExchange) -> list[ClientResult]:
        """What each client made of the exchange, in the session's client order."""
        if self._pool is None:
            raise RuntimeError("ClientSession is not open")
        with self.server.mount(exchange) as mount:
            def count() -> int:
                return len(mount.requests)

            futures = [self._pool.submit(driver.run, exchange, mount.base_url, requests=count)
                       for driver in self.drivers]
            return [future.result() for future in futures]

    def check(self, exchange: ReplayExchange, wire: Assessment | None = None) -> list[ClientCheck]:
        """Replay, then judge each client against the wire's assembly of the same bytes."""
        if wire is None:
            wire = assess(exchange.request, exchange.status, exchange.text, stream=exchange.stream)
        return [judge(result, wire) for result in self.replay(exchange)]


def judge(result: ClientResult, wire: Assessment) -> ClientCheck:
    findings = compare(wire.reply, wire.findings, result, wire_error=wire.error)
    return ClientCheck(client=result.client, version=result.version, verdict=verdict(result, findings),
                       findings=findings, result=result)
