"""How a run talks to providers when the user did not say: live, or replaying cassettes offline.

Both front-ends ask here. With every key present (and a local server installed, for launched
providers) a run is live: the CLI without cassettes, pytest re-recording them (`all`), so a test suite
refreshes its cassettes whenever it can and replays them wherever it cannot. Without a key the run
replays (`none`) — in both front-ends — and the header line says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.app.flags import FrontEnd
from harness.core.errors import ConfigError
from harness.engine.plan import PlannedRun
from harness.providers.registry import Target
from harness.transport.cassettes import cassette_path
from harness.transport.record_modes import RecordModeName

OFFLINE = "replaying cassettes offline"


@dataclass(frozen=True)
class RecordDecision:
    mode: RecordModeName | None  # None: live, no cassette
    how: str  # the header line's account of it: "live", "record mode 'once'", "replaying ... (why)"
    reason: str | None = None  # why the run is offline, when the policy chose it


def decide_record_mode(
    targets: list[Target], requested: RecordModeName | None, front_end: FrontEnd
) -> RecordDecision:
    """The record mode the user asked for, else the front-end's default for the keys at hand."""
    if requested is not None:
        return RecordDecision(requested, f"record mode '{requested}'")
    missing = [m for t in targets if (m := _why_offline(t))]
    if missing:
        return RecordDecision("none", f"{OFFLINE} ({missing[0]})", missing[0])
    return RecordDecision("all" if front_end == "pytest" else None, "live")


def _why_offline(target: Target) -> str | None:
    if target.launcher:
        from harness.providers.launchers import launcher_class

        return launcher_class(target.launcher).missing_reason()
    return target.missing_key()


def ensure_replayable(decision: RecordDecision, runs: list[PlannedRun], cassette_dir: Path) -> None:
    """An offline run the policy chose needs at least one cassette; else say what is missing, once.

    Without this, a missing key would show as a table of skips, each with the same hint.
    """
    if decision.reason is None:
        return
    if not any(cassette_path(cassette_dir, r.key).is_file() for r in runs):
        raise ConfigError(f"{decision.reason}, and there are no cassettes under {cassette_dir} to replay")
