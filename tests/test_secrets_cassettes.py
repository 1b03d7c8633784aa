"""A planted API key must never reach a file the harness writes: cassettes, reports, JUnit XML.

The key travels every way a real one can: the Authorization header the SDK adds, provider headers,
the request body (a provider's extra_body and a scenario message), the query string, and the response
body, where a careless or malicious server echoes it back.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml
from conftest import SCENARIOS
from oracle import oracle

from harness.testing.stub import StubServer
from harness.transport.cassettes import REDACTED, SECRET_HEADERS, CassetteTransport, Redactor, open_cassette

KEY = "sk-canary-XYZ123456789"
ENV = "TOOLCALL_CANARY_KEY"
INPUTS = {"providers.yaml", "tox.ini", "scenarios"}  # written by the test, not by the harness

LEAK_SCENARIO = f"""\
scenarios:
  - id: pasted_key
    description: A user pastes their key into the prompt; the model repeats it.
    family: skip_call
    tools: [get_weather]
    messages:
      - {{role: user, content: "My key is {KEY}. What is the boiling point of water at sea level?"}}
    expect:
      answer:
        contains: ["100"]
  - id: pasted_key_fails
    description: The same, judged by an expectation that fails, so the answer lands in a finding.
    family: skip_call
    tools: [get_weather]
    messages:
      - {{role: user, content: "My key is {KEY}. What is the boiling point of water at sea level?"}}
    expect:
      answer:
        contains: ["Kelvin"]
"""


def leaky() -> Any:
    """The oracle, except that every answer and every tool call's location repeats the key."""
    good = oracle()

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        reply = dict(good(body))
        if reply.get("content"):
            reply["content"] = f"{reply['content']} (you sent {KEY})"
        if reply.get("tool_calls"):
            reply["tool_calls"] = [
                {**c, "arguments": {**c["arguments"], "location": f"{c['arguments']['location']} {KEY}"}}
                for c in reply["tool_calls"]
            ]
        return reply

    return responder


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with StubServer(leaky()) as server:
        yield server


def written_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] not in INPUTS]


def test_key_is_scrubbed_from_everything_the_plugin_writes(
    pytester: pytest.Pytester, stub: StubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, KEY)
    shutil.copytree(SCENARIOS, pytester.path / "scenarios")
    (pytester.path / "scenarios" / "leak.yaml").write_text(LEAK_SCENARIO)
    pytester.makeini("[pytest]\n")
    (pytester.path / "providers.yaml").write_text(
        yaml.safe_dump(
            {
                "providers": {
                    "keyed": {
                        "base_url": stub.base_url,
                        "api_key_env": ENV,
                        "models": ["stubby"],
                        "headers": {"x-api-key": KEY, "X-Custom-Token": f"token {KEY}"},
                        "extra_body": {"safety_identifier": KEY},
                    }
                }
            }
        )
    )
    result = pytester.runpytest(
        "--provider", "keyed", "--providers-file", "providers.yaml", "--record-mode", "all",
        "--junitxml", "junit.xml", "-rA",
    )
    result.assert_outcomes(passed=10, failed=2)

    # The key really went out every way, so a clean file below is a real result.
    assert {h["authorization"] for h in stub.headers} == {f"Bearer {KEY}"}
    assert {h["x-api-key"] for h in stub.headers} == {KEY}
    assert {h["x-custom-token"] for h in stub.headers} == {f"token {KEY}"}
    assert {b["safety_identifier"] for b in stub.requests} == {KEY}
    assert sum(KEY in json.dumps(b["messages"][0]) for b in stub.requests) == 4  # the pasted prompts

    files = written_files(pytester.path)
    cassettes = [p for p in files if p.suffix == ".yaml"]
    assert len(cassettes) == 13 and any(p.suffix == ".json" for p in files)  # 12 runs + _models.yaml
    assert (pytester.path / "junit.xml") in files
    leaks = [p.relative_to(pytester.path).as_posix() for p in files if KEY.encode() in p.read_bytes()]
    assert leaks == []
    assert KEY not in result.stdout.str()

    for path in cassettes:
        text = path.read_text()
        assert REDACTED in text, path  # the body and the echoed answer held the key
        for interaction in yaml.safe_load(text)["interactions"]:
            names = {n.lower() for n in interaction["request"]["headers"]}
            assert not names & {"authorization", "api-key", "x-api-key", "cookie"}, path
            assert not {n.lower() for n in interaction["response"]["headers"]} & set(SECRET_HEADERS)

    # Replay still matches requests although the recorded bodies hold <REDACTED> where the key was.
    replay = pytester.runpytest(
        "--provider", "keyed", "--providers-file", "providers.yaml", "--record-mode", "none"
    )
    replay.assert_outcomes(passed=10, failed=2)


def test_cassette_scrubs_query_string_headers_and_bodies(tmp_path: Path, stub: StubServer) -> None:
    """The query string is a channel the provider file cannot reach, so it is tested at the cassette."""
    path = tmp_path / "c.yaml"
    redact = Redactor([KEY])
    transport = CassetteTransport(open_cassette(path, "all", redact), httpx2.HTTPTransport())
    body = {"model": "stubby", "messages": [{"role": "user", "content": "boiling point"}], "note": KEY}
    with httpx2.Client(transport=transport) as client:
        response = client.post(
            f"{stub.base_url}/chat/completions?key={KEY}&other=1",
            json=body,
            headers={"Authorization": f"Bearer {KEY}", "api-key": KEY, "Cookie": f"session={KEY}",
                     "X-Trace": f"trace-{KEY}"},
        )
    assert KEY in response.text  # the live caller still sees the real response
    transport.save()
    text = path.read_text()
    assert KEY not in text
    [interaction] = yaml.safe_load(text)["interactions"]
    request = interaction["request"]
    assert request["uri"] == f"{stub.base_url}/chat/completions?key={REDACTED}&other=1"
    assert {n.lower() for n in request["headers"]} & {"authorization", "api-key", "cookie"} == set()
    assert {n.lower(): v for n, v in request["headers"].items()}["x-trace"] == [f"trace-{REDACTED}"]
    assert json.loads(request["body"])["note"] == REDACTED
