"""`judge`: re-judge recorded exchanges offline, from exchange JSON files or the harness's cassettes.

The same `wire.assess` that judges live traffic judges the files, so a verdict can be reproduced
without calling any provider. Input that is not an exchange is a usage problem, not a finding: it
gets one located sentence on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.clients.driver import parse_client_ids
from harness.conformance.check_registry import CheckSelection, select_checks
from harness.conformance.wire import Assessment, assess
from harness.core.errors import HarnessError
from harness.core.files import InputTooLarge, read_text
from harness.core.yaml_source import check_aliases
from harness.transport.record_modes import MODELS_CASSETTE

SUFFIXES = (".json", ".yaml", ".yml")


class JudgeInputError(HarnessError):
    """An input file that cannot be read as an exchange; the message names the file and the place."""


@dataclass
class Recorded:
    """One exchange as recorded: the request body, the HTTP status and the raw response text."""

    label: str
    request: dict[str, Any]
    status: int | None
    text: str
    stream: bool
    # The recorded response headers (lower-cased names), kept by cassettes only; the clients get them back.
    headers: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------- loading


def expand(paths: list[str]) -> list[Path]:
    """Files as given; a directory stands for its exchange files (sorted), so a folder can be judged.

    A provider's recorded `GET /models` (`_models.yaml`) in a cassette folder is no exchange: left out.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES
                           and p.name != MODELS_CASSETTE)
            if not found:
                raise JudgeInputError(f"{raw}: directory holds no .json/.yaml exchange files")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise JudgeInputError(f"{raw}: no such file")
    return files


