"""`run --clients`: each answered turn replayed to real client libraries, their findings in the run's verdict.

The stub's `repeat_header` break re-sends a call's id and name on every stream delta. The wire already
faults it (`stream.header_repeated`); the openai Python SDK concatenates the repeats into
`get_weatherget_weather…` (`client.python-openai.mismatch`, a violation) while the Node SDK keeps the
first header (`repairs`, a warning). `python-openai` needs nothing, so those tests always run; the Node
ones skip with the install command unless `toolcall-harness clients install` was run (CI runs it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import SCENARIOS, load_report, run_on_stub
from oracle import oracle
from test_judge_clients import needs_node_clients

from harness.app.options import parse_options
from harness.cli.main import main
from harness.clients import installer
from harness.core.model import Report
from harness.reporting.html import render_html
from harness.reporting.table import table_rows
from harness.results.diff import diff_reports, render_markdown, render_text
from harness.testing.stub import StubServer


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str, breaks: set[str] | None = None
        ) -> tuple[int, str, str, dict]:
    with StubServer(oracle(), breaks=breaks or set()) as stub:
        code = run_on_stub(stub, tmp_path, "--stream", "on", "-k", "weather_sf", *extra)
    out, err = capsys.readouterr()
    return code, out, err, load_report(tmp_path / "reports")


def test_a_wire_breaking_stream_shows_the_client_findings_in_the_table_and_report(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _, report = run(tmp_path, capsys, "--clients", "python-openai", breaks={"repeat_header"})
    assert code == 1
    assert "[client.python-openai.mismatch] (turn 1) python-openai surfaced other tool calls than the wire " \
           "carried (the wire has stream.header_repeated): call 0: id 'call_stub_" in out
    assert "reproduce: toolcall-harness run " in out and " --clients python-openai" in out
    headers, rows = table_rows(Report.model_validate(report))
    assert headers[-1] == "clients" and rows[0][-1] == "python-openai ~ 1/2"  # the final text turn is fine
    assert headers[-3:-1] == ["wire", "p50"] and rows[0][-3] == "✗ 0/1"  # the wire's own verdict, unchanged
    assert out.splitlines()[-2].startswith("clients: python-openai = openai (Python) ")

    [run_] = report["runs"]
    first, last = run_["turns"]
    assert [(c["client"], c["verdict"]) for c in first["client_checks"]] == [("python-openai", "mismatch")]
    assert [(c["client"], c["verdict"]) for c in last["client_checks"]] == [("python-openai", "same")]
    assert first["client_checks"][0]["result"]["tool_calls"][0]["name"].startswith("get_weatherget_weather")
    client_findings = [(f["check"], f["severity"], f["turn"]) for f in run_["findings"]
                       if f["check"].startswith("client.")]
    assert client_findings == [("client.python-openai.mismatch", "violation", 1)]
    assert [f["check"] for f in first["findings"]][-1] == "client.python-openai.mismatch"

    page = render_html(Report.model_validate(report))
    assert "<h4>Clients</h4>" in page and ">mismatch</td>" in page
    assert "clients: python-openai = openai" in page


def test_a_client_mismatch_alone_fails_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without `--clients` the same clean stub passes; a client that reads it right passes too."""
    code, out, _, report = run(tmp_path, capsys, "--clients", "python-openai")
    assert code == 0, out
    assert [c["verdict"] for t in report["runs"][0]["turns"] for c in t["client_checks"]] == ["same", "same"]
    headers, rows = table_rows(Report.model_validate(report))
    assert rows[0][-1] == "python-openai ✓ 2/2"


def test_without_clients_the_report_and_table_are_as_before(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _, report = run(tmp_path, capsys)
    assert code == 0
    assert all("client_checks" not in t for t in report["runs"][0]["turns"])
    headers, _ = table_rows(Report.model_validate(report))
    assert headers[-1] == "p50" and "python-openai" not in out


def test_diff_names_the_client_whose_tally_changed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, _, _, before = run(tmp_path / "a", capsys, "--clients", "python-openai")
    _, _, _, after = run(tmp_path / "b", capsys, "--clients", "python-openai", breaks={"repeat_header"})
    result = diff_reports(Report.model_validate(before), Report.model_validate(after))
    assert [c.text for c in result.clients] == ["adhoc/stubby python-openai: ✓ 2/2 → ~ 1/2"]
    assert "Clients (1):\n  adhoc/stubby python-openai: ✓ 2/2 → ~ 1/2" in render_text(result)
    assert "- adhoc/stubby python-openai: ✓ 2/2 → ~ 1/2" in render_markdown(result)


def test_node_clients_in_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    needs_node_clients()
    code, out, _, report = run(tmp_path, capsys, "--clients", "python-openai,node-openai,node-ai-sdk",
                               breaks={"repeat_header"})
    assert code == 1
    first = report["runs"][0]["turns"][0]
    assert [(c["client"], c["verdict"]) for c in first["client_checks"]] == [
        ("python-openai", "mismatch"), ("node-openai", "repairs"), ("node-ai-sdk", "repairs")]
    _, rows = table_rows(Report.model_validate(report))
    assert rows[0][-1] == "python-openai ~ 1/2, node-openai ✓ 2/2, node-ai-sdk ✓ 2/2"
    assert "node-openai = openai (npm) 6.49.0" in out


def test_missing_node_clients_stop_the_run_before_it_starts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(installer.ENV_ROOT, str(tmp_path / "nowhere"))
    with StubServer(oracle()) as stub:
        code = run_on_stub(stub, tmp_path, "--clients", "python-openai,node-openai")
        assert stub.requests == []
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.startswith("error: --clients python-openai,node-openai: ")
    assert "run `toolcall-harness clients install`" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "reports").exists()


def test_an_unknown_client_is_a_usage_error_in_both_front_ends(
        pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    unknown = "--clients: unknown client 'pyhton-openai' — did you mean 'python-openai'?"
    assert main(["run", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--clients", "pyhton-openai"
                 ]) == 2
    assert unknown in capsys.readouterr().err
    shutil.copytree(SCENARIOS, pytester.path / "scenarios")
    pytester.makeini("[pytest]\n")
    result = pytester.runpytest("--api-base-url", "http://127.0.0.1:9/v1", "--model", "m",
                                "--clients", "pyhton-openai")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{unknown}*"])


def test_the_option_parses_to_ids_and_is_journaled_as_a_list() -> None:
    options = parse_options({"clients": " python-openai,node-openai,python-openai"}, "cli")
    assert options.clients == ["python-openai", "node-openai"]
    assert parse_options(options.model_dump(), "cli").clients == ["python-openai", "node-openai"]
    assert parse_options({}, "pytest").clients == []


def test_the_install_command_and_the_module_form(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert installer.INSTALL_COMMAND == "toolcall-harness clients install"
    calls: list[list[str]] = []
    monkeypatch.setattr(installer, "main", lambda argv=None: calls.append(list(argv or [])) or 0)
    assert main(["clients", "install"]) == 0 and main(["clients", "install", "--force"]) == 0
    assert calls == [[], ["--force"]]
