"""The package's layers, as docs/architecture.md draws them: imports only point down, modules stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[1] / "harness"
# Bottom to top. A module may import from its own layer and the layers below it, never above.
LAYERS = ["core", "scenario", "providers", "transport", "conformance", "clients", "packs", "engine",
          "results", "reporting", "app", "cli", "pytest_plugin"]
STANDALONE = {"testing"}  # the stub server is a test fixture of its own: it imports nothing of the harness
MAX_LINES = 400


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "harness" else None


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != "harness" else [f"harness.{a.name}" for a in node.names]
            found += [(node.lineno, n) for n in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return found


MODULES = sorted(p for p in HARNESS.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(HARNESS)))
def test_imports_point_down(path: Path) -> None:
    relative = path.relative_to(HARNESS)
    own = relative.parts[0].removesuffix(".py")
    if own in ("__init__", "__main__"):
        return
    upward = []
    for line, module in _imports(path):
        target = _layer(module)
        if target is None or target == own or target == "__version__":
            continue
        if own in STANDALONE or target in STANDALONE:
            upward.append(f"{relative}:{line}: {module} (the stub server stands alone)")
        elif own in LAYERS and target in LAYERS and LAYERS.index(target) > LAYERS.index(own):
            upward.append(f"{relative}:{line}: {own} imports {module}, a layer above it")
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(HARNESS)))
def test_modules_stay_readable(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(HARNESS)} has {lines} lines; split it by concept"


def test_the_front_ends_never_import_each_other() -> None:
    for path in (HARNESS / "pytest_plugin").rglob("*.py"):
        assert not [m for _, m in _imports(path) if _layer(m) == "cli"], path
    for path in (HARNESS / "cli").rglob("*.py"):
        assert not [m for _, m in _imports(path) if _layer(m) == "pytest_plugin"], path


def test_every_layer_is_a_package_in_the_list() -> None:
    packages = {p.name for p in HARNESS.iterdir() if (p / "__init__.py").is_file()}
    assert packages <= set(LAYERS) | STANDALONE, packages - set(LAYERS) - STANDALONE
