"""toolcall-harness: conformance tests for tool calling over OpenAI-compatible chat-completions APIs."""

from __future__ import annotations

__version__ = "0.1.0"
