"""What both front-ends print goes through here: redacted, and quiet when the reader has gone.

Every command's stdout and stderr are wrapped in a `RedactingWriter` holding the secrets of the
environment (see `harness.transport.redaction.environment_secrets`) and the variable named by
`--api-key-env`, so `models`, `judge`, `report`, `diff`, progress lines and warnings cannot show a
key, whoever wrote the data they print.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from harness.transport.redaction import RedactingWriter, Redactor, environment_secrets


@contextmanager
def redacted_output(api_key_env: str | None = None) -> Iterator[Redactor]:
    redactor = Redactor(environment_secrets())
    if api_key_env:
        redactor.add(os.environ.get(api_key_env))
    saved = sys.stdout, sys.stderr
    sys.stdout = RedactingWriter(sys.stdout, redactor)  # type: ignore[assignment]
    sys.stderr = RedactingWriter(sys.stderr, redactor)  # type: ignore[assignment]
    try:
        yield redactor
    finally:
        sys.stdout, sys.stderr = saved


def quiet_stdout() -> None:
    """After a broken pipe: send what is still buffered for stdout nowhere, so exit stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno() if sys.__stdout__ else 1)
    except (OSError, ValueError):
        pass
