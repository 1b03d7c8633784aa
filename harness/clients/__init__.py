"""Client compatibility: what real client libraries make of a recorded response (issue 17).

A recorded exchange is served byte for byte by a loopback `ReplayServer`; a `ClientDriver` points one
real library at it (`python-openai`, `node-openai`, `node-ai-sdk`) and reports a `ClientResult`;
`compare` judges it against the wire's own assembly, with the stable finding ids
`client.<id>.rejects`, `client.<id>.mismatch` and `client.<id>.repairs`. `ClientSession` ties them
together for a run. This layer sits between `conformance` and `engine`.
"""

from __future__ import annotations

from harness.clients.compare import compare, verdict
from harness.clients.driver import (
    DEFAULT_TIMEOUT_S,
    ClientDriver,
    ClientUnavailable,
    builtin_drivers,
    create_driver,
    parse_client_ids,
)
from harness.clients.exchange import ReplayExchange
from harness.clients.installer import INSTALL_COMMAND, install, install_root, is_installed
from harness.clients.replay import Mount, ReplayServer
from harness.clients.result import VERDICTS, ClientCall, ClientCheck, ClientError, ClientResult, Verdict
from harness.clients.session import ClientSession, judge
from harness.clients.tally import ClientTally, tally

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "INSTALL_COMMAND",
    "VERDICTS",
    "ClientCall",
    "ClientCheck",
    "ClientDriver",
    "ClientError",
    "ClientResult",
    "ClientSession",
    "ClientTally",
    "ClientUnavailable",
    "Mount",
    "ReplayExchange",
    "ReplayServer",
    "Verdict",
    "builtin_drivers",
    "compare",
    "create_driver",
    "install",
    "install_root",
    "is_installed",
    "judge",
    "parse_client_ids",
    "tally",
    "verdict",
]
