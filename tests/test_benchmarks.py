"""The benchmark suite still runs on what is committed: a smoke check of its parts, never of their speed."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.suite import bare_replay, committed_suite  # noqa: E402


def test_committed_suite_replays_through_the_harness_and_bare_sdk_alike(tmp_path: Path) -> None:
    suite = committed_suite(tmp_path)
    assert suite is not None and len(suite.runs) >= 288
    # Bare SDK replay of every committed interaction, HTTP 500s and mid-stream errors included.
    interactions = sum(len(yaml.safe_load(p.read_text())["interactions"]) for p in suite.cassettes)
    assert bare_replay(suite.cassettes) == interactions
