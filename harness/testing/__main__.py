"""`python -m harness.testing`: serve one stub until standard input closes; print its base URL first.

Reading standard input to its end is how the child learns that its parent is gone, even a parent
killed without a chance to clean up: the pipe closes with it, so no stub outlives its benchmark.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from types import FrameType

from harness.testing.responders import Responder
from harness.testing.server import StubServer


def load_responder(spec: str) -> Responder:
    """A responder from "MODULE:NAME", NAME a zero-argument callable that returns it."""
    module, _, name = spec.partition(":")
    if not module or not name:
        raise SystemExit(f"--responder {spec!r}: expected MODULE:NAME")
    try:
        responder: Responder = getattr(importlib.import_module(module), name)()
    except Exception as exc:  # one line for the parent to show, not a traceback
        raise SystemExit(f"--responder {spec!r}: cannot load it: {type(exc).__name__}: {exc}") from None
    return responder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.testing", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: 0, a free one)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before each answer")
    parser.add_argument("--responder", help="MODULE:NAME of a zero-argument callable returning the responder")
    parser.add_argument("--path", action="append", default=[], help="put this folder first on sys.path")
    parser.add_argument("--break", dest="breaks", action="append", default=[], help="a protocol break")
    args = parser.parse_args(argv)
    sys.path[:0] = args.path
    responder = load_responder(args.responder) if args.responder else None
    stub = StubServer(responder, latency=args.latency_ms / 1e3, breaks=args.breaks, port=args.port)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def watch_stdin() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()
    with stub:
        print(stub.base_url, flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
