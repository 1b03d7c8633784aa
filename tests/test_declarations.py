"""What providers declare, recorded during a run: `GET /models` once per provider, through the runs'
record/replay machinery, into the report's `declared`, and shown beside what the runs observed.

Against the stub server: it serves `/v1/models` from its `models` list (here OpenRouter-shaped), or a
failing or non-JSON listing (`models_status`, `models_body`), and counts what it served.
"""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
import yaml
from conftest import SCENARIOS, load_report, run_on_stub
from oracle import oracle

from harness.cli.main import main
from harness.testing.stub import StubServer

OPENROUTER = [{"id": "stubby", "name": "Stubby", "supported_parameters": ["tools", "temperature"]}]
DECLARED = {"tools": True, "tool_choice": False, "parallel_tool_calls": False,
            "source": "supported_parameters"}


def declared(report_dir: Path) -> dict[str, dict[str, object]]:
    [target] = load_report(report_dir)["targets"]
    return target["declared"]


def replay(tmp_path: Path, base_url: str, cassettes: Path, *extra: str) -> int:
    return main(["run", "--base-url", base_url, "--model", "stubby", "--scenarios", str(SCENARIOS),
                 "--report-dir", str(tmp_path / "replayed"), "--record-mode", "none",
                 "--cassette-dir", str(cassettes), *extra])  # fmt: skip


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"replay opened a network connection: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_a_live_run_records_what_the_provider_declares_once(tmp_path: Path, capsys) -> None:
    with StubServer(oracle(), models=OPENROUTER) as stub:
        assert run_on_stub(stub, tmp_path) == 0
    assert stub.models_served == 1  # once per run, not once per run of a scenario (8 here)
    assert declared(tmp_path / "reports") == {"stubby": DECLARED}
    assert "warning" not in capsys.readouterr().err


def test_record_mode_once_writes_the_listing_beside_the_models_cassettes(tmp_path: Path) -> None:
    cassettes = tmp_path / "cassettes"
    with StubServer(oracle(), models=OPENROUTER) as stub:
        assert run_on_stub(stub, tmp_path, "--record-mode", "once", "--cassette-dir", str(cassettes)) == 0
    listing = cassettes / "adhoc" / "_models.yaml"
    [interaction] = yaml.safe_load(listing.read_text())["interactions"]
    assert interaction["request"]["method"] == "GET" and interaction["request"]["uri"].endswith("/v1/models")
    assert declared(tmp_path / "reports") == {"stubby": DECLARED}
    # A second recording run with `once` replays the listing rather than asking again.
    with StubServer(oracle(), models=[]) as again:
        once = ("--record-mode", "once", "--cassette-dir", str(cassettes))
        assert run_on_stub(again, tmp_path / "2", *once) == 0
    assert again.models_served == 0 and declared(tmp_path / "2" / "reports") == {"stubby": DECLARED}


def test_replay_with_the_stub_stopped_reproduces_the_declarations(tmp_path: Path, request) -> None:
    cassettes = tmp_path / "cassettes"
    with StubServer(oracle(), models=OPENROUTER) as stub:
        assert run_on_stub(stub, tmp_path, "--record-mode", "once", "--cassette-dir", str(cassettes)) == 0
    request.getfixturevalue("no_network")
    assert replay(tmp_path, stub.base_url, cassettes) == 0
    assert declared(tmp_path / "replayed") == {"stubby": DECLARED}
    assert {r["provenance"] for r in load_report(tmp_path / "replayed")["runs"]} == {"replayed"}


def test_replay_without_a_recorded_listing_leaves_declarations_unknown_quietly(
        tmp_path: Path, request, capsys) -> None:
    """Cassettes recorded before declarations were fetched have no `_models.yaml`: not recorded, no error."""
    cassettes = tmp_path / "cassettes"
    with StubServer(oracle(), models=OPENROUTER) as stub:
        assert run_on_stub(stub, tmp_path, "--record-mode", "once", "--cassette-dir", str(cassettes)) == 0
    (cassettes / "adhoc" / "_models.yaml").unlink()
    capsys.readouterr()
    request.getfixturevalue("no_network")
    assert replay(tmp_path, stub.base_url, cassettes) == 0
    assert declared(tmp_path / "replayed") == {}
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (500, None, "HTTP 500 Internal Server Error"),
        (200, "<html><body>Sign in</body></html>", "the body is not JSON"),
    ],
    ids=["http_500", "not_json"],
)
def test_a_failing_listing_leaves_declarations_unknown_and_the_run_passes(
        tmp_path: Path, capsys, status: int, body: str | None, says: str) -> None:
    with StubServer(oracle(), models=OPENROUTER, models_status=status, models_body=body) as stub:
        assert run_on_stub(stub, tmp_path) == 0
    assert declared(tmp_path / "reports") == {}
    report = load_report(tmp_path / "reports")
    assert {r["outcome"] for r in report["runs"]} == {"pass"}
    [warning] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warning.startswith(f"warning: adhoc: GET {stub.base_url}/models: {says}")
    assert warning.endswith("; its declared capabilities stay unknown")


