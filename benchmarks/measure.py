"""What every benchmark shares: its printed line, its sizes, and honest ways to time and sample.

A line is `name: what was measured ratio=<x> target=<y>`, lower is better. Every figure is a median of
samples taken after a warm-up; two things compared are sampled alternately, round by round, so a
neighbour's burst on this shared 2-core machine hits both alike.
"""

from __future__ import annotations

import gc
import os
import resource
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from suite import Suite, load_suite

ROOT = Path(__file__).resolve().parent.parent


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
    """The temporary folder, the samples per measurement, and whether this is the long `--full` run."""

    folder: Path
    rounds: int
    full: bool = False
    tiny: bool = False  # the smoke test's size: every benchmark runs, none measures anything
    _suite: Suite | None = field(default=None, repr=False)

    @property
    def suite(self) -> Suite:
        if self._suite is None:
            self._suite = load_suite(self.folder)
        return self._suite

    def size(self, default: int, full: int, tiny: int = 1) -> int:
        return tiny if self.tiny else full if self.full else default


def machine_speed() -> float:
    """Milliseconds of CPU a fixed pure-Python loop takes now. This shared machine's speed varies by up to
    half from one minute to the next (seen here: a loop of 275 ms took 411 ms a minute later), and every
    CPU-bound figure moves with it; printed before and after a run, it tells runs made at different
    speeds apart."""
    times = []
    for _ in range(3):
        start, total = time.process_time(), 0
        for i in range(1_000_000):
            total += i * i
        times.append(time.process_time() - start)
    return statistics.median(times) * 1e3


def load() -> str:
    """The machine's load average: wall-time figures on a busy 2-core machine should be read with it."""
    return f"load {os.getloadavg()[0]:.1f}"


def cpu_timed(fn: Callable[[], object]) -> float:
    """CPU seconds of this whole process (every thread) spent running `fn`; not the stub's, which has
    its own process."""
    gc.collect()
    start = time.process_time()
    fn()
    return time.process_time() - start


def paired(
    a: Callable[[], object], b: Callable[[], object], rounds: int, warm_up: Callable[[], object] | None = None
) -> tuple[float, float]:
    """Median CPU seconds of `a` and of `b`, interleaved round by round so drift hits both alike.

    The warm-up (imports, caches, the page cache for cassettes) runs both, or `warm_up` when running
    them both once would cost as much as a round and warm nothing more.
    """
    if warm_up is not None:
        warm_up()
    else:
        a(), b()
    times_a, times_b = [], []
    for _ in range(rounds):
        times_a.append(cpu_timed(a))
        times_b.append(cpu_timed(b))
    return statistics.median(times_a), statistics.median(times_b)


def repeated(fn: Callable[[], object], times: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(times):
            fn()

    return run


def child_cpu(command: list[str], cwd: Path) -> float:
    """CPU seconds (user + system) of one child process running `command` to its end.

    The child may write bytecode caches, as Python does wherever it is installed: an environment that
    sets PYTHONDONTWRITEBYTECODE (this machine's does) would otherwise compile every module from source
    at every start, which measures the compiler, and a start-up of about 1 s instead of 0.4 s buries a
    difference of tens of milliseconds in its noise. The warm-up runs write the caches.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                   env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def own_peak() -> int:
    """This process's peak resident memory in bytes, since its `exec`.

    `VmHWM` is kept per address space, so it starts afresh at `exec`; `ru_maxrss` does not: a child
    forked from a large parent inherits the parent's resident size as its peak, whatever it does next.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def child_peak(command: list[str], cwd: Path) -> int:
    """Peak resident memory (bytes) of a child running `command`, which prints `own_peak()` last.

    Measured in a child of its own: tracemalloc, in process, slows the measured code several times
    over and misses what C extensions allocate.
    """
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr[-2000:]}")
    return int(done.stdout.split()[-1])


def paired_commands(a: list[str], b: list[str], cwd: Path, rounds: int) -> tuple[float, float, float]:
    """Median child CPU seconds of two commands, interleaved round by round after one warm-up each, and
    the median of the rounds' differences (a - b): a burst that slows one round slows both its runs."""
    child_cpu(a, cwd), child_cpu(b, cwd)
    times_a, times_b = [], []
    for _ in range(rounds):
        times_a.append(child_cpu(a, cwd))
        times_b.append(child_cpu(b, cwd))
    differences = [x - y for x, y in zip(times_a, times_b, strict=True)]
    return statistics.median(times_a), statistics.median(times_b), statistics.median(differences)
