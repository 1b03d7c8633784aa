"""The cassette suite the benchmarks replay, and the bare-SDK baseline they compare the harness with.

A benchmark of replay is only honest on real cassettes, so the committed ones under `cassettes/` are
used whenever there are any. Until then the suite is recorded here, by the harness itself, from
tests/data/scenarios against the stub server and the test oracle (a well-behaved model), into a
temporary folder. The bare baseline replays exactly the same interactions with plain openai SDK
calls through vcrpy, which is what a user would write without the harness.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import openai

from harness.engine.config import RunConfig
from harness.engine.engine import Engine
from harness.engine.plan import PlannedRun, plan
from harness.providers.registry import Target, load_registry, select_targets
from harness.scenario.loader import load_scenarios
from harness.scenario.spec import ResolvedScenario
from harness.testing.process import StubProcess
from harness.transport.cassettes import (
    REPLAY_BASE_URL,
    CassetteTransport,
    Redactor,
    cassette_path,
    open_cassette,
)

ROOT = Path(__file__).resolve().parent.parent

TEST_SCENARIOS = ROOT / "tests" / "data" / "scenarios"
COMMITTED = ROOT / "cassettes"
_TRIAL = re.compile(r"-t(\d+)$")


def stub_target(base_url: str = REPLAY_BASE_URL) -> Target:
    """An ad hoc target without a key; in replay its base URL is never dialled."""
    return Target(provider="stub", model="oracle", base_url=base_url, api_key_env=None)


def test_scenarios() -> list[ResolvedScenario]:
    return load_scenarios([TEST_SCENARIOS])


@dataclass
class Suite:
    """Planned runs whose cassettes all exist under `cassette_dir`, and where they came from."""

    runs: list[PlannedRun]
    cassette_dir: Path
    origin: str

    @property
    def cassettes(self) -> list[Path]:
        return [cassette_path(self.cassette_dir, r.key) for r in self.runs]

    def replay_config(self, concurrency: int) -> RunConfig:
        return RunConfig(record_mode="none", cassette_dir=self.cassette_dir, concurrency=concurrency)


def committed_suite(folder: Path, root: Path = COMMITTED) -> Suite | None:
    """Every committed cassette the scenario library and provider registry can still name, or None.

    The cassettes are copied into `folder` first, so a recording in progress elsewhere cannot change
    the suite halfway through the benchmarks.
    """
    files = []
    for path in sorted(root.glob("*/*/*.yaml")):
        copy = folder / path.relative_to(root)
        copy.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(path, copy)
        except FileNotFoundError:  # removed since the glob
            continue
        files.append(copy)
    if not files:
        return None
    registry = load_registry()
    providers = sorted({f.parent.parent.name for f in files} & set(registry))
    trials = max((int(m.group(1)) for f in files if (m := _TRIAL.search(f.stem))), default=1)
    scenarios = load_scenarios([ROOT / "scenarios"])
    config = RunConfig(record_mode="none", cassette_dir=folder, trials=trials)
    runs = plan(scenarios, select_targets(registry, providers), config)
    runs = [r for r in runs if cassette_path(folder, r.key).is_file()]
    if not runs:
        return None
    skipped = len(files) - len(runs)
    note = f", {skipped} unmatched cassette(s) left out" if skipped else ""
    return Suite(runs, folder, f"committed {root.name}/ ({len(runs)} cassettes{note})")


def record_suite(folder: Path, scenarios: list[ResolvedScenario] | None = None) -> Suite:
    """Record the test scenarios against the stub into `folder` with the harness (record mode "all")."""
    scenarios = scenarios if scenarios is not None else test_scenarios()
    with StubProcess(responder="oracle:oracle", paths=[str(ROOT / "tests")]) as stub:
        config = RunConfig(record_mode="all", cassette_dir=folder)
        runs = plan(scenarios, [stub_target(stub.base_url)], config)
        with Engine(config) as engine:
            results = engine.run_all(runs)
    bad = [f"{r.key.label}: {r.outcome}" for r in results if r.outcome != "pass"]
    if bad:
        raise RuntimeError("recording the benchmark suite did not pass: " + "; ".join(bad))
    replayed = [PlannedRun(r.scenario, stub_target(), r.key) for r in runs]
    origin = f"generated from {TEST_SCENARIOS.relative_to(ROOT)} ({len(runs)} cassettes)"
    return Suite(replayed, folder, origin)


def load_suite(folder: Path) -> Suite:
    return committed_suite(folder / "committed") or record_suite(folder / "recorded")


def copied(rs: ResolvedScenario, number: int) -> ResolvedScenario:
    scenario = rs.scenario.model_copy(update={"id": f"{rs.id}__copy{number:03d}"})
    return rs.model_copy(update={"scenario": scenario})


def scaled(base: Suite, factor: int, folder: Path) -> Suite:
    """`factor` synthetic copies of every run: renamed scenarios, their cassettes copied byte for byte."""
    runs = []
    for number in range(factor):
        for r in base.runs:
            rs = copied(r.scenario, number)
            key = r.key.model_copy(update={"scenario": rs.id})
            target = cassette_path(folder, key)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cassette_path(base.cassette_dir, r.key), target)
            runs.append(PlannedRun(rs, r.target, key))
    return Suite(runs, folder, f"{factor}x {base.origin}")


def bare_call(client: openai.OpenAI, body: dict[str, Any]) -> None:
    """What a user without the harness writes: `create`, read the stream to its end, and catch the API
    errors a recorded provider answered with (the local cassettes hold llama-server's HTTP 500s)."""
    try:
        if body.get("stream"):
            for _ in client.chat.completions.create(**body):
                pass
        else:
            client.chat.completions.create(**body)
    except openai.APIError:
        pass


def bare_replay(cassettes: Iterable[Path]) -> int:
    """Replay every interaction of every cassette with bare SDK calls; one client per cassette, as the
    harness has one per run. Returns the number of requests made."""
    count = 0
    for path in cassettes:
        cassette = open_cassette(path, "none", Redactor())
        bodies = [json.loads(request.body) for request in cassette.requests]
        with httpx2.Client(transport=CassetteTransport(cassette, None)) as http:
            client = openai.OpenAI(base_url=REPLAY_BASE_URL, api_key="bench", max_retries=0, http_client=http)
            for body in bodies:
                bare_call(client, body)
                count += 1
    return count
