"""The replay server serves a recorded exchange byte for byte, framed as recorded, on loopback only."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from harness.app.judge import load
from harness.clients import ReplayExchange, ReplayServer
from harness.core.model import Turn

REAL = Path(os.environ.get("TOOLCALL_REAL_RESPONSES")
            or Path(__file__).resolve().parents[2] / "shared" / "real-responses")
SSE = 'data: {"a": 1}\n\ndata: {"b": 2}\n\ndata: [DONE]\n\n'
REQUEST = {"model": "m", "messages": []}


def raw_post(url: str, body: bytes = b"{}") -> bytes:
    """The whole HTTP response as bytes, framing included, read until the server closes."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    path = "/" + url.split("//")[1].split("/", 1)[1]
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def split(response: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return lines[0], headers, body


def chunks_of(body: bytes) -> tuple[list[bytes], bool]:
    """Decode chunked framing; also say whether the terminating zero-size chunk came."""
    out: list[bytes] = []
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return out, True
        out.append(rest[:size])
        body = rest[size + 2:]
    return out, False


@pytest.fixture
def server() -> ReplayServer:
    with ReplayServer() as srv:
        yield srv


def test_a_body_is_served_with_its_status_and_recorded_headers(server: ReplayServer) -> None:
    text = '  {"error": {"message": "slow down"}}'
    exchange = ReplayExchange("x", REQUEST, 429, text, stream=False,
                              headers={"Retry-After": "7", "x-request-id": "req_1", "Content-Length": "1"})
    with server.mount(exchange) as mount:
        status, headers, body = split(raw_post(mount.base_url + "/chat/completions", b'{"model": "m"}'))
    assert status == "HTTP/1.1 429 Too Many Requests"
    assert headers["retry-after"] == "7" and headers["x-request-id"] == "req_1"
    assert headers["content-type"] == "application/json"
    assert headers["content-length"] == str(len(text))  # the recorded framing header is not replayed
    assert body == text.encode()
    assert mount.requests == [{"model": "m"}]


def test_a_stream_goes_one_sse_event_per_http_chunk(server: ReplayServer) -> None:
    with server.mount(ReplayExchange("x", REQUEST, 200, SSE, stream=True)) as mount:
        _, headers, body = split(raw_post(mount.base_url + "/chat/completions"))
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert headers["transfer-encoding"] == "chunked"
    assert chunks_of(body) == ([b'data: {"a": 1}\n\n', b'data: {"b": 2}\n\n', b"data: [DONE]\n\n"], True)


def test_recorded_chunk_boundaries_are_kept_even_inside_an_event(server: ReplayServer) -> None:
    pieces = ('data: {"a"', ': 1}\n\ndata: [DONE]\n\n')
    exchange = ReplayExchange("x", REQUEST, 200, "".join(pieces), stream=True, chunks=pieces)
    with server.mount(exchange) as mount:
        _, _, body = split(raw_post(mount.base_url + "/chat/completions"))
    assert chunks_of(body) == ([p.encode() for p in pieces], True)


def test_a_truncated_transfer_ends_without_its_terminator(server: ReplayServer) -> None:
    cut = 'data: {"a": 1}\n\ndata: {"b"'
    with server.mount(ReplayExchange("x", REQUEST, 200, cut, stream=True, truncated=True)) as mount:
        _, _, body = split(raw_post(mount.base_url + "/chat/completions"))
    assert chunks_of(body) == ([b'data: {"a": 1}\n\n', b'data: {"b"'], False)


def test_only_mounted_chat_completions_are_answered(server: ReplayServer) -> None:
    exchange = ReplayExchange("x", REQUEST, 200, "{}", stream=False)
    with server.mount(exchange) as mount:
        assert split(raw_post(mount.base_url + "/completions"))[0].endswith("404 Not Found")
        assert split(raw_post(server.root + "/r/x999/v1/chat/completions"))[0].endswith("404 Not Found")
        assert split(raw_post(mount.base_url + "/chat/completions"))[0].endswith("200 OK")
    assert split(raw_post(mount.base_url + "/chat/completions"))[0].endswith("404 Not Found")


def test_mounts_are_apart_and_the_server_is_on_loopback(server: ReplayServer) -> None:
    one = server.add(ReplayExchange("one", REQUEST, 200, '{"n": 1}', stream=False))
    two = server.add(ReplayExchange("two", REQUEST, 200, '{"n": 2}', stream=False))
    assert split(raw_post(two.base_url + "/chat/completions"))[2] == b'{"n": 2}'
    assert split(raw_post(one.base_url + "/chat/completions"))[2] == b'{"n": 1}'
    assert one.base_url.startswith("http://127.0.0.1:") and len(one.requests) == len(two.requests) == 1


@pytest.mark.parametrize(("text", "stream", "headers", "expected"), [
    (SSE, True, {}, "text/event-stream; charset=utf-8"),
    ('{"choices": []}', True, {}, "application/json"),  # a provider that ignored stream: true
    ("<html>502</html>", False, {}, "text/html; charset=utf-8"),
    ('{"id": "x", "choices": [', False, {}, "application/json"),
    ("{}", False, {"content-type": "text/plain"}, "text/plain"),
])
def test_the_content_type_is_the_recorded_one_else_what_the_bytes_call_for(
        text: str, stream: bool, headers: dict[str, str], expected: str) -> None:
    assert ReplayExchange("x", REQUEST, 200, text, stream=stream, headers=headers).content_type() == expected


def test_chunks_must_join_to_the_recorded_text() -> None:
    with pytest.raises(ValueError, match="x: chunks must join to exactly the recorded text"):
        ReplayExchange("x", REQUEST, 200, "abc", stream=True, chunks=("ab",))


@pytest.mark.skipif(not REAL.is_dir(), reason=f"real responses not found at {REAL}")
def test_an_exchange_file_replays_with_its_raw_text() -> None:
    path = REAL / "openrouter-fireworks__kimi-k2-0905__parallel-calls-text-plus-tools-whitespace-prefix.json"
    [recorded] = load(path)
    exchange = ReplayExchange.of(recorded)
    assert exchange.text == json.loads(path.read_text())["response_raw_text"]  # the padding is kept
    assert (exchange.status, exchange.stream, exchange.content_type()) == (200, False, "application/json")


def test_a_turn_of_run_replays_with_its_request_mode() -> None:
    turn = Turn(number=2, request={**REQUEST, "stream": True}, status=200, response_text=SSE)
    exchange = ReplayExchange.from_turn(turn, "weather[stub/m-stream]")
    assert exchange is not None
    assert (exchange.label, exchange.stream, exchange.text) == ("weather[stub/m-stream]#2", True, SSE)
    assert ReplayExchange.from_turn(Turn(number=1, request=REQUEST), "x") is None  # no response came
