"""The stub's HTTP server: an OpenAI-compatible chat-completions endpoint on a free loopback port.

Standard library only, bound to 127.0.0.1 only. Requests are recorded for the test to inspect, faults
are injected per request, and stop() wakes every stalled handler so a timeout test never slows the
suite.
"""

from __future__ import annotations

import functools
import json
import socket
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from harness.testing.faults import BREAKS, Fault, check_names
from harness.testing.rate_limit import RateLimit, SlidingWindow
from harness.testing.responders import Responder, echo_responder
from harness.testing.wire import prepare, render_completion, render_events, sse_event

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def _bytes(body: str | bytes | dict[str, Any]) -> bytes:
    if isinstance(body, dict):
        return json.dumps(body).encode()
    return body.encode() if isinstance(body, str) else body


def _error_body(status: int, message: str) -> dict[str, Any]:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:  # a status the standard library has no name for
        phrase = "Error"
    return {
        "error": {
            "message": message,
            "type": _ERROR_TYPES.get(status, "server_error"),
            "code": phrase.lower().replace(" ", "_").replace("-", "_"),
        }
    }


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Past the default backlog of 5, a burst of connections (64 runs at once) loses SYNs, 1 s each.
    request_queue_size = 256
    stub: StubServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (a timeout test) is expected, not a stub bug."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


STOP_GRACE_S = 2.0


