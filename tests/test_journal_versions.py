"""The journal stores the typed run options with a version: old journals migrate, newer ones are refused
or read leniently, and an option the harness does not know is never silently replaced by a default."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import SCENARIOS, load_report
from oracle import oracle

from harness.app.options import RunOptions
from harness.cli.main import main
from harness.results import journal
from harness.testing.stub import StubServer


@pytest.fixture
def stub() -> Any:
    with StubServer(oracle()) as server:
        yield server


@pytest.fixture
def half_done(stub: StubServer, tmp_path: Path) -> Path:
    """A journal of `-k weather_sf` (two runs) whose second run is missing, as if killed."""
    assert main(["run", "--base-url", stub.base_url, "--model", "stubby", "--scenarios", str(SCENARIOS),
                 "--report-dir", str(tmp_path), "-k", "weather_sf", "--concurrency", "1"]) == 0
    [path] = tmp_path.glob("*.jsonl")
    for report in tmp_path.glob("*.json"):
        report.unlink()
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2]))
    return path


def rewrite_header(path: Path, change: Any) -> None:
    lines = path.read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    change(header)
    path.write_text(json.dumps(header) + "\n" + "".join(lines[1:]))


def test_the_header_holds_typed_options_and_a_version(half_done: Path) -> None:
    header = json.loads(half_done.read_text().splitlines()[0])
    assert header["journal"] == "3.0"
    assert header["options"]["keyword"] == "weather_sf" and header["options"]["models"] == ["stubby"]
    assert "model" not in header["options"]  # the argparse name of version 1


def test_a_version_1_journal_still_resumes(half_done: Path, stub: StubServer, capsys: Any) -> None:
    def as_version_1(header: dict[str, Any]) -> None:
        options = header["options"]
        header["journal"] = 1
        header["options"] = {  # what `vars(args)` held, defaults included
            "provider": [], "model": options["models"], "base_url": options["base_url"], "api_key_env": None,
            "providers_file": None, "scenarios": options["scenarios"], "keyword": "weather_sf",
            "stream": "both", "trials": 1, "record_mode": None, "cassette_dir": "cassettes",
            "report_dir": options["report_dir"], "concurrency": 1, "timeout": 120.0, "retries": 3,
            "retry_base_delay": 1.0, "retry_max_delay": 30.0, "deadline": None, "format": "plain",
        }

    rewrite_header(half_done, as_version_1)
    before = len(stub.requests)
    assert main(["run", "--resume", str(half_done), "--base-url", stub.base_url]) == 0
    assert "1 done, 1 to run" in capsys.readouterr().out
    assert len(stub.requests) - before == 2  # the stream run's two turns: the plan came from the journal
    assert [r["key"]["scenario"] for r in load_report(half_done.parent)["runs"]] == ["weather_sf"] * 2


def test_an_option_this_version_does_not_know_is_refused_not_defaulted(half_done: Path, capsys: Any) -> None:
    """A renamed flag used to resume silently with its default: `kw` ignored, every scenario planned."""

    def renamed(header: dict[str, Any]) -> None:
        header["options"]["kw"] = header["options"].pop("keyword")

    rewrite_header(half_done, renamed)
    assert main(["run", "--resume", str(half_done)]) == 2
    assert capsys.readouterr().err == (
        f"error: {half_done}:1: bad run journal header: options.kw: Extra inputs are not permitted\n")


def test_a_newer_major_version_is_refused_in_one_sentence(half_done: Path, capsys: Any) -> None:
    rewrite_header(half_done, lambda header: header.update(journal="4.0", future={"x": 1}))
    assert main(["run", "--resume", str(half_done)]) == 2
    assert capsys.readouterr().err == (
        f"error: {half_done}:1: journal version 4.0 was written by a newer toolcall-harness; this one "
        "(3.0) cannot resume it: upgrade toolcall-harness\n")


def test_a_version_2_journal_written_before_shards_still_resumes(half_done: Path, stub: StubServer,
                                                                 capsys: Any) -> None:
    """3.0 only added `options.shard` (a major version so that older harnesses refuse shard journals
    rather than resume the whole plan); a 2.1 journal has no shard and resumes as the whole run."""

    def as_version_2(header: dict[str, Any]) -> None:
        header["journal"] = "2.1"
        del header["options"]["shard"]

    rewrite_header(half_done, as_version_2)
    assert main(["run", "--resume", str(half_done), "--base-url", stub.base_url]) == 0
    assert "1 done, 1 to run" in capsys.readouterr().out
    assert "shard" not in load_report(half_done.parent)


def test_a_newer_minor_version_is_read_without_its_new_fields(half_done: Path, stub: StubServer,
                                                              capsys: Any) -> None:
    def newer(header: dict[str, Any]) -> None:
        header.update(journal="3.7", labels={"team": "x"})
        header["options"]["sharding"] = "1/2"

    rewrite_header(half_done, newer)
    lines = half_done.read_text().splitlines()
    result = json.loads(lines[1])
    result["judged_by"] = "a newer harness"
    half_done.write_text(lines[0] + "\n" + json.dumps(result) + "\n")
    assert main(["run", "--resume", str(half_done), "--base-url", stub.base_url]) == 0
    captured = capsys.readouterr()
    assert "1 done, 1 to run" in captured.out
    assert (f"note: {half_done}: journal version 3.7 is newer than this toolcall-harness's 3.0: fields it "
            "does not know are ignored") in captured.err
    read = journal.read(half_done, RunOptions)
    assert read.header.journal == (3, 7) and len(read.results) == 2


def test_a_journal_without_a_version_is_not_a_journal(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"journal": "two"}\n')
    assert main(["run", "--resume", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"error: {path}:1: not a toolcall-harness run journal: journal: not a version: 'two'\n")


def test_resume_accepts_the_plan_options_it_already_has(half_done: Path, capsys: Any) -> None:
    """`toolcall-harness run --provider groq --resume ...` (README): repeating the plan is not changing it."""
    options = json.loads(half_done.read_text().splitlines()[0])["options"]
    assert main(["run", "--resume", str(half_done), "--base-url", options["base_url"], "--model", "stubby",
                 "-k", "weather_sf"]) == 0
    assert "1 done, 1 to run" in capsys.readouterr().out
