"""Bad input ends with a located message and exit 2, never a traceback nor a verdict on a model:
cassettes that are empty, truncated, foreign or not cassettes at all, non-text reports and journals,
a folder without scenarios, a journal given to `report`, and a stream without choices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SCENARIOS, load_report, run_on_stub
from oracle import oracle

from harness.cli.main import main
from harness.testing.stub import Fault, StubServer


def replay(cassettes: Path, tmp_path: Path) -> int:
    return main(["run", "--base-url", "http://127.0.0.1:9/v1", "--model", "stubby", "--scenarios",
                 str(SCENARIOS), "-k", "boiling_point", "--stream", "off", "--record-mode", "none",
                 "--cassette-dir", str(cassettes), "--report-dir", str(tmp_path / "reports")])


def recorded(tmp_path: Path) -> Path:
    """A good cassette of boiling_point, recorded from the stub."""
    cassettes = tmp_path / "cassettes"
    with StubServer(oracle()) as stub:
        assert main(["run", "--base-url", stub.base_url, "--model", "stubby", "--scenarios", str(SCENARIOS),
                     "-k", "boiling_point", "--stream", "off", "--record-mode", "all", "--cassette-dir",
                     str(cassettes), "--report-dir", str(tmp_path / "rec")]) == 0
    [path] = cassettes.glob("*/*/*.yaml")  # the run's, not the provider's _models.yaml
    return path


def foreign(text: str) -> str:
    """A cassette recorded for another model."""
    assert "stubby" in text
    return text.replace("stubby", "another")


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda text: "", ": empty cassette"),
        (lambda text: text[: len(text) // 2], ": "),
        (foreign, ": no recorded response matches turn 1's request"),
        (lambda text: "just: a mapping\n", ": not a vcrpy cassette"),
        (lambda text: "!!binary aGVsbG8=\n", ": not a vcrpy cassette"),
    ],
    ids=["empty", "truncated", "foreign", "not_a_cassette", "tagged"],
)
def test_a_damaged_cassette_is_exit_2_with_its_name_and_the_fix(damage, says: str, tmp_path: Path,
                                                               capsys) -> None:
    path = recorded(tmp_path)
    path.write_text(damage(path.read_text()))
    capsys.readouterr()
    assert replay(tmp_path / "cassettes", tmp_path) == 2
    captured = capsys.readouterr()
    assert f"{path}{says}" in captured.out + captured.err
    assert "re-record it with: toolcall-harness run" in captured.out + captured.err
    assert "--record-mode all" in captured.out + captured.err
    assert "Traceback" not in captured.err
    [run] = load_report(tmp_path / "reports")["runs"]
    assert run["outcome"] == "error" and run["error"]["kind"] == "config"


@pytest.mark.parametrize("command", ["report", "html", "diff"])
@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "caf\u00e9 {".encode("latin-1")])
def test_binary_or_non_utf8_reports_are_exit_2(command: str, content: bytes, tmp_path: Path, capsys) -> None:
    path = tmp_path / "r.json"
    path.write_bytes(content)
    args = {"report": ["report", str(path)], "html": ["report", str(path), "--format", "html"],
            "diff": ["diff", str(path), str(path)]}[command]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{path}: not a toolcall-harness report: not UTF-8 text" in err and "Traceback" not in err


def test_a_binary_journal_is_exit_2(tmp_path: Path, capsys) -> None:
    path = tmp_path / "run.jsonl"
    path.write_bytes(b"\xff\xfe\x00garbage\n\x00\x01")
    assert main(["run", "--resume", str(path)]) == 2
    assert f"{path}:1: not a toolcall-harness run journal" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["validate", "run", "list"])
def test_a_folder_without_scenarios_is_exit_2(command: str, tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a scenario")
    args = {"validate": ["validate", str(empty)], "list": ["list", str(empty)],
            "run": ["run", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--scenarios", str(empty)]}
    assert main(args[command]) == 2
    assert f"no scenario files (*.yaml, *.yml) in {empty}" in capsys.readouterr().err


def test_report_on_a_journal_says_how_to_resume(tmp_path: Path, capsys) -> None:
    with StubServer(oracle()) as stub:
        run_on_stub(stub, tmp_path, "-k", "boiling_point", "--stream", "off")
    [journal] = (tmp_path / "reports").glob("*.jsonl")
    journal.with_suffix(".json").unlink()  # as a killed run leaves it
    assert main(["report", str(journal)]) == 2
    err = capsys.readouterr().err
    assert f"{journal} is a run journal, not a report" in err
    assert f"toolcall-harness run --resume {journal}" in err


def test_a_stream_without_choices_is_invalid_body_not_a_verdict(tmp_path: Path, capsys) -> None:
    with StubServer(oracle(), faults=[Fault("empty_choices", every=True)]) as stub:
        assert run_on_stub(stub, tmp_path, "-k", "boiling_point", "--stream", "on") == 1
    [run] = load_report(tmp_path / "reports")["runs"]
    assert run["outcome"] == "error", run["findings"]
    assert run["error"]["kind"] == "invalid_body" and "no choices" in run["error"]["message"]
    assert json.loads(run["turns"][0]["response_text"].split("data: ")[1])["choices"] == []
