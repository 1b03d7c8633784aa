"""The stub server in a process of its own, for measurements the stub must not disturb.

A stub sharing the measured process shares its GIL: each of its handlers that wakes up to answer
delays the harness's threads, and the harness's work delays the stub's answers, so wall times and
latencies measure both together. `python -m harness.testing` serves one stub until its standard input
closes (or SIGTERM/SIGINT) and prints its base URL as its first line; `StubProcess` starts that child,
reads the URL, fetches the stub's counters (`stats`) over HTTP, and ends and reaps the child on exit.
Standard library only, like the rest of this package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterable, Sequence
from typing import Any

START_TIMEOUT_S = 30.0  # a cold interpreter on a loaded 2-core machine can take seconds to import


class StubProcess:
    """`python -m harness.testing` as a context manager: `base_url` while it runs, `stats()` of its traffic.

    `responder` is "MODULE:NAME", a zero-argument callable returning the responder (as `oracle` in
    tests/oracle.py), imported in the child, with `paths` put first on its `sys.path`.
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        responder: str | None = None,
        paths: Iterable[str] = (),
        breaks: Sequence[str] = (),
        python: str = sys.executable,
    ) -> None:
        self.command = [python, "-m", "harness.testing", "--port", "0", "--latency-ms", f"{latency * 1e3:g}"]
        if responder is not None:
            self.command += ["--responder", responder]
        for path in paths:
            self.command += ["--path", str(path)]
        for name in breaks:
            self.command += ["--break", name]
        self.process: subprocess.Popen[str] | None = None
        self._stderr: Any = None
        self.base_url = ""

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("StubProcess is not started")
        return self.process.pid

    def start(self) -> StubProcess:
        if self.process is not None:
            raise RuntimeError("StubProcess is already running")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # Its stderr goes to a file: a pipe nobody reads during a long benchmark could fill and stall it.
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
            env=env,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()  # the child exits, closing stdout, if it cannot start
        if not line.startswith("http://127.0.0.1:"):
            error = self._end()
            raise RuntimeError(f"the stub process did not start: {line or error or 'no output'}")
        self.base_url = line
        return self

    def stats(self) -> dict[str, Any]:
        """`requests`, `max_in_flight`, `in_flight`, `connections_opened`, `held` ([number, seconds] per
        answered request), `errors`: counted since the start or the last `reset`."""
        root = self.base_url.removesuffix("/v1")
        with urllib.request.urlopen(root + "/_stub/stats", timeout=10) as response:  # noqa: S310 (loopback)
            data: dict[str, Any] = json.loads(response.read())
        return data

    def reset(self) -> None:
        """Forget the counts and timings so far, between two measurements on one stub."""
        root = self.base_url.removesuffix("/v1")
        request = urllib.request.Request(root + "/_stub/reset", data=b"{}", method="POST")
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 (loopback)
            pass

    def _end(self) -> str:
        """Close the child's stdin (its signal to stop), wait for it, kill it if it hangs; reap it."""
        process, self.process = self.process, None
        if process is None:
            return ""
        for pipe in (process.stdin, process.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()  # closing its stdin is the child's signal to stop
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self._stderr.seek(0)
        err = self._stderr.read()
        self._stderr.close()
        return err.strip()

    def stop(self) -> None:
        self._end()

    def __enter__(self) -> StubProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
