"""What a launcher is: something that starts a local OpenAI-compatible server for a provider's models.

A provider entry names its launcher by id (`launcher: llama-server` in providers.yaml); the engine asks
the launcher for a model's base URL (starting the server on first use), asks whether a started server
has died (so a crash stops the run with one message instead of a column of connection errors), and
closes it at the end. `missing_reason` lets the front-ends and `doctor` say, before anything starts,
why the launcher cannot run on this machine and what installs it. Launchers register by id in
`LAUNCHERS`, built-in and from plugins alike.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import ClassVar, TypeVar

from harness.core.registry import Registry

GROUP = "toolcall_harness.launchers"
L = TypeVar("L", bound="type[Launcher]")


class LauncherError(RuntimeError):
    """A local server could not be started, did not become healthy, or died: an environment problem.

    `str()` is the whole message a user needs: what happened in plain words, the fix, and where the log is;
    `summary` and `fix` are its first two parts, for callers that lay them out themselves (`doctor`).
    """

    def __init__(
        self, summary: str, fix: str | None = None, details: str = "", log: Path | None = None
    ) -> None:
        super().__init__("\n".join(part for part in (summary, f"fix: {fix}" if fix else "", details) if part))
        self.summary = summary
        self.fix = fix
        self.log = log


class Launcher(ABC):
    """Starts the servers of one kind lazily, per model, and stops them all at `close()`.

    One instance serves one run; it must be safe to call from the engine's worker threads.
    """

    id: ClassVar[str] = ""
    description: ClassVar[str] = ""

    @classmethod
    def missing_reason(cls) -> str | None:
        """Why this launcher cannot run here, as one sentence with the fix; None when it can."""
        return None

    @abstractmethod
    def base_url(self, model: str) -> str:
        """The OpenAI base URL (`http://127.0.0.1:PORT/v1`) of the model's server, starting it if needed.

        Raises `LauncherError` when it cannot start; later calls for that model raise the same error.
        """

    @abstractmethod
    def died(self, model: str, grace: float = 0.0) -> LauncherError | None:
        """The failure of a model's server that could not start or has exited; None while it runs.

        `grace`: seconds to wait for an exit, for a caller that has just lost a connection.
        """

    @abstractmethod
    def close(self) -> None:
        """Stop every server this instance started; safe to call twice."""

    def command(self, model: str) -> list[str] | None:
        """The command line a started server runs, for reproducing a failure by hand (None if unknown)."""
        return None

    def __enter__(self) -> Launcher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


LAUNCHERS: Registry[type[Launcher]] = Registry("launcher", GROUP)


def launcher(id: str, *, description: str | None = None) -> Callable[[L], L]:
    """Register a `Launcher` subclass under `id`, the value of `launcher:` in a providers file."""

    def decorate(cls: L) -> L:
        cls.id = id
        if description is not None:
            cls.description = description
        elif not cls.description and cls.__doc__:
            cls.description = cls.__doc__.strip().split("\n")[0]
        LAUNCHERS.add(id, cls, module=cls.__module__)
        return cls

    return decorate


def launcher_class(id: str, *, where: str | None = None) -> type[Launcher]:
    """The launcher registered under `id`; unknown ids are a located error with "did you mean"."""
    return LAUNCHERS.get(id, where=where)
