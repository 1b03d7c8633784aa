"""Per-client compatibility over many exchanges, for a report column: `node-ai-sdk ~ 20/22`.

An exchange counts as compatible when the client gave its user what the wire carried (`same`), raised
where it should (`raised`), or hid a wire violation (`repairs`: the user is not hurt, the warning says
what was hidden). `rejects` and `mismatch` count against it. Exchanges the harness could not drive the
client on (`error`) are left out of the fraction and shown apart, like errors everywhere else.
"""

from __future__ import annotations

from harness.core.client_checks import COMPATIBLE, ClientTally, tally

__all__ = ["COMPATIBLE", "ClientTally", "tally"]