class StubServer:
    """An OpenAI-compatible server on a free loopback port; a context manager, or start()/stop().

    `requests` holds the JSON bodies of chat-completions requests in arrival order and `headers[i]` the
    headers (names lower-cased) of `requests[i]`; `max_in_flight` is the peak number of chat-completions
    requests handled at once, which benchmarks read to prove their requests really overlapped.
    `errors` collects responder exceptions, which are also answered as HTTP 500.

    With `rate_limit`, chat-completions requests above it are answered 429 (see rate_limit.py) before
    any latency, fault or responder; they are counted in `rate_limited`, not recorded in `requests`.
    """

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        latency: float = 0.0,
        chunk_delay: float = 0.0,
        faults: list[Fault] | None = None,
        models: list[dict[str, Any]] | None = None,
        models_status: int = 200,
        models_body: str | bytes | dict[str, Any] | None = None,
        breaks: Iterable[str] = (),
        rate_limit: RateLimit | None = None,
        port: int = 0,
    ) -> None:
        self.responder: Responder = responder or echo_responder
        self.latency = latency
        self.chunk_delay = chunk_delay
        self.models = models or [{"id": "stub-model", "object": "model", "created": 0, "owned_by": "stub"}]
        # `GET /v1/models` answers `{"object": "list", "data": models}`, or `models_body` (any bytes) with
        # `models_status`: a listing that fails or is not JSON. `models_served` counts the requests.
        self.models_status = models_status
        self.models_body = models_body
        self.models_served = 0
        self.window = SlidingWindow(rate_limit) if rate_limit is not None else None
        self.rate_limited = 0
        self.breaks: set[str] = set(breaks)
        check_names("break", self.breaks, BREAKS)
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.errors: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.connections_opened = 0  # a client whose pool is too small for its concurrency reconnects
        # (request number, seconds held: headers parsed to last byte written, the stub's work included):
        # what a client sees of a request, less the loopback's transfer (`GET /_stub/stats`).
        self.held: list[tuple[int, float]] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # notified whenever a request finishes
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._port = 0
        self._wanted_port = port  # 0: a free one
        self._thread: threading.Thread | None = None
        self.inject(*(faults or []))

    def inject(self, *faults: Fault) -> None:
        """Add faults after start, e.g. to break a provider halfway through a benchmark."""
        with self._lock:
            if sum(f.every for f in [*self._faults, *faults]) > 1:
                raise ValueError("at most one Fault may have every=True")
            self._faults.extend(faults)

    @property
    def base_url(self) -> str:
        """The URL stays readable after stop(), so a finished run can still report where it went."""
        if not self._port:
            raise RuntimeError("StubServer is not started")
        return f"http://127.0.0.1:{self._port}/v1"

    def start(self) -> StubServer:
        if self._httpd is not None:
            raise RuntimeError("StubServer is already running")
        self._stopping.clear()
        self._httpd = httpd = _HTTPServer(("127.0.0.1", self._wanted_port), _Handler)
        httpd.stub = self
        self._port = int(httpd.server_address[1])
        # A short poll interval keeps stop() (which waits for the next poll) from costing 0.5 s per test.
        serve = functools.partial(httpd.serve_forever, poll_interval=0.02)
        self._thread = threading.Thread(target=serve, name="stub-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wake every stalled handler, so a `timeout` fault never delays a test run."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        with self._lock:
            for conn in list(self._connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            # A client may hold its whole answer before the handler has counted itself out.
            self._idle.wait_for(lambda: self.in_flight == 0, timeout=STOP_GRACE_S)
        self._httpd.server_close()
        self._httpd = None

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _admit(self, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Fault | None]:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            number = len(self.requests)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            fault = next((f for f in self._faults if f.request == number), None)
            if fault is None:
                queued = next((f for f in self._faults if f.request is None and not f.every), None)
                if queued is not None:
                    self._faults.remove(queued)
                fault = queued or next((f for f in self._faults if f.every), None)
            return number, fault

    def _leave(self, number: int, held: float) -> None:
        with self._lock:
            self.in_flight -= 1
            self.held.append((number, held))
            self._idle.notify_all()

    def stats(self) -> dict[str, Any]:
        """What a benchmark in another process needs to know of the traffic so far (`GET /_stub/stats`)."""
        with self._lock:
            return {"requests": len(self.requests), "max_in_flight": self.max_in_flight,
                    "in_flight": self.in_flight, "connections_opened": self.connections_opened,
                    "rate_limited": self.rate_limited, "held": [list(h) for h in self.held],
                    "errors": list(self.errors)}

    def reset_stats(self) -> None:
        """Forget counts and timings (not faults), so one stub process can serve several measurements."""
        with self._lock:
            self.requests, self.headers, self.held = [], [], []
            self.max_in_flight, self.connections_opened, self.rate_limited = self.in_flight, 0, 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Each SSE chunk must leave at once, or time-to-first-byte measures Nagle's algorithm.
    disable_nagle_algorithm = True
    timeout = 60
    server: _HTTPServer
    request_number = 0  # of the chat-completions request being answered; 0 for other routes
    limit_headers: dict[str, str] = {}  # the rate limit's headers of the request being answered

    def setup(self) -> None:
        super().setup()
        with self.server.stub._lock:
            self.server.stub._connections.add(self.connection)
            self.server.stub.connections_opened += 1

    def finish(self) -> None:
        with self.server.stub._lock:
            self.server.stub._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: test output should show findings, not access logs."""

    def do_GET(self) -> None:
        route = urlsplit(self.path).path.rstrip("/")
        if route == "/v1/models":
            stub = self.server.stub
            with stub._lock:
                stub.models_served += 1
            default = {"object": "list", "data": stub.models} if stub.models_status < 400 \
                else _error_body(stub.models_status, "stub models listing fault")
            self._send(stub.models_status, default if stub.models_body is None else stub.models_body)
        elif route == "/health":
            self._send(200, {"status": "ok"})
        elif route == "/_stub/stats":
            self._send(200, self.server.stub.stats())
        else:
            self._send(404, _error_body(404, f"no route for GET {self.path}"))

    def do_POST(self) -> None:
        arrived = time.perf_counter()
        self.limit_headers = {}  # a kept-alive connection's handler answers many requests
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if urlsplit(self.path).path.rstrip("/") == "/_stub/reset":
            self.server.stub.reset_stats()
            self._send(200, {"status": "reset"})
            return
        if urlsplit(self.path).path.rstrip("/") != "/v1/chat/completions":
            self._send(404, _error_body(404, f"no route for POST {self.path}"))
            return
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("the body is not a JSON object")
        except ValueError as exc:
            self._send(400, _error_body(400, f"invalid JSON body: {exc}"))
            return
        stub = self.server.stub
        if stub.window is not None:
            verdict = stub.window.admit()
            self.limit_headers = verdict.headers
            if not verdict.admitted:
                with stub._lock:
                    stub.rate_limited += 1
                self._send(429, _error_body(429, "Rate limit reached for requests (stub)"))
                return
        number, fault = stub._admit(body, {k.lower(): v for k, v in self.headers.items()})
        self.request_number = number
        try:
            self._complete(stub, body, number, fault)
        except OSError:
            self.close_connection = True  # the client went away; nothing left to answer
        finally:
            stub._leave(number, time.perf_counter() - arrived)

    def _complete(self, stub: StubServer, body: dict[str, Any], number: int, fault: Fault | None) -> None:
        kind = fault.kind if fault else None
        stall = fault.seconds if fault and kind == "timeout" else 0.0
        if fault and kind == "trickle":  # a server that never stalls long enough for a read timeout
            self._trickle(stub, fault.seconds)
            return
        if stub._stopping.wait(stub.latency + stall):
            self.close_connection = True
            return
        if fault and kind in ("status", "html"):
            status = fault.status or (500 if kind == "status" else 200)
            page = f"<html><head><title>{status}</title></head><body><h1>Gateway {status}</h1></body></html>"
            default: dict[str, Any] | str = _error_body(status, "stub fault") if kind == "status" else page
            self._send(status, fault.body or default, fault)
            return
        try:
            reply = prepare(stub.responder(body), body, stub.breaks, number)
        except Exception as exc:  # a broken responder is a test bug: say so in the answer and in `errors`
            message = f"stub responder failed: {type(exc).__name__}: {exc}"
            with stub._lock:
                stub.errors.append(message)
            self._send(500, _error_body(500, message))
            return
        stream, ident = bool(body.get("stream")), f"chatcmpl-stub-{number}"
        include_usage = stream and bool((body.get("stream_options") or {}).get("include_usage"))
        if fault and kind == "unknown_finish_reason":
            reply.finish_reason = fault.finish_reason
        if kind == "cut_before_done":
            reply.finish_reason, reply.breaks, include_usage = None, reply.breaks | {"no_done"}, False
        created, model = int(time.time()), str(body.get("model", "stub-model"))
        garbage = _bytes(fault.body if fault and fault.body else b'{"id": "chatcmpl-stub", "choices": [')
        if stream:
            rendered = render_events(
                reply, ident=ident, created=created, model=model, include_usage=include_usage
            )
            events = [e.encode() for e in rendered]
            if kind == "empty_choices":
                empty = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model}
                events = [sse_event({**empty, "choices": []}).encode(), b"data: [DONE]\n\n"]
            elif kind == "invalid_json":
                events = [b"data: " + garbage + b"\n\n", b"data: [DONE]\n\n"]
            self._stream(stub, events, fault if kind == "reset_midstream" else None)
            return
        completion = render_completion(reply, ident=ident, created=created, model=model)
        if kind == "empty_choices":
            completion["choices"] = []
        if kind == "invalid_json":
            self._send(200, garbage, fault)
        elif kind == "reset_midstream":
            data = json.dumps(completion).encode()
            self._head(200, "application/json", {"Content-Length": str(len(data))})
            self.wfile.write(data[: len(data) // 2])
            self._abort()
        else:
            self._send(200, completion)

    def _head(self, status: int, content_type: str, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("x-request-id", f"req_stub_{self.request_number}")
        for key, value in self.limit_headers.items():
            self.send_header(key, value)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()

    def _send(self, status: int, body: str | bytes | dict[str, Any], fault: Fault | None = None) -> None:
        """Answer in one piece; a body that looks like markup is labelled HTML, anything else JSON."""
        data = _bytes(body)
        extra = {k.lower(): v for k, v in (fault.headers if fault else {}).items()}
        html = data.lstrip()[:1] == b"<"
        content_type = extra.pop("content-type", "text/html; charset=utf-8" if html else "application/json")
        self._head(status, content_type, {"Content-Length": str(len(data)), **extra})
        self.wfile.write(data)

    def _stream(self, stub: StubServer, events: list[bytes], reset: Fault | None) -> None:
        self._head(
            200,
            "text/event-stream; charset=utf-8",
            {"Transfer-Encoding": "chunked", "Cache-Control": "no-cache"},
        )
        cut = min(reset.after_events, len(events) - 1) if reset else len(events)
        for i, event in enumerate(events[:cut]):
            if i and stub.chunk_delay and stub._stopping.wait(stub.chunk_delay):
                break
            self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
        if reset:
            self._abort()
        else:
            self.wfile.write(b"0\r\n\r\n")

    def _trickle(self, stub: StubServer, seconds: float) -> None:
        """Headers, then one byte of an endless body every `seconds`, until the client hangs up."""
        self._head(200, "text/event-stream; charset=utf-8", {"Transfer-Encoding": "chunked"})
        self.wfile.write(b"1\r\n:\r\n")
        while not stub._stopping.wait(seconds):
            self.wfile.write(b"1\r\n \r\n")
            self.wfile.flush()

    def _abort(self) -> None:
        """Drop the connection mid-body, as a crashed upstream or a killed proxy would."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()
