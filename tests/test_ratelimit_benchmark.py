"""The rate-limit benchmark still runs: its stub in a process of its own, its counts read back; a smoke
check of what it reports, never of its speed."""

from __future__ import annotations

import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.ratelimit import bench_ratelimit  # noqa: E402


def test_the_rate_limit_benchmark_reports_wall_429s_and_the_scale() -> None:
    detail, ratio, target = bench_ratelimit(requests=24, rpm=8, scale=60.0, latency=0.0, concurrency=4)
    assert target == 1.05 and math.isfinite(ratio)  # finite: every run passed, 429s within the share
    assert "enforcing 8 per 1 s (8/min with time scaled 60x faster" in detail
    assert "0 answered 429 (0.0% of 24" in detail and "runs {'pass': 24}" in detail
