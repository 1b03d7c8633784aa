"""The pytest front-end, driven by pytester against the stub server: items, outcomes, output, cassettes.

Each test builds a small project (the scenario library under `scenarios/`, an ini file that makes it the
rootdir, a providers file naming the stub) and runs pytest in it with `--provider stub`.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SCENARIOS
from oracle import oracle

from harness.core.model import Report
from harness.testing.stub import Fault, StubServer

IDS = ("weather_sf", "two_cities", "boiling_point", "choice_none")
ALL = [f"{s}[stub/stubby{m}]" for s in IDS for m in ("", "-stream")]


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    shutil.copytree(SCENARIOS, pytester.path / "scenarios")
    pytester.makeini("[pytest]\n")
    return pytester


def use_stub(pytester: pytest.Pytester, base_url: str) -> None:
    (pytester.path / "providers.yaml").write_text(
        f"providers:\n  stub:\n    base_url: {base_url}\n    models: [stubby]\n"
    )


@pytest.fixture
def stub(project: pytest.Pytester) -> Iterator[StubServer]:
    with StubServer(oracle()) as server:
        use_stub(project, server.base_url)
        yield server


@pytest.fixture
def broken(project: pytest.Pytester) -> Iterator[StubServer]:
    """A stub that gives both parallel calls the same id, so two_cities fails and the rest passes."""
    with StubServer(oracle(), breaks={"duplicate_ids"}) as server:
        use_stub(project, server.base_url)
        yield server


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("--provider", "stub", "--providers-file", "providers.yaml", *args)


def collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if "::" in line]


def report_of(result: pytest.RunResult) -> tuple[Path, dict[str, Any]]:
    [line] = [line for line in result.outlines if line.startswith("report: ")]
    path = Path(line.removeprefix("report: "))
    return path, json.loads(path.read_text())


def outcomes(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(r["key"]["scenario"], r["key"]["mode"], r["outcome"]) for r in report["runs"]]


def test_items_are_named_after_scenario_target_and_mode(stub: StubServer, project: pytest.Pytester) -> None:
    result = run(project, "--collect-only", "-q")
    assert collected(result) == [f"scenarios/basic.yaml::{name}" for name in ALL]
    assert stub.requests == []  # collecting calls no provider


def test_without_provider_scenarios_are_not_collected(project: pytest.Pytester) -> None:
    result = project.runpytest("--collect-only", "-q")
    assert collected(result) == []
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


@pytest.mark.parametrize(
    ("keyword", "names"),
    [
        ("two_cities and stream", ["two_cities[stub/stubby-stream]"]),
        ("parallel and not stream", ["two_cities[stub/stubby]"]),  # family as a keyword
        ("not stream", ALL[::2]),
    ],
)
def test_k_selects_by_scenario_family_and_mode(
    stub: StubServer, project: pytest.Pytester, keyword: str, names: list[str]
) -> None:
    result = run(project, "-k", keyword, "-v")
    result.assert_outcomes(passed=len(names), deselected=len(ALL) - len(names))
    assert [line.split()[0] for line in collected(result)] == [f"scenarios/basic.yaml::{n}" for n in names]
    assert len(stub.requests) == sum(2 if n.startswith(("weather_sf", "two_cities")) else 1 for n in names)


def test_failure_shows_findings_cassette_and_a_working_reproduce_line(
    broken: StubServer, project: pytest.Pytester
) -> None:
    result = run(project)
    result.assert_outcomes(passed=6, failed=2)
    out = result.stdout.str()
    cassette = project.path / "cassettes" / "stub" / "stubby" / "two_cities-stream.yaml"
    finding = r"^  \[tool_call\.id_unique\] \(turn 1\) tool call 1 'get_weather': id '\S+' is already used"
    assert re.search(finding, out, re.M)
    assert f"  cassette: {cassette}" in result.outlines
    # The failure section shows it; with CI set, pytest's short summary repeats the whole message.
    reproduce = next(line for line in result.outlines if "reproduce:" in line and "stubby-stream" in line)
    command = reproduce.split("reproduce: ", 1)[1]
    assert command == ("pytest 'scenarios/basic.yaml::two_cities[stub/stubby-stream]' --provider stub "
                       "--model stubby --providers-file providers.yaml")
    assert "Traceback" not in out and "pytest_plugin.py" not in out
    again = project.runpytest(*shlex.split(command)[1:])
    again.assert_outcomes(failed=1)


def test_http_500_is_an_error_not_a_failure(project: pytest.Pytester) -> None:
    fault = Fault("status", status=500, every=True, headers={"Retry-After": "0"})  # retried without waiting
    with StubServer(oracle(), faults=[fault]) as server:
        use_stub(project, server.base_url)
        result = run(project, "-k", "weather_sf and not stream")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*ERROR at setup of weather_sf?stub/stubby?*", "  error server_error HTTP 500: *"]
    )
    out = result.stdout.str()
    assert "Traceback" not in out and "pytest_plugin.py" not in out
    _, report = report_of(result)
    assert outcomes(report) == [("weather_sf", "nonstream", "error")]


def test_summary_has_support_table_and_a_valid_report(broken: StubServer, project: pytest.Pytester) -> None:
    result = run(project)
    result.stdout.fnmatch_lines(
        ["*= tool-calling support =*", "provider/model *", "stub/stubby *✗ 0/2*", "report: *"]
    )
    assert result.stdout.str().count("tool-calling support") == 1
    path, data = report_of(result)
    assert path.parent == project.path / "reports" and path.is_file()
    report = Report.model_validate(data)
    assert [r.key.label for r in report.runs] == ALL
    assert sum(r.outcome == "fail" for r in report.runs) == 2


def test_record_then_replay_offline(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    with StubServer(oracle(), breaks={"duplicate_ids"}) as server:
        use_stub(project, server.base_url)
        recorded = run(project, "--record-mode", "all")
    recorded.assert_outcomes(passed=6, failed=2)
    cassettes = project.path / "cassettes"
    assert sorted(p.relative_to(cassettes).as_posix() for p in cassettes.rglob("*")) == sorted(
        ["stub", "stub/_models.yaml", "stub/stubby"]
        + [f"stub/stubby/{s}{m}.yaml" for s in IDS for m in ("", "-stream")]
    )
    _, before = report_of(recorded)
    assert {r["provenance"] for r in before["runs"]} == {"recorded"}

    attempts: list[object] = []

    def no_network(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise AssertionError(f"replay opened a network connection: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    replayed = run(project, "--record-mode", "none")
    monkeypatch.undo()
    assert attempts == []
    replayed.assert_outcomes(passed=6, failed=2)
    _, after = report_of(replayed)
    assert {r["provenance"] for r in after["runs"]} == {"replayed"}
    assert outcomes(after) == outcomes(before)
    assert [sorted(f["check"] for f in r["findings"]) for r in after["runs"]] == [
        sorted(f["check"] for f in r["findings"]) for r in before["runs"]
    ]


def test_missing_cassette_skips_with_the_command_that_records_it(
    stub: StubServer, project: pytest.Pytester
) -> None:
    result = run(project, "--record-mode", "none", "-rs", "-k", "weather_sf and not stream")
    result.assert_outcomes(skipped=1, deselected=7)
    cassette = project.path / "cassettes" / "stub" / "stubby" / "weather_sf.yaml"
    command = ("pytest 'scenarios/basic.yaml::weather_sf[stub/stubby]' --provider stub --model stubby "
               "--providers-file providers.yaml --record-mode once")
    [line] = [line for line in result.outlines if line.startswith("SKIPPED")]
    assert line.endswith(f"no cassette {cassette}; record it with: {command}")
    assert stub.requests == []
    project.runpytest(*shlex.split(command)[1:]).assert_outcomes(passed=1)
    assert cassette.is_file()
    replayed = run(project, "--record-mode", "none", "-k", "weather_sf and not stream")
    replayed.assert_outcomes(passed=1, deselected=7)


def test_xdist_workers_merge_into_one_table_and_one_report(
    broken: StubServer, project: pytest.Pytester
) -> None:
    result = run(project, "-n", "2")
    result.assert_outcomes(passed=6, failed=2)
    assert "2 workers [8 items]" in result.stdout.str()
    assert result.stdout.str().count("tool-calling support") == 1
    assert len([line for line in result.outlines if line.startswith("stub/stubby ")]) == 1
    path, report = report_of(result)
    assert list((project.path / "reports").iterdir()) == [path]
    assert [(r["key"]["scenario"], r["key"]["mode"]) for r in report["runs"]] == [
        (s, m) for s in IDS for m in ("nonstream", "stream")
    ]
    assert {r["key"]["scenario"] for r in report["runs"] if r["outcome"] == "fail"} == {"two_cities"}


def test_last_failed_reruns_only_the_failures(broken: StubServer, project: pytest.Pytester) -> None:
    run(project).assert_outcomes(passed=6, failed=2)
    result = run(project, "--lf")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["run-last-failure: rerun previous 2 failures*"])


def test_exitfirst_stops_and_still_reports_what_ran(broken: StubServer, project: pytest.Pytester) -> None:
    result = run(project, "-x")
    result.assert_outcomes(passed=2, failed=1)
    _, report = report_of(result)
    assert outcomes(report) == [("weather_sf", "nonstream", "pass"), ("weather_sf", "stream", "pass"),
                                ("two_cities", "nonstream", "fail")]
