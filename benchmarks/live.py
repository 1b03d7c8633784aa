"""Benchmarks against a live stub server in its own process: concurrency, latency accuracy, overhead.

The stub runs as `python -m harness.testing` (`StubProcess`), so it shares neither the GIL nor the CPU
accounting of the harness it serves: the wall time of a concurrent run is the harness's and the
latency's, the process CPU time measured here is the client's alone, and the time the stub held each
request (`GET /_stub/stats`, measured in the stub) is the truth a reported latency is compared with.
"""

from __future__ import annotations

import gc
import math
import multiprocessing
import re
import resource
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import openai
from measure import ROOT, Bench, Outcome, load
from suite import bare_call, stub_target, test_scenarios

from harness.core.model import RunResult
from harness.engine.config import RunConfig
from harness.engine.engine import Engine
from harness.engine.plan import PlannedRun, plan
from harness.engine.processes import share
from harness.engine.shard import split
from harness.testing.process import StubProcess

_NUMBER = re.compile(r"chatcmpl-stub-(\d+)")


def oracle_stub(latency: float) -> StubProcess:
    """The stub answering as tests/oracle.py's well-behaved model, so every run passes."""
    return StubProcess(latency=latency, responder="oracle:oracle", paths=[str(ROOT / "tests")])


def planned(stub: StubProcess, config: RunConfig) -> list[PlannedRun]:
    return plan(test_scenarios(), [stub_target(stub.base_url)], config)


def passed(results: list[RunResult]) -> list[RunResult]:
    bad = [f"{r.key.label}: {r.outcome}" for r in results if r.outcome != "pass"]
    if bad:
        raise RuntimeError("a benchmark's runs did not all pass: " + "; ".join(bad[:5]))
    return results


def ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3:.1f}"


# --- the bare SDK under the same conditions ---------------------------------------------------------


def bare_timed(client: openai.OpenAI, body: dict[str, Any]) -> tuple[float, int]:
    """One bare SDK call timed as a script would time it (around `create` and reading the answer to
    its end), and the stub's number of the request, from the id the stub gave its answer."""
    start = time.perf_counter()
    if body.get("stream"):
        ident = ""
        for chunk in client.chat.completions.create(**body):
            ident = chunk.id
    else:
        ident = client.chat.completions.create(**body).id
    seconds = time.perf_counter() - start
    match = _NUMBER.fullmatch(ident)
    if match is None:
        raise RuntimeError(f"the stub's answer has no numbered id: {ident!r}")
    return seconds, int(match.group(1))


def bare_pass(stub: StubProcess, results: list[RunResult], concurrency: int) -> tuple[float, list[float]]:
    """The harness's conversations again, as bare SDK calls replaying each run's request bodies in
    turn, `concurrency` runs at a time on as many threads, in plan order as the engine takes them.

    The reference for a figure that the machine's load moves: what a Python client with a thread per
    conversation and nothing to check achieves here and now. Returns the wall time and, per request,
    the measured seconds less the time the stub held it.
    """
    conversations = [[t.request for t in r.turns] for r in results]
    http = httpx2.Client(limits=httpx2.Limits(max_connections=None, max_keepalive_connections=concurrency))
    client = openai.OpenAI(base_url=stub.base_url, api_key="bench", max_retries=0, http_client=http)
    timed: list[tuple[float, int]] = []

    def converse(bodies: list[dict[str, Any]]) -> None:
        timed.extend(bare_timed(client, body) for body in bodies)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:  # warm-up: connections, imports
        list(pool.map(converse, conversations[:concurrency]))
        stub.reset()
        timed.clear()
        gc.collect()
        start = time.perf_counter()
        list(pool.map(converse, conversations))
        wall = time.perf_counter() - start
    held = {number: seconds for number, seconds in stub.stats()["held"]}
    client.close()
    return wall, [seconds - held[number] for seconds, number in timed]