def test_a_damaged_listing_cassette_is_a_warning_not_a_failed_replay(tmp_path: Path, request, capsys) -> None:
    cassettes = tmp_path / "cassettes"
    with StubServer(oracle(), models=OPENROUTER) as stub:
        assert run_on_stub(stub, tmp_path, "--record-mode", "once", "--cassette-dir", str(cassettes)) == 0
    (cassettes / "adhoc" / "_models.yaml").write_text("")
    capsys.readouterr()
    request.getfixturevalue("no_network")
    assert replay(tmp_path, stub.base_url, cassettes) == 0
    assert declared(tmp_path / "replayed") == {}
    [warning] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert "_models.yaml: empty cassette" in warning and "re-record it with --record-mode all" in warning


def test_by_model_shows_the_declaration_next_to_what_was_observed(tmp_path: Path, capsys) -> None:
    with StubServer(oracle(), models=OPENROUTER) as stub:
        assert run_on_stub(stub, tmp_path) == 0
    [path] = (tmp_path / "reports").glob("*.json")
    capsys.readouterr()
    assert main(["report", str(path), "--by-model"]) == 0
    out = capsys.readouterr().out
    assert "declared against observed — 2 contradiction(s) ⚠" in out
    [row] = [line.split("  ", 1)[1].strip() for line in out.splitlines()
             if line.startswith("adhoc/stubby") and "declared" in line]
    # tools declared, called in the 4 of 8 runs meant to call; OpenRouter's list names neither tool_choice
    # nor parallel_tool_calls, so both are declared unsupported, and the forced and parallel runs refute it.
    assert row.split("  ") == ["declared ✓ · observed ~ 4/8", "⚠ declared ✗ · observed ✓ 2/2",
                               "⚠ declared ✗ · observed ✓ 2/2"]


# ------------------------------------------------------------------------------ the pytest front-end


def pytest_run(pytester: pytest.Pytester, stub: StubServer, *args: str) -> pytest.RunResult:
    shutil.copytree(SCENARIOS, pytester.path / "scenarios")
    pytester.makeini("[pytest]\n")
    (pytester.path / "providers.yaml").write_text(
        f"providers:\n  stub:\n    base_url: {stub.base_url}\n    models: [stubby]\n")
    return pytester.runpytest("--provider", "stub", "--providers-file", "providers.yaml", *args)


def plugin_report(result: pytest.RunResult) -> dict[str, object]:
    [line] = [line for line in result.outlines if line.startswith("report: ")]
    return json.loads(Path(line.removeprefix("report: ")).read_text())


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one_process", "xdist"])
def test_a_pytest_session_records_declarations_once(pytester: pytest.Pytester, workers: tuple[str, ...]
                                                    ) -> None:
    """Fetched by the process that writes the report (xdist's controller), never by each worker."""
    with StubServer(oracle(), models=OPENROUTER) as stub:
        result = pytest_run(pytester, stub, *workers)
    result.assert_outcomes(passed=8)
    assert stub.models_served == 1
    [target] = plugin_report(result)["targets"]
    assert target["declared"] == {"stubby": DECLARED}


def test_a_pytest_session_warns_once_when_the_listing_fails(pytester: pytest.Pytester) -> None:
    with StubServer(oracle(), models=OPENROUTER, models_status=503) as stub:
        result = pytest_run(pytester, stub)
    result.assert_outcomes(passed=8)
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"warning: stub: GET {stub.base_url}/models: HTTP 503 Service Unavailable; "
                                 "its declared capabilities stay unknown"])
    assert result.stdout.str().count("warning: stub:") == 1
    [target] = plugin_report(result)["targets"]
    assert target["declared"] == {}
