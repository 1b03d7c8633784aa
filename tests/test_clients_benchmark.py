"""benchmarks/clients.py runs on what is committed: a smoke check of its output, never of its speed."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import clients as bench  # noqa: E402


@pytest.mark.skipif(not bench.REAL.is_dir(), reason=f"real responses not found at {bench.REAL}")
def test_the_client_benchmark_prints_a_cost_per_exchange(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--rounds", "1", "--clients", "python-openai"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"exchanges=22 rounds=1 bare_post_ms=[\d.]+", lines[0])
    assert re.fullmatch(r"python-openai \([\w.]+\): per_exchange_ms=[\d.]+ worst_file_ms=[\d.]+ ratio=[\d.]+",
                        lines[1])
    assert len(lines) == 2
