"""Performance benchmarks of the harness (issue 9): `python benchmarks/run.py [--only NAME] [--rounds N]`.

Each benchmark prints one line ending in `ratio=<x> target=<y>`, lower is better, and every number on
it is measured in this process, against a baseline measured in the same process: the bare openai SDK
(through vcrpy for replay), or the ideal wall time the stub server's injected latency allows. This
machine may have two cores and noisy neighbours, so every measurement is warmed up, repeated, and
reported as a median; and replay, which never waits on I/O, is timed in process CPU seconds: on a busy
machine its wall time measures the neighbours. The exit code is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openai

from harness.engine.config import RunConfig
from harness.engine.engine import Engine
from harness.engine.plan import plan
from harness.testing.stub import StubServer

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite import Suite, bare_call, bare_replay, load_suite, oracle, scaled, stub_target, test_scenarios  # noqa: E402

CLI_CONCURRENCY = RunConfig().concurrency  # what `toolcall-harness run` uses unless told otherwise


@dataclass
class Outcome:
    name: str
    detail: str
    ratio: float
    target: float

    @property
    def met(self) -> bool:
        return self.ratio <= self.target

    def line(self) -> str:
        return f"{self.name}: {self.detail} ratio={self.ratio:.3f} target={self.target:g}"


@dataclass
class Bench:
    folder: Path
    rounds: int
    _suite: Suite | None = None

    @property
    def suite(self) -> Suite:
        if self._suite is None:
            self._suite = load_suite(self.folder)
        return self._suite


def cpu_timed(fn: Callable[[], object]) -> float:
    """CPU seconds of this whole process (every thread, the stub's included) spent running `fn`."""
    gc.collect()
    start = time.process_time()
    fn()
    return time.process_time() - start


def paired(a: Callable[[], object], b: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Median CPU seconds of `a` and of `b`, interleaved round by round so drift hits both alike."""
    a(), b()  # warm-up: imports, caches, the page cache for cassettes
    times_a, times_b = [], []
    for _ in range(rounds):
        times_a.append(cpu_timed(a))
        times_b.append(cpu_timed(b))
    return statistics.median(times_a), statistics.median(times_b)


def load() -> str:
    """The machine's load average: wall-time figures on a busy 2-core machine should be read with it."""
    return f"load {os.getloadavg()[0]:.1f}"


def repeated(fn: Callable[[], object], times: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(times):
            fn()

    return run


def replay_all(s: Suite, concurrency: int = CLI_CONCURRENCY) -> None:
    with Engine(s.replay_config(concurrency)) as engine:
        results = engine.run_all(s.runs)
    wrong = [r.key.label for r in results if r.provenance != "replayed" or r.outcome == "skip"]
    if wrong:
        raise RuntimeError(f"replay did not replay: {', '.join(wrong[:5])}")


# --- the benchmarks ---------------------------------------------------------------------------------


def bench_replay(b: Bench) -> Outcome:
    s = b.suite
    cassettes = s.cassettes
    # One pass of a small suite takes tens of milliseconds: repeat it so a sample lasts ~0.3 s.
    times = max(1, math.ceil(0.3 / cpu_timed(lambda: replay_all(s))))
    harness, bare = paired(
        repeated(lambda: replay_all(s), times), repeated(lambda: bare_replay(cassettes), times), b.rounds
    )
    requests = bare_replay(cassettes)
    detail = (
        f"{s.origin}, {requests} requests; harness {harness / times * 1e3:.1f} ms, "
        f"bare SDK+vcrpy {bare / times * 1e3:.1f} ms CPU per pass (concurrency {CLI_CONCURRENCY})"
    )
    return Outcome("replay", detail, harness / bare, 1.5)


def bench_concurrency(
    b: Bench, runs_wanted: int = 200, latency: float = 0.2, concurrency: int = 16
) -> Outcome:
    scenarios = test_scenarios()
    config = RunConfig(concurrency=concurrency, trials=math.ceil(runs_wanted / (2 * len(scenarios))))
    with StubServer(oracle()) as stub, Engine(config) as engine:  # warm-up, without latency
        engine.run_all(plan(scenarios, [stub_target(stub.base_url)], RunConfig()))
    ratios, peaks, counts = [], [], (0, 0)
    for _ in range(max(5, b.rounds // 2)):
        with StubServer(oracle(), latency=latency) as stub:
            runs = plan(scenarios, [stub_target(stub.base_url)], config)
            gc.collect()
            with Engine(config) as engine:
                start = time.perf_counter()
                results = engine.run_all(runs)
                wall = time.perf_counter() - start
            requests = len(stub.requests)
        if any(r.outcome != "pass" for r in results):
            raise RuntimeError("the concurrency benchmark's runs did not all pass")
        ratios.append(wall / (requests * latency / concurrency))
        peaks.append(stub.max_in_flight)
        counts = (len(runs), requests)
    detail = (
        f"{counts[0]} runs, {counts[1]} requests, {latency * 1e3:.0f} ms latency, concurrency {concurrency}, "
        f"peak in flight {min(peaks)}, {load()}; wall / ideal, median of {len(ratios)}"
    )
    return Outcome("concurrency", detail, statistics.median(ratios), 1.18)


def bench_overhead(b: Bench) -> Outcome:
    """Per request, run by run: the harness's wall time minus bare SDK calls sending the same bodies.

    No `gc.collect()` between these millisecond timings: a collection just before a call slows that
    call by about a millisecond, which would swamp what is measured here.
    """
    scenarios = test_scenarios()
    config = RunConfig(concurrency=1)
    by_run: dict[str, list[tuple[float, float]]] = {}
    with StubServer(oracle()) as stub, Engine(config) as engine:
        runs = plan(scenarios, [stub_target(stub.base_url)], config)
        client = openai.OpenAI(base_url=stub.base_url, api_key="bench", max_retries=0)
        for round_ in range(b.rounds * 3 + 1):  # round 0 is the warm-up
            for planned in runs:
                first = len(stub.requests)
                start = time.perf_counter()
                result = engine.run(planned)
                took = time.perf_counter() - start
                bodies = stub.requests[first:]
                assert result.outcome == "pass" and len(bodies) == len(result.turns), result.key.label
                start = time.perf_counter()
                for body in bodies:
                    bare_call(client, body)
                bare = time.perf_counter() - start
                if round_:
                    by_run.setdefault(planned.key.label, []).append(
                        (took / len(bodies) * 1e3, bare / len(bodies) * 1e3)
                    )
        client.close()
    pairs = [p for runs_ in by_run.values() for p in runs_]
    harness_ms = statistics.median(h for h, _ in pairs)
    bare_ms = statistics.median(b_ for _, b_ in pairs)
    worst = max(by_run, key=lambda k: statistics.median(h - b_ for h, b_ in by_run[k]))
    worst_ms = statistics.median(h - b_ for h, b_ in by_run[worst])
    detail = (
        f"harness {harness_ms:.2f} ms vs bare SDK {bare_ms:.2f} ms per request, stub without latency, "
        f"{len(pairs)} runs (worst: {worst} +{worst_ms:.2f} ms), {load()}; median ms"
    )
    return Outcome("overhead", detail, harness_ms - bare_ms, 2)


def latency_errors(b: Bench, latency: float, concurrency: int) -> list[float]:
    scenarios = test_scenarios()
    config = RunConfig(trials=2, concurrency=concurrency)
    errors: list[float] = []
    with StubServer(oracle(), latency=latency) as stub, Engine(config) as engine:
        runs = plan(scenarios, [stub_target(stub.base_url)], config)
        engine.run_all(runs[:2])  # warm-up
        for _ in range(max(2, b.rounds // 3)):
            for result in engine.run_all(runs):
                errors += [abs(t.latency_s - latency) * 1e3 for t in result.turns if t.latency_s is not None]
    return errors


def bench_latency(b: Bench, latency: float = 0.1) -> Outcome:
    """Measured one run at a time: with runs side by side, a thread whose response has arrived waits up
    to a GIL switch interval (5 ms) for the CPU-bound judging of other runs, which the detail shows."""
    alone, side_by_side = latency_errors(b, latency, 1), latency_errors(b, latency, CLI_CONCURRENCY)
    detail = (
        f"{len(alone)} turns, {latency * 1e3:.0f} ms injected, worst {max(alone):.1f} ms; "
        f"at concurrency {CLI_CONCURRENCY}: median {statistics.median(side_by_side):.1f} ms, "
        f"worst {max(side_by_side):.1f} ms, {load()}; median |reported - injected| ms at concurrency 1"
    )
    return Outcome("latency", detail, statistics.median(alone), 5)


def bench_scaling(b: Bench, factor: int = 16) -> Outcome:
    one = scaled(b.suite, 1, b.folder / "x1")
    many = scaled(b.suite, factor, b.folder / f"x{factor}")
    # The 1x suite is replayed `factor` times per sample, so both samples replay as many runs.
    small, large = paired(repeated(lambda: replay_all(one), factor), lambda: replay_all(many), b.rounds)
    peak_one, peak_many = peak_memory(lambda: replay_all(one)), peak_memory(lambda: replay_all(many))
    detail = (
        f"{len(one.runs)} vs {len(many.runs)} runs; {small / len(one.runs) / factor * 1e3:.2f} vs "
        f"{large / len(many.runs) * 1e3:.2f} ms CPU per run; peak memory {peak_one / 2**20:.1f} MiB vs "
        f"{peak_many / 2**20:.1f} MiB (tracemalloc)"
    )
    return Outcome("scaling", detail, large / small, 1.2)


def child_cpu(command: list[str], cwd: Path) -> float:
    """CPU seconds (user + system) of one child process running `command` to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def paired_commands(a: list[str], b: list[str], cwd: Path, rounds: int) -> tuple[float, float]:
    """Median child CPU seconds of two commands, interleaved round by round, after one warm-up each."""
    child_cpu(a, cwd), child_cpu(b, cwd)
    times_a, times_b = [], []
    for _ in range(rounds):
        times_a.append(child_cpu(a, cwd))
        times_b.append(child_cpu(b, cwd))
    return statistics.median(times_a), statistics.median(times_b)


def bench_startup_plugin(b: Bench) -> Outcome:
    """What installing the package costs every pytest session in the environment that never asks for it.

    `pytest --collect-only` in an empty folder, with the plugin and with `-p no:toolcall_harness` (which
    keeps pytest from importing it). Not `pytest --version`: a lone `--version` returns before any
    plugin is loaded. The line's figure is the added milliseconds, not a quotient: the budget (50 ms) is
    absolute, while pytest's own start-up, the divisor of any ratio, depends on the other plugins
    installed here (the detail gives the quotient too).
    """
    empty = b.folder / "empty"
    empty.mkdir(exist_ok=True)
    base = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    rounds = max(9, b.rounds * 2)
    with_plugin, without = paired_commands(base, [*base, "-p", "no:toolcall_harness"], empty, rounds)
    added = (with_plugin - without) * 1e3
    detail = (f"pytest --collect-only, empty folder: {with_plugin * 1e3:.0f} ms with the plugin, "
              f"{without * 1e3:.0f} ms without (quotient {with_plugin / without:.3f}); median CPU of "
              f"{rounds} paired runs; figure: ms added")
    return Outcome("startup-plugin", detail, added, 50)


def bench_startup_validate(b: Bench) -> Outcome:
    """`toolcall-harness validate` on the four test scenarios, against the least a validator of YAML
    against pydantic models must load: `python -c "import pydantic, yaml"`. Importing the openai SDK,
    as every command did before, would multiply it (about 8x here)."""
    root = Path(__file__).resolve().parents[1]
    validate = [sys.executable, "-m", "harness", "validate", str(root / "tests" / "data" / "scenarios")]
    floor = [sys.executable, "-c", "import pydantic, yaml; from pydantic import BaseModel"]
    rounds = max(9, b.rounds * 2)
    cli, bare = paired_commands(validate, floor, root, rounds)
    detail = (f"validate, 4 scenarios: {cli * 1e3:.0f} ms vs {bare * 1e3:.0f} ms for importing pydantic and "
              f"yaml alone; median CPU of {rounds} paired runs")
    return Outcome("startup-validate", detail, cli / bare, 2.5)


def peak_memory(fn: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


BENCHMARKS: dict[str, Callable[[Bench], Outcome]] = {
    "replay": bench_replay,
    "concurrency": bench_concurrency,
    "overhead": bench_overhead,
    "latency": bench_latency,
    "scaling": bench_scaling,
    "startup-plugin": bench_startup_plugin,
    "startup-validate": bench_startup_validate,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), help="run only these")
    parser.add_argument("--rounds", type=int, default=9, help="samples per measurement (default: 9)")
    args = parser.parse_args(argv)
    missed = 0
    with tempfile.TemporaryDirectory(prefix="toolcall-bench-") as tmp:
        bench = Bench(Path(tmp), max(1, args.rounds))
        for name in args.only or list(BENCHMARKS):
            outcome = BENCHMARKS[name](bench)
            print(outcome.line(), flush=True)
            missed += not outcome.met
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
