"""Versioned reads: a newer major is refused with one clear message, a newer minor reads with its new
fields ignored, older versions migrate, and whatever is written carries this harness's version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import harness
from harness.cli.main import main
from harness.core.errors import ConfigError
from harness.core.model import (
    REPORT_MINOR,
    REPORT_VERSION,
    Reply,
    Report,
    RunKey,
    RunResult,
    TargetInfo,
    Turn,
)
from harness.results.store import merge_reports, read_report, write_report


def sample() -> dict[str, Any]:
    turn = Turn(number=1, request={"messages": []}, status=200,
                reply=Reply(content="ok", usage={"prompt_tokens": 3, "completion_tokens": 1}))  # fmt: skip
    run = RunResult(
        key=RunKey(provider="p", model="m", scenario="s", mode="nonstream"),
        family="single_call",
        outcome="pass",
        turns=[turn],
    )
    return Report(targets=[TargetInfo(provider="p", base_url="u", models=["m"])], runs=[run]).model_dump(
        mode="json"
    )


def save(tmp_path: Path, data: dict[str, Any], name: str = "r.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_a_newer_major_version_is_one_clear_message_and_exit_2(tmp_path: Path, capsys) -> None:
    """Today: `version: 99` reads as if nothing were wrong."""
    data = sample() | {"version": 99, "minor": 4}
    path = save(tmp_path, data)
    with pytest.raises(ConfigError) as caught:
        read_report(path)
    assert str(caught.value) == (
        f"{path}: report version 99.4 is newer than this harness reads: toolcall-harness "
        f"{harness.__version__} reads report versions up to {REPORT_VERSION}.x; upgrade toolcall-harness to "
        "read it"
    )
    assert main(["report", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: report version 99.4 is newer" in err and "Traceback" not in err


def test_a_newer_major_is_refused_even_with_fields_this_harness_does_not_know(tmp_path: Path) -> None:
    data = sample() | {"version": REPORT_VERSION + 1, "minor": 0, "shiny": True}
    with pytest.raises(ConfigError, match=f"report version {REPORT_VERSION + 1}.0 is newer"):
        read_report(save(tmp_path, data))


def test_model_validation_refuses_a_newer_major_too() -> None:
    with pytest.raises(ValidationError, match="report version 3 is newer than this harness reads"):
        Report.model_validate(sample() | {"version": REPORT_VERSION + 1})


def test_a_newer_minor_version_reads_and_ignores_the_fields_it_added(tmp_path: Path) -> None:
    """Today: one unknown field anywhere makes the whole report unreadable."""
    data = sample() | {"minor": REPORT_MINOR + 1, "environment": {"ci": True}}
    data["runs"][0]["attempts"] = 3
    data["runs"][0]["turns"][0]["server_timing"] = {"queue_ms": 4}
    data["runs"][0]["turns"][0]["reply"]["reasoning"] = "…"
    data["targets"][0]["region"] = "eu"
    report = read_report(save(tmp_path, data))
    assert (report.version, report.minor) == (REPORT_VERSION, REPORT_MINOR + 1)
    [run] = report.runs
    assert run.outcome == "pass" and run.turns[0].reply is not None and run.turns[0].reply.content == "ok"
    assert "attempts" not in run.model_dump()


@pytest.mark.parametrize("minor", [0, REPORT_MINOR, None], ids=["older-minor", "same-minor", "no-minor"])
def test_an_unknown_field_in_a_report_of_a_known_minor_is_still_an_error(
    tmp_path: Path, minor: int | None
) -> None:
    """Only a newer minor explains a field this harness does not know; otherwise the file is damaged."""
    data = sample()
    if minor is None:
        del data["minor"]
    else:
        data["minor"] = minor
    data["runs"][0]["atempts"] = 3
    with pytest.raises(ConfigError, match=r"not a toolcall-harness report: runs\.0\.atempts: Extra inputs"):
        read_report(save(tmp_path, data))


def test_a_version_2_report_without_minor_is_2_0_and_still_reads(tmp_path: Path) -> None:
    data = sample()
    del data["minor"]
    report = read_report(save(tmp_path, data))
    assert (report.version, report.minor) == (2, 0) and report.runs[0].prompt_tokens == 3


def test_a_version_1_report_migrates(tmp_path: Path) -> None:
    data = sample() | {"version": 1}
    del data["minor"], data["cells"]
    for run in data["runs"]:
        del run["prompt_tokens"], run["completion_tokens"], run["cost_usd"]
    report = read_report(save(tmp_path, data))
    assert report.version == 1 and report.runs[0].prompt_tokens == 3 and report.runs[0].cost_usd is None


@pytest.mark.parametrize("version", ['"2"', "true", "2.0", "null"])
def test_a_version_that_is_not_an_integer_is_an_error(tmp_path: Path, version: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(sample()).replace(f'"version": {REPORT_VERSION}', f'"version": {version}', 1))
    with pytest.raises(ConfigError, match="not a toolcall-harness report: version:"):
        read_report(path)


def test_writing_stamps_this_harness_version(tmp_path: Path) -> None:
    data = sample() | {"version": 1, "minor": 0}
    old = read_report(save(tmp_path, data, "old.json"))
    written = json.loads(write_report(old, tmp_path / "out", "again").read_text())
    assert (written["version"], written["minor"]) == (REPORT_VERSION, REPORT_MINOR)
    merged, _ = merge_reports([old])
    assert (merged.version, merged.minor) == (REPORT_VERSION, REPORT_MINOR)


def test_a_report_that_is_not_utf8_is_one_message(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(ConfigError, match="not a toolcall-harness report: not UTF-8 text"):
        read_report(path)
