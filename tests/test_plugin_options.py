"""The pytest front-end with the `run` options it gained, and with paths outside the project.

pytester builds a small project (scenarios, an ini file) and runs pytest in it against the stub.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SCENARIOS
from oracle import oracle

from harness.testing.stub import Fault, StubServer


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    shutil.copytree(SCENARIOS, pytester.path / "scenarios")
    pytester.makeini("[pytest]\n")
    return pytester


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with StubServer(oracle()) as server:
        yield server


def providers_file(folder: Path, base_url: str) -> Path:
    path = folder / "providers.yaml"
    path.write_text(f"providers:\n  stub:\n    base_url: {base_url}\n    models: [stubby]\n")
    return path


def test_a_report_dir_outside_the_project_given_as_a_separate_argument(
    project: pytest.Pytester, stub: StubServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`--report-dir "$RUNNER_TEMP"`: pytest decides the rootdir before it knows the option takes a value,
    takes the folder for a test path, and the rootdir moves out of the project. The defaults (scenarios,
    cassettes) must still be the project's; this used to end in exit 4, `.../scenarios: no such file`."""
    runner_temp = tmp_path_factory.mktemp("runner_temp")  # an existing folder outside the project
    registry = providers_file(runner_temp, stub.base_url)
    result = project.runpytest("--provider", "stub", "--providers-file", str(registry),
                               "--report-dir", str(runner_temp), "-k", "weather_sf and not stream")
    assert project.path not in [Path(line.split(": ", 1)[1]) for line in result.outlines
                                if line.startswith("rootdir: ")]  # the situation this test is about
    result.assert_outcomes(passed=1, deselected=7)
    [report] = runner_temp.glob("*.json")
    assert report.is_file() and not (project.path / "reports").exists()


def test_the_reproduce_command_works_from_where_pytest_was_run(
    project: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    runner_temp = tmp_path_factory.mktemp("runner_temp")
    with StubServer(oracle(), breaks={"duplicate_ids"}) as server:
        registry = providers_file(runner_temp, server.base_url)
        result = project.runpytest("--provider", "stub", "--providers-file", str(registry),
                                   "--report-dir", str(runner_temp), "-k", "two_cities and stream")
        result.assert_outcomes(failed=1, deselected=7)
        # CI's untruncated short summary may repeat the failure text, hence the set.
        [line] = {line for line in result.outlines if line.startswith("  reproduce: ")}
        command = line.removeprefix("  reproduce: ")
        assert command == ("pytest 'scenarios/basic.yaml::two_cities[stub/stubby-stream]' --provider stub "
                           f"--model stubby --providers-file {registry}")
        project.runpytest(*shlex.split(command)[1:]).assert_outcomes(failed=1)


def test_request_retries_and_timeouts_apply_under_pytest(project: pytest.Pytester) -> None:
    fault = Fault("status", status=503, every=True, headers={"Retry-After": "0"})
    with StubServer(oracle(), faults=[fault]) as server:
        registry = providers_file(project.path, server.base_url)
        result = project.runpytest("--provider", "stub", "--providers-file", str(registry), "-k",
                                   "weather_sf and not stream", "--request-retries", "2",
                                   "--request-timeout", "5", "--retry-base-delay", "0")
        result.assert_outcomes(errors=1, deselected=7)
        assert len(server.requests) == 2  # two tries, not the default three


def test_an_ad_hoc_endpoint_under_pytest(project: pytest.Pytester, stub: StubServer) -> None:
    result = project.runpytest("--api-base-url", stub.base_url, "--model", "stubby", "-k", "weather_sf", "-v")
    result.assert_outcomes(passed=2, deselected=6)
    result.stdout.fnmatch_lines(["*weather_sf?adhoc/stubby? PASSED*"])


def test_a_deadline_under_pytest_skips_the_runs_it_leaves_out(project: pytest.Pytester) -> None:
    """weather_sf (two requests of 1 s) passes; two_cities is in flight at 2.5 s and is cut (an error
    of kind deadline); the last two never start. Half a second of slack either side: CI machines are busy."""
    with StubServer(oracle(), latency=1.0) as server:
        registry = providers_file(project.path, server.base_url)
        result = project.runpytest("--provider", "stub", "--providers-file", str(registry), "--stream", "off",
                                   "--deadline", "2.5", "-rs")
    result.assert_outcomes(passed=1, skipped=2, errors=1)
    result.stdout.fnmatch_lines(["SKIPPED * run deadline of 2.5s passed"])
