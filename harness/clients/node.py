"""`node-openai` and `node-ai-sdk`: Node client libraries driven by one long-lived process each.

Starting Node and loading a client library costs far more than replaying one exchange, so each Node
driver starts `node driver.mjs` once (at `open`) and streams exchanges to it as JSON lines; answers
come back tagged with their `seq`, so several threads may `run` at once. A process that dies or stops
answering costs the exchanges in flight a `driver_error` (never a client verdict) and is restarted on
the next `run`. The scripts are package data; the packages come from `installer.require_installed()`.
"""

from __future__ import annotations

import collections
import itertools
import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

from harness.clients import installer
from harness.clients.driver import ClientDriver, ClientUnavailable, builtin
from harness.clients.exchange import ReplayExchange
from harness.clients.result import ClientCall, ClientError, ClientResult

STARTUP_TIMEOUT_S = 30.0
GRACE_S = 5.0  # beyond the client's own timeout, before the process is presumed stuck


class NodeDriver(ClientDriver):
    """One `node driver.mjs --client <script_client>` process for the whole run."""

    script_client: ClassVar[str]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._proc: subprocess.Popen[str] | None = None
        self._version = ""
        self._write_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._waiting: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._seq = itertools.count(1)
        self._stderr: collections.deque[str] = collections.deque(maxlen=30)

    @property
    def version(self) -> str:
        return self._version or "unknown (driver not started)"

    # -------------------------------------------------------------------------------- the process

    def open(self) -> None:
        with self._state_lock:
            if self._proc is not None and self._proc.poll() is None:
                return
            node = installer.node_executable()
            root = installer.require_installed()
            script = installer.PACKAGE_DIR / "driver.mjs"
            command = [node, str(script), "--client", self.script_client, "--root", str(root)]
            proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1)
            started: queue.Queue[dict[str, Any]] = queue.Queue()
            threading.Thread(target=self._read_stdout, args=(proc, started), daemon=True,
                             name=f"{self.id}-stdout").start()
            threading.Thread(target=self._read_stderr, args=(proc,), daemon=True,
                             name=f"{self.id}-stderr").start()
            try:
                hello = started.get(timeout=STARTUP_TIMEOUT_S)
            except queue.Empty:
                proc.kill()
                raise ClientUnavailable(f"{self.id}: the Node driver did not start within "
                                        f"{STARTUP_TIMEOUT_S:.0f}s{self._stderr_tail()}") from None
            if "ready" not in hello:
                proc.kill()
                raise ClientUnavailable(f"{self.id}: {hello.get('fatal', hello)}; reinstall with "
                                        f"`{installer.INSTALL_COMMAND} --force`{self._stderr_tail()}")
            self._version = str(hello["ready"].get("version", ""))
            self._proc = proc

    def close(self) -> None:
        with self._state_lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=GRACE_S)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()

    def _read_stdout(self, proc: subprocess.Popen[str], started: queue.Queue[dict[str, Any]]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                self._stderr.append(f"(stdout) {line.rstrip()}")
                continue
            if "seq" not in message:
                started.put(message)
                continue
            with self._state_lock:
                waiter = self._waiting.pop(message["seq"], None)
            if waiter is not None:
                waiter.put(message)
        code = proc.wait()
        started.put({"fatal": f"the Node driver exited with code {code}"})
        with self._state_lock:
            orphans, self._waiting = list(self._waiting.values()), {}
        for waiter in orphans:
            waiter.put({"driver_error": f"the Node driver exited with code {code}{self._stderr_tail()}"})

    def _read_stderr(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self._stderr.append(line.rstrip())

    def _stderr_tail(self) -> str:
        lines = [line for line in self._stderr if line.strip()][-5:]
        return ("; stderr: " + " | ".join(lines))[:800] if lines else ""

    # ------------------------------------------------------------------------------------ one run

    def run(self, exchange: ReplayExchange, base_url: str, *,
            requests: Callable[[], int] | None = None) -> ClientResult:
        self.open()
        mode = "stream" if exchange.stream else "nonstream"
        result = ClientResult(client=self.id, library=self.library, version=self.version, mode=mode, api="")
        seq = next(self._seq)
        waiter: queue.Queue[dict[str, Any]] = queue.Queue()
        job = {"seq": seq, "base_url": base_url, "mode": mode, "request": exchange.request,
               "timeout_ms": int(self.timeout_s * 1000)}
        started = time.perf_counter()
        with self._state_lock:
            proc = self._proc
            self._waiting[seq] = waiter
        try:
            assert proc is not None and proc.stdin is not None
            with self._write_lock:
                proc.stdin.write(json.dumps(job) + "\n")
                proc.stdin.flush()
            answer = waiter.get(timeout=self.timeout_s + GRACE_S)
        except (OSError, AssertionError):
            answer = {"driver_error": f"cannot write to the Node driver{self._stderr_tail()}"}
        except queue.Empty:
            waited = self.timeout_s + GRACE_S
            answer = {"driver_error": f"no answer from the Node driver within {waited:.0f}s"}
            self._abandon(seq, proc)
        result.duration_s = time.perf_counter() - started
        if "driver_error" in answer:
            result.driver_error = str(answer["driver_error"])
        else:
            _fill(result, answer["result"])
        if requests is not None:
            self.settle(result, requests())
        return result

    def _abandon(self, seq: int, proc: subprocess.Popen[str] | None) -> None:
        """A stuck process is killed; the next `run` starts a fresh one."""
        with self._state_lock:
            self._waiting.pop(seq, None)
            if proc is not None and self._proc is proc:
                self._proc = None
        if proc is not None:
            proc.kill()


def _fill(result: ClientResult, data: dict[str, Any]) -> None:
    result.api = str(data.get("api") or "")
    result.tool_calls = [ClientCall.model_validate(call) for call in data.get("tool_calls") or []]
    result.finish_reason = data.get("finish_reason")
    result.text = data.get("text")
    error = data.get("error")
    result.error = ClientError.model_validate(error) if error else None


@builtin
class NodeOpenAIDriver(NodeDriver):
    id = "node-openai"
    library = "openai (npm)"
    script_client = "openai"


@builtin
class NodeAISDKDriver(NodeDriver):
    id = "node-ai-sdk"
    library = "ai + @ai-sdk/openai-compatible (npm)"
    script_client = "ai-sdk"
