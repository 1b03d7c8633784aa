"""pytest front-end (being written)."""

from __future__ import annotations