def bare_processes(stub: StubProcess, runs: list[PlannedRun], results: list[RunResult], concurrency: int,
                   processes: int) -> float:
    """Wall time of the same conversations as bare SDK calls in `processes` forked processes, each with
    its share of the runs (cut as `--processes` cuts them) and of `concurrency`, a thread per run: the
    reference for `--processes`, which a thread per run in one process is not (its one GIL is the
    bottleneck there). Like the engine's workers, they are forked anew and connect anew in every pass."""
    result_of = {id(run): result for run, result in zip(runs, results, strict=True)}
    parts = [[result_of[id(run)] for run in part] for part in split(runs, processes)]
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_bare_worker,
                                args=(stub.base_url, part, share(concurrency, processes, number)))
                for number, part in enumerate(parts)]
    start = time.perf_counter()
    for child in children:
        child.start()
    for child in children:
        child.join()
    wall = time.perf_counter() - start
    if any(child.exitcode != 0 for child in children):
        raise RuntimeError("a bare-SDK reference process failed")
    return wall


def _bare_worker(base_url: str, results: list[RunResult], concurrency: int) -> None:
    http = httpx2.Client(limits=httpx2.Limits(max_connections=None, max_keepalive_connections=concurrency))
    client = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0, http_client=http)

    def converse(bodies: list[dict[str, Any]]) -> None:
        for body in bodies:
            bare_timed(client, body)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(converse, [[t.request for t in r.turns] for r in results]))
    client.close()


# --- concurrency ------------------------------------------------------------------------------------


def ideal_wall(results: list[RunResult], latency: float, concurrency: int) -> tuple[float, str]:
    """The least wall time the injected latency allows this plan, whatever the order of its runs.

    A run's turns are chained (each request needs the previous answer), so a run of k turns holds a
    slot for k latencies; `concurrency` slots can do no better than the longest run, nor than the total
    of turns spread evenly: latency x max(longest run's turns, ceil(turns / concurrency)). Any schedule
    takes at least this, so a ratio against it is conservative.
    """
    turns = [len(r.turns) for r in results]
    waves = max(max(turns), math.ceil(sum(turns) / concurrency))
    kinds = sorted(set(turns), reverse=True)
    shape = ", ".join(f"{turns.count(k)} of {k} turn{'s' * (k > 1)}" for k in kinds)
    return latency * waves, (f"ideal {latency * waves:.2f} s = {latency * 1e3:.0f} ms x max({max(turns)}, "
                             f"ceil({sum(turns)} requests / {concurrency})) for runs {shape}")


def bench_concurrency(b: Bench, concurrency: int, latency: float = 0.2, processes: int = 1,
                      waves: int = 15, references: int | None = None) -> Outcome:
    """Wall / ideal of a matrix at `concurrency`, each slot making about `waves` requests in turn (60 with
    `--full`): the ideal's last wave is then 1/waves of it. With `processes` > 1 the engine runs it in
    worker processes (`--processes`): their CPU is counted too, and every pass starts them, and the pools
    they open, anew. `references`: passes of the bare-SDK reference, alternating with the harness's so
    that the load that slows one slows both (default: one between every two of the harness's)."""
    waves = b.size(waves, 60)
    passes = b.size(3, 7, 2)  # the bare reference runs between two passes
    with oracle_stub(latency) as stub:
        probe = RunConfig(concurrency=concurrency)
        with Engine(probe) as engine:  # warm-up: imports, and `concurrency` connections opened
            per_trial = sum(len(r.turns) for r in passed(engine.run_all(planned(stub, probe))))
        config = RunConfig(concurrency=concurrency, trials=max(1, math.ceil(waves * concurrency / per_trial)),
                           processes=processes)
        runs = planned(stub, config)
        walls, cpus, peaks, held, opened, bare = [], [], [], [], [], []
        results: list[RunResult] = []
        with Engine(config) as engine:
            engine.run_all(runs[:concurrency])
            for number in range(passes):
                if number and (references is None or len(bare) < references):
                    bare.append(bare_pass(stub, results, concurrency)[0] if processes == 1
                                else bare_processes(stub, runs, results, concurrency, processes))
                stub.reset()
                gc.collect()
                start, cpu = time.perf_counter(), time.process_time() + _workers_cpu()
                results = passed(engine.run_all(runs))
                walls.append(time.perf_counter() - start)
                cpus.append(time.process_time() + _workers_cpu() - cpu)
                stats = stub.stats()
                peaks.append(stats["max_in_flight"])
                opened.append(stats["connections_opened"] - 1)  # less the stats request's own
                held += [h for _, h in stats["held"]]
    ideal, how = ideal_wall(results, latency, concurrency)
    requests = sum(len(r.turns) for r in results)
    wall = statistics.median(walls)
    detail = (
        f"{len(runs)} runs, {requests} requests, {latency * 1e3:.0f} ms injected, concurrency {concurrency}"
        + (f" in {processes} processes (--processes {processes})" if processes > 1 else "") + "; "
        f"{how}; wall median {wall:.2f} s of {passes} (min {min(walls):.2f}, max {max(walls):.2f}); "
        f"peak in flight {min(peaks)}, connections opened in the first pass {opened[0]}; stub held median "
        f"{ms(held, 0.5)} ms, p99 {ms(held, 0.99)} ms; harness CPU "
        f"{statistics.median(cpus) / requests * 1e3:.2f} ms per request"
        f"{' (all processes)' if processes > 1 else ''}; the same requests as bare SDK "
        f"calls, a thread per run{f' in {processes} forked processes' if processes > 1 else ''}: "
        f"wall / ideal {statistics.median(bare) / ideal:.3f} (median of "
        f"{len(bare)}), {load()}; wall / ideal"
    )
    return Outcome(f"concurrency-{concurrency}", detail, wall / ideal, 1.10)


