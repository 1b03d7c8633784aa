"""Network and gateway failures injected by the stub, through the real CLI.

Every fault ends as the outcome a user can act on: a transient one passes after a recorded retry, a
persistent one is an `error` of its kind (never a model failure), a broken stream keeps the bytes that
did arrive, and the run always finishes with its full table and every run in the report.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from conftest import SCENARIOS, load_report, run_on_stub
from oracle import oracle

from harness.cli.main import main
from harness.testing.stub import Fault, StubServer

FAST = ["--retry-base-delay", "0.01", "--retry-max-delay", "0.05"]


def run_cli(stub: StubServer, tmp_path: Path, *extra: str) -> int:
    return run_on_stub(stub, tmp_path, *FAST, *extra)


def complete(tmp_path: Path, capsys: pytest.CaptureFixture[str], planned: int) -> dict[str, Any]:
    """The report, after asserting the run finished properly: table printed, every planned run present."""
    out = capsys.readouterr().out
    assert "provider/model" in out and "adhoc/stubby" in out and "report:" in out
    report = load_report(tmp_path / "reports")
    assert len(report["runs"]) == planned
    return report


def only_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    [run] = complete(tmp_path, capsys, 1)["runs"]
    return run


# --------------------------------------------------------------------------------- retried and passed


def test_429_with_retry_after_is_honoured_capped_and_recorded(tmp_path: Path, capsys) -> None:
    fault = Fault("status", status=429, headers={"Retry-After": "30"}, request=1)
    with StubServer(oracle(), faults=[fault]) as stub:
        started = time.monotonic()
        assert run_cli(stub, tmp_path, "-k", "weather_sf", "--stream", "off") == 0
        assert time.monotonic() - started < 5  # the 30 s asked for were capped by --retry-max-delay
        assert len(stub.requests) == 3  # the refused request, its retry, the second turn
    run = only_run(tmp_path, capsys)
    assert run["outcome"] == "pass"
    [note] = run["turns"][0]["retries"]
    assert note.startswith("try 1: rate_limited (HTTP 429, stub fault); Retry-After 30s capped at 0.05s")
    assert run["turns"][1]["retries"] == []


def test_transient_503_passes_after_retries(tmp_path: Path, capsys) -> None:
    faults = [Fault("status", status=503), Fault("status", status=503)]
    with StubServer(oracle(), faults=faults) as stub:
        assert run_cli(stub, tmp_path, "-k", "weather_sf", "--stream", "on") == 0
        assert len(stub.requests) == 4
    run = only_run(tmp_path, capsys)
    assert run["outcome"] == "pass"
    assert [n.split(";")[0] for n in run["turns"][0]["retries"]] == [
        "try 1: server_error (HTTP 503, stub fault)",
        "try 2: server_error (HTTP 503, stub fault)",
    ]


def test_transient_read_timeout_passes_after_a_retry(tmp_path: Path, capsys) -> None:
    with StubServer(oracle(), faults=[Fault("timeout", seconds=5, request=1)]) as stub:
        assert run_cli(stub, tmp_path, "-k", "boiling_point", "--stream", "off", "--timeout", "0.3") == 0
    run = only_run(tmp_path, capsys)
    assert run["outcome"] == "pass"
    assert run["turns"][0]["retries"][0].startswith(
        "try 1: timeout (the request passed its time bound of 0.3s")


# ------------------------------------------------------------------------------ errors, not failures


def test_persistent_500_is_a_server_error_after_all_tries(tmp_path: Path, capsys) -> None:
    with StubServer(oracle(), faults=[Fault("status", status=500, every=True)]) as stub:
        assert run_cli(stub, tmp_path, "-k", "weather_sf", "--stream", "off", "--retries", "3") == 1
        assert len(stub.requests) == 3
    run = only_run(tmp_path, capsys)
    assert run["outcome"] == "error"
    assert run["error"] == {"kind": "server_error", "message": "stub fault", "status": 500}
    assert len(run["turns"][0]["retries"]) == 2
    assert run["findings"] == []  # an infrastructure error says nothing about the model


def test_persistent_read_timeout_is_a_timeout_error(tmp_path: Path, capsys) -> None:
    with StubServer(oracle(), faults=[Fault("timeout", seconds=5, every=True)]) as stub:
        started = time.monotonic()
        assert (
            run_cli(
                stub, tmp_path, "-k", "weather_sf", "--stream", "on", "--timeout", "0.2", "--retries", "2"
            )
            == 1
        )
        assert time.monotonic() - started < 3
        assert len(stub.requests) == 2
    run = only_run(tmp_path, capsys)
    assert run["outcome"] == "error" and run["error"]["kind"] == "timeout"


def test_connection_reset_mid_stream_keeps_the_partial_stream(tmp_path: Path, capsys) -> None:
    with StubServer(oracle(), faults=[Fault("reset_midstream", after_events=2, request=1)]) as stub:
        assert run_cli(stub, tmp_path, "-k", "weather_sf", "--stream", "on") == 1
        assert len(stub.requests) == 1  # a stream that started is evidence, not retried into another answer
    run = only_run(tmp_path, capsys)
    assert run["outcome"] == "error" and run["error"]["kind"] == "connection"
    [turn] = run["turns"]
    assert turn["status"] == 200 and turn["reply"] is None
    text = turn["response_text"]
    assert text.startswith("data: ") and text.count("data: ") == 2 and "[DONE]" not in text
    assert '"tool_calls"' in text  # the second event: the call's header, as received


def test_connection_reset_in_a_plain_body_is_retried(tmp_path: Path, capsys) -> None:
    with StubServer(oracle(), faults=[Fault("reset_midstream", request=1)]) as stub:
        assert run_cli(stub, tmp_path, "-k", "boiling_point", "--stream", "off") == 0
        assert len(stub.requests) == 2
    assert only_run(tmp_path, capsys)["turns"][0]["retries"][0].startswith("try 1: connection")


def test_stream_cut_before_finish_and_done_is_a_wire_failure(tmp_path: Path, capsys) -> None:
    """The bytes parse, so they are judged: no finish_reason is a violation, no [DONE] a warning."""
    with StubServer(oracle(), faults=[Fault("cut_before_done", request=1)]) as stub:
        assert run_cli(stub, tmp_path, "-k", "weather_sf", "--stream", "on") == 1
    run = only_run(tmp_path, capsys)
    assert run["outcome"] == "fail" and run["error"] is None
    found = {(f["check"], f["severity"]) for f in run["findings"] if f["turn"] == 1}
    assert found == {("stream.finish_reason", "violation"), ("stream.done", "warning")}


@pytest.mark.parametrize("stream", ["off", "on"])
def test_invalid_json_body_is_invalid_body(stream: str, tmp_path: Path, capsys) -> None:
    with StubServer(oracle(), faults=[Fault("invalid_json", every=True)]) as stub:
        assert run_cli(stub, tmp_path, "-k", "weather_sf", "--stream", stream) == 1
        assert len(stub.requests) == 1  # a 200 is an answer: judged, not retried
    run = only_run(tmp_path, capsys)
    assert run["outcome"] == "error" and run["error"]["kind"] == "invalid_body"
    assert run["turns"][0]["response_text"].startswith("data: {" if stream == "on" else '{"id"')


def test_html_page_with_200_is_invalid_body(tmp_path: Path, capsys) -> None:
    with StubServer(oracle(), faults=[Fault("html", every=True)]) as stub:
        assert run_cli(stub, tmp_path, "-k", "weather_sf", "--stream", "off") == 1
        assert len(stub.requests) == 1
    run = only_run(tmp_path, capsys)
    assert run["error"]["kind"] == "invalid_body" and "<html>" in run["error"]["message"]


def test_html_page_with_502_is_a_server_error_after_retries(tmp_path: Path, capsys) -> None:
    with StubServer(oracle(), faults=[Fault("html", status=502, every=True)]) as stub:
        assert run_cli(stub, tmp_path, "-k", "weather_sf", "--stream", "off") == 1
        assert len(stub.requests) == 3
    run = only_run(tmp_path, capsys)
    assert run["error"] == {"kind": "server_error", "status": 502, "message": run["error"]["message"]}
    assert "Gateway 502" in run["error"]["message"]


def test_empty_choices_is_invalid_body(tmp_path: Path, capsys) -> None:
    with StubServer(oracle(), faults=[Fault("empty_choices", every=True)]) as stub:
        assert run_cli(stub, tmp_path, "-k", "weather_sf", "--stream", "off") == 1
    run = only_run(tmp_path, capsys)
    assert run["error"]["kind"] == "invalid_body" and "no choices" in run["error"]["message"]


def test_unknown_finish_reason_next_to_tool_calls_is_a_violation(tmp_path: Path, capsys) -> None:
    with StubServer(oracle(), faults=[Fault("unknown_finish_reason", request=1)]) as stub:
        assert run_cli(stub, tmp_path, "-k", "weather_sf", "--stream", "off") == 1
    run = only_run(tmp_path, capsys)
    assert run["outcome"] == "fail"
    [finding] = [f for f in run["findings"] if f["severity"] == "violation"]
    assert (finding["check"], finding["actual"], finding["turn"]) == ("finish_reason", "end_turn", 1)


@pytest.mark.parametrize("stream", ["off", "on"])
def test_unknown_finish_reason_on_plain_text_breaks_sdk_types(stream: str, tmp_path: Path, capsys) -> None:
    """Without calls the value is still outside the SDK's Literal: one `sdk.parse` violation."""
    with StubServer(oracle(), faults=[Fault("unknown_finish_reason", every=True)]) as stub:
        assert run_cli(stub, tmp_path, "-k", "boiling_point", "--stream", stream) == 1
    run = only_run(tmp_path, capsys)
    assert run["outcome"] == "fail" and run["turns"][0]["reply"]["finish_reason"] == "end_turn"
    assert [(f["check"], f["actual"]) for f in run["findings"] if f["severity"] == "violation"] == [
        ("sdk.parse", "end_turn")
    ]


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, "bad_request"),
        (401, "unauthorized"),
        (403, "unauthorized"),
        (404, "not_found"),
        (422, "bad_request"),
    ],
)
def test_client_errors_are_never_retried(status: int, kind: str, tmp_path: Path, capsys) -> None:
    with StubServer(oracle(), faults=[Fault("status", status=status, every=True)]) as stub:
        assert run_cli(stub, tmp_path, "-k", "weather_sf", "--stream", "off", "--retries", "5") == 1
        assert len(stub.requests) == 1
    run = only_run(tmp_path, capsys)
    assert run["error"]["kind"] == kind and run["turns"][0]["retries"] == []


