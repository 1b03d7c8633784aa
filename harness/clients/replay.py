"""A loopback server that answers a client with exactly the bytes of a recorded exchange.

A client library is judged by what it makes of a provider's response, so it must read the real bytes
through its own HTTP stack: the status, the recorded headers, the body, or the SSE text sent one event
per chunk (or cut where the recording says). One server serves a whole run: each exchange is mounted
under its own path (`/r/<token>/v1`), so a long-lived client process can be pointed at many exchanges,
concurrently, without a server per exchange. It binds 127.0.0.1 only and never dials anywhere.

    with ReplayServer() as server, server.mount(exchange) as mount:
        openai.OpenAI(base_url=mount.base_url, api_key="replay").chat.completions.create(...)
"""

from __future__ import annotations

import functools
import itertools
import json
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from harness.clients.exchange import ReplayExchange

HOST = "127.0.0.1"


@dataclass
class Mount:
    """One exchange on the server: the base URL to give a client, and what the client sent to it."""

    exchange: ReplayExchange
    token: str
    base_url: str
    requests: list[Any] = field(default_factory=list)  # JSON bodies (raw text when not JSON), in order


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    replay: ReplayServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gives up mid-stream (a timeout, a strict parser) is expected, not a server bug."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class ReplayServer:
    """Serves mounted exchanges on a free loopback port; a context manager, or start()/stop()."""

    def __init__(self) -> None:
        self._mounts: dict[str, Mount] = {}
        self._lock = threading.Lock()
        self._tokens = itertools.count(1)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    @property
    def root(self) -> str:
        if not self._port:
            raise RuntimeError("ReplayServer is not started")
        return f"http://{HOST}:{self._port}"

    def start(self) -> ReplayServer:
        if self._httpd is not None:
            raise RuntimeError("ReplayServer is already running")
        self._httpd = httpd = _HTTPServer((HOST, 0), _Handler)
        httpd.replay = self
        self._port = int(httpd.server_address[1])
        serve = functools.partial(httpd.serve_forever, poll_interval=0.02)
        self._thread = threading.Thread(target=serve, name="replay-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add(self, exchange: ReplayExchange) -> Mount:
        token = f"x{next(self._tokens)}"
        mount = Mount(exchange, token, f"{self.root}/r/{token}/v1")
        with self._lock:
            self._mounts[token] = mount
        return mount

    def remove(self, mount: Mount) -> None:
        with self._lock:
            self._mounts.pop(mount.token, None)

    @contextmanager
    def mount(self, exchange: ReplayExchange) -> Iterator[Mount]:
        mount = self.add(exchange)
        try:
            yield mount
        finally:
            self.remove(mount)

    def _find(self, token: str) -> Mount | None:
        with self._lock:
            return self._mounts.get(token)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # each event leaves when written, as a provider's would
    timeout = 60
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a replay is judged by what the client made of it, not by an access log."""

    def do_GET(self) -> None:
        self._refuse(404, f"no route for GET {self.path}; the replay server answers chat completions only")

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urlsplit(self.path).path.strip("/").split("/")
        mount = self.server.replay._find(parts[1]) if len(parts) >= 2 and parts[0] == "r" else None
        if mount is None or parts[2:] != ["v1", "chat", "completions"]:
            self._refuse(404, f"no exchange mounted at POST {self.path}")
            return
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with self.server.replay._lock:
            mount.requests.append(body)
        try:
            self._serve(mount.exchange)
        except OSError:
            self.close_connection = True  # the client hung up; nothing left to answer

    def _serve(self, exchange: ReplayExchange) -> None:
        pieces = [p.encode("utf-8") for p in exchange.pieces()]
        self.send_response(exchange.status)
        self.send_header("Content-Type", exchange.content_type())
        for key, value in exchange.extra_headers().items():
            self.send_header(key, value)
        chunked = exchange.stream or exchange.truncated or exchange.chunks is not None
        if not chunked:
            data = b"".join(pieces)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for piece in pieces:
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        if exchange.truncated:
            self._drop()
        else:
            self.wfile.write(b"0\r\n\r\n")

    def _refuse(self, status: int, message: str) -> None:
        data = json.dumps({"error": {"message": message, "type": "replay_error"}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        """End the transfer without its terminator, as a killed upstream does."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()
