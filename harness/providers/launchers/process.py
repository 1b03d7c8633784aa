"""A launcher that runs one local server process per model: the start, health wait, crash and stop logic
every such server needs, so a new launcher only says how to build its command line.

Lazy because a run may touch only one of the models; thread-safe because the engine judges scenarios
from several threads; a start-up failure is remembered so that every later scenario of that model fails
fast with the same message instead of waiting out the timeout again. Logs go to a temporary folder that
is kept only when something failed, so the message can point at them.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from harness.providers.launchers.base import Launcher, LauncherError

HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
LOG_TAIL_LINES = 25


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def health_status(port: int, path: str = "/health") -> int | None:
    """GET the health path over a bare connection: no proxy settings from the environment can reroute it."""
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(log unreadable: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


@dataclass
class ServerProcess:
    model: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    command: list[str]
    group: bool = False  # started as a session leader: stopping signals its whole process group

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    def stop(self) -> None:
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.process.wait(timeout=10)
        if self.group:  # workers that outlived their parent
            self._signal(signal.SIGKILL)

    def _signal(self, sig: signal.Signals) -> None:
        try:
            if self.group:
                os.killpg(self.process.pid, sig)
            else:
                self.process.send_signal(sig)
        except ProcessLookupError:
            pass


class ProcessLauncher(Launcher):
    """One server process per model on a free loopback port, healthy when `health_path` answers 200."""

    process_name: ClassVar[str] = "server"  # how messages name the program, e.g. "llama-server"
    health_path: ClassVar[str] = "/health"
    # A server that spawns workers (vLLM's engine core) starts in a session of its own and is stopped as a
    # process group, so that no worker outlives the run.
    process_group: ClassVar[bool] = False

    def __init__(self, *, start_timeout: float = START_TIMEOUT_S) -> None:
        self.start_timeout = start_timeout
        self._lock = threading.Lock()
        self._servers: dict[str, ServerProcess] = {}
        self._failures: dict[str, LauncherError] = {}
        self._stack = contextlib.ExitStack()  # for files a command needs while its server runs
        self._log_dir = Path(tempfile.mkdtemp(prefix=f"toolcall-harness-{self.process_name}-"))
        self._keep_logs = False
        self._closed = False
        atexit.register(self.close)

    # ------------------------------------------------------------------------ what a subclass provides

    def check_model(self, model: str) -> None:
        """Raise `LauncherError` for a model this launcher does not serve (before anything starts)."""

    @abstractmethod
    def server_command(self, model: str, port: int) -> list[str]:
        """The command that serves `model` on `port`; raise `LauncherError` when a prerequisite is missing.

        Files the command needs for as long as the server runs can be entered into `self._stack`.
        """

    def server_env(self, model: str) -> dict[str, str]:
        """Variables to add to the environment the server starts with (none by default)."""
        return {}

    def explain_exit(self, code: int, log: str) -> tuple[str, str]:
        """What an exit status means in plain words, and the fix; a launcher that knows its server's
        failures (a CPU it cannot run on, a damaged model file) says more."""
        if code < 0:
            try:
                return f"it was killed by {signal.Signals(-code).name}", "see the log"
            except ValueError:
                return f"it was killed by signal {-code}", "see the log"
        return f"it exited with code {code}", "see the log"

    # ------------------------------------------------------------------------------------ the lifecycle

    def base_url(self, model: str) -> str:
        self.check_model(model)
        with self._lock:
            if self._closed:
                raise LauncherError(f"{type(self).__name__} is closed")
            if model in self._failures:
                raise self._failures[model]
            server = self._servers.get(model)
            if server is None:
                try:
                    server = self._start(model)
                except LauncherError as exc:
                    self._failures[model] = exc
                    raise
                self._servers[model] = server
            return server.base_url

    def command(self, model: str) -> list[str] | None:
        with self._lock:
            server = self._servers.get(model)
            return list(server.command) if server else None

    def _start(self, model: str) -> ServerProcess:
        port = free_port()
        command = self.server_command(model, port)
        log_path = self._log_dir / f"{model}.log"
        extra_env = self.server_env(model)
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self._log_dir,
                env={**os.environ, **extra_env} if extra_env else None, start_new_session=self.process_group,
            )
        server = ServerProcess(model, port, process, log_path, command, group=self.process_group)
        try:
            self._wait_healthy(server)
        except LauncherError:
            server.stop()
            self._keep_logs = True
            raise
        return server

    def _wait_healthy(self, server: ServerProcess) -> None:
        """Poll the health path until 200; servers answer 503 while they load the model."""
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            code = server.process.poll()
            if code is not None:
                raise self._died(server, code, "before it became healthy")
            if health_status(server.port, self.health_path) == 200:
                return
            time.sleep(0.1)
        raise self._error(
            server,
            f"did not answer 200 on {self.health_path} within {self.start_timeout:.0f} s",
            "see the log; a slow machine may need more time",
        )

    def died(self, model: str, grace: float = 0.0) -> LauncherError | None:
        with self._lock:
            if model in self._failures:
                return self._failures[model]
            server = self._servers.get(model)
            if server is None:
                return None
            try:
                code = server.process.wait(timeout=grace) if grace else server.process.poll()
            except subprocess.TimeoutExpired:
                code = None
            if code is None:
                return None
            self._keep_logs = True
            failure = self._failures[model] = self._died(server, code, "while the run was in progress")
            return failure

    def _died(self, server: ServerProcess, code: int, when: str) -> LauncherError:
        what, fix = self.explain_exit(code, log_tail(server.log_path))
        return self._error(server, f"stopped {when}: {what}", fix)

    def _error(self, server: ServerProcess, what: str, fix: str) -> LauncherError:
        return LauncherError(
            f"{self.process_name} for local model {server.model!r} {what}.",
            fix,
            f"command: {subprocess.list2cmdline(server.command)}\n"
            f"log ({server.log_path}), last lines:\n{log_tail(server.log_path, 8)}",
            server.log_path,
        )

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            server.stop()
        self._stack.close()
        if not self._keep_logs:
            shutil.rmtree(self._log_dir, ignore_errors=True)
        atexit.unregister(self.close)
