"""Benchmarks that never wait on a server: replay of cassettes, scaling, and start-up costs.

Replay never waits on I/O, so it is timed in process CPU seconds: on a busy machine its wall time
would measure the neighbours. Run as a script (`offline.py replay-child FILE`) it replays the pickled
suite in FILE once, so that a child process's peak memory is the replay's alone.
"""

from __future__ import annotations

import math
import pickle
import sys
from pathlib import Path

from measure import ROOT, Bench, Outcome, child_peak, cpu_timed, own_peak, paired, paired_commands, repeated
from suite import Suite, bare_replay, scaled

from harness.engine.config import RunConfig
from harness.engine.engine import Engine

CLI_CONCURRENCY = RunConfig().concurrency  # what `toolcall-harness run` uses unless told otherwise


def replay_all(s: Suite, concurrency: int = CLI_CONCURRENCY) -> None:
    """Replay the suite; a replayed turn must report no latency (recorded time is no measurement)."""
    with Engine(s.replay_config(concurrency)) as engine:
        results = engine.run_all(s.runs)
    wrong = [r.key.label for r in results if r.provenance != "replayed" or r.outcome == "skip"]
    timed = [r.key.label for r in results if any(t.latency_s is not None for t in r.turns)]
    if wrong or timed:
        raise RuntimeError(f"replay did not replay: {', '.join(wrong[:5])}; reported latency: {timed[:5]}")


def bench_replay(b: Bench) -> Outcome:
    s = base_suite(b, 100)
    cassettes = s.cassettes
    # One pass of a small suite takes tens of milliseconds: repeat it so a sample lasts ~0.3 s.
    times = max(1, math.ceil(0.3 / cpu_timed(lambda: replay_all(s)))) if not b.tiny else 1
    harness, bare = paired(
        repeated(lambda: replay_all(s), times), repeated(lambda: bare_replay(cassettes), times), b.rounds
    )
    requests = bare_replay(cassettes)
    detail = (
        f"{s.origin}, {requests} requests; harness {harness / times * 1e3:.1f} ms, "
        f"bare SDK+vcrpy {bare / times * 1e3:.1f} ms CPU per pass (concurrency {CLI_CONCURRENCY}), "
        f"median of {b.rounds}; harness / bare"
    )
    return Outcome("replay", detail, harness / bare, 1.5)


def base_suite(b: Bench, runs: int) -> Suite:
    """The suite, all of it with --full, else every run of every Nth scenario, at least `runs` runs.

    Whole scenarios, not every Nth run: the plan alternates modes and targets within a scenario, so a
    stride over runs would keep one mode only (every 2nd run: no streams at all).
    """
    s = b.suite
    if b.tiny:
        return Suite(s.runs[:2], s.cassette_dir, f"2 runs of {s.origin}")
    stride = len(s.runs) // runs
    if b.full or stride < 2:
        return s
    scenarios = list(dict.fromkeys(r.key.scenario for r in s.runs))
    kept = set(scenarios[::stride])
    chosen = [r for r in s.runs if r.key.scenario in kept]
    return Suite(chosen, s.cassette_dir, f"the runs of 1 scenario in {stride} of {s.origin}")


def peak_of(suite: Suite, folder: Path) -> int:
    """Peak resident memory of a fresh process that imports the harness and replays `suite` once."""
    spec = folder / "suite.pickle"
    spec.write_bytes(pickle.dumps(suite))
    return child_peak([sys.executable, str(Path(__file__).resolve()), "replay-child", str(spec)], ROOT)


def bench_scaling(b: Bench, factor: int = 16) -> Outcome:
    """CPU per run replaying `factor` copies of the suite at once, against the suite itself replayed
    `factor` times (so both samples replay as many runs); memory from child processes' own rusage."""
    factor = 2 if b.tiny else factor
    base = base_suite(b, 36)
    one = scaled(base, 1, b.folder / "x1")
    many = scaled(base, factor, b.folder / f"x{factor}")
    rounds = b.size(3, 5)
    small, large = paired(repeated(lambda: replay_all(one), factor), lambda: replay_all(many), rounds,
                          warm_up=lambda: replay_all(one))
    peak_one, peak_many = peak_of(one, b.folder / "x1"), peak_of(many, b.folder / f"x{factor}")
    detail = (
        f"{base.origin}: {len(one.runs)} vs {len(many.runs)} runs; "
        f"{small / len(one.runs) / factor * 1e3:.2f} vs {large / len(many.runs) * 1e3:.2f} ms CPU per run, "
        f"median of {rounds}; peak memory (VmHWM of a process replaying it once) {peak_one / 2**20:.0f} MiB "
        f"vs {peak_many / 2**20:.0f} MiB; "
        f"CPU per run {factor}x / 1x"
    )
    return Outcome("scaling", detail, large / small, 1.2)


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
    rounds = b.size(9, 21, 1)
    with_plugin, without, added = paired_commands(base, [*base, "-p", "no:toolcall_harness"], empty, rounds)
    detail = (f"pytest --collect-only, empty folder: {with_plugin * 1e3:.0f} ms with the plugin, "
              f"{without * 1e3:.0f} ms without (quotient {with_plugin / without:.3f}), bytecode cached; "
              f"median CPU of {rounds} paired runs; median ms added per pair")
    return Outcome("startup-plugin", detail, added, 50)


def bench_startup_validate(b: Bench) -> Outcome:
    """`toolcall-harness validate` on the four test scenarios, against the least a validator of YAML
    against pydantic models must load: `python -c "import pydantic, yaml"`. Importing the openai SDK,
    as every command did before, would multiply it (about 8x here)."""
    validate = [sys.executable, "-m", "harness", "validate", str(ROOT / "tests" / "data" / "scenarios")]
    floor = [sys.executable, "-c", "import pydantic, yaml; from pydantic import BaseModel"]
    rounds = b.size(5, 15, 1)
    cli, bare, _ = paired_commands(validate, floor, ROOT, rounds)
    detail = (f"validate, 4 scenarios: {cli * 1e3:.0f} ms vs {bare * 1e3:.0f} ms for importing pydantic and "
              f"yaml alone, bytecode cached; median CPU of {rounds} paired runs; validate / imports")
    return Outcome("startup-validate", detail, cli / bare, 2.5)


if __name__ == "__main__" and sys.argv[1:2] == ["replay-child"]:
    replay_all(pickle.loads(Path(sys.argv[2]).read_bytes()))
    print(own_peak())
