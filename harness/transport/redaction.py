"""Secret redaction: one layer for everything the harness prints or writes.

A key must not reach a cassette, a report, a journal, a page or the terminal, however it travels: as
is, JSON-escaped (`\\u0073k-...`), or split across the deltas of a stream, where no single line holds
it but the text the stream assembles to does. So `Redactor` works on text in two passes: every known
secret is replaced where it occurs, and a text made of JSON documents (a body, SSE `data:` lines) is
also redacted on what its strings join to, per channel of the stream (a choice's content, a tool
call's arguments): the first fragment that holds part of the secret gets `<REDACTED>`, the others lose
their part, so the stream still assembles, to the same text as the redacted whole.

`environment_secrets` names what a process knows without a run: the values of the environment's key
variables, for `report`, `diff`, `judge` and `models`, which print what others wrote.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # stdlib only at run time: every command's output passes through this module
    from pydantic import BaseModel

REDACTED = "<REDACTED>"
MIN_SECRET = 8  # shorter values of key variables ("1", "true") are settings, not secrets
KEY_VARIABLE = re.compile(r"(^|_)(API_?KEY|KEY|TOKEN|SECRET|PASSWORD)$", re.IGNORECASE)
M = TypeVar("M", bound="BaseModel")
Fragment = tuple[int, list[Any], Any]  # (document, container, key) of one string in a JSON document


class Redactor:
    """Replaces every known secret value with <REDACTED> wherever it appears in text."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self._secrets = sorted({s for s in secrets or [] if s and len(s) >= 4}, key=len, reverse=True)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4 and secret not in self._secrets:
            self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)

    @property
    def secrets(self) -> list[str]:
        return list(self._secrets)

    def __call__(self, text: str) -> str:
        if not self._secrets or not text:
            return text
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
            escaped = json.dumps(secret)[1:-1]
            if escaped != secret:
                text = text.replace(escaped, REDACTED)
        if "{" in text:
            text = self._assembled(text)
        return text

    def bytes(self, data: bytes) -> bytes:
        if not self._secrets:
            return data
        try:
            return self(data.decode("utf-8")).encode("utf-8")
        except UnicodeDecodeError:
            for secret in self._secrets:
                data = data.replace(secret.encode(), REDACTED.encode())
            return data

    def model(self, obj: M) -> M:
        """A scrubbed copy of a model about to be shown or saved: the engine keeps raw traffic as evidence,
        and a request body, a response or an answer may quote the key."""
        if not self._secrets:
            return obj
        return type(obj).model_validate(self.data(obj.model_dump(mode="json")))

    def data(self, value: Any) -> Any:
        """Plain data (as JSON gives it) with every string redacted, keys included."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {self(k) if isinstance(k, str) else k: self.data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        return value

    # ------------------------------------------------------------------------ assembled streams

    def _assembled(self, text: str) -> str:
        """Redact what the strings of the text's JSON documents join to; the text itself if none is."""
        lines = text.split("\n")
        documents: dict[int, Any] = {}
        for number, line in enumerate(lines):
            body = line[5:] if line.startswith("data:") else line
            if body.strip().startswith("{"):
                try:
                    documents[number] = json.loads(body)
                except ValueError:
                    continue
        channels: dict[str, list[Fragment]] = defaultdict(list)
        for number, document in documents.items():
            _fragments(document, number, "", channels)
        touched: set[int] = set()
        for fragments in channels.values():
            touched |= self._redact_channel(fragments)
        for number in touched:
            prefix = "data: " if lines[number].startswith("data:") else ""
            lines[number] = prefix + json.dumps(documents[number], ensure_ascii=False)
        return "\n".join(lines)

    def _redact_channel(self, fragments: list[Fragment]) -> set[int]:
        values = [str(container[key]) for _, container, key in fragments]
        joined = "".join(values)
        spans = [m.span() for s in self._secrets for m in re.finditer(re.escape(s), joined)]
        if not spans:
            return set()
        touched: set[int] = set()
        offset = 0
        for (number, container, key), value in zip(fragments, values, strict=True):
            start, end = offset, offset + len(value)
            offset = end
            out, changed = [], False
            for i, char in enumerate(value):
                covering = [s for s in spans if s[0] <= start + i < s[1]]
                if not covering:
                    out.append(char)
                    continue
                changed = True
                if start + i == covering[0][0]:
                    out.append(REDACTED)
            if changed:
                container[key] = "".join(out)
                touched.add(number)
        return touched


def _fragments(value: Any, number: int, path: str, channels: dict[str, list[Fragment]],
               container: Any = None, key: Any = None) -> None:
    """Every string of a document, filed by channel: its path, with list positions replaced by an
    item's own `index` (stream deltas number choices and tool calls by `index`, not by position)."""
    if isinstance(value, str) and container is not None:
        channels[path].append((number, container, key))
    elif isinstance(value, dict):
        for k, v in value.items():
            _fragments(v, number, f"{path}.{k}", channels, value, k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            index = v.get("index", i) if isinstance(v, dict) else i
            _fragments(v, number, f"{path}[{index}]", channels, value, i)


def environment_secrets(environ: dict[str, str] | None = None) -> list[str]:
    """Values of the environment's key variables (`*_API_KEY`, `*_TOKEN`, ...), long enough to be keys."""
    env = os.environ if environ is None else environ
    return [v for k, v in env.items() if KEY_VARIABLE.search(k) and len(v) >= MIN_SECRET]


class RedactingWriter:
    """A text stream that redacts what is written through it: the front-ends' stdout and stderr, so
    no print, progress line or warning can show a known secret."""

    def __init__(self, inner: Any, redactor: Redactor) -> None:
        self.inner = inner
        self.redactor = redactor

    def write(self, text: str) -> int:
        self.inner.write(self.redactor(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding ...
        return getattr(self.inner, name)
