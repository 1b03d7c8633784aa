"""`run --clients`: every answered turn of a run replayed to real client libraries, judged with the run.

`RunClients` is the engine's `after_turn` hook. It holds one `ClientSession` per run (one replay server
and one long-lived driver per client, shared by the engine's worker threads), replays each turn's
recorded response to every client, keeps their `ClientCheck`s on the turn (`Turn.client_checks`) and
adds their findings to the turn's findings, so the run's verdict includes them: a client that
`rejects` a response the wire accepted, or surfaces other calls than the wire carried (`mismatch`),
fails the run, as docs/clients.md says; `repairs` and a rejection of a response the wire already
faults are warnings; a client the harness could not drive is verdict `error` with no finding.

`probe` opens the clients once while the run is prepared, so a missing Node or install is one message
(exit 2, `pytest.UsageError`) before any run; the session itself opens on the first turn, in the
process that runs it (a pytest-xdist controller never starts a Node driver), and closes with the engine.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from harness.clients import ClientSession, ClientUnavailable, ReplayExchange, parse_client_ids
from harness.conformance.wire import Assessment
from harness.core.model import RunKey, Turn


class RunClients:
    """The `after_turn` hook of a run with `--clients`."""

    def __init__(self, client_ids: Sequence[str]) -> None:
        self.client_ids = list(client_ids)
        self._session: ClientSession | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_run(cls, clients: Sequence[str]) -> RunClients | None:
        """The hook for these client ids, probed; None without clients (the default: no Node needed)."""
        if not clients:
            return None
        hook = cls(clients)
        hook.probe()
        return hook

    def probe(self) -> None:
        """Open and close every client now, so what cannot run here fails before any run does."""
        try:
            ClientSession(self.client_ids).open().close()
        except ClientUnavailable as exc:
            raise ClientUnavailable(f"--clients {','.join(self.client_ids)}: {exc}") from None

    def session(self) -> ClientSession:
        with self._lock:
            if self._session is None:
                self._session = ClientSession(self.client_ids).open()
            return self._session

    def __call__(self, key: RunKey, turn: Turn, wire: Assessment | None) -> Turn:
        exchange = ReplayExchange.from_turn(turn, key.label)
        if exchange is None:  # no response came (timeout, connection): nothing to replay
            return turn
        checks = [check.model_copy(update={"findings": [f.model_copy(update={"turn": turn.number})
                                                        for f in check.findings]})
                  for check in self.session().check(exchange, wire=wire)]
        added = [f for check in checks for f in check.findings]
        return turn.model_copy(update={"client_checks": checks, "findings": [*turn.findings, *added]})

    def close(self) -> None:
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()


def client_ids(value: str | list[str] | None) -> list[str]:
    """`--clients` as given (comma-separated, or a list from a journal) -> checked, de-duplicated ids."""
    if not value:
        return []
    return parse_client_ids(value if isinstance(value, str) else ",".join(value))
