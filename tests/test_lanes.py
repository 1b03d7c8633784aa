"""Connection lanes: a pool per run in flight, reused, never closed by a borrower, and connections kept."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx2
from conftest import SCENARIOS
from oracle import oracle

from harness.engine.config import RunConfig
from harness.engine.engine import Engine
from harness.engine.plan import plan
from harness.providers.registry import Target
from harness.scenario.loader import load_scenarios
from harness.testing.stub import StubServer
from harness.transport.lanes import Lanes, shared_tls


class _Pool(httpx2.BaseTransport):
    def __init__(self) -> None:
        self.closed = False

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, request=request)

    def close(self) -> None:
        self.closed = True


def test_borrowers_at_once_get_pools_of_their_own_and_the_last_returned_goes_first() -> None:
    made: list[_Pool] = []

    def make(tls: object) -> _Pool:
        assert tls is shared_tls()
        made.append(_Pool())
        return made[-1]

    lanes = Lanes(make)
    with lanes.lend("p/m") as first, lanes.lend("p/m") as second:
        assert first.pool is not second.pool  # type: ignore[attr-defined]
        second.close()  # a borrower's client closing its transport leaves the pool open
    assert len(lanes) == 2 and not any(p.closed for p in made)
    with lanes.lend("p/m") as again:
        assert again.pool is made[0]  # type: ignore[attr-defined]  # returned last, lent first
    with lanes.lend("other/m") as other:  # another target never gets this target's pools
        assert other.pool is made[2]  # type: ignore[attr-defined]
    lanes.close()
    assert all(p.closed for p in made)


def test_pool_is_returned_when_the_borrower_raises() -> None:
    lanes = Lanes(lambda tls: _Pool())
    try:
        with lanes.lend("p/m"):
            raise RuntimeError("a run that crashed")
    except RuntimeError:
        pass
    with lanes.lend("p/m"), lanes.lend("p/m"):
        pass
    assert len(lanes) == 2  # the first pool was lent again, so only one more was made


def test_a_plan_keeps_one_connection_per_run_in_flight() -> None:
    """Eight runs at a time over a plan of many: each lane keeps its connection for the next run, so the
    stub sees no more connections than runs were ever in flight, however many runs there are."""
    with StubServer(oracle(), latency=0.02) as stub:
        target = Target(provider="stub", model="oracle", base_url=stub.base_url, api_key_env=None)
        config = RunConfig(concurrency=8, trials=5)
        runs = plan(load_scenarios([SCENARIOS]), [target], config)
        assert len(runs) >= 5 * 8
        with Engine(config) as engine:
            results = engine.run_all(runs)
            assert {r.outcome for r in results} == {"pass"}
            assert len(engine._lanes) <= 8
        assert stub.max_in_flight <= 8
        assert 1 <= stub.connections_opened <= 8


def test_lanes_made_by_many_threads_at_once_are_all_closed() -> None:
    made: list[_Pool] = []
    lock = threading.Lock()

    def make(tls: object) -> _Pool:
        with lock:
            made.append(_Pool())
            return made[-1]

    lanes = Lanes(make)
    start = threading.Barrier(6)

    def borrow() -> None:
        with lanes.lend("p/m"):
            start.wait(timeout=10)

    threads = [threading.Thread(target=borrow) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == len(lanes) == 6
    lanes.close()
    assert all(p.closed for p in made)


def test_replay_opens_no_pool(tmp_path: Path) -> None:
    """A replayed run never dials, so it borrows no lane (and makes no TLS context)."""
    with StubServer(oracle()) as stub:
        target = Target(provider="stub", model="oracle", base_url=stub.base_url, api_key_env=None)
        record = RunConfig(record_mode="all", cassette_dir=tmp_path)
        runs = plan(load_scenarios([SCENARIOS]), [target], record)
        with Engine(record) as engine:
            assert {r.outcome for r in engine.run_all(runs)} == {"pass"}
            assert len(engine._lanes) >= 1
    replay = RunConfig(record_mode="none", cassette_dir=tmp_path)
    with Engine(replay) as engine:
        results = engine.run_all(plan(load_scenarios([SCENARIOS]), [target], replay))
        assert {r.outcome for r in results} == {"pass"} and {r.provenance for r in results} == {"replayed"}
        engine.declarations([target])
        assert len(engine._lanes) == 0
