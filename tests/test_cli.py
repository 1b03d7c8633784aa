"""The real CLI against the local stub server: verdicts, reports, exit codes and located errors."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import yaml
from conftest import SCENARIOS, load_report, run_on_stub
from oracle import oracle

from harness.cli.main import main
from harness.testing.stub import Fault, StubServer

BAD = Path(__file__).parent / "data" / "bad"


def run_cli(stub: StubServer, tmp_path: Path, *extra: str) -> int:
    return run_on_stub(stub, tmp_path, "--retries", "1", *extra)


def test_conformant_server_passes_everything(good_stub: StubServer, tmp_path: Path, capsys) -> None:
    assert run_cli(good_stub, tmp_path) == 0
    out = capsys.readouterr().out
    assert "adhoc/stubby" in out and "✓ 2/2" in out and "8 pass" in out
    report = load_report(tmp_path / "reports")
    assert report["version"] == 2 and report["openai_version"]
    assert [(r["key"]["scenario"], r["key"]["mode"]) for r in report["runs"]] == [
        (s, m)
        for s in ("weather_sf", "two_cities", "boiling_point", "choice_none")
        for m in ("nonstream", "stream")
    ]
    assert {r["outcome"] for r in report["runs"]} == {"pass"}
    weather = report["runs"][0]
    assert [t["number"] for t in weather["turns"]] == [1, 2]
    tool_msg = weather["turns"][1]["request"]["messages"][-1]
    assert tool_msg["role"] == "tool"
    assert tool_msg["tool_call_id"] == weather["turns"][0]["reply"]["tool_calls"][0]["id"]
    stream_turn = report["runs"][1]["turns"][0]
    assert stream_turn["response_text"].rstrip().endswith("data: [DONE]")
    assert stream_turn["ttft_s"] is not None and stream_turn["latency_s"] is not None


@pytest.mark.parametrize(
    ("brk", "check"),
    [
        ("duplicate_ids", "tool_call.id_unique"),
        ("arguments_object", "tool_call.arguments_string"),
        ("missing_type", "tool_call.type"),
        ("missing_id", "tool_call.id"),
        ("wrong_finish_reason", "finish_reason"),
        ("unknown_tool", "tool_call.name"),
        ("invalid_json_args", "tool_call.arguments_json"),
    ],
)
def test_broken_rules_are_reported_as_failures(brk: str, check: str, tmp_path: Path) -> None:
    with StubServer(oracle(), breaks={brk}) as stub:
        assert run_cli(stub, tmp_path, "-k", "two_cities", "--stream", "off") == 1
    [run] = load_report(tmp_path / "reports")["runs"]
    assert run["outcome"] == "fail"
    assert check in {f["check"] for f in run["findings"] if f["severity"] == "violation"}


@pytest.mark.parametrize(
    ("brk", "check"),
    [
        ("no_index", "stream.index"),
        ("repeat_header", "stream.header_repeated"),
        ("no_finish_reason", "stream.finish_reason"),
    ],
)
def test_broken_stream_rules(brk: str, check: str, tmp_path: Path) -> None:
    with StubServer(oracle(), breaks={brk}) as stub:
        assert run_cli(stub, tmp_path, "-k", "weather_sf", "--stream", "on") == 1
    [run] = load_report(tmp_path / "reports")["runs"]
    assert check in {f["check"] for f in run["findings"]}


def test_missing_done_is_only_a_warning(tmp_path: Path) -> None:
    with StubServer(oracle(), breaks={"no_done"}) as stub:
        assert run_cli(stub, tmp_path, "-k", "weather_sf", "--stream", "on") == 0
    [run] = load_report(tmp_path / "reports")["runs"]
    assert run["outcome"] == "pass"
    assert [f["severity"] for f in run["findings"] if f["check"] == "stream.done"] == ["warning", "warning"]


@pytest.mark.parametrize(
    ("status", "kind"), [(400, "bad_request"), (429, "rate_limited"), (500, "server_error")]
)
def test_http_errors_are_errors_not_failures(status: int, kind: str, tmp_path: Path, capsys) -> None:
    with StubServer(oracle(), faults=[Fault("status", status=status, every=True)]) as stub:
        assert run_cli(stub, tmp_path, "-k", "weather_sf", "--stream", "off") == 1
    [run] = load_report(tmp_path / "reports")["runs"]
    assert run["outcome"] == "error"
    assert run["error"]["kind"] == kind and run["error"]["status"] == status
    assert "err" in capsys.readouterr().out


def test_record_then_replay_offline_gives_same_verdicts(tmp_path: Path, monkeypatch) -> None:
    cassettes = tmp_path / "cassettes"
    with StubServer(oracle(), breaks={"duplicate_ids"}) as stub:
        assert run_cli(stub, tmp_path, "--record-mode", "all", "--cassette-dir", str(cassettes)) == 1
        base_url = stub.base_url
    recorded = load_report(tmp_path / "reports")
    assert {r["provenance"] for r in recorded["runs"]} == {"recorded"}
    files = sorted(p.relative_to(cassettes).as_posix() for p in cassettes.rglob("*.yaml"))
    assert "adhoc/stubby/two_cities-stream.yaml" in files and len(files) == 9
    assert "adhoc/_models.yaml" in files  # the provider's GET /models, recorded once per run
    text = (cassettes / "adhoc/stubby/weather_sf.yaml").read_text()
    assert "!!" not in text  # bodies are stored as readable text, not binary or tagged objects
    first = yaml.safe_load(text)["interactions"][0]
    assert (
        "San Francisco"
        in json.loads(first["response"]["body"]["string"])["choices"][0]["message"]["tool_calls"][0][
            "function"
        ]["arguments"]
    )

    def no_network(*args, **kwargs):
        raise AssertionError(f"replay opened a network connection: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    for p in (tmp_path / "reports").glob("*.json"):
        p.unlink()
    assert (
        main(
            [
                "run",
                "--base-url",
                base_url,
                "--model",
                "stubby",
                "--scenarios",
                str(SCENARIOS),
                "--report-dir",
                str(tmp_path / "reports"),
                "--record-mode",
                "none",
                "--cassette-dir",
                str(cassettes),
            ]
        )
        == 1
    )
    replayed = load_report(tmp_path / "reports")
    assert {r["provenance"] for r in replayed["runs"]} == {"replayed"}
    assert [
        (r["key"], r["outcome"], sorted(f["check"] for f in r["findings"])) for r in replayed["runs"]
    ] == [(r["key"], r["outcome"], sorted(f["check"] for f in r["findings"])) for r in recorded["runs"]]
    assert all(t["latency_s"] is None for r in replayed["runs"] for t in r["turns"])


def test_missing_key_is_one_clear_line(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("GENERALCOMPUTE_API_KEY", raising=False)
    code = main(
        [
            "run",
            "--provider",
            "generalcompute",
            "--scenarios",
            str(SCENARIOS),
            "--cassette-dir",
            str(tmp_path / "none"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "GENERALCOMPUTE_API_KEY is not set" in err[0]


def test_unknown_provider_suggests(capsys) -> None:
    assert main(["run", "--provider", "generalcompte"]) == 2
    assert "did you mean 'generalcompute'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "path", sorted(p for p in BAD.glob("*.yaml") if p.name != "tools.yaml"), ids=lambda p: p.stem
)
def test_bad_scenario_golden_messages(path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(Path(__file__).parents[1])
    assert main(["validate", str(path.relative_to(Path(__file__).parents[1]))]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[:-1] == path.with_suffix(".expected").read_text().splitlines()


def test_list_and_schema(capsys) -> None:
    assert main(["list", str(SCENARIOS), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == ["weather_sf", "two_cities", "boiling_point", "choice_none"]
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "Scenario" in schema["$defs"]


def test_report_rerenders_offline(good_stub: StubServer, tmp_path: Path, capsys) -> None:
    run_cli(good_stub, tmp_path, "-k", "weather_sf")
    [path] = (tmp_path / "reports").glob("*.json")
    capsys.readouterr()
    assert main(["report", str(path), "--format", "github"]) == 0
    assert "| adhoc/stubby" in capsys.readouterr().out
    path.write_text("{not json")
    assert main(["report", str(path)]) == 2


def test_re_recording_replaces_the_whole_cassette(tmp_path: Path) -> None:
    """vcrpy's "all" keeps old interactions whose request changed; a run's re-recording must not."""
    cassettes = tmp_path / "cassettes"
    cassette = cassettes / "adhoc/stubby/weather_sf.yaml"
    record = ("-k", "weather_sf", "--stream", "off", "--record-mode", "all", "--cassette-dir", str(cassettes))
    with StubServer(oracle()) as stub:  # call ids are numbered per server, so the second request differs
        assert run_cli(stub, tmp_path, *record) == 0
    with StubServer(oracle()) as stub:
        stub.requests.append({})  # shift the numbering: new ids, so a new turn-2 request body
        assert run_cli(stub, tmp_path, *record) == 0
    assert len(yaml.safe_load(cassette.read_text())["interactions"]) == 2
    with StubServer(oracle(), faults=[Fault("status", status=400, every=True)]) as stub:
        run_cli(stub, tmp_path, *record)
    assert yaml.safe_load(cassette.read_text())["interactions"][0]["response"]["status"]["code"] == 400
    with StubServer(oracle(), faults=[Fault("reset_midstream", every=True)]) as stub:
        run_cli(stub, tmp_path, *record, "--retry-base-delay", "0")  # no answer at all: nothing to keep
    assert not cassette.exists()
