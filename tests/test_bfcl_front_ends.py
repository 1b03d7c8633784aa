"""BFCL through the seams: `--scenarios bfcl:...` and `--sample` in both front-ends, judged by `bfcl.ast`.

A stub model answers each sampled BFCL entry with its possible answer (the first accepted value of each
parameter), except one entry it answers with no arguments at all; irrelevance entries get text. The
verdicts come from the registered `bfcl.ast` check, the wire checks run beside it, and an HTTP error
stays an error. The messages for a missing bfcl-eval and an unknown category need no data.
"""

from __future__ import annotations

import importlib.util
import json
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import load_report

from harness.cli.main import main
from harness.packs.bfcl.convert import scenario_id, sent_name
from harness.testing.stub import Fault, StubServer

needs_bfcl = pytest.mark.skipif(importlib.util.find_spec("bfcl_eval") is None,
                                reason="bfcl-eval is not installed")
INSTALL = "the BFCL pack needs BFCL's data: install it with `pip install --no-deps bfcl-eval`"


def sampled(names: str, n: int, seed: int = 0) -> list[Any]:
    from harness.packs.bfcl import data

    return data.sample(data.load(names.split(",")), n, seed)


def bfcl_model(entries: list[Any], wrong: str | None = None) -> Any:
    """Answers each entry (found by its last user message) with its possible answer; `wrong` without
    arguments."""
    answers: dict[str, dict[str, Any]] = {}
    for entry in entries:
        question = [m for m in entry.question[0] if m["role"] == "user"][-1]["content"]
        if entry.answers is None:
            answers[question] = {"role": "assistant", "content": "None of these functions fits."}
            continue
        calls = []
        for expected in entry.answers:
            ((name, params),) = expected.items()
            arguments = {k: next(v for v in options if v != "") for k, options in params.items()
                         if any(v != "" for v in options)}
            calls.append({"name": sent_name(name), "arguments": {} if entry.id == wrong else arguments})
        answers[question] = {"role": "assistant", "content": None, "tool_calls": calls}

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        last = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
        return answers[last]

    return responder


def verdicts(report: dict[str, Any]) -> dict[tuple[str, str], tuple[str, list[str]]]:
    return {(r["key"]["scenario"], r["key"]["mode"]):
            (r["outcome"], sorted({f["check"] for f in r["findings"]})) for r in report["runs"]}


@pytest.fixture(scope="module")
def simple3() -> list[Any]:
    if importlib.util.find_spec("bfcl_eval") is None:
        pytest.skip("bfcl-eval is not installed")
    return sampled("simple_python", 3)


@pytest.fixture
def simple_stub(simple3: list[Any]) -> Iterator[StubServer]:
    with StubServer(bfcl_model(simple3, wrong=simple3[1].id)) as stub:
        yield stub


def _run(stub: StubServer, tmp_path: Path, *extra: str) -> int:
    return main(["run", "--base-url", stub.base_url, "--model", "stubby", "--report-dir", str(tmp_path / "r"),
                 *extra])


