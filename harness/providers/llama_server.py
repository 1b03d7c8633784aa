"""Where the llama-server launcher used to live; it is `harness.providers.launchers.llama_server` now.

Kept only so that callers not yet moved to the launcher registry (`LAUNCHERS`) keep importing; remove
it once the engine and the front-ends look launchers up by id.
"""

from __future__ import annotations

from harness.providers.launchers.llama_server import (
    LOCAL_MODELS,
    LocalServerError,
    LocalServers,
    missing_reason,
)

__all__ = ["LOCAL_MODELS", "LocalServerError", "LocalServers", "missing_reason"]
