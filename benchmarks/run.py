"""Performance benchmarks of the harness: `python benchmarks/run.py [--full] [--only NAME] [--peer]`.

Each benchmark prints one line, `name: what was measured ratio=<x> target=<y>`, lower is better, and
the exit code is 1 when a target is missed. Every number is measured by this run: against bare openai
SDK calls (through vcrpy for replay), or against the least wall time the stub server's injected latency
allows. The stub serving live requests runs in its own process (`harness.testing.process`), so it
takes neither the harness's GIL nor its CPU time. This machine may have two cores and noisy
neighbours, so every measurement is warmed up, repeated and reported as a median, and the load
average is printed beside wall-time figures. The default run sizes everything to finish within three
minutes here; `--full` samples more and scales the whole committed suite; `--smoke` runs every
benchmark at the smallest size, to check that it runs (its figures mean nothing). `--peer` adds the
same work through promptfoo (benchmarks/peer_promptfoo.py: Node.js and an `npm ci` of its own on first
use, so never part of the default run nor of CI).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live import (  # noqa: E402
    bench_concurrency_16,
    bench_concurrency_64,
    bench_latency_1,
    bench_latency_16,
    bench_overhead,
)
from measure import Bench, Outcome, machine_speed  # noqa: E402
from offline import (  # noqa: E402
    bench_replay,
    bench_scaling,
    bench_startup_plugin,
    bench_startup_validate,
)
from ratelimit import bench_ratelimit  # noqa: E402


def bench_rate_limit(b: Bench) -> Outcome:
    """400 requests against a stub enforcing 120 per (scaled) minute; see benchmarks/ratelimit.py."""
    detail, ratio, target = bench_ratelimit(requests=b.size(400, 400, 20))
    return Outcome("ratelimit", detail, ratio, target)


# In the order they run. A benchmark is a function of `Bench` returning one `Outcome`; add one here.
BENCHMARKS: dict[str, Callable[[Bench], Outcome]] = {
    "replay": bench_replay,
    "concurrency-16": bench_concurrency_16,
    "concurrency-64": bench_concurrency_64,
    "latency-1": bench_latency_1,
    "latency-16": bench_latency_16,
    "overhead": bench_overhead,
    "scaling": bench_scaling,
    "ratelimit": bench_rate_limit,
    "startup-plugin": bench_startup_plugin,
    "startup-validate": bench_startup_validate,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), help="run only these")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true", help="longer samples and the whole suite scaled")
    size.add_argument("--smoke", action="store_true", help="smallest sizes: checks that each one runs")
    parser.add_argument("--rounds", type=int, help="samples of the replay benchmark (default: 5, --full 15)")
    parser.add_argument("--peer", action="store_true", help="also the same work through promptfoo (npm)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.smoke else 15 if args.full else 5)
    started, load_before, speed_before = time.perf_counter(), os.getloadavg()[0], machine_speed()
    missed, took = [], []
    with tempfile.TemporaryDirectory(prefix="toolcall-bench-") as tmp:
        bench = Bench(Path(tmp), max(1, rounds), full=args.full, tiny=args.smoke)
        for name in args.only or list(BENCHMARKS):
            began = time.perf_counter()
            outcome = BENCHMARKS[name](bench)
            took.append(f"{name} {time.perf_counter() - began:.0f}")
            print(outcome.line(), flush=True)
            if not outcome.met:
                missed.append(name)
        if args.peer:
            from peer_promptfoo import bench_peer

            began = time.perf_counter()
            for outcome in (Outcome(*line) for line in bench_peer(rounds=3 if args.full else 1)):
                print(outcome.line(), flush=True)
                if not outcome.met:
                    missed.append(outcome.name)
            took.append(f"peer {time.perf_counter() - began:.0f}")
    mode = "full" if args.full else "smoke" if args.smoke else "default"
    verdict = f"missed: {', '.join(missed)}" if missed else "every target met"
    print(f"total: {time.perf_counter() - started:.0f} s wall ({mode} run), load {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after; a fixed CPU loop took {speed_before:.0f} ms before, "
          f"{machine_speed():.0f} ms after (lower is quicker); {verdict} "
          f"(s each: {', '.join(took)})", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
