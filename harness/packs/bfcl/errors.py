"""The BFCL pack's errors: bad input from the user or a broken data file, never a model failure."""

from __future__ import annotations

from harness.core.errors import HarnessError

INSTALL = "pip install --no-deps bfcl-eval"


class BfclError(HarnessError):
    """Anything the BFCL pack cannot do with the data or the names it was given."""


class BfclDataMissing(BfclError):
    """Neither the bfcl-eval package nor the named directory holds BFCL's data files."""


class UnknownCategory(BfclError):
    """A category or group name BFCL does not have."""


class UnsupportedCategory(BfclError):
    """A BFCL category this pack knows but cannot run faithfully (yet)."""


class MalformedEntry(BfclError):
    """A line of a BFCL data file that is not a usable entry; the message is located (file:line)."""
