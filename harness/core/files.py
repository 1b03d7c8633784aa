"""Reading input files within the size limit of their kind (`harness.core.limits.LIMITS`)."""

from __future__ import annotations

from pathlib import Path

from harness.core.errors import ConfigError
from harness.core.limits import LIMITS, MB


class InputTooLarge(ConfigError):
    """A file over the limit of its kind; the message names the file, its size and the limit."""


def size_text(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{n} B"


def check_size(path: str | Path, kind: str) -> None:
    """Refuse a file bigger than the limit of its kind (a missing file is left to the reader)."""
    limit = LIMITS[kind]
    try:
        size = Path(path).stat().st_size
    except OSError:
        return
    if size > limit:
        shown = f"{limit // MB} MB" if limit >= MB else f"{limit} B"
        raise InputTooLarge(f"{path}: file is {size_text(size)}, more than the {shown} limit for {kind}")


def read_bytes(path: str | Path, kind: str) -> bytes:
    """The file's bytes, read no further than the limit (a file growing while read is cut there)."""
    check_size(path, kind)
    with Path(path).open("rb") as handle:
        data = handle.read(LIMITS[kind] + 1)
    if len(data) > LIMITS[kind]:
        check_size(path, kind)
        raise InputTooLarge(f"{path}: file grew past the limit for {kind} while it was read")
    return data


def read_text(path: str | Path, kind: str) -> str:
    """The file as UTF-8 text within its limit; raises OSError, UnicodeDecodeError or InputTooLarge."""
    return read_bytes(path, kind).decode("utf-8")
