"""The harness side by side with a peer, promptfoo, on the same work: `python benchmarks/peer_promptfoo.py`.

Both tools are run as the command a user types (`toolcall-harness run`, `promptfoo eval`), each in a
fresh process, so the figures include each one's start-up. Both send the first request of every
scenario in `scenarios/`, non-streamed (promptfoo's openai provider does not stream), to the same stub
server in a process of its own (`peer_stub.py`, the stock `echo_responder` with injected latency), at
the same concurrency, and the stub is the witness that they did the same work: the same number of
requests, byte-equal bodies once keys are sorted, the same peak in flight. A promptfoo test has no tool
loop (it never sends a tool result back), so the harness is held to one request per scenario too:
each scenario is copied with `max_iterations: 1` (`peer_config.py` writes both sides' inputs). See
docs/peer-promptfoo.md for what each side checks.

`bench_peer()` returns `(name, detail, ratio, target)` tuples, harness ÷ promptfoo, lower is better:
wall time, CPU seconds (user + system of the client's process and any children it waited for), and
peak resident memory. promptfoo is installed from `benchmarks/peer/package-lock.json` by `npm ci` on
first use, into `benchmarks/peer/node_modules` (git-ignored); CI never installs it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.scenario.spec import ResolvedScenario

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peer_config import MODEL, ROOT, SCENARIOS, one_request_scenarios, peer_scenarios, write_promptfoo_suite  # noqa: E402

PEER = ROOT / "benchmarks" / "peer"
PROMPTFOO = PEER / "node_modules" / "promptfoo" / "dist" / "src" / "entrypoint.js"
STUB = ROOT / "benchmarks" / "peer_stub.py"
# Everything promptfoo could otherwise reach beyond the loopback stub, or keep between runs.
QUIET_ENV = {
    "PROMPTFOO_DISABLE_TELEMETRY": "1",
    "PROMPTFOO_DISABLE_UPDATE": "1",
    "PROMPTFOO_DISABLE_SHARING": "1",
    "PROMPTFOO_DISABLE_REMOTE_GENERATION": "1",
    "PROMPTFOO_DISABLE_REDTEAM_REMOTE_GENERATION": "1",
    "PROMPTFOO_CACHE_ENABLED": "false",
    "PROMPTFOO_SELF_HOSTED": "1",
    # With telemetry disabled promptfoo still posts one "telemetry disabled" event to r.promptfoo.app
    # (its telemetry.ts); through a proxy on a closed loopback port it fails at once, with no DNS query.
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
    "NODE_NO_WARNINGS": "1",
}
# The targets: the harness should be no slower, no costlier in CPU, and no heavier than the peer doing
# the same work, start-up included; a ratio above 1 means a user would be better served by promptfoo.
TARGETS = {"peer-wall": 1.0, "peer-cpu": 1.0, "peer-memory": 1.0}
CLIENT_TIMEOUT_S = 600.0


# --- running both sides --------------------------------------------------------------------------


Verdicts = Callable[[int, Path], str]  # (exit code, log) -> "N pass, M fail", or raise: not run cleanly
Client = Callable[[str], tuple[list[str], Path, dict[str, str], Verdicts]]  # base URL -> how to run it


@dataclass
class Sample:
    """One client process against a fresh stub: its cost, and what the stub saw."""

    wall: float
    cpu: float
    peak_rss: int  # bytes
    requests: int
    max_in_flight: int
    bodies: list[str]  # canonical JSON, sorted
    verdicts: str


def ensure_promptfoo() -> Path:
    """Install the pinned promptfoo from the lock file (`npm ci --ignore-scripts`) unless it is there.

    The marker is written only after npm succeeded, so an interrupted install is redone, never used.
    """
    marker = PEER / "node_modules" / ".toolcall-peer-installed"
    if not marker.is_file():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("the peer benchmark needs Node.js 20.20+ and npm (to install promptfoo)")
        command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
        subprocess.run(command, cwd=PEER, check=True)
        marker.write_text("npm ci from package-lock.json\n", encoding="utf-8")
    return PROMPTFOO


def _run_client(
    command: list[str], cwd: Path, env: dict[str, str], log: Path
) -> tuple[float, float, int, int]:
    """Wall seconds, CPU seconds and peak RSS (bytes) of one process, and its exit code.

    `os.wait4` reads the rusage of this child alone (with the children it waited for), so neither the
    stub nor an earlier sample is counted.
    """
    with log.open("wb") as out:
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        killer = threading.Timer(CLIENT_TIMEOUT_S, child.kill)  # a hung client must not hang the benchmark
        killer.start()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        killer.cancel()
    child.returncode = os.waitstatus_to_exitcode(status)
    if wall >= CLIENT_TIMEOUT_S:
        raise RuntimeError(f"{command[1]} was stopped after {CLIENT_TIMEOUT_S:.0f} s; see {log}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, child.returncode


def _sample(side: str, work: Path, latency: float, client: Client) -> Sample:
    """Start a stub, run `client(base_url) -> (command, cwd, env, read_verdicts)`, stop the stub."""
    record = work / f"{side}-stub.json"
    stub = subprocess.Popen([sys.executable, str(STUB), "--latency", str(latency), "--record", str(record)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert stub.stdout is not None and stub.stdin is not None
    try:
        base_url = stub.stdout.readline().strip()
        if not base_url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the stub did not start (it said {base_url!r})")
        command, cwd, env, verdicts = client(base_url)
        log = work / f"{side}.log"
        wall, cpu, rss, code = _run_client(command, cwd, env, log)
    finally:
        stub.stdin.close()
        stub.wait(timeout=30)
    seen = json.loads(record.read_text(encoding="utf-8"))
    if seen["errors"]:
        raise RuntimeError(f"{side}: the stub failed: {seen['errors'][0]}")
    summary = verdicts(code, log)
    bodies = sorted(json.dumps(_numbers(b), sort_keys=True) for b in seen["bodies"])
    return Sample(wall, cpu, rss, seen["requests"], seen["max_in_flight"], bodies, summary)


def _numbers(value: Any) -> Any:
    """JSON numbers as JSON means them: Python writes `0.0` where JavaScript writes `0`, the same number."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def harness_client(folder: Path, work: Path, concurrency: int, trials: int) -> Client:
    reports = work / "harness-reports"

    def client(base_url: str) -> tuple[list[str], Path, dict[str, str], Verdicts]:
        shutil.rmtree(reports, ignore_errors=True)
        command = [sys.executable, "-m", "harness", "run", "--base-url", base_url, "--model", MODEL,
                   "--scenarios", str(folder), "--stream", "off", "--trials", str(trials),
                   "--concurrency", str(concurrency), "--report-dir", str(reports)]

        def verdicts(code: int, log: Path) -> str:
            report = _harness_report(reports)
            outcomes = [r["outcome"] for r in report["runs"]]
            if code not in (0, 1) or "error" in outcomes:
                raise RuntimeError(f"the harness run did not run cleanly (exit {code}); see {log}")
            return ", ".join(f"{outcomes.count(o)} {o}" for o in ("pass", "fail", "skip") if o in outcomes)

        return command, ROOT, dict(os.environ), verdicts

    return client


