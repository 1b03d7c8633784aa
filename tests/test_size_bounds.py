"""Inputs are bounded in size: files are read with a limit, YAML aliases cannot expand without bound,
and a response body over the cap is an `error` of kind `too_large` with its first bytes kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SCENARIOS, load_report, run_on_stub

from harness.cli.main import main
from harness.core.limits import EVIDENCE_BYTES
from harness.testing.stub import StubServer, scripted

BOMB = """\
id: bomb
description: 576 bytes that expand to 9^8 strings when the request body is built
family: skip_call
tools: [get_weather]
messages: [{role: user, content: hi}]
options:
  extra_body:
    a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]
    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
    f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
    g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
    h: [*g, *g, *g, *g, *g, *g, *g, *g, *g]
"""


def test_an_alias_bomb_is_refused_with_its_place(tmp_path: Path, capsys) -> None:
    (tmp_path / "tools.yaml").write_text((SCENARIOS / "tools.yaml").read_text())
    scenario = tmp_path / "bomb.yaml"
    scenario.write_text(BOMB)
    assert main(["validate", str(scenario)]) == 2
    err = capsys.readouterr().err
    assert f"{scenario}:" in err and "YAML aliases expand to more than" in err
    with StubServer() as stub:
        assert main(["run", "--base-url", stub.base_url, "--model", "m", "--scenarios", str(scenario)]) == 2
        assert stub.requests == []


def test_judge_refuses_an_alias_bomb_in_a_cassette(tmp_path: Path, capsys) -> None:
    cassette = tmp_path / "bomb.yaml"
    cassette.write_text(BOMB.replace("options:\n  extra_body:\n", "interactions:\n  - x:\n"))
    assert main(["judge", str(cassette)]) == 2
    assert "YAML aliases expand to more than" in capsys.readouterr().err


def test_a_recursive_alias_is_refused(tmp_path: Path, capsys) -> None:
    scenario = tmp_path / "loop.yaml"
    scenario.write_text("id: loop\nfamily: single_call\nmessages: &m\n  - *m\n")
    assert main(["validate", str(scenario)]) == 2
    assert "YAML aliases expand to more than" in capsys.readouterr().err


def test_ordinary_aliases_still_work(tmp_path: Path, capsys) -> None:
    (tmp_path / "tools.yaml").write_text((SCENARIOS / "tools.yaml").read_text())
    scenario = tmp_path / "alias.yaml"
    scenario.write_text(
        "scenarios:\n  - id: one\n    description: d\n    family: skip_call\n    tools: &t [get_weather]\n"
        "    messages: [{role: user, content: hi}]\n"
        "  - id: two\n    description: d\n    family: skip_call\n    tools: *t\n"
        "    messages: [{role: user, content: hi}]\n")
    assert main(["validate", str(tmp_path)]) == 0


@pytest.mark.parametrize("name", ["scenario.yaml", "providers.yaml"])
def test_an_oversized_input_file_is_refused(name: str, tmp_path: Path, capsys) -> None:
    big = tmp_path / name
    big.write_text("# padding\n" * 300_000)  # 3 MB
    if name == "scenario.yaml":
        assert main(["validate", str(big)]) == 2
    else:
        assert main(["models", "--provider", "local", "--providers-file", str(big)]) == 2
    err = capsys.readouterr().err
    assert f"{big}" in err and "2.9 MB, more than the 2 MB limit" in err


def test_an_oversized_report_is_refused(tmp_path: Path, capsys, monkeypatch) -> None:
    import harness.core.limits as limits

    monkeypatch.setitem(limits.LIMITS, "reports", 1000)
    report = tmp_path / "r.json"
    report.write_text("{" + " " * 2000 + "}")
    assert main(["report", str(report)]) == 2
    assert "more than the 1000 B limit for reports" in capsys.readouterr().err


@pytest.mark.parametrize("stream", ["on", "off"])
def test_a_response_over_the_cap_is_too_large_and_stored_once_in_part(
    stream: str, tmp_path: Path, capsys
) -> None:
    huge = "y" * 3_000_000
    with StubServer(scripted(huge)) as stub:
        code = run_on_stub(stub, tmp_path, "-k", "boiling_point", "--stream", stream,
                           "--max-response-bytes", "1000000")
    assert code == 1
    [run] = load_report(tmp_path / "reports")["runs"]
    assert run["error"]["kind"] == "too_large"
    assert "more than the 1000000-byte cap (--max-response-bytes)" in run["error"]["message"]
    kept = run["turns"][0]["response_text"]
    assert 0 < len(kept.encode()) <= EVIDENCE_BYTES and "yyyy" in kept
    for saved in (tmp_path / "reports").iterdir():
        assert saved.stat().st_size < 4 * EVIDENCE_BYTES, saved


def test_a_response_under_the_cap_is_judged(tmp_path: Path, capsys) -> None:
    with StubServer(scripted("100 degrees " + "z" * 50_000)) as stub:
        code = run_on_stub(stub, tmp_path, "-k", "boiling_point", "--stream", "off",
                           "--max-response-bytes", "1000000")
    assert code == 0