def _workers_cpu() -> float:
    """CPU seconds of the worker processes `--processes` started and reaped so far (the stub process,
    still running, is not among them)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_concurrency_16(b: Bench) -> Outcome:
    return bench_concurrency(b, 16)


def bench_concurrency_64(b: Bench) -> Outcome:
    """Two worker processes: one process's GIL cannot build and parse 64 requests per 200 ms wave with
    the openai SDK (about 2.5 ms of CPU each under contention); the bare SDK on threads in one process
    scores 1.2-1.4, and its reference here runs in two forked processes like the harness.

    30 waves (a pass of about 6 s), not 15: starting two worker processes and their 64 connections, and
    reaping them, costs about 60-80 ms a pass, which a 3 s pass counts twice as heavily as a 6 s one and a
    nightly run of thousands of requests hardly at all. At 15 waves it measured 1.09-1.10 on an idle
    machine, at 30 waves 1.07-1.08. One bare-SDK reference pass, not two, keeps the default run within
    its three minutes."""
    return bench_concurrency(b, 64, processes=2, waves=30, references=1)


# --- latency accuracy -------------------------------------------------------------------------------


def latency_errors(
    b: Bench, stub: StubProcess, concurrency: int, latency: float
) -> tuple[list[float], list[float], list[RunResult]]:
    """Per turn, the reported latency less the time the stub held that request (matched by the id it
    put in its answer), and less the injected latency; seconds."""
    # Side by side a pass is short and its turns' errors vary with the neighbours: take more of them.
    config = RunConfig(trials=b.size(4 if concurrency == 1 else 8, 20), concurrency=concurrency)
    runs = planned(stub, config)
    by_held: list[float] = []
    by_injected: list[float] = []
    with Engine(config) as engine:
        engine.run_all(runs[: max(2, concurrency)])  # warm-up
        for _ in range(b.size(2 if concurrency == 1 else 4, 6)):
            stub.reset()
            results = passed(engine.run_all(runs))
            held = {number: seconds for number, seconds in stub.stats()["held"]}
            for turn in (t for r in results for t in r.turns):
                match = _NUMBER.search(turn.response_text or "")
                if turn.latency_s is None or match is None or int(match.group(1)) not in held:
                    raise RuntimeError(f"turn {turn.number} has no latency or no stub request to match")
                by_held.append(turn.latency_s - held[int(match.group(1))])
                by_injected.append(turn.latency_s - latency)
    return by_held, by_injected, results


def bench_latency(b: Bench, concurrency: int, target: float, latency: float = 0.1) -> Outcome:
    """What the harness reports as a turn's latency against what its client could have seen: the time
    the stub held the request (from its headers read to its last byte written). The difference is the
    harness's error plus the loopback transfer; the injected latency is given too, for comparison with
    earlier figures, but the stub's own work and a late wake-up on a busy machine count in it."""
    with oracle_stub(latency) as stub:
        errors, injected, results = latency_errors(b, stub, concurrency, latency)
        bare = bare_pass(stub, results, concurrency)[1]
    absolute = [abs(e) for e in errors]
    detail = (
        f"{len(errors)} turns at concurrency {concurrency}, {latency * 1e3:.0f} ms injected; reported - "
        f"held: median {statistics.median(errors) * 1e3:+.2f} ms, p90 {ms(absolute, 0.9)} ms, worst "
        f"{max(absolute) * 1e3:.1f} ms; reported - injected: median "
        f"{statistics.median(injected) * 1e3:+.2f} ms; bare SDK calls timed around create, same requests"
        f" and concurrency: measured - held median {statistics.median(bare) * 1e3:+.2f} ms, p90 "
        f"{ms([abs(e) for e in bare], 0.9)} ms, {load()}; median |reported - held| ms"
    )
    return Outcome(f"latency-{concurrency}", detail, statistics.median(absolute) * 1e3, target)