def load(path: Path) -> list[Recorded]:
    if path.suffix not in SUFFIXES:
        raise JudgeInputError(f"{path}: unrecognised input; expected an exchange .json or a cassette .yaml")
    try:
        text = read_text(path, "exchanges" if path.suffix == ".json" else "cassettes")
    except InputTooLarge as exc:
        raise JudgeInputError(str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JudgeInputError(f"{path}: cannot read ({exc})") from exc
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise JudgeInputError(f"{path}:{getattr(exc, 'lineno', '?')}: not valid JSON ({exc})") from exc
        return [_from_exchange(path, data)]
    try:
        check_aliases(yaml.compose(text, Loader=yaml.SafeLoader))
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise JudgeInputError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    return _from_cassette(path, data)


def _from_exchange(path: Path, data: Any) -> Recorded:
    if not isinstance(data, dict) or "request" not in data or "response_status" not in data:
        raise JudgeInputError(f"{path}: not an exchange file: expected keys 'request', 'response_status' and "
                              "'response_body' or 'response_sse'")
    if not isinstance(data["request"], dict):
        raise JudgeInputError(f"{path}: 'request' must be the JSON request body (an object)")
    status = data["response_status"]
    if not isinstance(status, int):
        raise JudgeInputError(f"{path}: 'response_status' must be an integer, got {status!r}")
    stream = isinstance(data.get("response_sse"), str)
    raw = data.get("response_raw_text")
    if isinstance(raw, str):
        text = raw
    elif stream:
        text = data["response_sse"]
    elif "response_body" in data:
        body = data["response_body"]
        text = body if isinstance(body, str) else json.dumps(body)
    else:
        raise JudgeInputError(f"{path}: exchange has neither 'response_body' nor 'response_sse'")
    return Recorded(str(path), data["request"], status, text, stream)


def _from_cassette(path: Path, data: Any) -> list[Recorded]:
    interactions = data.get("interactions") if isinstance(data, dict) else None
    if not isinstance(interactions, list):
        raise JudgeInputError(f"{path}: not a cassette: expected a top-level 'interactions' list")
    if not interactions:
        raise JudgeInputError(f"{path}: cassette has no interactions")
    return [_interaction(path, n, item) for n, item in enumerate(interactions, start=1)]


def _interaction(path: Path, number: int, item: Any) -> Recorded:
    where = f"{path}: interactions[{number - 1}]"
    request = item.get("request") if isinstance(item, dict) else None
    response = item.get("response") if isinstance(item, dict) else None
    if not isinstance(request, dict) or not isinstance(response, dict):
        raise JudgeInputError(f"{where}: expected 'request' and 'response' mappings")
    try:
        body = json.loads(_text(request.get("body"), {}))
    except ValueError as exc:
        raise JudgeInputError(f"{where}.request.body: not a JSON chat-completions request ({exc})") from exc
    if not isinstance(body, dict):
        raise JudgeInputError(f"{where}.request.body: not a JSON chat-completions request")
    status = response.get("status")
    code = status.get("code") if isinstance(status, dict) else status
    if not isinstance(code, int):
        raise JudgeInputError(f"{where}.response.status.code: expected an integer, got {code!r}")
    content = response.get("body")
    headers = _headers(response.get("headers"))
    text = _text(content.get("string") if isinstance(content, dict) else content, headers)
    # The request decides the mode, as it does for `run` and for any client: an SSE answer to a request
    # that did not ask to stream is a body the client cannot parse, not a stream to judge.
    stream = bool(body.get("stream"))
    return Recorded(f"{path}#{number}", body, code, text, stream, headers)


def _headers(raw: Any) -> dict[str, str]:
    """vcrpy stores each header as a list of values; keys compared case-insensitively."""
    if not isinstance(raw, dict):
        return {}
    out: dict[str, str] = {}
    for key, value in raw.items():
        out[str(key).lower()] = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return out


def _text(value: Any, headers: dict[str, str]) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        if value[:2] == b"\x1f\x8b" or "gzip" in headers.get("content-encoding", ""):
            try:
                value = gzip.decompress(value)
            except (OSError, EOFError):
                pass
        return value.decode("utf-8", "replace")
    return str(value)


# ------------------------------------------------------------------------------------------- judging


def verdict(recorded: Recorded, assessment: Assessment) -> dict[str, Any]:
    """One exchange's verdict as plain data: the JSON output and the text rendering both come from it."""
    reply = assessment.reply
    if assessment.error is not None:
        outcome = "error"
    elif any(f.severity == "violation" for f in assessment.findings):
        outcome = "nonconforming"
    else:
        outcome = "conforming"
    error = assessment.error
    return {
        "file": recorded.label,
        "status": recorded.status,
        "outcome": outcome,
        "error": {"kind": error.kind, "message": error.message} if error is not None else None,
        "finish_reason": reply.finish_reason if reply else None,
        "tool_calls": [
            {
                "id": call.id,
                "name": call.name,
                "arguments": call.arguments,
                "arguments_raw": call.arguments_raw,
                "arguments_valid_json": call.arguments_valid_json,
                "arguments_match_schema": call.arguments_match_schema,
            }
            for call in (reply.tool_calls if reply else [])
        ],
        "findings": [{"check": f.check, "severity": f.severity, "message": f.message}
                     for f in assessment.findings],
    }


def judge_paths(
    paths: list[str], clients: Sequence[str] = (), checks: CheckSelection | None = None
) -> list[dict[str, Any]]:
    """Judge every exchange in the given files; raises `JudgeInputError` before judging any bad input.

    With `clients`, each verdict also holds what those client libraries made of the same bytes
    (`"clients"`: one entry per client, see `judge_clients.check_data`); `checks` (from `select_checks`)
    limits the wire checks, as `--checks` does for a run.
    """
    verdicts, _ = judge_with_clients(paths, clients, checks)
    return verdicts


def judge_with_clients(paths: list[str], clients: Sequence[str] = (), checks: CheckSelection | None = None
                       ) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The verdicts and the versions of the clients that judged them (empty without clients)."""
    recorded = [item for path in expand(paths) for item in load(path)]
    assessed = [(r, assess(r.request, r.status, r.text, stream=r.stream, checks=checks)) for r in recorded]
    verdicts = [verdict(r, a) for r, a in assessed]
    if not clients:
        return verdicts, {}
    from harness.app.judge_clients import check_clients, check_data

    versions, client_checks = check_clients(clients, assessed)
    for data, per_client in zip(verdicts, client_checks, strict=True):
        data["clients"] = [check_data(c) for c in per_client]
    return verdicts, versions


def render_text(verdicts: list[dict[str, Any]], versions: dict[str, str] | None = None) -> str:
    from harness.app import judge_clients

    blocks: list[str] = judge_clients.header_lines(versions or {})
    for v in verdicts:
        lines = [f"{v['file']}", f"  {v['outcome'].upper()}  HTTP {v['status']}  finish_reason="
                 f"{v['finish_reason']}  calls={len(v['tool_calls'])}"]
        if v["error"]:
            lines.append(f"  error {v['error']['kind']}: {v['error']['message']}")
        for n, call in enumerate(v["tool_calls"]):
            args, raw = call["arguments"], call["arguments_raw"]
            shown = json.dumps(args) if args is not None else repr(raw)
            schema = {True: "ok", False: "FAILS", None: "n/a"}[call["arguments_match_schema"]]
            lines.append(f"  call {n}: {call['name']}({shown[:100]})  id={call['id']}  "
                         f"json={'ok' if call['arguments_valid_json'] else 'BAD'}  schema={schema}")
        for f in v["findings"]:
            lines.append(f"  {f['severity']:<9} {f['check']}: {f['message']}")
        lines += judge_clients.block_lines(v)
        blocks.append("\n".join(lines))
    counts = {o: sum(v["outcome"] == o for v in verdicts) for o in ("conforming", "nonconforming", "error")}
    summary = ", ".join(f"{n} {o}" for o, n in counts.items())
    tail = [f"{len(verdicts)} exchange(s): {summary}", *judge_clients.summary_lines(verdicts)]
    return "\n\n".join(blocks) + "\n\n" + "\n".join(tail)


def run_judge(
    paths: list[str],
    fmt: str,
    clients: str | None = None,
    checks: Sequence[str] = (),
    exclude_checks: Sequence[str] = (),
) -> int:
    """The CLI's `judge` command: 0 all conforming (and every client compatible), 1 any nonconforming,
    error or incompatible client (`rejects`, `mismatch`, or a client the harness could not drive), 2 bad
    input, an unknown check id, or a client that cannot run here."""
    if fmt not in ("json", "text"):
        print(f"judge: unknown format {fmt!r}; expected 'json' or 'text'", file=sys.stderr)
        return 2
    if not paths:
        print("judge: give at least one exchange file (.json) or cassette (.yaml)", file=sys.stderr)
        return 2
    selection = select_checks(checks, exclude_checks)
    try:
        client_ids = parse_client_ids(clients) if clients is not None else []
        only = None if selection.everything else selection
        verdicts, versions = judge_with_clients(paths, client_ids, only)
    except HarnessError as exc:  # bad input, an unknown client id, or a client that cannot run here
        print(f"judge: {exc}", file=sys.stderr)
        return 2
    if fmt == "json":
        print(json.dumps(verdicts, indent=2, ensure_ascii=False))
    else:
        print(render_text(verdicts, versions))
    from harness.app.judge_clients import compatible

    return 0 if all(v["outcome"] == "conforming" for v in verdicts) and compatible(verdicts) else 1
