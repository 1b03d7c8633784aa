"""Streamed calls that differ in shape from the non-streamed ones to the same request are a warning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import load_report, run_on_stub
from oracle import SF, oracle

from harness.conformance.mode_mismatch import CHECK, flag_mode_mismatches
from harness.core.model import Reply, Report, RunKey, RunResult, ToolCall, Turn
from harness.results.store import merge_reports
from harness.testing.stub import StubServer


def stream_adds_unit() -> Any:
    """A server whose streaming path adds an argument the non-streaming path leaves out."""
    good = oracle()

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        reply = good(body)
        if body.get("stream") and reply.get("tool_calls"):
            call = {"name": "get_weather", "arguments": {**SF["arguments"], "unit": "fahrenheit"}}
            return {**reply, "tool_calls": [call]}
        return reply

    return responder


def run_weather(stub: StubServer, tmp_path: Path) -> list[dict[str, Any]]:
    run_on_stub(stub, tmp_path, "-k", "weather_sf")
    return load_report(tmp_path / "reports")["runs"]


def test_streaming_path_with_other_argument_keys_is_flagged(tmp_path: Path, capsys) -> None:
    with StubServer(stream_adds_unit()) as stub:
        plain, streamed = run_weather(stub, tmp_path)
    assert (plain["outcome"], streamed["outcome"]) == ("pass", "pass")  # a warning, not a failure
    [found] = [f for f in streamed["findings"] if f["check"] == CHECK]
    assert found["severity"] == "warning" and found["turn"] == 1
    assert found["expected"] == "[get_weather(location)]"
    assert found["actual"] == "[get_weather(location, unit)]"
    assert not [f for f in plain["findings"] if f["check"] == CHECK]
    assert "streamed run(s) call differently" in capsys.readouterr().out


def test_same_shape_in_both_modes_is_not_flagged(good_stub: StubServer, tmp_path: Path) -> None:
    runs = run_weather(good_stub, tmp_path)
    assert len(runs) == 2 and not [f for r in runs for f in r["findings"] if f["check"] == CHECK]


def result(mode: str, *turns: tuple[dict[str, Any], list[ToolCall]]) -> RunResult:
    return RunResult(
        key=RunKey(provider="p", model="m", scenario="s", mode=mode),  # type: ignore[arg-type]
        family="chained",
        outcome="pass",
        turns=[
            Turn(number=n, request={**request, "stream": mode == "stream"}, reply=Reply(tool_calls=calls))
            for n, (request, calls) in enumerate(turns, 1)
        ],
    )


def call(name: str, call_id: str, **arguments: Any) -> ToolCall:
    return ToolCall(id=call_id, name=name, arguments=arguments)


FIRST = {"messages": [{"role": "user", "content": "find a book"}]}


def later(call_id: str, query: str) -> dict[str, Any]:
    assistant = {"role": "assistant", "tool_calls": [{"id": call_id, "function": {"name": "search"}}]}
    return {
        "messages": [
            *FIRST["messages"],
            {**assistant, "query": query},
            {"role": "tool", "tool_call_id": call_id},
        ]
    }


def test_later_turns_are_compared_only_while_the_conversations_agree() -> None:
    # Turn 1: same shape (values and ids differ). Turn 2: other calls, but the requests differ in a value,
    # so the difference proves nothing about streaming.
    plain = result(
        "nonstream", (FIRST, [call("search", "a", q="x")]), (later("a", "x"), [call("details", "b", id=1)])
    )
    streamed = result(
        "stream", (FIRST, [call("search", "z", q="y")]), (later("z", "y"), [call("search", "c", q=1)])
    )
    assert not flag_mode_mismatches([plain, streamed])[1].findings
    # The same second request (only the call ids differ) with other calls is flagged, once.
    streamed = result(
        "stream", (FIRST, [call("search", "z", q="y")]), (later("z", "x"), [call("search", "c", q=1)])
    )
    flagged = flag_mode_mismatches(flag_mode_mismatches([plain, streamed]))[1]
    assert [(f.check, f.turn) for f in flagged.findings] == [(CHECK, 2)]


def test_parallel_calls_in_another_order_have_the_same_shape() -> None:
    plain = result("nonstream", (FIRST, [call("a", "1", x=1), call("b", "2", y=2)]))
    streamed = result("stream", (FIRST, [call("b", "3", y=5), call("a", "4", x=6)]))
    assert not flag_mode_mismatches([plain, streamed])[1].findings


def trial(run: RunResult, number: int) -> RunResult:
    return run.model_copy(update={"key": run.key.model_copy(update={"trial": number})})


def test_a_model_that_varies_between_trials_is_not_a_streaming_defect() -> None:
    plain_1 = result("nonstream", (FIRST, [call("search", "a", q="x")]))
    plain_2 = trial(result("nonstream", (FIRST, [call("details", "b", id=1)])), 2)
    streamed_2 = trial(result("stream", (FIRST, [call("search", "c", q="y")])), 2)
    assert not flag_mode_mismatches([plain_1, plain_2, streamed_2])[2].findings  # trial 1 answered so
    odd = trial(result("stream", (FIRST, [call("now", "d")])), 2)
    [found] = flag_mode_mismatches([plain_1, plain_2, odd])[2].findings
    assert found.check == CHECK


def test_merging_shards_split_by_mode_finds_the_mismatch_and_drops_stale_ones() -> None:
    plain = result("nonstream", (FIRST, [call("search", "a", q="x")]))
    streamed = result("stream", (FIRST, [call("details", "b", id=1)]))
    shard = Report(runs=[plain]), Report(runs=[streamed])
    merged, _ = merge_reports(shard)
    assert [f.check for f in merged.runs[1].findings] == [CHECK]
    fixed = result("nonstream", (FIRST, [call("details", "c", id=2)]))  # a later shard replaces the twin
    remerged, replaced = merge_reports([merged, Report(runs=[fixed])])
    assert replaced == [plain] and remerged.runs[1].findings == []