def _harness_report(folder: Path) -> dict[str, Any]:
    found = sorted(p for p in folder.rglob("*.json") if p.suffix == ".json")
    if not found:
        raise RuntimeError(f"the harness wrote no report under {folder}")
    return dict(json.loads(found[-1].read_text(encoding="utf-8")))


def promptfoo_client(
    scenarios: list[ResolvedScenario], work: Path, concurrency: int, repeat: int
) -> Client:
    entry = ensure_promptfoo()
    node = shutil.which("node") or "node"
    env = {**os.environ, **QUIET_ENV, "OPENAI_API_KEY": "bench"}
    env["PROMPTFOO_CONFIG_DIR"] = str(work / "pf-home")  # its settings and database, thrown away after

    def client(base_url: str) -> tuple[list[str], Path, dict[str, str], Verdicts]:
        folder = work / "promptfoo"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        config = write_promptfoo_suite(folder, scenarios, base_url)
        output = folder / "output.json"
        command = [node, str(entry), "eval", "-c", str(config), "--no-cache", "--no-write", "--no-table",
                   "--no-progress-bar", "--max-concurrency", str(concurrency), "--repeat", str(repeat),
                   "-o", str(output)]

        def verdicts(code: int, log: Path) -> str:
            if code not in (0, 100) or not output.is_file():  # 100: some test failed
                raise RuntimeError(f"promptfoo did not run cleanly (exit {code}); see {log}")
            stats = json.loads(output.read_text(encoding="utf-8"))["results"]["stats"]
            if stats["errors"]:
                raise RuntimeError(f"promptfoo: {stats['errors']} test(s) ended in an error; see {output}")
            return f"{stats['successes']} pass, {stats['failures']} fail"

        return command, folder, env, verdicts

    return client


