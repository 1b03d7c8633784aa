"""Installing the Node clients, the messages when they cannot run, and the seam's usage errors.

Fake `node` and `npm` scripts on PATH stand in for the real ones, so none of this needs the network.
"""

from __future__ import annotations

import ast
import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from harness.clients import ClientUnavailable, builtin_drivers, create_driver, installer, parse_client_ids
from harness.core.errors import HarnessError

CLIENTS_DIR = Path(installer.__file__).resolve().parent
ALLOWED = {"core", "scenario", "providers", "transport", "conformance", "clients"}


def fake(bin_dir: Path, name: str, script: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


def test_the_install_folder_is_a_user_cache_keyed_by_the_lockfile(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    monkeypatch.delenv(installer.ENV_ROOT, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    root = installer.install_root()
    assert root == tmp_path / "toolcall-harness" / "node-clients" / installer.lock_digest()
    monkeypatch.setenv(installer.ENV_ROOT, str(tmp_path / "mine"))
    assert installer.install_root() == tmp_path / "mine"


def test_only_a_marker_for_this_lockfile_counts_as_installed(tmp_path: Path) -> None:
    assert not installer.is_installed(tmp_path)
    (tmp_path / installer.MARKER).write_text("0123456789abcdef\n")  # an older lockfile's install
    assert not installer.is_installed(tmp_path)
    (tmp_path / installer.MARKER).write_text(installer.lock_digest() + "\n")
    assert installer.is_installed(tmp_path)


def test_no_node_says_what_to_install(bin_dir: Path) -> None:
    with pytest.raises(ClientUnavailable) as caught:
        installer.node_executable()
    assert str(caught.value) == ("the Node clients need Node.js 20 or newer, and `node` is not on PATH; "
                                 "install Node.js, then run `toolcall-harness clients install`")


def test_an_old_node_is_named(bin_dir: Path) -> None:
    fake(bin_dir, "node", "echo v18.19.0")
    with pytest.raises(ClientUnavailable, match=r"need Node.js 20 or newer; .*/node is v18.19.0$"):
        installer.node_executable()


def test_missing_packages_give_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(installer.ENV_ROOT, str(tmp_path))
    with pytest.raises(ClientUnavailable) as caught:
        create_driver("node-ai-sdk").open()
    assert str(caught.value) == (f"the Node client packages are not installed (looked in {tmp_path}); run "
                                 "`toolcall-harness clients install` (npm ci from the committed lockfile)")


def test_install_runs_npm_ci_from_the_lockfile_and_swaps_the_folder_in(bin_dir: Path, tmp_path: Path) -> None:
    fake(bin_dir, "node", "echo v20.20.2")
    log = tmp_path / "npm.log"
    fake(bin_dir, "npm", f'echo "$@" > {log}; test -f package-lock.json && /bin/mkdir node_modules')
    root = tmp_path / "cache" / "clients"
    assert installer.install(root) == root
    assert log.read_text().split() == ["ci", "--ignore-scripts", "--no-audit", "--no-fund",
                                       "--loglevel=error"]
    assert (root / "node_modules").is_dir() and installer.is_installed(root)
    assert (root / "package-lock.json").read_bytes() == installer.LOCKFILE.read_bytes()
    log.unlink()
    installer.install(root)
    assert not log.exists()  # already installed: npm is not run again
    assert sorted(p.name for p in root.parent.iterdir()) == ["clients"]


def test_a_failed_npm_ci_leaves_nothing_that_looks_installed(bin_dir: Path, tmp_path: Path) -> None:
    fake(bin_dir, "node", "echo v22.1.0")
    fake(bin_dir, "npm", "echo 'npm error code E404' >&2; exit 1")
    root = tmp_path / "clients"
    failed = r"`npm ci` failed with exit code 1 in .*:\nnpm error code E404$"
    with pytest.raises(ClientUnavailable, match=failed):
        installer.install(root)
    assert not root.exists() and list(tmp_path.iterdir()) == [bin_dir]


def test_the_installer_entry_point_reports_failure_with_exit_2(bin_dir: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(installer.ENV_ROOT, str(tmp_path / "clients"))
    assert installer.main([]) == 2
    assert capsys.readouterr().err.startswith("clients install: the Node clients need Node.js 20 or newer")


def test_the_lockfile_pins_exact_versions_and_names_no_registry() -> None:
    package = json.loads((installer.PACKAGE_DIR / "package.json").read_text())
    lock = json.loads(installer.LOCKFILE.read_text())
    assert package["dependencies"] == {"@ai-sdk/openai-compatible": "2.0.92", "ai": "6.0.326",
                                       "openai": "6.49.0", "zod": "4.6.7"}
    assert lock["packages"][""]["dependencies"] == package["dependencies"]
    for name, version in package["dependencies"].items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    assert all("integrity" in entry for path, entry in lock["packages"].items() if path)
    assert not any("resolved" in entry for entry in lock["packages"].values())  # npm uses its own registry


# ------------------------------------------------------------------------------------------ the seam


def test_the_builtin_drivers_are_known_by_id() -> None:
    assert sorted(builtin_drivers()) == ["node-ai-sdk", "node-openai", "python-openai"]
    assert all(factory().id == cid for cid, factory in builtin_drivers().items())


def test_a_misspelt_client_is_a_usage_error_with_a_suggestion() -> None:
    with pytest.raises(HarnessError) as caught:
        parse_client_ids("python-openai,node-opnai")
    assert str(caught.value) == ("--clients: unknown client 'node-opnai' — did you mean 'node-openai'? "
                                 "(known: node-ai-sdk, node-openai, python-openai)")
    assert parse_client_ids(" node-openai, python-openai,node-openai ") == ["node-openai", "python-openai"]
    with pytest.raises(HarnessError, match="give at least one client id"):
        parse_client_ids(" , ")


@pytest.mark.parametrize("path", sorted(CLIENTS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_clients_imports_only_the_layers_below_it(path: Path) -> None:
    """harness/clients sits between conformance and engine (tests/test_architecture.py will list it)."""
    upward = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
            [a.name for a in node.names] if isinstance(node, ast.Import) else []
        for name in names:
            parts = name.split(".")
            if parts[0] == "harness" and len(parts) > 1 and parts[1] not in ALLOWED:
                upward.append(f"{path.name}:{node.lineno}: {name}")
    assert not upward
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node on PATH")
def test_the_node_driver_says_why_it_cannot_start_in_one_protocol_line(tmp_path: Path) -> None:
    script = str(installer.PACKAGE_DIR / "driver.mjs")
    wrong = subprocess.run(["node", script, "--client", "nope"], capture_output=True, text=True, timeout=60)
    assert (wrong.returncode, json.loads(wrong.stdout)) == \
        (2, {"fatal": "usage: driver.mjs --client openai|ai-sdk --root <folder>"})
    command = ["node", script, "--client", "openai", "--root", str(tmp_path)]
    empty = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert empty.returncode == 3
    assert json.loads(empty.stdout)["fatal"].startswith(f"cannot load the openai packages from {tmp_path}: ")


def test_a_plugin_registers_a_client_the_way_the_builtins_do() -> None:
    import harness
    from harness.clients.driver import CLIENTS

    class Echo(harness.ClientDriver):
        id = "acme-echo"
        library = "acme"

        @property
        def version(self) -> str:
            return "1.0"

        def run(self, exchange, base_url, *, requests=None):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    harness.client(Echo)
    try:
        assert parse_client_ids("acme-echo,python-openai") == ["acme-echo", "python-openai"]
        assert CLIENTS.entry("acme-echo").module == __name__
        with pytest.raises(HarnessError, match="client 'acme-echo' is already registered"):
            harness.client(Echo)
    finally:
        CLIENTS.remove("acme-echo")
