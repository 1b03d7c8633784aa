"""BFCL v4's question files and possible answers, read from the installed bfcl-eval package or a folder.

Only the data is read: `bfcl_eval` is located with `importlib.util.find_spec`, which finds a top-level
package without executing it, so none of its heavy modules (model handlers, SDKs) is imported. Every
line is checked as it is read, so a broken file stops with `file:line` instead of a KeyError in a run.
"""

from __future__ import annotations

import importlib.util
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.packs.bfcl.categories import Category, resolve
from harness.packs.bfcl.errors import INSTALL, BfclDataMissing, MalformedEntry

# A possible answer: one expected call per item, `{function name: {parameter: [accepted values]}}`.
Answer = dict[str, dict[str, list[Any]]]
# Parameter types the judging understands (BFCL's PYTHON_TYPE_MAPPING): any other is a data error.
KNOWN_TYPES = frozenset({"string", "integer", "float", "boolean", "array", "tuple", "dict", "any"})


@dataclass(frozen=True, slots=True)
class BfclEntry:
    """One BFCL test entry as published: the question turns, the function documents, the answers."""

    id: str
    category: Category
    question: list[list[dict[str, Any]]]
    functions: list[dict[str, Any]]
    answers: list[Answer] | None  # None for (ir)relevance categories, which have no possible answer
    file: str
    line: int


def data_dir(root: str | Path | None = None) -> Path:
    """The folder holding `BFCL_v4_<category>.json` and `possible_answer/`: `root`, else bfcl-eval's."""
    if root is not None:
        path = Path(root)
        if not path.is_dir():
            raise BfclDataMissing(f"BFCL data folder {path} does not exist")
        return path
    spec = importlib.util.find_spec("bfcl_eval")
    if spec is None or not spec.submodule_search_locations:
        raise BfclDataMissing(f"the BFCL pack needs BFCL's data: install it with `{INSTALL}`")
    path = Path(next(iter(spec.submodule_search_locations))) / "data"
    if not path.is_dir():
        raise BfclDataMissing(f"bfcl-eval has no data folder {path}; reinstall: `{INSTALL}`")
    return path


def load(names: str | Iterable[str], root: str | Path | None = None) -> list[BfclEntry]:
    """The entries of categories and groups (`live`, `all`, ...), in BFCL's category order."""
    categories = resolve([names] if isinstance(names, str) else names)
    folder = data_dir(root)
    return [entry for category in categories for entry in load_category(category, folder)]


def load_category(category: Category, folder: Path) -> list[BfclEntry]:
    questions = folder / category.file_name
    if not questions.is_file():
        raise BfclDataMissing(f"{questions}: no such file (BFCL category '{category.name}')")
    answers: dict[str, tuple[Answer | list[Answer], int]] = {}
    answer_file = folder / "possible_answer" / category.file_name
    if category.kind.has_answers:
        if not answer_file.is_file():
            raise BfclDataMissing(f"{answer_file}: no such file (possible answers of '{category.name}')")
        for number, record in _records(answer_file):
            _require(record, ("id", "ground_truth"), answer_file, number)
            answers[str(record["id"])] = (record["ground_truth"], number)
    entries = []
    for number, record in _records(questions):
        _require(record, ("id", "question", "function"), questions, number)
        entry_id = str(record["id"])
        answer: list[Answer] | None = None
        if category.kind.has_answers:
            if entry_id not in answers:
                raise MalformedEntry(f"{questions}:{number}: {entry_id}: no possible answer in {answer_file}")
            found, answer_line = answers.pop(entry_id)
            answer = _answer(found, record["function"], f"{answer_file}:{answer_line}: {entry_id}")
        entries.append(
            BfclEntry(
                id=entry_id,
                category=category,
                question=_question(record["question"], f"{questions}:{number}: {entry_id}"),
                functions=_functions(record["function"], f"{questions}:{number}: {entry_id}"),
                answers=answer,
                file=str(questions),
                line=number,
            )
        )
    if answers:
        orphan, (_, number) = next(iter(answers.items()))
        raise MalformedEntry(f"{answer_file}:{number}: {orphan}: a possible answer without a question")
    return entries


