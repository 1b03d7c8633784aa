"""The client verdict models, defined in `core` (a saved run holds them) and used here by that name."""

from __future__ import annotations

from harness.core.client_checks import (
    VERDICTS,
    ClientCall,
    ClientCheck,
    ClientError,
    ClientResult,
    ErrorStage,
    Verdict,
)

__all__ = ["VERDICTS", "ClientCall", "ClientCheck", "ClientError", "ClientResult", "ErrorStage", "Verdict"]