def test_a_broken_provider_still_gives_the_whole_table(tmp_path: Path, capsys) -> None:
    """Faults on some requests and not others: every planned run is reported, in plan order."""
    faults = [
        Fault("status", status=500, request=1),
        Fault("reset_midstream", request=2),
        Fault("html", request=5),
        Fault("status", status=401, request=7),
    ]
    with StubServer(oracle(), faults=faults) as stub:
        assert run_cli(stub, tmp_path, "--concurrency", "1", "--retries", "1") == 1
    report = complete(tmp_path, capsys, 8)
    outcomes = {r["outcome"] for r in report["runs"]}
    assert "error" in outcomes and "pass" in outcomes
    assert [r["key"]["scenario"] for r in report["runs"]] == [
        s for s in ("weather_sf", "two_cities", "boiling_point", "choice_none") for _ in range(2)
    ]


# ----------------------------------------------------------------------------------------- deadline


def test_deadline_skips_the_runs_it_leaves_out_and_resume_runs_them(tmp_path: Path, capsys) -> None:
    """weather_sf (two requests of 0.3 s) passes; two_cities is in flight at 0.8 s and ends as an
    `error` of kind deadline; the others never start. --resume runs the three left."""
    with StubServer(oracle(), latency=0.3) as stub:
        assert run_cli(stub, tmp_path, "--stream", "off", "--concurrency", "1", "--deadline", "0.8") == 1
        report = complete(tmp_path, capsys, 4)
        assert [r["outcome"] for r in report["runs"]] == ["pass", "error", "skip", "skip"]
        assert report["runs"][1]["error"]["kind"] == "deadline"
        assert {r["skip_reason"] for r in report["runs"][2:]} == {"run deadline of 0.8s passed"}
        [journal] = (tmp_path / "reports").glob("*.jsonl")
        stub.latency = 0.0
        # Runtime options may change on resume; the plan (scenarios, targets, modes) may not; the
        # endpoint is given again, never taken from the journal.
        assert main(["run", "--resume", str(journal), "--deadline", "60", "--base-url", stub.base_url]) == 0
    out = capsys.readouterr().out
    assert "resuming" in out and "1 done, 3 to run" in out
    assert [r["outcome"] for r in load_report(tmp_path / "reports")["runs"]] == ["pass"] * 4


