"""Dependencies are used through their public APIs only, and every one the package imports is declared.

A private attribute (`Cassette._save`), a private module (`_pytest.mark.expression`) or code-object
introspection (`__init__.__code__`) can change in any patch release; an undeclared import works only
because something else happened to install it. Both are checked statically over `harness/`.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "harness"
MODULES = sorted(HARNESS.rglob("*.py"))
INTROSPECTION = {"__code__", "__globals__", "__closure__", "__defaults__", "__kwdefaults__", "__wrapped__"}
PRIVATE = re.compile(r"^_[A-Za-z0-9]")  # `_name`, not a dunder
# Run by another interpreter (the vLLM venv's python), never imported by the harness: its imports are the
# vLLM venv's, kept to the modules the launcher checks for there (tests/test_vllm_launcher.py).
OTHER_INTERPRETER = {HARNESS / "providers" / "launchers" / "gguf_to_hf.py"}


def _defined_names(trees: list[ast.AST]) -> set[str]:
    """Every name the harness itself defines: its own privates may be used across its modules."""
    names: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
    return names


def private_uses(source: str, own: set[str]) -> list[str]:
    """`line: what` for each use of a private module, name or attribute that `own` does not define."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module != "__future__" and any(PRIVATE.match(p) for p in module.split(".")):
                    found.append(f"{node.lineno}: private module {module}")
            third_party = isinstance(node, ast.ImportFrom) and not (node.module or "").startswith("harness")
            if third_party and node.level == 0:
                found += [f"{node.lineno}: private name {a.name}" for a in node.names
                          if PRIVATE.match(a.name)]  # fmt: skip
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            if node.attr in INTROSPECTION or (PRIVATE.match(node.attr) and node.attr not in own):
                found.append(f"{node.lineno}: private attribute .{node.attr}")
    return sorted(found, key=lambda use: int(use.split(":")[0]))


def test_the_guard_catches_what_it_is_for() -> None:
    """The uses this guard was written after, and the harness's own privates, which it must allow."""
    old = (
        "from _pytest.mark.expression import Expression\n"
        "from vcr.cassette import Cassette\n"
        "ARGS = Cassette.__init__.__code__.co_varnames\n"
        "def save(c):\n    c._save()\n    return c._path\n"
        "class Own:\n    def __init__(self):\n        self._lock = 1\n"
        "    def f(self):\n        return self._lock\n"
    )
    assert private_uses(old, {"_lock"}) == [
        "1: private module _pytest.mark.expression",
        "3: private attribute .__code__",
        "5: private attribute ._save",
        "6: private attribute ._path",
    ]


def test_the_package_uses_public_apis_of_its_dependencies() -> None:
    trees = [ast.parse(p.read_text(encoding="utf-8")) for p in MODULES]
    own = _defined_names(trees)
    found = [
        f"{path.relative_to(ROOT)}:{use}"
        for path in MODULES
        for use in private_uses(path.read_text(encoding="utf-8"), own)
    ]
    assert found == []


def _imported_top_level_modules() -> set[str]:
    modules = set()
    for path in (p for p in MODULES if p not in OTHER_INTERPRETER):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"harness", "__future__"}


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_imported_package_is_declared() -> None:
    """In the dependencies, or in an optional extra for the modules that need it (the local server)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_requirement_name(r) for r in project["dependencies"]}
    optional = {_requirement_name(r) for group in project["optional-dependencies"].values() for r in group}
    distributions = packages_distributions()
    missing = []
    for module in sorted(_imported_top_level_modules()):
        names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if not names & (declared | optional):
            missing.append(f"{module} from {sorted(names)}")
    assert missing == [], "imported by harness/ but not in [project] dependencies: " + ", ".join(missing)
