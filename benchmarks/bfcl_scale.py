"""Scale of the BFCL pack (issue 16): `python benchmarks/bfcl_scale.py` in the dev venv with bfcl-eval.

Loading every supported category, converting every entry to a scenario, and planning a full run for
4 models x 2 modes, timed (median of 3, after a warm-up) and with its peak traced memory. Each line ends
in `ratio=<measured/budget> target=1` (lower is better, as in benchmarks/run.py); exit 1 when one is over.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from harness.engine.config import RunConfig
from harness.engine.plan import plan
from harness.packs.bfcl import convert, data
from harness.providers.registry import Target

BUDGET_S = {"load": 1.0, "convert": 3.0, "plan": 1.0}
BUDGET_MB = 300.0


def timed(step: Callable[[], Any], rounds: int = 3) -> tuple[float, Any]:
    step()
    times = []
    result = None
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> int:
    targets = [Target(provider="p", model=f"m{i}", base_url="http://127.0.0.1:1/v1", api_key_env=None)
               for i in range(4)]  # fmt: skip
    load_s, entries = timed(lambda: data.load("all"))
    convert_s, scenarios = timed(lambda: [convert.to_scenario(e) for e in entries])
    plan_s, runs = timed(lambda: plan(scenarios, targets, RunConfig()))
    gc.collect()
    tracemalloc.start()
    everything = plan([convert.to_scenario(e) for e in data.load("all")], targets, RunConfig())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    lines = [
        ("bfcl_load", f"{len(entries)} entries in {load_s:.3f}s", load_s / BUDGET_S["load"]),
        ("bfcl_convert", f"{len(scenarios)} scenarios in {convert_s:.3f}s", convert_s / BUDGET_S["convert"]),
        ("bfcl_plan", f"{len(runs)} runs (4 models x 2 modes) in {plan_s:.3f}s", plan_s / BUDGET_S["plan"]),
        ("bfcl_memory", f"peak {peak / 1e6:.0f} MB traced for load+convert+plan of {len(everything)} runs",
         peak / 1e6 / BUDGET_MB),
    ]  # fmt: skip
    for name, detail, ratio in lines:
        print(f"{name}: {detail} ratio={ratio:.3f} target=1")
    return 0 if all(ratio <= 1 for *_, ratio in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
