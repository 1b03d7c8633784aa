"""Every real recorded exchange through every client: the verdicts, exact, per file and per client.

Measured with openai (Python) 3.57.0, and from harness/clients/node/package-lock.json openai 6.49.0,
ai 6.0.326 and @ai-sdk/openai-compatible 2.0.92. A changed verdict after an SDK upgrade is news about
that release: read the finding, then update the row and docs/clients.md together.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.app.judge import load
from harness.clients import ClientDriver, ClientUnavailable, ReplayExchange, ReplayServer, create_driver
from harness.clients.session import judge
from harness.conformance.wire import assess

REAL = Path(os.environ.get("TOOLCALL_REAL_RESPONSES")
            or Path(__file__).resolve().parents[2] / "shared" / "real-responses")
CLIENTS = ("python-openai", "node-openai", "node-ai-sdk")
ALL_SAME = ("same", "same", "same")

# file -> verdict of (python-openai, node-openai, node-ai-sdk)
VERDICTS: dict[str, tuple[str, str, str]] = {
    "cerebras__qwen-3-32b__tool-choice-required-think-in-content.json": ALL_SAME,
    "deepseek__deepseek-chat__stream-text-preamble-then-tool-call.json": ALL_SAME,
    "deepseek__deepseek-reasoner__parallel-tool-calls-after-tool-results.json": ALL_SAME,
    "gemini-openai-compat__gemini-2.5-pro__tool-call-no-args-function-call-id.json": ALL_SAME,
    "groq__kimi-k2-instruct-0905__stream-whole-tool-call-in-one-chunk.json": ALL_SAME,
    # HTTP 400 and 500: every client raises its API error, as it should.
    "groq__openai-gpt-oss-120b__error-400-tool-choice-required-no-call.json": ("raised", "raised", "raised"),
    "huggingface-together__llama-4-scout-17b-16e-instruct__error-500-on-tool-continuation.json":
        ("raised", "raised", "raised"),
    "llama-cpp__gpt-oss-20b__stream-tool-call-random-id-args-in-header.json": ALL_SAME,
    # The call has no "type": every client reads past it, so a team using any of them never learns.
    "mistral__mistral-small-latest__tool-call-no-type-field-9char-id.json": ("repairs", "repairs", "repairs"),
    "ollama__qwen3__tool-call-sequential-chatcmpl-id-reasoning-field.json": ALL_SAME,
    "openai__gpt-4o-mini__followup-after-tool-result-final-text.json": ALL_SAME,
    "openai__gpt-4o-mini__stream-single-tool-call-args-split.json": ALL_SAME,
    "openrouter-chutes__kimi-k2-0905__leaked-error-json-in-content-plus-tool-call.json": ALL_SAME,
    "openrouter-deepinfra__kimi-k2-0905__parallel-calls-bare-ordinal-ids.json": ALL_SAME,
    "openrouter-fireworks__kimi-k2-0905__parallel-calls-text-plus-tools-whitespace-prefix.json": ALL_SAME,
    "openrouter-novita__moonshotai-kimi-k2__stream-native-kimi-id-args-in-separate-chunk.json": ALL_SAME,
    "openrouter-together__kimi-k2-0905__followup-content-is-python-repr-of-parts.json": ALL_SAME,
    "together__deepseek-v3.1__stream-parallel-calls-null-id-name-in-continuations.json": ALL_SAME,
    "together__llama-4-maverick-17b-128e-instruct-fp8__repeats-same-calls-after-tool-results.json": ALL_SAME,
    "xai__grok-4-fast__followup-after-parallel-tool-results.json": ALL_SAME,
    "xai__grok-4-fast__parallel-tool-calls-short-numeric-ids.json": ALL_SAME,
    "zai__glm-4.5__tool-call-negative-numeric-id-newline-content.json": ALL_SAME,
}
FINDINGS = {"repairs": "warning"}  # the only findings real traffic raises today, and their severity

needs_real = pytest.mark.skipif(not REAL.is_dir(), reason=f"real responses not found at {REAL}")


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer() as srv:
        yield srv


@pytest.fixture(scope="module", params=CLIENTS)
def driver(request: pytest.FixtureRequest) -> Iterator[ClientDriver]:
    candidate = create_driver(request.param)
    try:
        candidate.open()
    except ClientUnavailable as exc:
        pytest.skip(f"{request.param}: {exc}")
    yield candidate
    candidate.close()


@needs_real
def test_the_table_covers_every_real_file() -> None:
    assert sorted(VERDICTS) == sorted(p.name for p in REAL.glob("*.json"))


@needs_real
@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_client_verdict_on_real_traffic(driver: ClientDriver, server: ReplayServer, name: str) -> None:
    [recorded] = load(REAL / name)
    exchange = ReplayExchange.of(recorded)
    with server.mount(exchange) as mount:
        result = driver.run(exchange, mount.base_url, requests=lambda: len(mount.requests))
    check = judge(result, assess(exchange.request, exchange.status, exchange.text, stream=exchange.stream))
    expected = VERDICTS[name][CLIENTS.index(driver.id)]
    assert (check.verdict, result.requests) == (expected, 1), check.model_dump_json(indent=2)
    kinds = {f.check: f.severity for f in check.findings}
    assert kinds == ({f"client.{driver.id}.{expected}": FINDINGS[expected]} if expected in FINDINGS else {})