def bench_latency_1(b: Bench) -> Outcome:
    return bench_latency(b, 1, 2)


def bench_latency_16(b: Bench) -> Outcome:
    return bench_latency(b, 16, 5)


# --- overhead ---------------------------------------------------------------------------------------


def bench_overhead(b: Bench) -> Outcome:
    """CPU per request of the harness playing the runs, against bare SDK calls sending the same bodies
    to the same stub (without latency), pass by pass, alternately.

    CPU, not wall: the stub has its own process, so this process's CPU time is exactly the client's
    work (the harness's or the bare SDK's), and a neighbour on this shared machine cannot inflate it;
    both wait for the same loopback round trips, which wall time would add to both sides alike.
    The bare client is one `openai.OpenAI` for all calls, as a script would keep it; the harness makes
    one per run, and it reads, checks and records every response, which the bare calls do not.
    """
    config = RunConfig(concurrency=1, trials=b.size(5, 10))
    with oracle_stub(0.0) as stub:
        runs = planned(stub, config)
        client = openai.OpenAI(base_url=stub.base_url, api_key="bench", max_retries=0)
        bodies: list[dict[str, Any]] = []
        with Engine(config) as engine:

            def harness() -> None:
                bodies.clear()
                for run in runs:
                    bodies.extend(t.request for t in passed([engine.run(run)])[0].turns)

            def bare() -> None:
                for body in bodies:
                    bare_call(client, body)

            harness(), bare()  # warm-up
            cpu_h, cpu_b, wall_h, wall_b = [], [], [], []
            for _ in range(b.size(9, 15, 2)):
                for fn, cpu, wall in ((harness, cpu_h, wall_h), (bare, cpu_b, wall_b)):
                    gc.collect()
                    start, used = time.perf_counter(), time.process_time()
                    fn()
                    cpu.append((time.process_time() - used) / len(bodies))
                    wall.append((time.perf_counter() - start) / len(bodies))
        client.close()
    differences = [(h - b_) * 1e3 for h, b_ in zip(cpu_h, cpu_b, strict=True)]
    detail = (
        f"{len(runs)} runs, {len(bodies)} requests per pass, stub without latency; CPU per request: "
        f"harness {statistics.median(cpu_h) * 1e3:.2f} ms, bare SDK {statistics.median(cpu_b) * 1e3:.2f} ms; "
        f"wall per request: harness {statistics.median(wall_h) * 1e3:.2f} ms, bare SDK "
        f"{statistics.median(wall_b) * 1e3:.2f} ms; {len(differences)} paired passes, {load()}; "
        f"median ms CPU added per request"
    )
    return Outcome("overhead", detail, statistics.median(differences), 1)
