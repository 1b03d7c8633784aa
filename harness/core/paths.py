"""Paths made from names — provider, model, scenario, run — that stay inside their folder.

A name comes from a registry file, a command line or a provider's `/models` listing: `..`, `../../x`,
an absolute path or 300 characters must not write outside `--cassette-dir` or `--report-dir`, nor
end in a traceback. `safe_name` is the one mapping from a name to a path component; `inside` joins
components under a root and proves the result stays there.

Ordinary names (letters, digits, `_`, `.`, `-`) map to themselves, and other characters to `_`,
exactly as cassette paths always did, so the committed cassettes keep their paths. Only names that
could escape (`.`, `..`, a leading dot) or are too long map differently: a leading `_`, or a cut with
a stable hash of the whole name as suffix, so two long names never share a file.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from harness.core.errors import ConfigError

MAX_COMPONENT = 100  # characters; file systems allow 255 bytes, and a suffix is added to some names
_UNSAFE = re.compile(r"[^\w.-]+")


def safe_name(name: str, max_length: int = MAX_COMPONENT) -> str:
    """A path component for `name`: no separator, never `.`/`..` nor hidden, at most `max_length`."""
    safe = _UNSAFE.sub("_", name) or "_"
    if safe.startswith("."):
        safe = "_" + safe
    if len(safe) > max_length:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
        safe = f"{safe[: max_length - len(digest) - 1]}-{digest}"
    return safe


class UnsafePath(ConfigError):
    """A path built from names that would leave its folder."""


def inside(root: str | Path, *parts: str) -> Path:
    """`root / parts...`, refused unless it stays under `root` (checked on the normalised path)."""
    path = Path(root).joinpath(*parts)
    base = os.path.normpath(os.path.abspath(root))
    full = os.path.normpath(os.path.abspath(path))
    if os.path.commonpath([base, full]) != base or full == base:
        raise UnsafePath(f"{path}: a name made this path leave {root}")
    return path
