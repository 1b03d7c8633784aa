"""`toolcall-harness judge --clients`: per-client verdicts per exchange, in text and JSON, versions shown.

The library-level verdicts on the 22 real files are pinned by `test_clients_real.py`; here the command
prints them: the same table, read back from the command's JSON and its text, and the summary exactly.
The Node clients need `toolcall-harness clients install`; without it these tests skip and say so (CI
installs them first). `python-openai` needs nothing, so the cassette test always runs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import run_on_stub
from oracle import oracle
from test_clients_real import CLIENTS, REAL, VERDICTS

from harness.app.judge import load
from harness.cli.main import main
from harness.clients import ClientUnavailable, installer
from harness.testing.stub import StubServer

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = [
    "22 exchange(s): 19 conforming, 1 nonconforming, 2 error",
    "clients: python-openai ✓ 22/22, node-openai ✓ 22/22, node-ai-sdk ✓ 22/22",
    "  python-openai: 19 same, 2 raised, 1 repairs",
    "  node-openai: 19 same, 2 raised, 1 repairs",
    "  node-ai-sdk: 19 same, 2 raised, 1 repairs",
]


def needs_node_clients() -> None:
    try:
        installer.node_executable()
        installer.require_installed()
    except ClientUnavailable as exc:
        pytest.skip(f"Node clients unavailable: {exc}")


def judge(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["judge", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def real_files(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`../shared/real-responses/*.json` as the shell expands it from the repository root."""
    if not REAL.is_dir():
        pytest.skip(f"real responses not found at {REAL}")
    needs_node_clients()
    monkeypatch.chdir(ROOT)
    return sorted(str(Path("..") / p.relative_to(ROOT.parent)) if p.is_relative_to(ROOT.parent) else str(p)
                  for p in REAL.glob("*.json"))


def test_the_command_prints_every_clients_verdict_on_the_22_real_files(
        real_files: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = judge(capsys, "--clients", ",".join(CLIENTS), *real_files)
    assert (code, err) == (1, "")  # the two HTTP errors and Mistral's missing type are not conforming
    lines = out.splitlines()
    header = (r"clients: python-openai = openai \(Python\) \S+; node-openai = openai \(npm\) 6\.49\.0; "
              r"node-ai-sdk = .*ai 6\.0\.326, @ai-sdk/openai-compatible 2\.0\.92")
    assert re.fullmatch(header, lines[0]), lines[0]
    assert lines[-len(SUMMARY):] == SUMMARY
    printed: dict[str, tuple[str, ...]] = {}
    for block in out.split("\n\n")[1:-1]:
        name = Path(block.splitlines()[0]).name
        printed[name] = tuple(re.findall(r"^  client (\S+) +(\S+)", block, re.M)[i][1].lower()
                              for i in range(len(CLIENTS)))
    assert printed == VERDICTS


def test_the_json_holds_each_clients_check_with_its_version(
        real_files: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = judge(capsys, "--format", "json", "--clients", ",".join(CLIENTS), *real_files)
    assert code == 1
    verdicts = json.loads(out)
    assert {Path(v["file"]).name: tuple(c["verdict"] for c in v["clients"]) for v in verdicts} == VERDICTS
    assert all([c["client"] for c in v["clients"]] == list(CLIENTS) for v in verdicts)
    mistral = next(v for v in verdicts if "mistral" in v["file"])
    node = mistral["clients"][1]
    assert node["version"] == "6.49.0"
    assert node["findings"] == [{
        "check": "client.node-openai.repairs", "severity": "warning",
        "message": "node-openai hid the wire's violations and surfaced usable calls: read past "
                   "tool_call.type"}]
    assert node["result"]["tool_calls"][0]["name"] == "weather"


def test_cassettes_are_replayed_to_the_clients_with_their_recorded_headers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A stream that re-sends the call's header makes python-openai concatenate names: a mismatch."""
    cassettes = tmp_path / "cassettes"
    with StubServer(oracle(), breaks={"repeat_header"}) as stub:
        run_on_stub(stub, tmp_path, "--record-mode", "all", "--cassette-dir", str(cassettes),
                    "--stream", "on", "-k", "weather_sf")
    capsys.readouterr()
    code, out, err = judge(capsys, "--format", "json", "--clients", "python-openai", str(cassettes))
    assert (code, err) == (1, "")
    [first, *_] = json.loads(out)
    [check] = first["clients"]
    assert check["verdict"] == "mismatch"
    assert [f["check"] for f in check["findings"]] == ["client.python-openai.mismatch"]
    assert check["result"]["tool_calls"][0]["name"].startswith("get_weatherget_weather")
    [cassette] = sorted(cassettes.glob("*/*/*.yaml"))
    assert load(cassette)[0].headers["content-type"].startswith("text/event-stream")  # replayed as recorded


def test_an_unknown_client_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = judge(capsys, "--clients", "node-opnai", str(ROOT / "README.md"))
    assert (code, out) == (2, "")
    assert err == ("judge: --clients: unknown client 'node-opnai' — did you mean 'node-openai'? "
                   "(known: node-ai-sdk, node-openai, python-openai)\n")


def test_without_the_node_packages_judge_names_the_install_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(installer.ENV_ROOT, str(tmp_path / "nowhere"))
    exchange = next(iter(sorted(REAL.glob("*.json"))), None) if REAL.is_dir() else None
    if exchange is None:
        pytest.skip("no exchange file to judge")
    code, out, err = judge(capsys, "--clients", "python-openai,node-openai", str(exchange))
    assert (code, out) == (2, "")
    assert err.startswith("judge: ") and "`toolcall-harness clients install`" in err, err