# --- the benchmark -------------------------------------------------------------------------------


def _mib(n: float) -> str:
    return f"{n / 2**20:.0f} MiB"


def bench_peer(
    rounds: int = 3, concurrency: int = 8, latency: float = 0.1, trials: int = 4, folder: Path = SCENARIOS
) -> list[tuple[str, str, float, float]]:
    """`(name, detail, ratio, target)` lines for run.py: wall, CPU and peak memory, harness ÷ promptfoo.

    Samples alternate harness, promptfoo, round by round, after one warm-up each (the page cache for
    node_modules and the Python packages), and the medians are compared. Raises RuntimeError when the
    two sides did not do the same work, so a ratio is never printed for different work.
    """
    scenarios = peer_scenarios(folder)
    with tempfile.TemporaryDirectory(prefix="toolcall-peer-") as tmp:
        work = Path(tmp)
        harness = harness_client(one_request_scenarios(folder, work / "scenarios"), work, concurrency, trials)
        peer = promptfoo_client(scenarios, work, concurrency, trials)
        samples: dict[str, list[Sample]] = {"harness": [], "promptfoo": []}
        for round_ in range(rounds + 1):
            for side, client in (("harness", harness), ("promptfoo", peer)):
                sample = _sample(side, work, latency, client)
                if round_:
                    samples[side].append(sample)
        h, p = samples["harness"], samples["promptfoo"]
        _same_work(h[-1], p[-1], len(scenarios) * trials)
    med = {side: {k: statistics.median(getattr(s, k) for s in ss) for k in ("wall", "cpu", "peak_rss")}
           for side, ss in samples.items()}
    mh, mp = med["harness"], med["promptfoo"]
    ideal = len(scenarios) * trials * latency / concurrency
    work_line = (f"{len(scenarios)} scenarios x {trials}, {h[-1].requests} requests each side, non-streamed, "
                 f"{latency * 1e3:.0f} ms latency, concurrency {concurrency}, start-up included")
    load = f"load {os.getloadavg()[0]:.1f}; median of {rounds}"
    work_line += f" (peak in flight {h[-1].max_in_flight} / {p[-1].max_in_flight})"
    return [
        ("peer-wall", f"harness {mh['wall']:.2f} s vs promptfoo {mp['wall']:.2f} s (ideal {ideal:.2f} s); "
         f"{work_line}; verdicts harness {h[-1].verdicts} / promptfoo {p[-1].verdicts}; {load}",
         mh["wall"] / mp["wall"], TARGETS["peer-wall"]),
        ("peer-cpu", f"harness {mh['cpu']:.2f} s vs promptfoo {mp['cpu']:.2f} s CPU (user+system, the "
         f"client process and its children); {load}", mh["cpu"] / mp["cpu"], TARGETS["peer-cpu"]),
        ("peer-memory", f"harness {_mib(mh['peak_rss'])} vs promptfoo {_mib(mp['peak_rss'])} peak RSS "
         f"(ru_maxrss); {load}", mh["peak_rss"] / mp["peak_rss"], TARGETS["peer-memory"]),
    ]


def _same_work(h: Sample, p: Sample, expected: int) -> None:
    """The stub's view of both sides: as many requests, the same bodies, the same concurrency reached."""
    if h.requests != expected or p.requests != expected:
        raise RuntimeError(f"requests on the wire: harness {h.requests}, promptfoo {p.requests}, "
                           f"expected {expected}")
    if h.bodies != p.bodies:
        differ = next(i for i, (a, b) in enumerate(zip(h.bodies, p.bodies, strict=True)) if a != b)
        raise RuntimeError(f"the two sides sent different bodies, e.g.\n  harness:   {h.bodies[differ][:300]}"
                           f"\n  promptfoo: {p.bodies[differ][:300]}")
    if min(h.max_in_flight, p.max_in_flight) < min(expected, 2):
        raise RuntimeError(f"peak in flight: harness {h.max_in_flight}, promptfoo {p.max_in_flight}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="samples per side (default: 3)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (default: 8)")
    parser.add_argument("--latency", type=float, default=0.1, help="stub latency, seconds (default: 0.1)")
    parser.add_argument("--trials", type=int, default=4, help="runs of each scenario (default: 4)")
    args = parser.parse_args(argv)
    missed = 0
    for name, detail, ratio, target in bench_peer(max(1, args.rounds), args.concurrency, args.latency,
                                                  args.trials):
        print(f"{name}: {detail} ratio={ratio:.3f} target={target:g}", flush=True)
        missed += ratio > target
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
