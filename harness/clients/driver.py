"""The client-driver seam: what every client library driver is, and the built-ins by id.

A driver points one real client library at a mounted exchange and reports what the library surfaced,
as a `ClientResult`. It is constructed without arguments (so an entry point in the
`toolcall_harness.clients` group can name the class), opened once per run (a Node driver starts its
long-lived process there), asked `run` for any number of exchanges, possibly from several threads,
and closed. A driver never judges: `compare` does.

    with create_driver("node-openai") as driver:
        result = driver.run(exchange, mount.base_url, requests=lambda: len(mount.requests))
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import ClassVar

from harness.clients.exchange import ReplayExchange
from harness.clients.result import ClientResult
from harness.core.errors import HarnessError
from harness.core.registry import Registry

# Seconds one client may take on one exchange before the driver gives up on it (a driver error).
DEFAULT_TIMEOUT_S = 30.0


class ClientUnavailable(HarnessError):
    """A client cannot be driven on this machine (Node or its packages missing); says how to fix it."""


class ClientDriver(abc.ABC):
    """Drives one client library. Subclasses set `id` (stable, used in finding ids) and `library`."""

    id: ClassVar[str]
    library: ClassVar[str]
    description: ClassVar[str] = ""  # one line for `toolcall-harness plugins`

    def __init__(self, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s

    @property
    @abc.abstractmethod
    def version(self) -> str:
        """The library's version, as installed; known once the driver is open."""

    def open(self) -> None:  # noqa: B027 - a hook with nothing to do for in-process drivers
        """Prepare to run (start a process, import a module). Raises `ClientUnavailable` if it cannot."""

    def close(self) -> None:  # noqa: B027
        """Release what `open` took; safe to call twice or without `open`."""

    @abc.abstractmethod
    def run(self, exchange: ReplayExchange, base_url: str, *,
            requests: Callable[[], int] | None = None) -> ClientResult:
        """Call the client with the exchange's request at `base_url`; never raises for what the client does.

        `requests` counts the HTTP requests the replay server has received for this exchange so far; a
        client that raised before sending anything refused the *request* (our conversion of it), which
        says nothing of the response, so that becomes a `driver_error`, not a client error.
        """

    @staticmethod
    def settle(result: ClientResult, requests: int) -> None:
        """Record the request count; an error raised before any request reached the server is ours."""
        result.requests = requests
        if result.error is not None and requests == 0 and result.driver_error is None:
            result.driver_error = (f"the client refused the recorded request before sending it: "
                                   f"{result.error.type}: {result.error.message}")
            result.error = None

    def __enter__(self) -> ClientDriver:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


DriverFactory = Callable[[], ClientDriver]
GROUP = "toolcall_harness.clients"
# Every client driver by id, built-in or from a plugin: a class (or factory) that takes no arguments.
CLIENTS: Registry[DriverFactory] = Registry("client", GROUP)


def client(cls: type[ClientDriver]) -> type[ClientDriver]:
    """Register a driver class under its `id`; the decorator built-ins and plugins use alike.

    ::

        @harness.clients.client
        class MyClient(ClientDriver):
            id = "my-client"
            ...
    """
    CLIENTS.add(cls.id, cls, module=cls.__module__)
    return cls


builtin = client  # the name the built-in driver modules use


def load_builtin_clients() -> None:
    """Import the built-in driver modules, which register themselves; cheap, idempotent."""
    # Imported here, not at the top: the driver modules import this one to register themselves.
    import harness.clients.python_openai  # noqa: F401
    import harness.clients.node_drivers  # noqa: F401  # isort: skip (python-openai is listed first)


def builtin_drivers() -> dict[str, DriverFactory]:
    """Every registered driver by id (the built-ins and any loaded plugins)."""
    load_builtin_clients()
    return {entry.id: entry.value for entry in CLIENTS.entries()}


def create_driver(client_id: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> ClientDriver:
    """A new, unopened driver for a client id; an unknown id is a usage error with a suggestion."""
    driver = _known(client_id)()
    driver.timeout_s = timeout_s
    return driver


def parse_client_ids(value: str) -> list[str]:
    """`python-openai,node-openai` -> ids, checked now so a typo fails before anything runs."""
    ids = [part.strip() for part in value.split(",") if part.strip()]
    if not ids:
        known = ", ".join(builtin_drivers())
        raise HarnessError(f"--clients: give at least one client id; known: {known}")
    for client_id in ids:
        _known(client_id)
    return list(dict.fromkeys(ids))


def _known(client_id: str) -> DriverFactory:
    load_builtin_clients()
    return CLIENTS.get(client_id, where="--clients")
