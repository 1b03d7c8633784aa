"""examples/plugin installed for real: its check, matcher and reporter reach both front-ends.

The package is installed with pip, offline, into a fresh virtual environment that sees this one's
packages (`--system-site-packages` from the running interpreter, plus this environment's site folder
when it is itself a virtual environment), so its entry points are discovered as a user's would be. The
stub server plays a provider whose call ids are not OpenAI-shaped, so the plugin's check has something
to say; one scenario's `regex` matcher passes and another's fails.

The first test drives the engine through each front-end with the plugins loaded by `load_plugins`, as
the front-ends do at start-up. The next two use the command lines as documented (`toolcall-harness
plugins`, `--checks`/`--exclude-checks`, `--format <reporter>`, `--plugins`), in the CLI and under pytest.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import SCENARIOS
from oracle import oracle

from harness.testing.stub import StubServer

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "plugin"
PACKAGE = "toolcall-harness-example"

PLUGIN_SCENARIOS = """\
scenarios:
  - id: weather_regex
    description: The city matches a regular expression (the example plugin's matcher).
    family: single_call
    tools: [get_weather]
    messages:
      - {role: user, content: "What's the weather in San Francisco?"}
    expect:
      turns:
        - turn: 1
          calls:
            - {name: get_weather, arguments: {location: {regex: {pattern: "^san fran", ignore_case: true}}}}
  - id: weather_regex_paris
    description: The same call judged against a pattern it does not match.
    family: single_call
    tools: [get_weather]
    messages:
      - {role: user, content: "What's the weather in San Francisco?"}
    expect:
      turns:
        - turn: 1
          calls: [{name: get_weather, arguments: {location: {regex: {pattern: "^Paris"}}}}]
"""
REGEX_FAILURE = "get_weather: key 'location': expected text matching '^Paris', got 'San Francisco'"


@dataclass(frozen=True)
class PluginEnv:
    python: Path
    project: Path  # scenarios/ (tools + the plugin scenarios), providers.yaml naming the stub, reports/

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("TOOLCALL_HARNESS_PLUGINS", "PYTHONPATH")}
        return subprocess.run([str(self.python), *args], cwd=self.project, env=env, capture_output=True,
                              text=True, timeout=300)


@pytest.fixture(scope="module")
def stub() -> Iterator[StubServer]:
    with StubServer(oracle()) as server:
        yield server


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory, stub: StubServer) -> PluginEnv:
    root = tmp_path_factory.mktemp("example-plugin")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
                   check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    if sys.prefix != sys.base_prefix:  # the running interpreter is a venv: its packages are not "system"
        lines = [f"import site; site.addsitedir({p!r})" for p in site.getsitepackages()]
        Path(purelib, "_toolcall_harness_parent.pth").write_text("\n".join(lines) + "\n")
    source = root / "plugin-src"  # pip builds in place: keep examples/ free of build/ and *.egg-info
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         str(source)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    project = root / "project"
    (project / "scenarios").mkdir(parents=True)
    shutil.copy(SCENARIOS / "tools.yaml", project / "scenarios" / "tools.yaml")
    (project / "scenarios" / "plugin.yaml").write_text(PLUGIN_SCENARIOS)
    (project / "providers.yaml").write_text(
        f"providers:\n  stub:\n    base_url: {stub.base_url}\n    models: [stubby]\n")
    (project / "pytest.ini").write_text("[pytest]\n")
    return PluginEnv(python, project)


def _runs(report: dict[str, object]) -> list[tuple[str, str, str, list[str]]]:
    return [(r["key"]["scenario"], r["key"]["mode"], r["outcome"],  # type: ignore[index]
             sorted({f["check"] for f in r["findings"]}))  # type: ignore[index]
            for r in report["runs"]]  # type: ignore[attr-defined]


EXPECTED_RUNS = [
    ("weather_regex", "nonstream", "pass", ["example.call_id_format"]),
    ("weather_regex", "stream", "pass", ["example.call_id_format"]),
    ("weather_regex_paris", "nonstream", "fail", ["example.call_id_format", "expect.calls"]),
    ("weather_regex_paris", "stream", "fail", ["example.call_id_format", "expect.calls"]),
]


def _report(folder: Path) -> dict[str, object]:
    [path] = sorted(folder.glob("*.json"))
    report: dict[str, object] = json.loads(path.read_text())
    return report


# Runs in the plugin's environment: loads the plugins as the front-ends will, then drives them.
DRIVER = """
import json, sys
from pathlib import Path
from harness.app.plugins import load_plugins, render_plugins
loaded = load_plugins()
out = {"loaded": loaded.entry_points, "listing": json.loads(render_plugins("json"))}
if sys.argv[1] == "cli":
    from harness.cli.main import main
    out["exit"] = main(["run", "--provider", "stub", "--providers-file", "providers.yaml",
                        "--scenarios", "scenarios", "--report-dir", "reports-cli"])
    from harness.reporting.reporters import render_report
    from harness.results.store import read_report
    [path] = sorted(Path("reports-cli").glob("*.json"))
    out["csv"] = render_report(read_report(path), "csv")
else:
    import pytest
    out["exit"] = int(pytest.main(["-p", "no:cacheprovider", "-q", "--provider", "stub",
                                   "--providers-file", "providers.yaml", "--scenarios", "scenarios",
                                   "--report-dir", "reports-pytest"]))
Path(sys.argv[2]).write_text(json.dumps(out))
"""


@pytest.mark.parametrize("front_end", ["cli", "pytest"])
def test_the_installed_plugin_is_listed_and_judges_through_the_engine(
    plugin_env: PluginEnv, front_end: str, tmp_path: Path
) -> None:
    result_file = tmp_path / "result.json"
    done = plugin_env.run("-c", DRIVER, front_end, str(result_file))
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(result_file.read_text())
    assert [line.split(": ")[0] for line in out["loaded"]] == [
        "toolcall_harness.checks", "toolcall_harness.matchers", "toolcall_harness.reporters"]
    points = out["listing"]["extension_points"]
    listed = {(p["name"], e["id"]): e["package"] for p in points for e in p["entries"]}
    assert {k: v for k, v in listed.items() if v == PACKAGE} == {
        ("checks", "example.call_id_format"): PACKAGE, ("matchers", "regex"): PACKAGE,
        ("reporters", "csv"): PACKAGE}
    assert out["exit"] == 1  # weather_regex_paris fails on the matcher; the check's findings are warnings
    report = _report(plugin_env.project / f"reports-{front_end}")
    assert _runs(report) == EXPECTED_RUNS
    messages = [f["message"] for r in report["runs"] for f in r["findings"]]  # type: ignore[attr-defined]
    assert REGEX_FAILURE in messages
    assert any(re.fullmatch(r"tool call 0: id 'call_stub_\d+_0' is not OpenAI-shaped", m) for m in messages)
    if front_end == "cli":
        assert out["csv"].splitlines() == [
            "scenario,provider,model,mode,trial,outcome,findings",
            "weather_regex,stub,stubby,nonstream,1,pass,example.call_id_format",
            "weather_regex,stub,stubby,stream,1,pass,example.call_id_format",
            "weather_regex_paris,stub,stubby,nonstream,1,fail,example.call_id_format expect.calls",
            "weather_regex_paris,stub,stubby,stream,1,fail,example.call_id_format expect.calls",
        ]


LOCAL_PLUGIN = """
import harness
from harness import Finding

@harness.check("local.always", kind="conversation")
def always(ctx):
    \"\"\"A local check that always speaks.\"\"\"
    yield Finding(check="local.always", severity="warning", message="from a local module")
"""


def test_the_cli_lists_selects_and_renders_plugins(plugin_env: PluginEnv) -> None:
    listing = plugin_env.run("-m", "harness", "plugins", "--format", "json")
    assert listing.returncode == 0, listing.stderr
    points = json.loads(listing.stdout)["extension_points"]
    entries = {e["id"]: e["package"] for p in points for e in p["entries"]}
    assert entries["example.call_id_format"] == entries["regex"] == entries["csv"] == PACKAGE
    text = plugin_env.run("-m", "harness", "plugins").stdout
    assert "example.call_id_format" in text and PACKAGE in text

    base = ["-m", "harness", "run", "--provider", "stub", "--providers-file", "providers.yaml",
            "--scenarios", "scenarios"]
    run = plugin_env.run(*base, "--report-dir", "reports-format", "--format", "csv")
    assert run.returncode == 1, run.stderr
    assert "weather_regex_paris,stub,stubby,stream,1,fail,example.call_id_format expect.calls" in run.stdout
    assert _runs(_report(plugin_env.project / "reports-format")) == EXPECTED_RUNS

    quiet = plugin_env.run(*base, "--report-dir", "reports-exclude",
                           "--exclude-checks", "example.call_id_format")
    assert quiet.returncode == 1, quiet.stderr
    assert [r[3] for r in _runs(_report(plugin_env.project / "reports-exclude"))] == [
        [], [], ["expect.calls"], ["expect.calls"]]

    (plugin_env.project / "local_checks.py").write_text(LOCAL_PLUGIN)
    only = plugin_env.run(*base, "--report-dir", "reports-only", "--plugins", "local_checks",
                          "--checks", "local.always,tool_call.*")
    assert only.returncode == 0, only.stderr  # the expectations were not selected: nothing fails
    assert {tuple(r[3]) for r in _runs(_report(plugin_env.project / "reports-only"))} == {("local.always",)}

    typo = plugin_env.run(*base, "--checks", "example.call_id_fromat")
    assert typo.returncode == 2
    assert ("--checks: unknown check 'example.call_id_fromat' — did you mean 'example.call_id_format'?"
            in typo.stderr)

    [saved] = sorted((plugin_env.project / "reports-format").glob("*.json"))
    rendered = plugin_env.run("-m", "harness", "report", str(saved), "--format", "csv")
    assert rendered.returncode == 0 and rendered.stdout.startswith("scenario,provider,model,mode,trial")


def test_pytest_selects_checks_and_loads_local_plugins(plugin_env: PluginEnv) -> None:
    (plugin_env.project / "local_checks.py").write_text(LOCAL_PLUGIN)
    args = ["-m", "pytest", "-p", "no:cacheprovider", "-q", "--provider", "stub", "--providers-file",
            "providers.yaml", "--scenarios", "scenarios", "-k", "regex"]
    result = plugin_env.run(*args, "--report-dir", "reports-pytest-all")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 failed, 2 passed" in result.stdout and REGEX_FAILURE in result.stdout
    assert _runs(_report(plugin_env.project / "reports-pytest-all")) == EXPECTED_RUNS

    selected = plugin_env.run(*args, "--report-dir", "reports-pytest-selected", "--plugins", "local_checks",
                              "--exclude-checks", "example.*,expect.*")
    assert selected.returncode == 0, selected.stdout + selected.stderr
    assert {tuple(r[3]) for r in _runs(_report(plugin_env.project / "reports-pytest-selected"))} == {
        ("local.always",)}
    typo = plugin_env.run(*args, "--checks", "example.call_id_fromat")
    assert typo.returncode == 4  # pytest.UsageError
    assert "did you mean 'example.call_id_format'?" in typo.stdout + typo.stderr


def test_the_example_is_documented_in_its_readme() -> None:
    readme = (EXAMPLE / "README.md").read_text()
    assert all(name in readme for name in ("example.call_id_format", "regex", "csv", "--plugins"))
    assert textwrap.dedent(readme) == readme
