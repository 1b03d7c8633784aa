"""vcrpy cassettes, one per run, attached to the HTTP client rather than patched in globally.

vcrpy normally patches httpx2's transport class for the whole process, which would mix the traffic of
concurrent runs. Here each run gets a `CassetteTransport` that answers its own requests from one
cassette, so many cassettes can be open at once. Requests match on method, path and the JSON body
(vcrpy's default ignores the body and would replay the wrong turn); host and port are left out so a
local server on a fresh port replays its cassettes.

Only public APIs of vcrpy and httpx2 are used: the cassette is opened and saved by `VCR.use_cassette`
with every patcher skipped (so it patches nothing), and the transport plays and records through the
cassette's own `can_play_response_for`, `play_response` and `append`, in vcrpy's cassette format.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx2
import vcr
import yaml
from vcr.cassette import Cassette
from vcr.patch import PATCHER_NAMES
from vcr.record_mode import RecordMode
from vcr.request import Request

from harness.core.errors import ConfigError
from harness.core.files import read_text
from harness.core.model import Provenance, RunKey
from harness.core.paths import inside, safe_name
from harness.core.yaml_source import YamlSource, syntax_problem
from harness.transport.record_modes import MODELS_CASSETTE, RecordModeName
from harness.transport.record_modes import RECORD_MODES as RECORD_MODES  # home: no vcrpy import there
from harness.transport.redaction import REDACTED as REDACTED  # home: redaction.py
from harness.transport.redaction import Redactor as Redactor

SECRET_HEADERS = (
    "authorization",
    "api-key",
    "x-api-key",
    "cookie",
    "set-cookie",
    "openai-organization",
    "openai-project",
    "x-goog-api-key",
    "proxy-authorization",
)
# Fields that may differ between two runs of the same conversation without changing its meaning.
VOLATILE_BODY_FIELDS = frozenset({"user", "metadata", "request_id"})
# Replay never needs a server; this address is never dialled (nothing listens on the discard port).
REPLAY_BASE_URL = "http://127.0.0.1:9/v1"


def cassette_path(root: str | Path, key: RunKey) -> Path:
    """`root/provider/model/scenario[-stream][-tN].yaml`, each part made safe by `safe_name` (ordinary
    names map as they always did, so recorded cassettes keep their paths) and proved to stay in root."""
    suffix = "-stream" if key.mode == "stream" else ""
    trial = f"-t{key.trial}" if key.trial > 1 else ""
    return inside(root, safe_name(key.provider), safe_name(key.model),
                  safe_name(f"{key.scenario}{suffix}{trial}") + ".yaml")


def models_cassette_path(root: str | Path, provider: str) -> Path:
    """`root/provider/_models.yaml`: the provider's `GET /models`, recorded once per run beside its models'
    folders (a model's folder is never a `.yaml` file, so the two cannot meet)."""
    return inside(root, safe_name(provider), MODELS_CASSETTE)


def _body_json(body: Any) -> Any:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        data = json.loads(body) if body else None
    except (TypeError, ValueError):
        return body
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if k not in VOLATILE_BODY_FIELDS}
    return data


def json_body(r1: Request, r2: Request) -> None:
    """vcrpy matcher: equal JSON bodies, ignoring key order and volatile fields."""
    if _body_json(r1.body) != _body_json(r2.body):
        raise AssertionError("request bodies differ")


def path_only(r1: Request, r2: Request) -> None:
    if urlparse(r1.uri).path.rstrip("/") != urlparse(r2.uri).path.rstrip("/"):
        raise AssertionError(f"paths differ: {r1.path} != {r2.path}")


def _vcr(redact: Redactor) -> vcr.VCR:
    def scrub_request(request: Request) -> Request:
        for name in list(request.headers):
            if name.lower() in SECRET_HEADERS:
                del request.headers[name]
            else:  # a provider's custom header may carry the key under any name
                request.headers[name] = redact(request.headers[name])
        request.uri = redact(request.uri)
        if request.body:
            request.body = redact.bytes(
                request.body if isinstance(request.body, bytes) else request.body.encode()
            )
        return request

    def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
        response["headers"] = {
            k: [redact(x) for x in v] if isinstance(v, list) else redact(v)
            for k, v in response["headers"].items()
            if k.lower() not in SECRET_HEADERS
        }
        body = response["body"].get("string")
        if isinstance(body, bytes):
            response["body"]["string"] = redact.bytes(body)
        elif isinstance(body, str):
            response["body"]["string"] = redact(body)
        return response

    recorder = vcr.VCR(
        decode_compressed_response=True,
        before_record_request=scrub_request,
        before_record_response=scrub_response,
    )
    recorder.register_matcher("json_body", json_body)
    recorder.register_matcher("path_only", path_only)
    return recorder


class RunCassette:
    """One run's cassette, open from load to save.

    vcrpy's public way to load and save a cassette is `VCR.use_cassette`; with every patcher skipped it
    patches nothing, so it is only that: the cassette is loaded when entered and saved when closed.
    """

    def __init__(self, path: Path, record_mode: RecordModeName, redact: Redactor) -> None:
        self._stack = ExitStack()
        self.cassette: Cassette = self._stack.enter_context(
            _vcr(redact).use_cassette(
                str(path),
                record_mode=record_mode,
                match_on=["method", "path_only", "json_body"],
                # Re-recording a run replaces its cassette: vcrpy would otherwise keep old interactions
                # whose request changed (a new call id in the history), and a replay would then meet them
                # as extras.
                drop_unused_requests=record_mode == "all",
                skip_patchers=PATCHER_NAMES,
            )
        )

    @property
    def path(self) -> Path:
        return Path(self.cassette.path)

    @property
    def requests(self) -> list[Request]:
        return list(self.cassette.requests)

    def save(self) -> None:
        """Write what was recorded (vcrpy writes only when something changed); closing twice is harmless."""
        self._stack.close()