def test_bad_timing_options_are_usage_errors(tmp_path: Path, capsys) -> None:
    with StubServer(oracle()) as stub:
        assert run_cli(stub, tmp_path, "--deadline", "0") == 2
        assert run_cli(stub, tmp_path, "--retry-max-delay", "-1") == 2
        assert stub.requests == []
    err = capsys.readouterr().err
    assert "--deadline must be more than 0" in err and "--retry-max-delay must be 0 or more" in err


def run_deterministic(
    stub: StubServer, tmp_path: Path, scenario: str, statuses: str = "[]"
) -> dict[str, Any]:
    """One scenario on a registry entry naming its retryable statuses (`[]`: a deterministic server)."""
    providers = tmp_path / "providers.yaml"
    providers.write_text(
        f"providers:\n  fixed:\n    base_url: {stub.base_url}\n    models: [stubby]\n"
        f"    retry_statuses: {statuses}\n"
    )
    main(["run", "--provider", "fixed", "--providers-file", str(providers), "--scenarios", str(SCENARIOS),
          "--report-dir", str(tmp_path / "reports"), *FAST, "-k", scenario, "--stream", "off"])  # fmt: skip
    [run] = load_report(tmp_path / "reports")["runs"]
    return run


def test_provider_without_retry_statuses_gets_one_try_on_http_errors(tmp_path: Path) -> None:
    with StubServer(oracle(), faults=[Fault("status", status=500, every=True)]) as stub:
        run = run_deterministic(stub, tmp_path, "weather_sf")
        assert len(stub.requests) == 1
    assert run["error"]["status"] == 500 and run["turns"][0]["retries"] == []


