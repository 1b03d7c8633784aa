"""`node-openai` and `node-ai-sdk`: Node client libraries driven by one long-lived process each.

Starting Node and loading a client library costs far more than replaying one exchange, so each Node
driver starts `node driver.mjs` once (at `open`) and streams exchanges to it as JSON lines; answers
come back tagged with their `seq`, so several threads may `run` at once. A process that dies or stops
answering costs the exchanges in flight a `driver_error` (never a client verdict) and is replaced on
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

Answer = dict[str, Any]


class _NodeProcess:
    """One `node driver.mjs` process: jobs go in on stdin, a reader thread routes answers by `seq`."""

    def __init__(self, command: list[str], name: str) -> None:
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1)
        self.lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.alive = True
        self.waiting: dict[int, queue.Queue[Answer]] = {}
        self.hello: queue.Queue[Answer] = queue.Queue()
        self.stderr: collections.deque[str] = collections.deque(maxlen=30)
        threading.Thread(target=self._read_stdout, daemon=True, name=f"{name}-stdout").start()
        threading.Thread(target=self._read_stderr, daemon=True, name=f"{name}-stderr").start()

    def submit(self, job: dict[str, Any]) -> queue.Queue[Answer]:
        waiter: queue.Queue[Answer] = queue.Queue()
        with self.lock:
            if not self.alive:
                waiter.put({"driver_error": f"the Node driver had exited{self.stderr_tail()}"})
                return waiter
            self.waiting[job["seq"]] = waiter
        # Written outside `lock`, which the reader needs: a full pipe must not stall the answers.
        try:
            with self.write_lock:
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps(job) + "\n")
                self.proc.stdin.flush()
        except (OSError, ValueError) as exc:
            self.forget(job["seq"])
            waiter.put({"driver_error": f"cannot write to the Node driver ({exc}){self.stderr_tail()}"})
        return waiter

    def forget(self, seq: int) -> None:
        with self.lock:
            self.waiting.pop(seq, None)

    def stop(self, *, kill: bool = False) -> None:
        try:
            if kill:
                self.proc.kill()
            elif self.proc.stdin is not None:
                self.proc.stdin.close()  # the driver finishes what is in flight, then exits
            self.proc.wait(timeout=GRACE_S)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()

    def stderr_tail(self) -> str:
        lines = [line for line in self.stderr if line.strip()][-5:]
        return ("; stderr: " + " | ".join(lines))[:800] if lines else ""

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                self.stderr.append(f"(stdout) {line.rstrip()}")
                continue
            if "seq" not in message:
                self.hello.put(message)
                continue
            with self.lock:
                waiter = self.waiting.pop(message["seq"], None)
            if waiter is not None:
                waiter.put(message)
        code = self.proc.wait()
        self.hello.put({"fatal": f"the Node driver exited with code {code}"})
        with self.lock:
            self.alive = False
            orphans, self.waiting = list(self.waiting.values()), {}
        for waiter in orphans:
            waiter.put({"driver_error": f"the Node driver exited with code {code}{self.stderr_tail()}"})

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip())


class NodeDriver(ClientDriver):
    """One `node driver.mjs --client <script_client>` process for the whole run."""

    script_client: ClassVar[str]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._process: _NodeProcess | None = None
        self._version = ""
        self._lock = threading.Lock()
        self._seq = itertools.count(1)

    @property
    def version(self) -> str:
        return self._version or "unknown (driver not started)"

    def open(self) -> None:
        self._current()

    def close(self) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            process.stop()

    def _current(self) -> _NodeProcess:
        """The running process, started (or restarted after a crash) when needed."""
        with self._lock:
            if self._process is not None and self._process.alive:
                return self._process
            node = installer.node_executable()
            root = installer.require_installed()
            command = [node, str(installer.PACKAGE_DIR / "driver.mjs"), "--client", self.script_client,
                       "--root", str(root)]
            process = _NodeProcess(command, self.id)
            try:
                hello = process.hello.get(timeout=STARTUP_TIMEOUT_S)
            except queue.Empty:
                process.stop(kill=True)
                raise ClientUnavailable(f"{self.id}: the Node driver did not start within "
                                        f"{STARTUP_TIMEOUT_S:.0f}s{process.stderr_tail()}") from None
            if "ready" not in hello:
                process.stop(kill=True)
                raise ClientUnavailable(f"{self.id}: {hello.get('fatal', hello)}; reinstall with "
                                        f"`{installer.INSTALL_COMMAND} --force`{process.stderr_tail()}")
            self._version = str(hello["ready"].get("version", ""))
            self._process = process
            return process

    def run(self, exchange: ReplayExchange, base_url: str, *,
            requests: Callable[[], int] | None = None) -> ClientResult:
        process = self._current()
        mode = "stream" if exchange.stream else "nonstream"
        result = ClientResult(client=self.id, library=self.library, version=self.version, mode=mode, api="")
        seq = next(self._seq)
        job = {"seq": seq, "base_url": base_url, "mode": mode, "request": exchange.request,
               "timeout_ms": int(self.timeout_s * 1000)}
        started = time.perf_counter()
        waited = self.timeout_s + GRACE_S
        try:
            answer = process.submit(job).get(timeout=waited)
        except queue.Empty:
            answer = {"driver_error": f"no answer from the Node driver within {waited:.0f}s; restarting it"}
            process.forget(seq)
            self._replace(process)
        result.duration_s = time.perf_counter() - started
        if "driver_error" in answer:
            result.driver_error = str(answer["driver_error"])
        else:
            _fill(result, answer["result"])
        if requests is not None:
            self.settle(result, requests())
        return result

    def _replace(self, stuck: _NodeProcess) -> None:
        with self._lock:
            if self._process is stuck:
                self._process = None
        stuck.stop(kill=True)


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
    description = "the openai npm package: chat.completions.create and .stream"
    script_client = "openai"


@builtin
class NodeAISDKDriver(NodeDriver):
    id = "node-ai-sdk"
    library = "ai + @ai-sdk/openai-compatible (npm)"
    description = "the Vercel AI SDK (ai + @ai-sdk/openai-compatible): generateText and streamText"
    script_client = "ai-sdk"
