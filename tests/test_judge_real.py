"""Every real recorded exchange, judged end to end, against a verdict decided by reading the file.

The table is the ground truth of the wire layer: each row was decided from the file and the contract
(see the comments), not copied from the harness's output. A false alarm fails here as surely as a
missed breach.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.app.judge import judge_paths, run_judge


def _real_dir() -> Path:
    env = os.environ.get("TOOLCALL_REAL_RESPONSES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "real-responses"


REAL = _real_dir()
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason=f"real responses not found at {REAL}")

# file -> (outcome, violation ids, warning ids, call names in order, finish_reason)
VERDICTS: dict[str, tuple[str, set[str], set[str], list[str], str | None]] = {
    # <think> text beside the call and a 9-char id are both legitimate.
    "cerebras__qwen-3-32b__tool-choice-required-think-in-content.json":
        ("conforming", set(), set(), ["final_result"], "tool_calls"),
    # 37 text chunks then a call in 24 fragments; usage on the finish chunk; [DONE] present.
    "deepseek__deepseek-chat__stream-text-preamble-then-tool-call.json":
        ("conforming", set(), set(), ["weather"], "tool_calls"),
    # Fresh ids call_00_/call_01_ do not collide with the history's; model echo differs (allowed).
    "deepseek__deepseek-reasoner__parallel-tool-calls-after-tool-results.json":
        ("conforming", set(), set(), ["get_player_name", "roll_dice"], "tool_calls"),
    # No content key, '{}' for a zero-parameter tool, total_tokens mismatch: none is a wire breach.
    "gemini-openai-compat__gemini-2.5-pro__tool-call-no-args-function-call-id.json":
        ("conforming", set(), set(), ["get_current_time"], "tool_calls"),
    # Whole call in one chunk is fine; service_tier 'on_demand' is outside the SDK's enum, but envelope.
    "groq__kimi-k2-instruct-0905__stream-whole-tool-call-in-one-chunk.json":
        ("conforming", set(), set(), ["weather"], "tool_calls"),
    # HTTP 400 -> an error, never a finding against the model.
    "groq__openai-gpt-oss-120b__error-400-tool-choice-required-no-call.json":
        ("error", set(), set(), [], None),
    "huggingface-together__llama-4-scout-17b-16e-instruct__error-500-on-tool-continuation.json":
        ("error", set(), set(), [], None),
    # First argument fragment inside the header chunk; random 32-char id.
    "llama-cpp__gpt-oss-20b__stream-tool-call-random-id-args-in-header.json":
        ("conforming", set(), set(), ["weather"], "tool_calls"),
    # The tool call has no `type`: a real breach (the SDK's typed union rejects it).
    "mistral__mistral-small-latest__tool-call-no-type-field-9char-id.json":
        ("nonconforming", {"tool_call.type"}, set(), ["weather"], "tool_calls"),
    "ollama__qwen3__tool-call-sequential-chatcmpl-id-reasoning-field.json":
        ("conforming", set(), set(), ["weather"], "tool_calls"),
    # Final text answer with tools still offered.
    "openai__gpt-4o-mini__followup-after-tool-result-final-text.json":
        ("conforming", set(), set(), [], "stop"),
    "openai__gpt-4o-mini__stream-single-tool-call-args-split.json":
        ("conforming", set(), set(), ["multiply"], "tool_calls"),
    # Garbage content and a missing second call are expectation failures, not wire breaches.
    "openrouter-chutes__kimi-k2-0905__leaked-error-json-in-content-plus-tool-call.json":
        ("conforming", set(), set(), ["add"], "tool_calls"),
    # Bare ids "0"/"1" are unique here: the request has no earlier tool calls to collide with.
    "openrouter-deepinfra__kimi-k2-0905__parallel-calls-bare-ordinal-ids.json":
        ("conforming", set(), set(), ["add", "multiply"], "tool_calls"),
    "openrouter-fireworks__kimi-k2-0905__parallel-calls-text-plus-tools-whitespace-prefix.json":
        ("conforming", set(), set(), ["add", "multiply"], "tool_calls"),
    # Header without `arguments`, then `type` again with '{}' (no id/name re-sent): fine.
    "openrouter-novita__moonshotai-kimi-k2__stream-native-kimi-id-args-in-separate-chunk.json":
        ("conforming", set(), set(), ["llm_version"], "tool_calls"),
    # A Python repr as the final text is a content-quality problem; the wire is well-formed.
    "openrouter-together__kimi-k2-0905__followup-content-is-python-repr-of-parts.json":
        ("conforming", set(), set(), [], "stop"),
    # `"id": null` / `"name": null` continuations are skipped, not merged.
    "together__deepseek-v3.1__stream-parallel-calls-null-id-name-in-continuations.json":
        ("conforming", set(), set(), ["secret_retrieval_tool", "secret_retrieval_tool"], "tool_calls"),
    # Both calls repeat answered calls exactly (a loop): a warning, with fresh ids.
    "together__llama-4-maverick-17b-128e-instruct-fp8__repeats-same-calls-after-tool-results.json":
        ("conforming", set(), {"tool_call.repeated"}, ["secret_retrieval_tool", "secret_retrieval_tool"],
         "tool_calls"),
    "xai__grok-4-fast__followup-after-parallel-tool-results.json":
        ("conforming", set(), set(), [], "stop"),
    "xai__grok-4-fast__parallel-tool-calls-short-numeric-ids.json":
        ("conforming", set(), set(), ["add", "multiply"], "tool_calls"),
    # Negative-number id and '\n\n' content are fine; a missing `object` is envelope, never read.
    "zai__glm-4.5__tool-call-negative-numeric-id-newline-content.json":
        ("conforming", set(), set(), ["weather"], "tool_calls"),
}


@needs_real
def test_table_covers_every_file() -> None:
    on_disk = {p.name for p in REAL.glob("*.json")}
    assert on_disk == set(VERDICTS), "a real file without a verdict, or a verdict without a file"


@needs_real
@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_real_exchange_verdict(name: str) -> None:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"{name} not present in {REAL}")
    outcome, violations, warnings, names, finish = VERDICTS[name]
    [verdict] = judge_paths([str(path)])
    found = verdict["findings"]
    assert verdict["outcome"] == outcome, found
    assert {f["check"] for f in found if f["severity"] == "violation"} == violations
    assert {f["check"] for f in found if f["severity"] == "warning"} == warnings
    assert [c["name"] for c in verdict["tool_calls"]] == names
    assert verdict["finish_reason"] == finish
    for call in verdict["tool_calls"]:
        assert call["arguments_valid_json"] and isinstance(call["arguments"], dict)
        assert call["arguments_match_schema"] is True


@needs_real
def test_errors_carry_the_provider_message() -> None:
    verdicts = {Path(v["file"]).name: v for v in judge_paths([str(REAL)])}
    groq = verdicts["groq__openai-gpt-oss-120b__error-400-tool-choice-required-no-call.json"]
    assert groq["error"] == {"kind": "bad_request",
                             "message": "Tool choice is required, but model did not call a tool"}
    hf = verdicts["huggingface-together__llama-4-scout-17b-16e-instruct__error-500-on-tool-continuation.json"]
    assert hf["error"] == {"kind": "server_error", "message": "Internal server error"}


@needs_real
def test_assembled_arguments_match_what_the_cassettes_echo() -> None:
    verdicts = {Path(v["file"]).name: v for v in judge_paths([str(REAL)])}
    split = verdicts["openai__gpt-4o-mini__stream-single-tool-call-args-split.json"]["tool_calls"][0]
    assert split["arguments"] == {"a": 1231, "b": 2331}
    together = verdicts["together__deepseek-v3.1__stream-parallel-calls-null-id-name-in-continuations.json"]
    assert [c["id"] for c in together["tool_calls"]] == ["call_8fb40ff4820f4e58b7058e95",
                                                         "call_e9e2649998244b0f91551cf5"]
    assert [c["arguments_raw"] for c in together["tool_calls"]] == ['{"password": "mellon"}',
                                                                     '{"password": "radiance"}']
    deepseek = verdicts["deepseek__deepseek-chat__stream-text-preamble-then-tool-call.json"]["tool_calls"][0]
    assert deepseek["arguments_raw"] == '{"latitude": "52.5200", "longitude": "13.4050"}'


@needs_real
def test_run_judge_over_the_folder_exits_1_and_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_judge([str(REAL)], "json") == 1  # Mistral is nonconforming, two exchanges are errors
    printed = json.loads(capsys.readouterr().out)
    assert len(printed) == len(VERDICTS)
    keys = {"file", "status", "outcome", "error", "finish_reason", "tool_calls", "findings"}
    assert set(printed[0]) == keys


@needs_real
def test_run_judge_on_a_conforming_file_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    path = REAL / "openai__gpt-4o-mini__stream-single-tool-call-args-split.json"
    assert run_judge([str(path)], "text") == 0
    out = capsys.readouterr().out
    assert "CONFORMING" in out and "multiply" in out


# ------------------------------------------------------------------------- cassettes and bad input


def _interaction(body: dict[str, object], status: int, text: str, content_type: str) -> dict[str, object]:
    return {"request": {"body": json.dumps(body), "method": "POST", "uri": "http://x/v1/chat/completions",
                        "headers": {"Content-Type": ["application/json"]}},
            "response": {"status": {"code": status, "message": "OK"},
                         "headers": {"Content-Type": [content_type]}, "body": {"string": text}}}


def test_cassette_interactions_are_each_judged(tmp_path: Path) -> None:
    import yaml

    tools = [{"type": "function", "function": {"name": "now", "parameters": {"type": "object"}}}]
    request = {"model": "m", "messages": [{"role": "user", "content": "time?"}], "tools": tools}
    message = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "now", "arguments": "{}"}}]}
    completion = {"id": "x", "object": "chat.completion", "created": 1, "model": "m",
                  "choices": [{"index": 0, "finish_reason": "tool_calls", "message": message}]}
    # Novita-style: the same header twice, with '' and then '{}' arguments.
    header = {"index": 0, "id": "c2", "type": "function", "function": {"name": "now", "arguments": ""}}
    again = {**header, "function": {"name": "now", "arguments": "{}"}}
    chunks = [{"choices": [{"index": 0, "delta": {"tool_calls": [header]}}]},
              {"choices": [{"index": 0, "delta": {"tool_calls": [again]}}]},
              {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}]
    sse = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    cassette = tmp_path / "run.yaml"
    cassette.write_text(yaml.safe_dump({"version": 1, "interactions": [
        _interaction(request, 200, json.dumps(completion), "application/json"),
        _interaction({**request, "stream": True}, 200, sse, "text/event-stream"),
        _interaction(request, 503, '{"error": {"message": "overloaded"}}', "application/json"),
    ]}))
    first, second, third = judge_paths([str(cassette)])
    assert [v["file"] for v in (first, second, third)] == [f"{cassette}#1", f"{cassette}#2", f"{cassette}#3"]
    assert first["outcome"] == "conforming" and first["tool_calls"][0]["arguments"] == {}
    assert second["outcome"] == "nonconforming"
    violations = [f["check"] for f in second["findings"] if f["severity"] == "violation"]
    assert violations == ["stream.header_repeated"]
    assert second["tool_calls"][0]["arguments_raw"] == "{}"
    assert third["outcome"] == "error" and third["error"] == {"kind": "server_error", "message": "overloaded"}


@pytest.mark.parametrize(("name", "content", "message"), [
    ("missing.json", None, "judge: {path}: no such file"),
    ("INDEX.md", "# notes\n",
     "judge: {path}: unrecognised input; expected an exchange .json or a cassette .yaml"),
    ("broken.json", '{"request": ',
     "judge: {path}:1: not valid JSON (Expecting value: line 1 column 13 (char 12))"),
    ("other.json", '{"hello": 1}', "judge: {path}: not an exchange file: expected keys 'request', "
     "'response_status' and 'response_body' or 'response_sse'"),
    ("notes.yaml", "title: x\n", "judge: {path}: not a cassette: expected a top-level 'interactions' list"),
    ("bad.yaml", "a: [1,\n",
     "judge: {path}:2: not valid YAML (expected the node content, but found '<stream end>')"),
    ("get.yaml",
     "interactions:\n- request: {body: null}\n  response: {status: {code: 200}, body: {string: ''}}\n",
     "judge: {path}: interactions[0].request.body: not a JSON chat-completions request (Expecting value: "
     "line 1 column 1 (char 0))"),
])
def test_bad_input_is_one_located_message_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     name: str, content: str | None, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    assert run_judge([str(path)], "json") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == message.format(path=path) + "\n"


def test_unknown_format_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_judge(["x.json"], "xml") == 2
    assert "unknown format 'xml'" in capsys.readouterr().err
