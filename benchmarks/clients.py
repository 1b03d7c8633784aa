"""What a client check costs per exchange: `python benchmarks/clients.py [--rounds N] [--clients a,b]`.

Every number is measured in this one process, on the real recorded exchanges (../shared/real-responses,
or $TOOLCALL_REAL_RESPONSES), against a baseline measured alongside: a bare HTTP POST to the same replay
server, which is the floor any client pays. Per client it prints the median wall time of one exchange
(median over rounds, then over files) and its ratio to that floor; for the Node clients also the cost of
starting the driver process, and how much a process per exchange would cost instead of the long-lived
one (`per_process_ratio`). Wall time, not CPU time, because the Node clients spend theirs in a child
process. Medians after a warm-up round keep a noisy two-core machine from deciding the numbers; there
are no targets and no exit code for speed: `tests/test_clients_benchmark.py` only checks that it runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.app.judge import load
from harness.clients import (
    ClientSession,
    ClientUnavailable,
    ReplayExchange,
    ReplayServer,
    create_driver,
    installer,
)
from harness.clients.node_drivers import NodeDriver

REAL = Path(os.environ.get("TOOLCALL_REAL_RESPONSES")
            or Path(__file__).resolve().parents[2] / "shared" / "real-responses")
CLIENTS = ("python-openai", "node-openai", "node-ai-sdk")


def exchanges() -> list[ReplayExchange]:
    return [ReplayExchange.of(recorded) for path in sorted(REAL.glob("*.json")) for recorded in load(path)]


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bare_post(server: ReplayServer, exchange: ReplayExchange) -> float:
    """The floor: one POST of the recorded request and the whole answer read, with the stdlib."""
    with server.mount(exchange) as mount:
        data = urllib.request.Request(mount.base_url + "/chat/completions", method="POST",
                                      data=b"{}", headers={"Content-Type": "application/json"})
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(data, timeout=30) as response:
                response.read()
        except urllib.error.HTTPError as error:  # the recorded 400 and 500 are answers too
            error.read()
        return time.perf_counter() - started


def per_exchange(cases: list[ReplayExchange], rounds: int,
                 measure: Callable[[ReplayExchange], float]) -> list[float]:
    """Median seconds per exchange over `rounds`, after one warm-up round."""
    for case in cases:
        measure(case)
    return [statistics.median(measure(case) for _ in range(rounds)) for case in cases]


@dataclass
class Cost:
    line: str
    median_s: float


def client_cost(client_id: str, server: ReplayServer, cases: list[ReplayExchange], rounds: int) -> Cost:
    driver = create_driver(client_id)
    started = time.perf_counter()
    driver.open()
    startup = time.perf_counter() - started
    try:
        def measure(case: ReplayExchange) -> float:
            with server.mount(case) as mount:
                began = time.perf_counter()
                result = driver.run(case, mount.base_url)
                spent = time.perf_counter() - began
            if result.driver_error:
                raise RuntimeError(f"{client_id} on {case.label}: {result.driver_error}")
            return spent

        costs = per_exchange(cases, rounds, measure)
    finally:
        driver.close()
    line = f"{client_id} ({driver.version}): per_exchange_ms={median_ms(costs):.2f} " \
           f"worst_file_ms={max(costs) * 1000:.2f}"
    if isinstance(driver, NodeDriver):
        each = statistics.median(costs)
        line += f" startup_ms={startup * 1000:.0f} per_process_ratio={(startup + each) / each:.1f}"
    return Cost(line, statistics.median(costs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", default=",".join(CLIENTS))
    args = parser.parse_args(argv)
    cases = exchanges()
    if not cases:
        print(f"no exchanges found in {REAL}", file=sys.stderr)
        return 2
    ids = [c for c in args.clients.split(",") if c]
    with ReplayServer() as server:
        floor = statistics.median(per_exchange(cases, args.rounds, lambda case: bare_post(server, case)))
        print(f"exchanges={len(cases)} rounds={args.rounds} bare_post_ms={floor * 1000:.2f}")
        for client_id in ids:
            try:
                cost = client_cost(client_id, server, cases, args.rounds)
            except ClientUnavailable as exc:
                print(f"{client_id}: skipped ({exc})")
                continue
            print(f"{cost.line} ratio={cost.median_s / floor:.1f}")
    available = [c for c in ids if c == "python-openai" or _node_ready()]
    if len(available) > 1:
        with ClientSession(available) as session:
            def together(case: ReplayExchange) -> float:
                began = time.perf_counter()
                session.check(case)
                return time.perf_counter() - began

            costs = per_exchange(cases, args.rounds, together)
        print(f"session.check with {','.join(available)} at once (replay, assess, compare): "
              f"per_exchange_ms={median_ms(costs):.2f} ratio={statistics.median(costs) / floor:.1f}")
    return 0


def _node_ready() -> bool:
    try:
        installer.node_executable()
        installer.require_installed()
    except ClientUnavailable:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
