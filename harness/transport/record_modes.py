"""vcrpy's record modes by name, without importing vcrpy: the front-ends offer them as choices at start-up."""

from __future__ import annotations

from typing import Literal

RecordModeName = Literal["none", "once", "new_episodes", "all"]
RECORD_MODES: tuple[RecordModeName, ...] = ("none", "once", "new_episodes", "all")
# The file, in a provider's cassette folder, of its `GET /models` (what it declares): no chat exchange, so
# `judge DIR` leaves it out. Here rather than in cassettes.py so that naming it costs no vcrpy import.
MODELS_CASSETTE = "_models.yaml"
