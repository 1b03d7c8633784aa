"""One error hierarchy: everything the user can get wrong is a `HarnessError`, shown without a traceback.

Front-ends catch `HarnessError` once: the CLI prints it and exits 2, the pytest plugin raises
`pytest.UsageError`. Tracebacks are left for bugs in the harness itself.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class HarnessError(Exception):
    """Bad input or configuration from the user: one located message, exit code 2."""


class ConfigError(HarnessError):
    """A bad option, provider registry entry, report or journal."""


def did_you_mean(given: str, known: Iterable[str], *, quote: str = "'") -> str:
    """` — did you mean 'x'?` for the closest known name, or an empty string when nothing is close."""
    close = difflib.get_close_matches(given, list(known), n=1)
    return f" — did you mean {quote}{close[0]}{quote}?" if close else ""


def located(origin: str, line: int | None, message: str) -> str:
    """`file:line: message`, the shape of every located error (line omitted when unknown)."""
    return f"{origin}:{line}: {message}" if line is not None else f"{origin}: {message}"
