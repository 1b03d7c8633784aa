"""Start-up stays cheap, and the front-ends stay apart.

Installing the package puts the plugin into every pytest session of the environment; the offline CLI
commands read files only. Neither may pay for the openai SDK or vcrpy (about a second of CPU here). These
tests inspect `sys.modules` in a fresh interpreter; they never time anything (benchmarks/run.py does).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SCENARIOS

from harness.core.model import Report, RunKey, RunResult, TargetInfo

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("openai", "vcr", "httpx2", "httpx")


def modules_after(code: str, cwd: Path = ROOT) -> list[str]:
    """The top-level packages a fresh interpreter has imported after running `code`."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key = RunKey(provider="p", model="m", scenario="weather_sf", mode="nonstream")
    report = Report(targets=[TargetInfo(provider="p", base_url="http://x", models=["m"])],
                    runs=[RunResult(key=key, family="single_call", outcome="pass")])
    path = tmp_path_factory.mktemp("reports") / "r.json"
    path.write_text(report.model_dump_json())
    return path


@pytest.mark.parametrize("command", ["validate", "list", "schema", "report", "report-html", "diff"])
def test_offline_commands_never_import_the_sdk_or_vcrpy(command: str, report_file: Path) -> None:
    argv = {
        "validate": ["validate", str(SCENARIOS)],
        "list": ["list", str(SCENARIOS), "--format", "json"],
        "schema": ["schema"],
        "report": ["report", str(report_file)],
        "report-html": ["report", str(report_file), "--format", "html"],
        "diff": ["diff", str(report_file), str(report_file)],
    }[command]
    code = f"from harness.cli.main import main\ncode = main({argv!r})\nassert code == 0, code"
    loaded = modules_after(code)
    assert "harness" in loaded and not set(HEAVY) & set(loaded), sorted(set(HEAVY) & set(loaded))


def test_loading_the_plugin_imports_only_the_standard_library_and_pytest() -> None:
    before = set(modules_after("import pytest"))
    after = set(modules_after("import pytest\nimport harness.pytest_plugin"))
    assert after - before == {"harness"}  # the stdlib-only option table; no pydantic, yaml, SDK, vcrpy


def test_a_pytest_session_without_provider_never_imports_the_engine(tmp_path: Path) -> None:
    """The whole session, not only the import: the hooks must not reach for the engine either."""
    (tmp_path / "conftest.py").write_text(
        "import json, sys\n"
        "def pytest_unconfigure(config):\n"
        "    ours = {m for m in sys.modules if m.startswith('harness')}\n"
        "    seen = sorted({m.split('.')[0] for m in sys.modules} | ours)\n"
        "    open('modules.json', 'w').write(json.dumps(seen))\n"
    )
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    loaded = set(json.loads((tmp_path / "modules.json").read_text()))
    assert "harness.pytest_plugin" in loaded  # the plugin was loaded...
    assert not loaded & {*HEAVY, "pydantic", "yaml", "harness.engine.engine", "harness.pytest_plugin.session"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_the_front_ends_never_import_each_other() -> None:
    """Both stand on the application layer; what one needs from the other belongs there."""
    cli = list((ROOT / "harness" / "cli").rglob("*.py"))
    plugin = list((ROOT / "harness" / "pytest_plugin").rglob("*.py"))
    crossing = [f"{p.relative_to(ROOT)}: {name}" for p in cli for name in _imports(p)
                if name.startswith("harness.pytest_plugin")]
    crossing += [f"{p.relative_to(ROOT)}: {name}" for p in plugin for name in _imports(p)
                 if name == "harness.cli" or name.startswith("harness.cli.")]
    assert cli and plugin and not crossing, crossing


def _installed_reporter_plugin(root: Path, reporter_id: str) -> None:
    """A distribution on disk whose entry point registers a reporter (as in tests/test_plugins.py)."""
    info = root / "acme_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[toolcall_harness.checks]\nacme = acme_hooks:register\n")
    (root / "acme_hooks.py").write_text(
        f"import harness\n\ndef register():\n    harness.reporter({reporter_id!r})(lambda report: 'lines')\n")


@pytest.mark.parametrize("reporter_id", ["acme-lines", "plain"])
def test_a_registry_filled_by_a_plugins_import_keeps_its_built_ins_and_their_clashes(
    tmp_path: Path, reporter_id: str
) -> None:
    """`validate` no longer fills the reporters at start-up; a plugin's import does, while its package
    is being loaded: the built-ins must still be the harness's own, and a clash with one still exit 2."""
    _installed_reporter_plugin(tmp_path, reporter_id)
    code = (
        f"import sys\nsys.path.insert(0, {str(tmp_path)!r})\n"
        "from harness.cli.main import main\n"
        f"code = main(['validate', {str(SCENARIOS)!r}])\n"
        "from harness.reporting.reporters import REPORTERS\n"  # only now: the plugin's import filled it
        "print({e.id: e.package for e in REPORTERS.entries()} if code == 0 else code)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    if reporter_id == "plain":
        assert done.stdout.splitlines()[-1] == "2"
        assert done.stderr.strip() == (
            "error: plugin acme = acme_hooks:register (package acme-plugin, group toolcall_harness.checks): "
            "reporter 'plain' is already registered (by toolcall-harness); acme-plugin registers it again: "
            "rename one of them or uninstall one of the plugins")
    else:
        packages = json.loads(done.stdout.splitlines()[-1].replace("'", '"'))
        assert packages.pop("acme-lines") == "acme-plugin"
        assert packages and set(packages.values()) == {"toolcall-harness"}, packages
