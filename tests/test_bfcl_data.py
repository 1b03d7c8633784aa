"""Loading BFCL's data (harness.packs.bfcl.data): categories, groups, located errors, the seeded sample."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from harness.core.errors import HarnessError
from harness.packs.bfcl import data
from harness.packs.bfcl.categories import CATEGORIES, GROUPS, resolve
from harness.packs.bfcl.errors import BfclDataMissing, MalformedEntry, UnknownCategory, UnsupportedCategory

HAS_BFCL = importlib.util.find_spec("bfcl_eval") is not None
needs_bfcl = pytest.mark.skipif(not HAS_BFCL, reason="bfcl-eval is not installed")

FUNCTION = {
    "name": "math.add",
    "description": "Add.",
    "parameters": {"type": "dict", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
}


def question(entry_id: str) -> dict[str, Any]:
    return {"id": entry_id, "question": [[{"role": "user", "content": "add"}]], "function": [FUNCTION]}


def write(folder: Path, category: str, lines: list[Any], answers: list[Any] | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    (folder / f"BFCL_v4_{category}.json").write_text(text)
    if answers is not None:
        (folder / "possible_answer").mkdir(exist_ok=True)
        body = "\n".join(a if isinstance(a, str) else json.dumps(a) for a in answers) + "\n"
        (folder / "possible_answer" / f"BFCL_v4_{category}.json").write_text(body)


def answer(entry_id: str, name: str = "math.add") -> dict[str, Any]:
    return {"id": entry_id, "ground_truth": [{name: {"a": [1]}}]}


def test_loads_questions_with_their_answers_in_order(tmp_path: Path) -> None:
    write(tmp_path, "simple_python", [question("simple_python_0"), question("simple_python_1")],
          [answer("simple_python_1"), answer("simple_python_0")])  # fmt: skip
    first, second = data.load("simple_python", root=tmp_path)
    assert (first.id, first.line, first.category.name) == ("simple_python_0", 1, "simple_python")
    assert first.answers == [{"math.add": {"a": [1]}}]
    assert second.file == str(tmp_path / "BFCL_v4_simple_python.json")


def test_irrelevance_needs_no_answers(tmp_path: Path) -> None:
    write(tmp_path, "irrelevance", [question("irrelevance_0")])
    [entry] = data.load(["irrelevance"], root=tmp_path)
    assert entry.answers is None


def test_groups_follow_bfcl() -> None:
    assert [c.name for c in resolve(["live"])] == [
        "live_simple", "live_multiple", "live_parallel", "live_parallel_multiple", "live_irrelevance",
        "live_relevance",
    ]  # fmt: skip
    assert [c.name for c in resolve(["non_live"])] == [
        "simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance"
    ]  # fmt: skip
    assert [c.name for c in resolve(["all"])] == list(CATEGORIES) == GROUPS["all"]
    twice = ["parallel", "live_parallel", "parallel"]
    assert [c.name for c in resolve(twice)] == ["parallel", "live_parallel"]


def test_an_unknown_category_suggests_the_closest() -> None:
    with pytest.raises(UnknownCategory) as caught:
        resolve(["live_simpel"])
    assert str(caught.value).startswith("unknown BFCL category 'live_simpel' — did you mean 'live_simple'? ")
    assert isinstance(caught.value, HarnessError)


def test_java_is_refused_with_the_reason() -> None:
    with pytest.raises(UnsupportedCategory, match="BFCL category 'simple_java' is not supported: .*Java"):
        resolve(["simple_java"])


def test_missing_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BfclDataMissing) as caught:
        data.load("simple_python")
    assert str(caught.value) == (
        "the BFCL pack needs BFCL's data: install it with `pip install --no-deps bfcl-eval`"
    )


def test_a_named_folder_must_exist(tmp_path: Path) -> None:
    with pytest.raises(BfclDataMissing, match="BFCL data folder .*nowhere does not exist"):
        data.load("simple_python", root=tmp_path / "nowhere")
    missing = r"BFCL_v4_parallel\.json: no such file \(BFCL category 'parallel'\)"
    with pytest.raises(BfclDataMissing, match=missing):
        data.load("parallel", root=tmp_path)


@pytest.mark.parametrize(
    ("lines", "answers", "message"),
    [
        (["{not json"], [], "BFCL_v4_simple_python.json:1: not a JSON line: "),
        ([question("simple_python_0"), "[1]"], [answer("simple_python_0")],
         "BFCL_v4_simple_python.json:2: expected a JSON object, got list"),
        ([{"id": "simple_python_0", "question": []}], [],
         "BFCL_v4_simple_python.json:1: missing key(s) 'function'"),
        ([question("simple_python_0")], [],
         "BFCL_v4_simple_python.json:1: simple_python_0: no possible answer in "),
        ([question("simple_python_0")], [answer("simple_python_0", "math.sub")],
         "BFCL_v4_simple_python.json:1: simple_python_0: expected call to 'math.sub', not one of the entry's "
         "functions"),
        ([question("simple_python_0")], [answer("simple_python_0"), answer("simple_python_9")],
         "BFCL_v4_simple_python.json:2: simple_python_9: a possible answer without a question"),
    ],
)  # fmt: skip
def test_a_malformed_line_is_located(
    tmp_path: Path, lines: list[Any], answers: list[Any], message: str
) -> None:
    write(tmp_path, "simple_python", lines, answers)
    with pytest.raises(MalformedEntry) as caught:
        data.load("simple_python", root=tmp_path)
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(tmp_path))


def test_an_unknown_parameter_type_is_a_located_data_error(tmp_path: Path) -> None:
    odd = json.loads(json.dumps(question("simple_python_0")))
    odd["function"][0]["parameters"]["properties"]["a"]["type"] = "complex"
    write(tmp_path, "simple_python", [odd], [answer("simple_python_0")])
    with pytest.raises(MalformedEntry, match=r":1: simple_python_0: math\.add\.a: parameter type 'complex'"):
        data.load("simple_python", root=tmp_path)


def entries(sizes: dict[str, int]) -> list[data.BfclEntry]:
    return [
        data.BfclEntry(f"{name}_{i}", CATEGORIES[name], [[{"role": "user"}]], [], None, "f", i)
        for name, size in sizes.items()
        for i in range(size)
    ]


def test_sample_is_seeded_stratified_and_in_input_order() -> None:
    pool = entries({"simple_python": 400, "multiple": 200, "live_multiple": 1000, "live_relevance": 16})
    drawn = data.sample(pool, 40, seed=7)
    assert len(drawn) == 40
    assert drawn == data.sample(pool, 40, seed=7)
    assert drawn != data.sample(pool, 40, seed=8)
    assert drawn == sorted(drawn, key=pool.index)
    counts = Counter(e.category.name for e in drawn)
    # One each, then largest remainders of the 36 left over the spare sizes 399, 199, 999, 15.
    assert counts == {"live_multiple": 23, "simple_python": 10, "multiple": 6, "live_relevance": 1}


def test_sample_smaller_than_the_categories_takes_the_largest() -> None:
    pool = entries({"simple_python": 4, "multiple": 2, "live_multiple": 10})
    assert Counter(e.category.name for e in data.sample(pool, 2)) == {"live_multiple": 1, "simple_python": 1}
    assert data.sample(pool, 100) == pool


@needs_bfcl
def test_the_installed_package_loads_every_category() -> None:
    loaded = data.load("all")
    counts = Counter(e.category.name for e in loaded)
    assert set(counts) == set(CATEGORIES)
    assert counts["simple_python"] == 400 and counts["live_irrelevance"] == 884
    assert all(e.answers is not None for e in loaded if e.category.kind.has_answers)
