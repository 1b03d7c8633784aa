"""The harness's stub server in a process of its own, for benchmarks that compare two client processes.

`python benchmarks/peer_stub.py --latency 0.1 --record FILE` starts `StubServer(echo_responder)` on a
free loopback port, prints its base URL on one line, and serves until its standard input closes; then it
writes what it saw to FILE as JSON (`requests`, `max_in_flight`, `bodies`) and exits. In a process of
its own the stub takes no CPU from either client measured, and the count of requests on the wire comes
from a witness that belongs to neither side.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.testing.stub import StubServer, echo_responder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--record", type=Path, required=True, help="JSON file written at the end")
    args = parser.parse_args(argv)
    with StubServer(echo_responder, latency=args.latency) as stub:
        print(stub.base_url, flush=True)
        sys.stdin.read()  # the parent closes our stdin when its client has finished
        seen = {"requests": len(stub.requests), "max_in_flight": stub.max_in_flight,
                "errors": stub.errors, "bodies": stub.requests}
    args.record.write_text(json.dumps(seen), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
