"""Per-run cassettes through vcrpy's public API: record, replay, misses, and nothing patched globally."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
import yaml

from harness.testing.stub import StubServer
from harness.transport.cassettes import CassetteMiss, CassetteTransport, Redactor, open_cassette

BODY = {"model": "stubby", "messages": [{"role": "user", "content": "hello"}]}


def post(transport: CassetteTransport, base_url: str, body: dict[str, object] = BODY) -> httpx2.Response:
    with httpx2.Client(transport=transport) as client:
        return client.post(f"{base_url}/chat/completions", json=body)


def test_record_then_replay_without_a_server(tmp_path: Path) -> None:
    path = tmp_path / "p" / "m" / "s.yaml"
    with StubServer() as stub:
        recording = CassetteTransport(open_cassette(path, "all", Redactor()), httpx2.HTTPTransport())
        live = post(recording, stub.base_url)
        recording.save()
        base_url = stub.base_url
    assert recording.provenance == ["recorded"]
    assert live.json()["choices"][0]["message"]["content"] == "Hello."
    [interaction] = yaml.safe_load(path.read_text())["interactions"]
    assert interaction["response"]["status"] == {"code": 200, "message": "OK"}

    replay = CassetteTransport(open_cassette(path, "none", Redactor()), None)
    again = post(replay, base_url)  # the stub is gone: only the cassette can answer
    assert replay.provenance == ["replayed"] and again.json() == live.json()
    assert again.reason_phrase == "OK" and again.headers["content-type"] == "application/json"
    assert replay.unplayed == 0


def test_a_request_the_cassette_lacks_is_a_miss_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    with StubServer() as stub:
        recording = CassetteTransport(open_cassette(path, "all", Redactor()), httpx2.HTTPTransport())
        post(recording, stub.base_url)
        recording.save()
        replay = CassetteTransport(open_cassette(path, "none", Redactor()), None)
        other = {**BODY, "messages": [{"role": "user", "content": "something else"}]}
        with pytest.raises(CassetteMiss, match=f"request not found in cassette {path}"):
            post(replay, stub.base_url, other)
        assert replay.unplayed == 1
        fresh = CassetteTransport(open_cassette(tmp_path / "new.yaml", "once", Redactor()), None)
        with pytest.raises(CassetteMiss, match="no recorded response and no live server"):
            post(fresh, stub.base_url)


def test_a_rerecording_that_answered_nothing_leaves_no_stale_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("interactions: []\nversion: 1\n")
    CassetteTransport(open_cassette(path, "all", Redactor()), httpx2.HTTPTransport()).save()
    assert not path.exists()


def test_an_open_cassette_patches_nothing_in_the_process(tmp_path: Path) -> None:
    """Concurrent runs each hold a cassette; a global patch would send one run's traffic to another's."""
    before = (httpx2.HTTPTransport.handle_request, httpx2.AsyncHTTPTransport.handle_async_request)
    first = open_cassette(tmp_path / "a.yaml", "all", Redactor())
    second = open_cassette(tmp_path / "b.yaml", "all", Redactor())
    assert (httpx2.HTTPTransport.handle_request, httpx2.AsyncHTTPTransport.handle_async_request) == before
    first.save()
    second.save()
    first.save()  # saving twice is harmless
