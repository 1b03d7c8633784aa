"""The registries as the front-ends reach them: report formats, check selection in `judge`, launchers by id
in the engine, the record policy and `doctor`, and plugins named by the environment.

Pins what issue 14's fourth item promised a user: an unknown `--format` is a usage error with "did you
mean" before anything runs or is read; `judge --checks` selects as `run --checks` does; a plugin's
launcher (named by `launcher:` in a providers file) is started, asked why it cannot run, and listed by
`doctor`; a pytest session without `--provider` never loads plugins.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SCENARIOS, load_report, run_on_stub
from extensions import scratch_registries  # noqa: F401  (a fixture)
from oracle import oracle

from harness.cli.main import main
from harness.testing.stub import StubServer


def test_an_unknown_run_format_stops_before_any_request(
    good_stub: StubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_on_stub(good_stub, tmp_path, "--format", "markdwn") == 2
    assert capsys.readouterr().err == (
        "error: --format: unknown reporter 'markdwn' — did you mean 'markdown'? (known: github, grid, html, "
        "json, markdown, plain, rst)\n")
    assert not good_stub.requests and not (tmp_path / "reports").exists()


def test_run_renders_through_the_reporter_and_report_rerenders_it(
    good_stub: StubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_on_stub(good_stub, tmp_path, "--format", "json", "-k", "weather_sf") == 0
    out = capsys.readouterr().out
    printed = json.loads(out[out.index("{"):out.rindex("}") + 1])
    assert printed == load_report(tmp_path / "reports")  # the run prints the report it saved
    [saved] = (tmp_path / "reports").glob("*.json")
    assert main(["report", str(saved), "--format", "htm"]) == 2
    assert "--format: unknown reporter 'htm' — did you mean 'html'?" in capsys.readouterr().err
    page = tmp_path / "page.html"
    assert main(["report", str(saved), "--format", "html", "-o", str(page)]) == 0
    assert page.read_text().startswith("<!DOCTYPE html>")
    assert main(["report", "--merge", str(saved), str(saved), "--format", "rst"]) == 0
    assert "weather_sf" not in capsys.readouterr().out.splitlines()[0]  # the table, not the JSON


def test_judge_selects_checks_like_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with StubServer(oracle(), breaks={"missing_type"}) as stub:
        assert run_on_stub(stub, tmp_path, "--record-mode", "all", "--cassette-dir", str(tmp_path / "c"),
                           "-k", "two_cities", "--stream", "off") == 1
    capsys.readouterr()
    [cassette] = (tmp_path / "c").glob("*/*/*.yaml")
    assert main(["judge", "--format", "json", str(cassette)]) == 1
    checks = {f["check"] for v in json.loads(capsys.readouterr().out) for f in v["findings"]}
    assert "tool_call.type" in checks
    assert main(["judge", "--format", "json", "--exclude-checks", "tool_call.type", str(cassette)]) == 0
    assert all(not v["findings"] for v in json.loads(capsys.readouterr().out))
    assert main(["judge", "--checks", "tool_call.typ", str(cassette)]) == 2
    assert ("error: --checks: unknown check 'tool_call.typ' — did you mean 'tool_call.type'?"
            in capsys.readouterr().err)


LAUNCHER = """
import harness

@harness.launcher("stubbed")
class Stubbed(harness.Launcher):
    \"\"\"Hands out a running stub server's URL, or says why it cannot.\"\"\"
    @classmethod
    def missing_reason(cls):
        import os
        return os.environ.get("STUBBED_MISSING") or None
    def base_url(self, model):
        import os
        return os.environ["STUBBED_URL"]
    def died(self, model, grace=0.0):
        return None
    def close(self):
        pass
"""


@pytest.fixture
def launched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, good_stub: StubServer) -> Path:
    """A plugin module registering the `stubbed` launcher, and a providers file whose provider uses it."""
    (tmp_path / "stubbed_launcher.py").write_text(LAUNCHER)
    monkeypatch.setenv("STUBBED_URL", good_stub.base_url)
    monkeypatch.setenv("TOOLCALL_HARNESS_PLUGINS", str(tmp_path / "stubbed_launcher.py"))
    providers = tmp_path / "providers.yaml"
    providers.write_text("providers:\n  launched:\n    models: [stubby]\n    launcher: stubbed\n")
    return providers


@pytest.mark.usefixtures("scratch_registries")
def test_a_plugin_launcher_serves_a_run_and_its_missing_reason_decides_the_record_mode(
    launched: Path, tmp_path: Path, good_stub: StubServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["run", "--provider", "launched", "--providers-file", str(launched), "--scenarios", str(SCENARIOS),
            "-k", "weather_sf", "--stream", "off", "--report-dir", str(tmp_path / "reports")]
    assert main(args) == 0
    assert len(good_stub.requests) == 2 and "1 pass" in capsys.readouterr().out  # a call, then the answer
    monkeypatch.setenv("STUBBED_MISSING", "stubbed is not installed: pip install stubbed")
    assert main([*args, "--cassette-dir", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err == (f"error: stubbed is not installed: pip install stubbed, and there are "
                                       f"no cassettes under {tmp_path / 'none'} to replay\n")
    assert main(["doctor", "--no-start", "--format", "json"]) in (0, 1)
    lines = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert lines["launcher stubbed"] == {"name": "launcher stubbed", "status": "warn", "fix": None,
                                         "detail": "stubbed is not installed: pip install stubbed "
                                                   "(module stubbed_launcher)"}
    assert lines["launcher llama-server"]["detail"].endswith("(toolcall-harness)")


@pytest.mark.usefixtures("scratch_registries")
def test_the_plugins_command_lists_the_bfcl_pack_and_local_plugins(
    launched: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plugins", "--format", "json"]) == 0
    points = {p["name"]: {e["id"]: e for e in p["entries"]}
              for p in json.loads(capsys.readouterr().out)["extension_points"]}
    assert points["scenario_sources"]["bfcl"]["module"] == "harness.packs.bfcl.pack"
    assert points["checks"]["bfcl.ast"]["kind"] == "conversation"
    assert points["launchers"]["stubbed"]["package"] == "module stubbed_launcher"


def test_pytest_without_provider_loads_no_plugin(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
                                                 ) -> None:
    monkeypatch.setenv("TOOLCALL_HARNESS_PLUGINS", "no_such_plugin_module")
    pytester.makepyfile("def test_x():\n    pass\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    result = pytester.runpytest("-p", "no:cacheprovider", "--api-base-url", "http://127.0.0.1:9/v1",
                                "--model", "m")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: TOOLCALL_HARNESS_PLUGINS: no module named 'no_such_plugin_module'*"])