def _records(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise MalformedEntry(f"{path}:{number}: not a JSON line: {exc}") from None
            if not isinstance(record, dict):
                raise MalformedEntry(f"{path}:{number}: expected a JSON object, got {type(record).__name__}")
            yield number, record


def _require(record: dict[str, Any], keys: tuple[str, ...], path: Path, number: int) -> None:
    missing = [k for k in keys if k not in record]
    if missing:
        raise MalformedEntry(f"{path}:{number}: missing key(s) {', '.join(repr(k) for k in missing)}")


def _question(value: Any, where: str) -> list[list[dict[str, Any]]]:
    ok = (
        isinstance(value, list)
        and value
        and all(isinstance(turn, list) for turn in value)
        and all(isinstance(m, dict) and "role" in m for turn in value for m in turn)
    )
    if not ok:
        raise MalformedEntry(f"{where}: 'question' must be a non-empty list of turns of messages with a role")
    return value  # type: ignore[no-any-return]


def _functions(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise MalformedEntry(f"{where}: 'function' must be a list of function documents")
    for doc in value:
        params = doc.get("parameters") if isinstance(doc, dict) else None
        if not isinstance(params, dict) or not isinstance(doc.get("name"), str):
            raise MalformedEntry(f"{where}: every function needs a 'name' and a 'parameters' object")
        if not isinstance(params.get("properties", {}), dict):
            raise MalformedEntry(f"{where}: {doc['name']}: 'parameters.properties' must be an object")
    return value


def _answer(value: Any, functions: list[dict[str, Any]], where: str) -> list[Answer]:
    """Possible answers, checked against the functions they name, since judging relies on both."""
    if not isinstance(value, list) or not value:
        raise MalformedEntry(f"{where}: 'ground_truth' must be a non-empty list of expected calls")
    docs = {f.get("name"): f for f in functions if isinstance(f, dict)}
    for call in value:
        if not (isinstance(call, dict) and len(call) == 1):
            raise MalformedEntry(f"{where}: an expected call must be {{function: {{parameter: [values]}}}}")
        ((name, params),) = call.items()
        doc = docs.get(name)
        if doc is None:
            raise MalformedEntry(f"{where}: expected call to '{name}', not one of the entry's functions")
        if not isinstance(params, dict) or not all(isinstance(v, list) for v in params.values()):
            raise MalformedEntry(f"{where}: {name}: each parameter must list its accepted values")
        for param, schema in doc["parameters"].get("properties", {}).items():
            kind = schema.get("type") if isinstance(schema, dict) else None
            if kind not in KNOWN_TYPES:
                raise MalformedEntry(f"{where}: {name}.{param}: parameter type {kind!r} cannot be judged")
            if kind in ("array", "tuple") and schema.get("items", {}).get("type") not in KNOWN_TYPES:
                raise MalformedEntry(f"{where}: {name}.{param}: an {kind} needs 'items' with a known type")
    return value


def sample(entries: Sequence[BfclEntry], n: int, seed: int = 0) -> list[BfclEntry]:
    """`n` entries drawn per category in proportion to its size, every category at least once when
    `n` allows; the same `seed` draws the same entries. Returned in the input's order."""
    if n >= len(entries):
        return list(entries)
    by_category: dict[str, list[int]] = {}
    for i, entry in enumerate(entries):
        by_category.setdefault(entry.category.name, []).append(i)
    quotas = _quotas({name: len(ix) for name, ix in by_category.items()}, n)
    chosen: set[int] = set()
    for name, indices in by_category.items():
        chosen.update(random.Random(f"{seed}:{name}").sample(indices, quotas[name]))
    return [entries[i] for i in sorted(chosen)]


def _quotas(sizes: dict[str, int], n: int) -> dict[str, int]:
    """Largest-remainder shares of `n`, after one per category when `n` covers every category (with
    fewer slots than categories, the largest categories get one each)."""
    order = sorted(sizes, key=lambda k: (-sizes[k], k))
    if n < len(sizes):
        return {name: int(name in order[:n]) for name in sizes}
    quotas = {name: min(1, size) for name, size in sizes.items()}
    left = n - sum(quotas.values())
    spare = {name: size - quotas[name] for name, size in sizes.items()}
    total = sum(spare.values())
    shares = {name: left * spare[name] / total if total else 0.0 for name in sizes}
    for name in sizes:
        quotas[name] += int(shares[name])
    remaining = n - sum(quotas.values())
    for name in sorted(sizes, key=lambda k: (-(shares[k] - int(shares[k])), k))[:remaining]:
        quotas[name] += 1
    return quotas
