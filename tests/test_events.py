"""The engine tells its listeners what happens — run started, finished, skipped, request retried — and the
CLI's journal, progress line and report are such listeners, not steps of one loop."""

from __future__ import annotations

import io
from pathlib import Path

from conftest import SCENARIOS, run_on_stub
from oracle import oracle

from harness.cli.progress import Progress
from harness.core.model import RunResult
from harness.engine.config import RunConfig
from harness.engine.engine import Engine
from harness.engine.events import Event, LauncherFailed, RequestRetried, RunFinished, RunSkipped, RunStarted
from harness.engine.plan import plan
from harness.providers.registry import Target
from harness.scenario.loader import load_scenarios
from harness.testing.stub import Fault, StubServer
from harness.transport.retry import RetryPolicy


def target(stub: StubServer) -> Target:
    return Target(provider="stub", model="stubby", base_url=stub.base_url, api_key_env=None)


def test_every_run_starts_then_finishes_and_a_retry_is_told_as_it_happens() -> None:
    fault = Fault("status", status=503, headers={"Retry-After": "0"}, request=1)
    config = RunConfig(modes=("nonstream",), concurrency=1, retry=RetryPolicy(tries=2, base_delay=0))
    scenarios = [s for s in load_scenarios([SCENARIOS]) if s.id in ("weather_sf", "boiling_point")]
    events: list[Event] = []
    with StubServer(oracle(), faults=[fault]) as stub, Engine(config) as engine:
        engine.subscribe(events.append)
        results = engine.run_all(plan(scenarios, [target(stub)], config))
    labels = [(type(e).__name__, e.key.scenario if isinstance(e, RequestRetried) else e.planned.key.scenario)
              for e in events if not isinstance(e, LauncherFailed)]
    assert labels == [("RunStarted", "weather_sf"), ("RequestRetried", "weather_sf"),
                      ("RunFinished", "weather_sf"), ("RunStarted", "boiling_point"),
                      ("RunFinished", "boiling_point")]
    retried = events[1]
    assert isinstance(retried, RequestRetried) and retried.turn == 1
    assert retried.note.startswith("try 1: server_error (HTTP 503")
    finished = [e.result for e in events if isinstance(e, RunFinished)]
    assert finished == results and {r.outcome for r in results} == {"pass"}


def test_runs_after_the_deadline_are_skipped_not_finished() -> None:
    """The first run is in flight when the deadline passes: it ends as an `error` of kind deadline, and
    like the runs never started it is skipped, not finished, so a resumed run does it again."""
    config = RunConfig(modes=("nonstream",), concurrency=1, deadline=0.1)
    scenarios = load_scenarios([SCENARIOS])
    events: list[Event] = []
    with StubServer(oracle(), latency=0.2) as stub, Engine(config) as engine:
        engine.subscribe(events.append)
        engine.run_all(plan(scenarios, [target(stub)], config))
    finished = [e for e in events if isinstance(e, RunFinished)]
    skipped = [e for e in events if isinstance(e, RunSkipped)]
    assert finished == [] and len(skipped) == len(scenarios)
    assert {e.reason for e in skipped} == {"deadline"}
    assert skipped[0].result.error is not None and skipped[0].result.error.kind == "deadline"
    assert len([e for e in events if isinstance(e, RunStarted)]) == len(scenarios)


def test_piped_progress_shows_each_run_and_each_retry(tmp_path: Path, capsys) -> None:
    fault = Fault("status", status=429, headers={"Retry-After": "0"}, request=1)
    with StubServer(oracle(), faults=[fault]) as stub:
        assert run_on_stub(stub, tmp_path, "-k", "weather_sf", "--stream", "off") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:3] == [
        "      retry weather_sf[adhoc/stubby] turn 1: try 1: rate_limited (HTTP 429, stub fault); "
        "Retry-After 0s; retrying after 0.00s",
        "[1/1] PASS  weather_sf[adhoc/stubby]",
    ]


def test_progress_on_a_terminal_redraws_one_line() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    progress = Progress(2, out)
    planned = plan(load_scenarios([SCENARIOS])[:1], [Target("p", "m", "http://x", None)], RunConfig())[0]
    result = RunResult(key=planned.key, family="single_call", outcome="pass")
    progress.on_event(RunFinished(planned, result))
    progress.on_event(RequestRetried(planned.key, 1, "try 1: ..."))
    progress.finish()
    text = out.getvalue()
    assert text.startswith("\r[1/2] pass 1 fail 0 error 0 skip 0 | ") and "retrying weather_sf[p/m]" in text
    assert text.count("\n") == 1
