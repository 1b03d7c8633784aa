"""Capability discovery against the stub's GET /v1/models: declared tool support, and the CLI's messages."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from harness.cli.main import main
from harness.providers.discovery import declared_tools
from harness.testing.stub import StubServer

OPENROUTER_STYLE = [
    {
        "id": "qwen/qwen3-coder",
        "object": "model",
        "created": 0,
        "owned_by": "qwen",
        "supported_parameters": ["max_tokens", "temperature", "tools", "tool_choice"],
    },
    {
        "id": "some/base-model",
        "object": "model",
        "created": 0,
        "owned_by": "x",
        "supported_parameters": ["max_tokens", "temperature"],
    },
]
LUNOS_STYLE = [
    {
        "id": "openai/gpt-4o",
        "object": "model",
        "created": 0,
        "owned_by": "openai",
        "capabilities": ["chat", "function_calling", "vision"],
    },
    {"id": "flagged", "object": "model", "created": 0, "owned_by": "y", "features": {"tools": True}},
    {"id": "plain", "object": "model", "created": 0, "owned_by": "z"},
]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"supported_parameters": ["tools"]}, (True, "supported_parameters")),
        ({"supported_parameters": ["temperature"]}, (False, "supported_parameters")),
        ({"capabilities": ["Function_Calling"]}, (True, "capabilities")),
        ({"capabilities": ["chat"]}, (False, "capabilities")),
        ({"features": ["tool_use", "streaming"]}, (True, "features")),
        ({"capabilities": {"function_calling": False, "vision": True}}, (False, "capabilities")),
        ({"capabilities": {"vision": True}}, (None, None)),
        ({"id": "x"}, (None, None)),
    ],
)
def test_declared_tools(entry: dict[str, Any], expected: tuple[bool | None, str | None]) -> None:
    assert declared_tools(entry) == expected


def models_cli(stub: StubServer, *extra: str) -> int:
    return main(["models", "--base-url", stub.base_url, *extra])


def test_lists_openrouter_style_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    with StubServer(models=OPENROUTER_STYLE) as stub:
        assert models_cli(stub) == 0
    assert capsys.readouterr().out.splitlines() == [
        "qwen/qwen3-coder  tools (supported_parameters)",
        "some/base-model   no tools (supported_parameters)",
        "2 model(s) from adhoc; 1 declare tool support",
    ]


def test_lists_lunos_style_metadata_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    with StubServer(models=LUNOS_STYLE) as stub:
        assert models_cli(stub, "--format", "json") == 0
    listing = json.loads(capsys.readouterr().out)
    assert [(m["id"], m["tools"], m["source"]) for m in listing] == [
        ("flagged", True, "features"),
        ("openai/gpt-4o", True, "capabilities"),
        ("plain", None, None),
    ]


def test_registry_provider_on_loopback_needs_no_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GW_TEST_KEY", raising=False)
    with StubServer() as stub:
        providers = tmp_path / "providers.yaml"
        spec = {"base_url": stub.base_url, "api_key_env": "GW_TEST_KEY", "models": ["a"]}
        providers.write_text(json.dumps({"providers": {"gw": spec}}))
        assert main(["models", "--provider", "gw", "--providers-file", str(providers)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "stub-model  tools?",
        "1 model(s) from gw; 0 declare tool support",
    ]


def test_missing_key_is_one_sentence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    assert main(["models", "--provider", "openrouter"]) == 2
    assert capsys.readouterr().err == (
        "error: OPENROUTER_API_KEY is not set: export it to list the models of 'openrouter'\n"
    )


def test_unknown_and_launched_providers_are_config_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--provider", "openruter"]) == 2
    assert "unknown provider 'openruter' — did you mean 'openrouter'?" in capsys.readouterr().err
    assert main(["models", "--provider", "local"]) == 2
    assert "started by the harness itself: its models are smollm2-135m" in capsys.readouterr().err
    assert main(["models"]) == 2
    assert "no provider given" in capsys.readouterr().err


def test_unreachable_provider_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["models", "--base-url", f"http://127.0.0.1:{port}/v1", "--timeout", "2"]) == 1
    assert capsys.readouterr().err == f"error: GET http://127.0.0.1:{port}/v1/models: Connection error.\n"


def test_http_error_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    with StubServer() as stub:
        assert main(["models", "--base-url", stub.base_url.rstrip("/") + "/nowhere"]) == 1
    assert "/nowhere/models: HTTP 404: " in capsys.readouterr().err