MISS = "request not found in cassette"


class CassetteProblem(ConfigError):
    """A cassette file that cannot be replayed: the message is located (`path:line: why`)."""


def check_cassette(path: Path) -> None:
    """Refuse an empty, oversized, non-text, non-YAML or non-vcrpy file before vcrpy reads it.

    vcrpy treats an empty or shapeless file as "no interactions", which turned a damaged cassette into
    a "request not found" error, as if the model had asked something new.
    """
    try:
        text = read_text(path, "cassettes")
    except UnicodeDecodeError as exc:
        raise CassetteProblem(f"{path}: cassette is not UTF-8 text ({exc.reason})") from None
    if not text.strip():
        raise CassetteProblem(f"{path}: empty cassette")
    try:
        data = YamlSource(str(path), text, fast=True).data
    except yaml.YAMLError as exc:
        line, problem = syntax_problem(exc)
        raise CassetteProblem(f"{path}:{line}: cassette is not plain YAML ({problem})") from None
    interactions = data.get("interactions") if isinstance(data, dict) else None
    if not isinstance(interactions, list) or not all(
        isinstance(i, dict) and isinstance(i.get("request"), dict) and isinstance(i.get("response"), dict)
        for i in interactions
    ):
        raise CassetteProblem(f"{path}: not a vcrpy cassette (expected 'interactions': a list of "
                              "request/response mappings)")


def cassette_problem(path: Path, exc: Exception) -> str:
    """One sentence on why a cassette cannot be loaded; vcrpy's safe loader refuses Python tags."""
    if isinstance(exc, CassetteProblem):
        return str(exc)
    cause = exc.__cause__ if isinstance(exc.__cause__, yaml.YAMLError) else exc
    if isinstance(cause, yaml.YAMLError):
        mark = getattr(cause, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(cause, "problem", None) or str(cause)
        return f"{where}: cassette is not plain YAML ({problem}); it was not loaded. Delete it and re-record"
    if isinstance(exc, KeyError | TypeError | IndexError | AttributeError):
        return (f"{path}: not a vcrpy cassette (expected 'interactions': a list of request/response "
                f"mappings; {type(exc).__name__}: {exc}). Delete it and re-record")
    return f"{path}: cannot load the cassette: {exc}"


def open_cassette(path: Path, record_mode: RecordModeName, redact: Redactor) -> RunCassette:
    if record_mode != "none":  # vcrpy's persister races on mkdir when runs save side by side
        path.parent.mkdir(parents=True, exist_ok=True)
    return RunCassette(path, record_mode, redact)


class CassetteMiss(Exception):
    """A request that replay cannot answer: the cassette lacks it and the record mode forbids recording."""


def _recorded(response: httpx2.Response, body: bytes) -> dict[str, Any]:
    """A response in vcrpy's cassette format: every header value kept (Set-Cookie may repeat)."""
    headers: dict[str, list[str]] = defaultdict(list)
    for name, value in response.headers.multi_items():
        headers[name].append(value)
    return {
        "status": {"code": response.status_code, "message": response.reason_phrase},
        "headers": dict(headers),
        "body": {"string": body},
    }


def _replayed(recorded: dict[str, Any]) -> httpx2.Response:
    message = recorded["status"].get("message")
    body = recorded["body"]["string"]
    return httpx2.Response(
        recorded["status"]["code"],
        headers=[(name, value) for name, values in recorded["headers"].items() for value in values],
        stream=httpx2.ByteStream(body if isinstance(body, bytes) else str(body).encode()),
        extensions={"reason_phrase": message.encode("ascii")} if message else None,
    )


class CassetteTransport(httpx2.BaseTransport):
    """Answers one run's requests from its cassette, or from `inner` (recording them) when it may."""

    def __init__(self, cassette: RunCassette, inner: httpx2.BaseTransport | None) -> None:
        self.run_cassette = cassette
        self.cassette = cassette.cassette
        self.inner = inner
        self.provenance: list[Provenance] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = request.read()
        recorded = Request(request.method, str(request.url), body, request.headers)
        if self.cassette.can_play_response_for(recorded):
            with self._lock:
                self.provenance.append("replayed")
            return _replayed(self.cassette.play_response(recorded))
        if self.cassette.write_protected:
            raise CassetteMiss(f"{MISS} {self.cassette.path}")
        if self.inner is None:
            raise CassetteMiss("no recorded response and no live server")
        with self._lock:  # counted as it goes out, as a recording run even if the request then fails
            self.provenance.append("recorded")
        live = self.inner.handle_request(request)
        raw = b"".join(live.iter_raw())  # closes the live response, releasing its connection
        self.cassette.append(recorded, _recorded(live, raw))
        return httpx2.Response(
            live.status_code,
            headers=live.headers,
            stream=httpx2.ByteStream(raw),
            extensions={k: v for k, v in live.extensions.items() if k in ("http_version", "reason_phrase")},
        )

    def save(self) -> None:
        if self.cassette.record_mode == RecordMode.ALL and not self.cassette.dirty:
            self.run_cassette.path.unlink(missing_ok=True)  # nothing answered: no stale recording left
        self.run_cassette.save()

    @property
    def unplayed(self) -> int:
        """Recorded interactions that this run did not play back (stale cassette or a shorter run)."""
        if self.cassette.record_mode == RecordMode.ALL:
            return 0
        return max(0, len(self.cassette.data) - self.cassette.play_count - self.provenance.count("recorded"))
