"""Installing the Node client libraries: `npm ci` from the committed lockfile into a user cache folder.

The driver scripts ship inside the Python package (`harness/clients/node/`), but their node_modules go
to `$XDG_CACHE_HOME/toolcall-harness/node-clients/<lockfile digest>/` (or `$TOOLCALL_HARNESS_NODE_CLIENTS`),
and the drivers load the packages from there. Why not beside the scripts: a wheel's site-packages may be
read-only and is replaced on upgrade, and in a checkout 45 MB of node_modules inside `harness/` would be
walked by ruff, mypy, pytest and setuptools. Keying the folder by the lockfile's digest means a harness
upgrade that changes a pinned version installs afresh and never runs with stale packages, while two
checkouts with the same lockfile share one install.

    toolcall-harness clients install         # or: python -m harness.clients.installer
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.clients.driver import ClientUnavailable

PACKAGE_DIR = Path(__file__).resolve().parent / "node"
LOCKFILE = PACKAGE_DIR / "package-lock.json"
ENV_ROOT = "TOOLCALL_HARNESS_NODE_CLIENTS"
# The documented command; `python -m harness.clients.installer` does the same (CI, or without the script).
INSTALL_COMMAND = "toolcall-harness clients install"
MARKER = ".toolcall-harness-installed"
MIN_NODE_MAJOR = 20


def lock_digest() -> str:
    return hashlib.sha256(LOCKFILE.read_bytes()).hexdigest()[:16]


def install_root() -> Path:
    """The folder that holds (or will hold) node_modules for the committed lockfile."""
    override = os.environ.get(ENV_ROOT)
    if override:
        return Path(override).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "toolcall-harness" / "node-clients" / lock_digest()


def is_installed(root: Path | None = None) -> bool:
    root = root or install_root()
    marker = root / MARKER
    return marker.is_file() and marker.read_text(encoding="utf-8").strip() == lock_digest()


def node_executable() -> str:
    """`node` on PATH, at least version 20; otherwise `ClientUnavailable` saying what to install."""
    node = shutil.which("node")
    if node is None:
        raise ClientUnavailable(f"the Node clients need Node.js {MIN_NODE_MAJOR} or newer, and `node` is not "
                                f"on PATH; install Node.js, then run `{INSTALL_COMMAND}`")
    try:
        done = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=20)
        version = done.stdout.strip()
        major = int(version.lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        raise ClientUnavailable(f"cannot run `{node} --version` ({exc})") from exc
    if major < MIN_NODE_MAJOR:
        raise ClientUnavailable(f"the Node clients need Node.js {MIN_NODE_MAJOR} or newer; "
                                f"{node} is {version}")
    return node


def require_installed() -> Path:
    """The install folder, or `ClientUnavailable` with the command that installs it."""
    root = install_root()
    if not is_installed(root):
        raise ClientUnavailable(f"the Node client packages are not installed (looked in {root}); run "
                                f"`{INSTALL_COMMAND}` (npm ci from the committed lockfile)")
    return root


def install(root: Path | None = None, *, force: bool = False, echo: bool = False) -> Path:
    """`npm ci --ignore-scripts` from the committed lockfile into `root`; a no-op when already there.

    It installs into a fresh sibling folder and swaps it in only when npm succeeded, so an interrupted
    install never leaves a folder that looks installed. Raises `ClientUnavailable` with npm's own words.
    """
    root = root or install_root()
    if is_installed(root) and not force:
        return root
    node_executable()
    npm = shutil.which("npm")
    if npm is None:
        raise ClientUnavailable("`npm` is not on PATH; it comes with Node.js and is needed once to install "
                                "the Node clients")
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    try:
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(PACKAGE_DIR / name, staging / name)
        command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
        done = subprocess.run(command, cwd=staging, capture_output=not echo, text=True, timeout=900)
        if done.returncode != 0:
            tail = "\n".join((done.stderr or "").strip().splitlines()[-15:])  # empty when echoed
            said = f":\n{tail}" if tail else " (its output is above)"
            raise ClientUnavailable(f"`npm ci` failed with exit code {done.returncode} in {staging}{said}")
        (staging / MARKER).write_text(lock_digest() + "\n", encoding="utf-8")
        if root.exists():
            shutil.rmtree(root)
        staging.rename(root)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return root


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        root = install(force="--force" in args, echo=True)
    except ClientUnavailable as exc:
        print(f"clients install: {exc}", file=sys.stderr)
        return 2
    print(f"Node clients installed in {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
