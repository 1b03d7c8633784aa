"""vcrpy's record modes by name, without importing vcrpy: the front-ends offer them as choices at start-up."""

from __future__ import annotations

from typing import Literal

RecordModeName = Literal["none", "once", "new_episodes", "all"]
RECORD_MODES: tuple[RecordModeName, ...] = ("none", "once", "new_episodes", "all")