@needs_bfcl
def test_the_cli_runs_a_bfcl_sample_and_judges_it_with_bfcl_findings(
    simple3: list[Any], simple_stub: StubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(simple_stub, tmp_path, "--scenarios", "bfcl:simple_python", "--sample", "3") == 1
    out = capsys.readouterr().out
    ids = [scenario_id(e.id) for e in simple3]
    assert out.startswith("toolcall-harness: 6 run(s), 3 scenario(s) x 1 model(s); live")
    wrong = ids[1]
    assert verdicts(load_report(tmp_path / "r")) == {
        (ids[0], "nonstream"): ("pass", []), (ids[0], "stream"): ("pass", []),
        (wrong, "nonstream"): ("fail", ["bfcl.missing_param", "tool_call.arguments_schema"]),
        (wrong, "stream"): ("fail", ["bfcl.missing_param", "tool_call.arguments_schema"]),
        (ids[2], "nonstream"): ("pass", []), (ids[2], "stream"): ("pass", []),
    }
    assert (f"reproduce: toolcall-harness run --base-url {simple_stub.base_url} --model stubby -k {wrong} "
            "--stream off --scenarios bfcl:simple_python --sample 3") in out
    # One request per run: BFCL judges the first reply, no tool results are sent back.
    assert len(simple_stub.requests) == 6


@needs_bfcl
def test_selecting_bfcl_checks_keeps_the_verdict_and_excluding_them_drops_it(
    simple3: list[Any], simple_stub: StubServer, tmp_path: Path
) -> None:
    wrong = scenario_id(simple3[1].id)
    base = ["--scenarios", "bfcl:simple_python", "--sample", "3", "--stream", "off"]
    assert _run(simple_stub, tmp_path / "only", *base, "--checks", "bfcl.*") == 1
    only = verdicts(load_report(tmp_path / "only" / "r"))
    assert only[(wrong, "nonstream")] == ("fail", ["bfcl.missing_param"])
    assert _run(simple_stub, tmp_path / "none", *base, "--exclude-checks", "bfcl.*") == 1  # the wire fails
    assert verdicts(load_report(tmp_path / "none" / "r"))[(wrong, "nonstream")] == (
        "fail", ["tool_call.arguments_schema"])


@needs_bfcl
def test_keyword_selects_by_category_and_entry_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entries = sampled("simple_python,irrelevance", 4)
    with StubServer(bfcl_model(entries)) as stub:
        assert _run(stub, tmp_path / "k", "--scenarios", "bfcl:simple_python,irrelevance", "--sample", "4",
                    "--stream", "off", "-k", "irrelevance") == 0
        ran = {k[0] for k in verdicts(load_report(tmp_path / "k" / "r"))}
        assert ran == {scenario_id(e.id) for e in entries if e.category.name == "irrelevance"} and ran
        one = scenario_id(entries[0].id)
        assert _run(stub, tmp_path / "id", "--scenarios", "bfcl:simple_python,irrelevance", "--sample", "4",
                    "--stream", "off", "-k", one) == 0
        assert list(verdicts(load_report(tmp_path / "id" / "r"))) == [(one, "nonstream")]


@needs_bfcl
def test_an_http_error_stays_an_error(simple3: list[Any], tmp_path: Path) -> None:
    with StubServer(bfcl_model(simple3), faults=[Fault("status", status=500, every=True)]) as stub:
        assert _run(stub, tmp_path, "--scenarios", "bfcl:simple_python", "--sample", "1", "--stream", "off",
                    "--retries", "1") == 1
    [run] = load_report(tmp_path / "r")["runs"]
    assert run["outcome"] == "error" and run["error"]["status"] == 500 and run["findings"] == []


# ------------------------------------------------------------------------------------------------ pytest


@needs_bfcl
def test_pytest_collects_bfcl_items_under_their_source(pytester: pytest.Pytester) -> None:
    entries = sampled("simple_python,irrelevance", 4)
    wrong = next(e for e in entries if e.category.name == "simple_python")
    pytester.makeini("[pytest]\n")
    with StubServer(bfcl_model(entries, wrong=wrong.id)) as stub:
        (pytester.path / "providers.yaml").write_text(
            f"providers:\n  stub:\n    base_url: {stub.base_url}\n    models: [stubby]\n")
        args = ["--provider", "stub", "--providers-file", "providers.yaml", "--scenarios",
                "bfcl:simple_python,irrelevance", "--sample", "4", "--stream", "off",
                "-p", "no:cacheprovider"]
        result = pytester.runpytest(*args, "-v", "--report-dir", "first")
        result.assert_outcomes(passed=3, failed=1)
        label = f"{scenario_id(wrong.id)}[stub/stubby]"
        assert f"bfcl::{label} FAILED" in result.stdout.str()
        assert "  [bfcl.missing_param] (turn 1) " in result.stdout.str()
        # CI's untruncated short summary may repeat the failure text, hence the set.
        [line] = {line for line in result.outlines if line.startswith("  reproduce: ")}
        command = shlex.split(line.removeprefix("  reproduce: "))
        assert command == ["pytest", f"bfcl::{label}", "--provider", "stub", "--model", "stubby",
                           "--providers-file", "providers.yaml", "--scenarios",
                           "bfcl:simple_python,irrelevance", "--sample", "4"]
        pytester.runpytest(*command[1:], "-p", "no:cacheprovider").assert_outcomes(failed=1)
        pytester.runpytest(*args, "-k", "irrelevance").assert_outcomes(
            passed=sum(e.category.name == "irrelevance" for e in entries), deselected=4 - sum(
                e.category.name == "irrelevance" for e in entries))
    [path] = (pytester.path / "first").glob("*.json")
    report = json.loads(path.read_text())
    assert {r["key"]["scenario"] for r in report["runs"]} == {scenario_id(e.id) for e in entries}


@needs_bfcl
def test_pytest_runs_yaml_and_bfcl_scenarios_side_by_side_under_xdist(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    entries = sampled("irrelevance", 2)
    pytester.makeini("[pytest]\n")
    (pytester.path / "scenarios").mkdir()
    (pytester.path / "scenarios" / "one.yaml").write_text(
        "id: say_hi\ndescription: no tools\nfamily: skip_call\nmessages:\n  - {role: user, content: hi}\n")
    responder = bfcl_model(entries)

    def either(body: dict[str, Any]) -> dict[str, Any]:
        last = body["messages"][-1]["content"]
        return {"role": "assistant", "content": "hello"} if last == "hi" else responder(body)

    with StubServer(either) as stub:
        result = pytester.runpytest_subprocess(
            "--api-base-url", stub.base_url, "--model", "stubby", "--scenarios", "scenarios", "--scenarios",
            "bfcl:irrelevance", "--sample", "2", "--stream", "off", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


# -------------------------------------------------------------------------------------------- messages


@pytest.fixture
def no_bfcl(monkeypatch: pytest.MonkeyPatch) -> None:
    """bfcl-eval as if uninstalled: `find_spec` answers None for a module set to None in sys.modules."""
    monkeypatch.setitem(sys.modules, "bfcl_eval", None)


def test_a_missing_bfcl_eval_names_the_install_command(
    no_bfcl: None, good_stub: StubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(good_stub, tmp_path, "--scenarios", "bfcl:simple_python") == 2
    assert capsys.readouterr().err == f"error: --scenarios bfcl:simple_python: {INSTALL}\n"
    assert not good_stub.requests


def test_a_missing_bfcl_eval_under_pytest(
    no_bfcl: None, good_stub: StubServer, pytester: pytest.Pytester
) -> None:
    pytester.makeini("[pytest]\n")
    result = pytester.runpytest("--api-base-url", good_stub.base_url, "--model", "stubby", "--scenarios",
                                "bfcl:live", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --scenarios bfcl:live: {INSTALL}"])


UNKNOWN = ("--scenarios bfcl:live_simpel: unknown BFCL category 'live_simpel' — did you mean 'live_simple'? "
           "(categories: simple_python, multiple, parallel, parallel_multiple, irrelevance, live_simple, "
           "live_multiple, live_parallel, live_parallel_multiple, live_irrelevance, live_relevance; groups: "
           "all, single_turn, python, non_live, live, ast)")


def test_an_unknown_category_is_a_usage_error_with_the_closest_name(
    good_stub: StubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], pytester: pytest.Pytester
) -> None:
    assert _run(good_stub, tmp_path, "--scenarios", "bfcl:live_simpel") == 2
    assert capsys.readouterr().err == f"error: {UNKNOWN}\n"
    pytester.makeini("[pytest]\n")
    result = pytester.runpytest("--api-base-url", good_stub.base_url, "--model", "stubby", "--scenarios",
                                "bfcl:live_simpel", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {UNKNOWN}"])


def test_sample_needs_a_source_that_samples(
    good_stub: StubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from conftest import SCENARIOS

    assert _run(good_stub, tmp_path, "--scenarios", str(SCENARIOS), "--sample", "2") == 2
    assert capsys.readouterr().err == (
        "error: --sample applies to the scenario sources that sample (bfcl), and --scenarios names none of "
        "them; YAML scenarios always run in full\n")
    assert _run(good_stub, tmp_path, "--scenarios", "bfcl:all", "--sample", "0") == 2
    assert capsys.readouterr().err == "error: --sample must be at least 1, got 0\n"