def test_provider_without_retry_statuses_still_retries_a_dropped_connection(tmp_path: Path) -> None:
    with StubServer(oracle(), faults=[Fault("reset_midstream", request=1)]) as stub:
        run = run_deterministic(stub, tmp_path, "boiling_point")
        assert len(stub.requests) == 2
    assert run["outcome"] == "pass" and run["turns"][0]["retries"][0].startswith("try 1: connection")


def test_provider_retry_statuses_replace_the_default_list(tmp_path: Path) -> None:
    faults = [Fault("status", status=503), Fault("status", status=500, every=True)]
    with StubServer(oracle(), faults=faults) as stub:
        run = run_deterministic(stub, tmp_path, "weather_sf", "[503]")
        assert len(stub.requests) == 2  # the 503 is retried, the 500 that follows is not
    assert run["error"]["status"] == 500 and len(run["turns"][0]["retries"]) == 1


def test_retry_statuses_outside_http_errors_are_bad_configuration(tmp_path: Path, capsys) -> None:
    providers = tmp_path / "providers.yaml"
    providers.write_text(
        "providers:\n  fixed:\n    base_url: http://127.0.0.1:9/v1\n    retry_statuses: [200]\n"
    )
    assert main(["run", "--provider", "fixed", "--providers-file", str(providers), "--model", "m"]) == 2
    assert "fixed.retry_statuses.0: Input should be greater than or equal to 400" in capsys.readouterr().err
