"""Recording what providers declare: the hook between a run's `GET /models` and the saved report.

The front-ends (or the engine) fetch each provider's `/models` body once per run, through the run's
transport so that it is recorded and replayed like any request, and hand the parsed JSON here; the
declarations land in the report's `TargetInfo.declared`, beside which the vendor view puts what the
runs observed (`harness.results.declared`).
"""

from __future__ import annotations

from typing import Any

from harness.core.model import TargetInfo
from harness.providers.capabilities import declared_capabilities


def record_declarations(infos: list[TargetInfo], provider: str, body: Any) -> None:
    """Set `declared` for every model of `provider` in `infos` from its `/models` body (JSON data)."""
    for info in infos:
        if info.provider == provider:
            for model in info.models:
                info.declared[model] = declared_capabilities(body, model)
