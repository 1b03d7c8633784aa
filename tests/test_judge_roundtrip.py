"""`judge` on the cassettes that `run` recorded reproduces the run's own wire verdict, turn by turn.

Each configuration of the local stub breaks the protocol its own way (or not at all). One real
`toolcall-harness run --record-mode all` records every scenario in both modes; one real
`toolcall-harness judge --format json` then re-judges the written cassette folder offline. For every
turn, the judge's findings must be exactly the run's wire findings for that turn (the ids in
`CHECKS`; the run's expectation findings are beyond what an exchange alone can tell), and the
assembled calls, finish_reason, error and outcome must agree. Each breaking configuration is
asserted to produce the findings it is about, so an empty list can never equal an empty list by
accident.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import load_report, run_on_stub
from oracle import SF, oracle

from harness.cli.main import main
from harness.conformance.checks import CHECKS
from harness.testing.stub import Fault, Responder, StubServer

WIRE = frozenset(CHECKS.ids())
CALL_FIELDS = ("id", "name", "arguments", "arguments_raw", "arguments_valid_json", "arguments_match_schema")


def looping() -> Responder:
    """A model stuck in a loop: the same call under the same id on every turn, never an answer.

    From turn 2 on the request's history holds that call and its result, so the verdict depends on
    the request as recorded: the id is reused (`tool_call.id_unique`) and the call repeats
    (`tool_call.repeated`).
    """
    stuck = {"role": "assistant", "content": None, "tool_calls": [{**SF, "id": "call_loop"}]}
    return lambda body: stuck


@dataclass(frozen=True)
class Config:
    """A stub setup, the wire checks each mode must report at least once, and the retries it causes."""

    breaks: frozenset[str] = frozenset()
    faults: tuple[Fault, ...] = ()
    responder: Any = None
    retries: int = 1
    keyword: str | None = None
    stream: str = "both"
    expect: dict[str, set[str]] = field(default_factory=dict)
    retried: int = 0


BOTH = ("nonstream", "stream")
CONFIGS: dict[str, Config] = {
    "clean": Config(expect={"nonstream": set(), "stream": set()}),
    "missing_type": Config(frozenset({"missing_type"}), expect=dict.fromkeys(BOTH, {"tool_call.type"})),
    "arguments_object": Config(
        frozenset({"arguments_object"}), expect=dict.fromkeys(BOTH, {"tool_call.arguments_string"})
    ),
    "duplicate_ids": Config(
        frozenset({"duplicate_ids"}), expect=dict.fromkeys(BOTH, {"tool_call.id_unique"})
    ),
    "repeat_header": Config(
        frozenset({"repeat_header"}), expect={"nonstream": set(), "stream": {"stream.header_repeated"}}
    ),
    "no_done": Config(frozenset({"no_done"}), expect={"nonstream": set(), "stream": {"stream.done"}}),
    "missing_id+no_index": Config(
        frozenset({"missing_id", "no_index"}),
        expect={"nonstream": {"tool_call.id"}, "stream": {"tool_call.id", "stream.index"}},
    ),
    "unknown_tool+invalid_json_args": Config(
        frozenset({"unknown_tool", "invalid_json_args"}),
        expect=dict.fromkeys(BOTH, {"tool_call.name", "tool_call.arguments_json"}),
    ),
    "wrong_finish_reason": Config(
        frozenset({"wrong_finish_reason"}), expect=dict.fromkeys(BOTH, {"finish_reason"})
    ),
    "no_finish_reason": Config(
        frozenset({"no_finish_reason"}),
        expect={"nonstream": {"finish_reason", "sdk.parse"}, "stream": {"stream.finish_reason"}},
    ),
    "unknown_finish_reason": Config(
        faults=(Fault("unknown_finish_reason", every=True),),
        expect=dict.fromkeys(BOTH, {"finish_reason", "sdk.parse"}),
    ),
    "cut_before_done": Config(
        faults=(Fault("cut_before_done", every=True),),
        expect={
            "nonstream": {"finish_reason", "sdk.parse"},
            "stream": {"stream.finish_reason", "stream.done"},
        },
    ),
    "tool_loop": Config(
        responder=looping(),
        keyword="weather_sf",
        expect=dict.fromkeys(BOTH, {"tool_call.id_unique", "tool_call.repeated"}),
    ),
    # The first request fails with a 503 and is retried: the failed attempt is a cassette interaction
    # of its own, which judge calls an error, ahead of the turn that the retry answered.
    "retried_503": Config(
        faults=(Fault("status", status=503, request=1),),
        retries=2,
        expect={"nonstream": set(), "stream": set()},
        retried=1,
    ),
}


def record(config: Config, tmp_path: Path) -> dict[str, Any]:
    cassettes = tmp_path / "cassettes"
    with StubServer(config.responder or oracle(), breaks=config.breaks, faults=list(config.faults)) as stub:
        run_on_stub(
            stub,
            tmp_path,
            "--retries",
            str(config.retries),
            "--retry-base-delay",
            "0.01",
            "--record-mode",
            "all",
            "--cassette-dir",
            str(cassettes),
            "--stream",
            config.stream,
            *(["-k", config.keyword] if config.keyword else []),
        )
    assert stub.errors == []
    return load_report(tmp_path / "reports")


def judge(folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[Path, list[dict[str, Any]]]]:
    """Verdicts by cassette file, in interaction order, from one `judge --format json` over the folder."""
    capsys.readouterr()
    code = main(["judge", "--format", "json", str(folder)])
    captured = capsys.readouterr()
    assert code in (0, 1), captured.err
    by_file: dict[Path, list[dict[str, Any]]] = {}
    for verdict in json.loads(captured.out):
        path, number = verdict["file"].rsplit("#", 1)
        verdicts = by_file.setdefault(Path(path).resolve(), [])
        assert int(number) == len(verdicts) + 1
        verdicts.append(verdict)
    return code, by_file


def wire_findings(findings: list[dict[str, Any]], turn: int | None = None) -> list[tuple[str, str, str]]:
    return sorted(
        (f["check"], f["severity"], f["message"])
        for f in findings
        if f["check"] in WIRE and (turn is None or f["turn"] == turn)
    )


def recorded_requests(path: Path) -> list[dict[str, Any]]:
    return [json.loads(i["request"]["body"]) for i in yaml.safe_load(path.read_text())["interactions"]]


def pair(
    run: dict[str, Any], verdicts: list[dict[str, Any]]
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Each turn with its interaction; an HTTP failure the run retried sits in between as an error."""
    remaining = list(verdicts)
    for turn in run["turns"]:
        for _ in turn["retries"]:
            retried = remaining.pop(0)
            assert retried["outcome"] == "error" and retried["findings"] == [], retried
        yield turn, remaining.pop(0)
    assert remaining == [], f"{run['cassette']}: interactions that no turn of the run accounts for"


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_judge_on_recorded_cassettes_matches_the_run(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = CONFIGS[name]
    report = record(config, tmp_path)
    code, by_file = judge(tmp_path / "cassettes", capsys)

    runs = report["runs"]
    assert {r["key"]["mode"] for r in runs} == set(BOTH) and len(runs) >= 2
    assert {r["provenance"] for r in runs} == {"recorded"}
    for mode, required in config.expect.items():
        found = {f[0] for r in runs if r["key"]["mode"] == mode for f in wire_findings(r["findings"])}
        assert required <= found, f"{name}/{mode}: the stub did not break what it should: {found}"
        if not required:
            assert found == set(), f"{name}/{mode}: a clean exchange drew wire findings: {found}"
    assert sum(len(t["retries"]) for r in runs for t in r["turns"]) == config.retried

    judged_files: set[Path] = set()
    compared = 0
    for run in runs:
        path = Path(run["cassette"]).resolve()
        judged_files.add(path)
        where = run["key"]["scenario"], run["key"]["mode"]
        assert path in by_file, f"{where}: judge saw no cassette at {path}"
        assert run["error"] is None, (where, run["error"])
        requests = iter(recorded_requests(path))
        for turn, verdict in pair(run, by_file[path]):
            for _ in turn["retries"]:
                next(requests)
            here = (*where, turn["number"])
            assert next(requests) == turn["request"], f"{here}: judge reads another request than the run sent"
            assert verdict["status"] == turn["status"], here
            expected = wire_findings(turn["findings"])
            assert expected == wire_findings(run["findings"], turn["number"]), here
            assert wire_findings(verdict["findings"]) == expected, here
            reply = turn["reply"]
            assert verdict["finish_reason"] == reply["finish_reason"], here
            assert [{k: c[k] for k in CALL_FIELDS} for c in verdict["tool_calls"]] == [
                {k: c[k] for k in CALL_FIELDS} for c in reply["tool_calls"]
            ], here
            violated = any(f[1] == "violation" for f in expected)
            assert verdict["outcome"] == ("nonconforming" if violated else "conforming"), here
            assert verdict["error"] is None, here
            compared += 1
    assert judged_files == set(by_file), "judge found cassettes that no run wrote"
    assert compared >= len(runs)
    every = [v for verdicts in by_file.values() for v in verdicts]
    assert code == (0 if all(v["outcome"] == "conforming" for v in every) else 1)


_CHUNK = {
    "id": "x",
    "object": "chat.completion.chunk",
    "created": 0,
    "model": "m",
    "choices": [{"index": 0, "delta": {"role": "assistant", "content": "100 C."}, "finish_reason": "stop"}],
}
_SSE = f"data: {json.dumps(_CHUNK)}\n\ndata: [DONE]\n\n"
_COMPLETION = {
    "id": "x",
    "object": "chat.completion",
    "created": 0,
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "100 C."}, "finish_reason": "stop"}],
}
FAILURES: dict[str, tuple[Fault, str, str]] = {
    "http_400": (Fault("status", status=400, every=True), "both", "bad_request"),
    "http_500": (Fault("status", status=500, every=True), "both", "server_error"),
    "html_page": (Fault("html", every=True), "both", "invalid_body"),
    # A stream answered to a request that did not ask for one: a client cannot parse it, so judge must
    # not read it as a stream because of its content type (it once did, and called it conforming).
    "sse_to_a_plain_request": (
        Fault("status", status=200, body=_SSE, headers={"Content-Type": "text/event-stream"}, every=True),
        "off",
        "invalid_body",
    ),
    "json_to_a_stream_request": (
        Fault("status", status=200, body=_COMPLETION, every=True),
        "on",
        "invalid_body",
    ),
}


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_judge_on_a_failed_run_gives_the_same_error(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fault, stream, kind = FAILURES[name]
    runs = record(Config(faults=(fault,), keyword="boiling_point", stream=stream), tmp_path)["runs"]
    code, by_file = judge(tmp_path / "cassettes", capsys)
    assert code == 1 and len(runs) == (2 if stream == "both" else 1)
    for run in runs:
        [turn] = run["turns"]
        [verdict] = by_file[Path(run["cassette"]).resolve()]
        assert run["outcome"] == "error" and run["error"]["kind"] == kind
        assert turn["status"] == verdict["status"]
        assert verdict["outcome"] == "error" and verdict["findings"] == [] and verdict["tool_calls"] == []
        assert verdict["error"] == {"kind": kind, "message": run["error"]["message"]}
