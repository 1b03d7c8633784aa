"""Rate limits in whole runs, against a stub that enforces one (time scaled down to a short window so
the tests are quick; no timing is asserted, only what the stub saw and what the runs became).

Pinned: a provider's models share one limit (and the stub never answers 429), the negative control of
two providers on one key does get 429s, a provider's `x-ratelimit-*` headers alone pace the run, a
replayed run is never paced, a wait for the limiter counts toward `--run-timeout` but not toward the
request's own `--timeout` nor its latency, where the limits come from (registry < `--rpm`, divided
among xdist workers), and the CLI's summary line.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import SCENARIOS, run_on_stub
from oracle import oracle

from harness.core.model import RunResult
from harness.engine.config import RunConfig
from harness.engine.engine import Engine
from harness.engine.events import Event, RequestThrottled
from harness.engine.plan import plan
from harness.engine.rate_limits import Limiters
from harness.providers.registry import Target
from harness.pytest_plugin.session import xdist_workers
from harness.scenario.loader import load_scenarios
from harness.testing.stub import RateLimit, StubServer
from harness.transport.rate_limit import Rates


def run(targets: list[Target], config: RunConfig, only: str | None = None
        ) -> tuple[list[RunResult], Engine, list[Event]]:
    scenarios = [s for s in load_scenarios([SCENARIOS]) if only is None or s.id == only]
    events: list[Event] = []
    with Engine(config) as engine:
        engine.subscribe(events.append)
        results = engine.run_all(plan(scenarios, targets, config))
    return results, engine, events


def test_a_providers_models_share_one_limit_and_the_stub_never_answers_429() -> None:
    with StubServer(oracle(), rate_limit=RateLimit(6, 0.5)) as stub:
        targets = [Target("p", model, stub.base_url, None) for model in ("a", "b")]
        results, engine, _ = run(targets, RunConfig(concurrency=8, rpm=6, rate_window_s=0.5))
    assert {r.outcome for r in results} == {"pass"}
    assert len(stub.requests) > 2 * 6  # more than a window's worth: the limit really held them back
    assert stub.rate_limited == 0
    stats = engine.limiters.stats()
    assert list(stats) == ["p"] and stats["p"].waits > 0 and stats["p"].rejected == 0


def test_two_providers_on_one_key_each_pace_only_themselves_so_the_key_sees_429s() -> None:
    """The control of the test above: limiters per provider are not shared, so 2 × 6 > 6 reach the key."""
    with StubServer(oracle(), rate_limit=RateLimit(6, 0.5)) as stub:
        targets = [Target(name, "a", stub.base_url, None) for name in ("p1", "p2")]
        results, engine, _ = run(targets, RunConfig(concurrency=8, rpm=6, rate_window_s=0.5))
    assert stub.rate_limited > 0
    assert sum(s.rejected for s in engine.limiters.stats().values()) == stub.rate_limited
    # Fighting over one key, a run may even spend all its tries on 429s: that is the failure the shared
    # limiter prevents, and the only error here.
    assert {r.error.kind for r in results if r.error is not None} <= {"rate_limited"}


def test_a_replayed_run_is_never_paced(tmp_path: Path) -> None:
    with StubServer(oracle()) as stub:
        target = Target("p", "a", stub.base_url, None)
        recorded, _, _ = run([target], RunConfig(record_mode="all", cassette_dir=tmp_path))
    assert {r.outcome for r in recorded} == {"pass"}
    # One request a minute would make every replayed request after the first wait a minute; the run
    # bound turns such a wait into an error instead of a slow test.
    for mode in ("none", "once"):
        config = RunConfig(record_mode=mode, cassette_dir=tmp_path, rpm=1, run_timeout=20)  # type: ignore[arg-type]
        replayed, engine, events = run([target], config)
        assert [(r.key, r.outcome) for r in replayed] == [(r.key, r.outcome) for r in recorded]
        assert {r.provenance for r in replayed} == {"replayed"}
        assert not any(isinstance(e, RequestThrottled) for e in events)
        assert all(s.waits == 0 for s in engine.limiters.stats().values())


def test_the_providers_headers_alone_pace_a_run_with_no_limit_configured(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with StubServer(oracle(), rate_limit=RateLimit(3, 0.3)) as stub:
        assert run_on_stub(stub, tmp_path) == 0  # every run passes, 429s or not
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if line.startswith("rate limit: adhoc: ")]
    assert "for x-ratelimit-remaining-requests: 0" in line
    assert f"; {stub.rate_limited} answer(s) were 429" in line  # the stub's refusals, as the harness saw them
    assert len(stub.requests) > 3


def test_a_wait_for_the_limit_is_not_the_requests_time_but_is_the_runs() -> None:
    with StubServer(oracle(), rate_limit=RateLimit(1, 2.5)) as stub:
        target = Target("p", "a", stub.base_url, None)
        # weather_sf takes two requests: the second waits about 2.5 s, longer than --timeout 1.5.
        config = RunConfig(modes=("nonstream",), rpm=1, rate_window_s=2.5, timeout=1.5)
        [result], _, events = run([target], config, only="weather_sf")
        assert [t.retries for t in result.turns] == [[], []]  # (a loaded machine's timeout would say so)
        [waited] = [e for e in events if isinstance(e, RequestThrottled)]
        assert result.outcome == "pass" and len(result.turns) == 2 and stub.rate_limited == 0
        assert waited.reason == "rpm" and result.turns[1].latency_s is not None
        assert result.turns[1].latency_s < waited.seconds  # the wait is left out of the latency

    with StubServer(oracle()) as stub:
        target = Target("p", "a", stub.base_url, None)
        config = RunConfig(modes=("nonstream",), rpm=1, rate_window_s=60.0, run_timeout=0.5)
        [cut], _, _ = run([target], config, only="weather_sf")
    assert cut.outcome == "error" and cut.error is not None and cut.error.kind == "timeout"
    assert "--run-timeout" in cut.error.message


def test_rpm_comes_from_the_registry_unless_given_and_is_divided_among_workers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    target = Target("p", "a", "http://127.0.0.1:1/v1", None, rpm=120, tpm=90_000)
    assert Limiters(RunConfig()).rates(target) == Rates(120, 90_000)
    assert Limiters(RunConfig(rpm=60)).rates(target) == Rates(60, 90_000)
    assert Limiters(RunConfig(tpm=1000, rate_processes=4)).rates(target) == Rates(30, 250)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "4")
    assert xdist_workers() == 4
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "many")
    assert xdist_workers() == 1
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT")
    assert xdist_workers() == 1


def test_pytest_says_when_requests_waited_for_the_limit(pytester: pytest.Pytester) -> None:
    shutil.copytree(SCENARIOS, pytester.path / "scenarios")
    pytester.makeini("[pytest]\n")
    with StubServer(oracle(), rate_limit=RateLimit(2, 0.3)) as stub:
        (pytester.path / "providers.yaml").write_text(
            f"providers:\n  stub:\n    base_url: {stub.base_url}\n    models: [stubby]\n")
        result = pytester.runpytest("--provider", "stub", "--providers-file", "providers.yaml")
    result.assert_outcomes(passed=8)
    [line] = [line for line in result.outlines if line.startswith("rate limit: stub: ")]
    assert "for x-ratelimit-remaining-requests: 0" in line and stub.rate_limited == 0
