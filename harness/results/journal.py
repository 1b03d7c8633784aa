"""The run journal: `reports/<run>.jsonl`, one line per finished run, so a killed run loses nothing done.

The first line is a `JournalHeader` (targets, scenario files, the typed `run` options) and every later
line a `RunResult`, appended, flushed and fsynced as the run finishes. `--resume` takes the header's
options, runs only the planned keys that have no line yet, and rebuilds the table and the JSON report
from the journal. A process killed mid-write leaves at most one torn line, always the last one: it is
dropped with a note. A bad line anywhere else means the file was edited or is not a journal, and is
refused with its line number rather than silently shrinking the run.

Versions are `MAJOR.MINOR`. A newer minor version only adds fields, which this version ignores (with a
note); a newer major version is refused with one sentence; version 1 (options stored under the CLI's
argparse names, a plain integer version) is migrated when read, and version 2 reads as it is. The
options model is given by the caller (the application layer owns it), so this module knows the file,
not the flags.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, field_validator
from pydantic.config import ExtraValues

from harness.core.errors import ConfigError
from harness.core.files import read_bytes
from harness.core.model import RunKey, RunResult, TargetInfo
from harness.core.paths import MAX_COMPONENT, inside, safe_name
from harness.engine.events import Event, RunFinished

# 2.1: `RunResult.source` (report 2.3). 3.0: `options.shard`: a major version, since a harness that
# ignored it would resume a shard's journal as the whole plan; an older harness refuses it instead.
JOURNAL_VERSION = (3, 0)
SUFFIX = ".jsonl"
# Version 1 stored `vars(args)` of `toolcall-harness run`; two of its names differ from the typed options.
V1_OPTION_NAMES = {"provider": "providers", "model": "models"}
OptionsT = TypeVar("OptionsT", bound=BaseModel)


class JournalError(ConfigError):
    """A journal that cannot be resumed; the message names the file and the line."""


class JournalHeader(BaseModel, Generic[OptionsT]):
    """What a resumed run needs to plan the same runs again, and what a reader needs to know the run."""

    model_config = ConfigDict(extra="forbid")

    journal: tuple[int, int] = JOURNAL_VERSION
    name: str
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    harness_version: str = ""
    cwd: str
    targets: list[TargetInfo]
    scenario_files: dict[str, str]  # file -> sha256, to notice scenarios edited between run and resume
    planned: int
    options: OptionsT  # the typed `run` options (the application layer's `RunOptions`)

    @field_validator("journal", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        return parse_version(value) or value

    @field_serializer("journal")
    def _dump_version(self, value: tuple[int, int]) -> str:
        return f"{value[0]}.{value[1]}"


def parse_version(value: Any) -> tuple[int, int] | None:
    """`"2.0"` -> (2, 0); version 1 wrote a bare integer. None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value, 0
    if isinstance(value, str):
        major, _, minor = value.partition(".")
        if major.isdigit() and (minor.isdigit() or not minor):
            return int(major), int(minor or 0)
    if isinstance(value, tuple | list) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return value[0], value[1]
    return None


def _migrate_v1(data: dict[str, Any]) -> dict[str, Any]:
    """A version-1 header as version 2: the argparse names renamed, absent values left to the defaults."""
    options = data.get("options")
    if isinstance(options, dict):
        data["options"] = {
            V1_OPTION_NAMES.get(name, name): value
            for name, value in options.items()
            if value is not None and value != []
        }
    data["journal"] = JOURNAL_VERSION
    return data


@dataclass
class Journal(Generic[OptionsT]):
    """A journal as read back: its header, the results in file order, and what the reader noticed."""

    path: Path
    header: JournalHeader[OptionsT]
    results: list[RunResult]
    notes: list[str] = field(default_factory=list)
    good_size: int = 0  # bytes up to the end of the last good line; a torn tail lies beyond
    terminated: bool = True  # whether the last good line ends with a newline

    def done(self) -> dict[RunKey, RunResult]:
        """The latest result per run key."""
        return {r.key: r for r in self.results}


def new_name(providers: list[str]) -> str:
    """The run's name, shared by `<name>.jsonl` and `<name>.json`, in the report module's style."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{run_label(providers)}"


def run_label(providers: list[str]) -> str:
    """`a+b` from provider names, each made safe (`harness.core.paths.safe_name`), the whole bounded."""
    label = "+".join(safe_name(p) for p in sorted(set(providers))) or "run"
    return label if len(label) <= MAX_COMPONENT - 30 else safe_name(label, MAX_COMPONENT - 30)


def digests(files: list[Path]) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in files:
        try:
            out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
        except OSError:
            out[str(f)] = ""
    return out


def locate(run: str, report_dir: str | Path) -> Path:
    """`--resume RUN`: a journal path, the report path beside it, or a run name under the report dir."""
    given = Path(run)
    candidates = [given] if given.suffix == SUFFIX else []
    if given.suffix == ".json":
        candidates.append(given.with_suffix(SUFFIX))
    candidates += [Path(report_dir) / f"{given.name}{SUFFIX}", Path(f"{run}{SUFFIX}")]
    for path in candidates:
        if path.is_file():
            return path
    tried = ", ".join(dict.fromkeys(str(p) for p in candidates))
    raise JournalError(f"--resume {run}: no run journal found (looked for {tried})")


class JournalWriter:
    """Appends one line per result and makes it durable before returning."""

    def __init__(self, path: Path, handle: Any) -> None:
        self.path = path
        self._handle = handle

    def append(self, result: RunResult) -> None:
        self._write(result.model_dump_json())

    def on_event(self, event: Event) -> None:
        """The engine's listener: a decided run gets its line; a run never started (deadline, broken
        local server) gets none, so a resumed run does it."""
        if isinstance(event, RunFinished):
            self.append(event.result)

    def _write(self, line: str) -> None:
        # One write per line: a kill can tear only the line being written, never an earlier one.
        self._handle.write(line.encode("utf-8") + b"\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def create(report_dir: str | Path, header: JournalHeader[Any]) -> JournalWriter:
    """A new journal named after the header; a name taken in the same second gets a numeric suffix."""
    directory = Path(report_dir)
    directory.mkdir(parents=True, exist_ok=True)
    base = header.name
    for n in range(1, 1000):
        name = base if n == 1 else f"{base}-{n}"
        path = inside(directory, f"{name}{SUFFIX}")
        try:
            handle = path.open("xb")
        except FileExistsError:
            continue
        header.name = name
        writer = JournalWriter(path, handle)
        writer._write(header.model_dump_json())
        return writer
    raise JournalError(f"{directory}: cannot find a free journal name for {base}")


def reopen(journal: Journal[Any]) -> JournalWriter:
    """Open for appending after cutting off a torn tail, so new lines never glue onto a fragment."""
    handle = journal.path.open("r+b")
    handle.truncate(journal.good_size)
    handle.seek(journal.good_size)
    if not journal.terminated:
        handle.write(b"\n")
    return JournalWriter(journal.path, handle)


def read(path: str | Path, options: type[OptionsT]) -> Journal[OptionsT]:
    """Read a journal whose header carries `options`; refuse it with a located sentence if it cannot be
    resumed (unreadable, empty, not a journal, a newer major version, a corrupt line before the end)."""
    path = Path(path)
    try:
        data = read_bytes(path, "journals")
    except OSError as exc:
        raise JournalError(f"{path}: cannot read run journal: {exc.strerror}") from None
    lines: list[tuple[int, bytes, int]] = []  # (line number, content, end offset including newline)
    offset = 0
    for number, raw in enumerate(data.split(b"\n"), start=1):
        end = min(offset + len(raw) + 1, len(data))
        if raw.strip(b" \r\t\x00"):
            lines.append((number, raw, end))
        offset += len(raw) + 1
    if not lines:
        raise JournalError(f"{path}: empty run journal (the run stopped before it started)")
    number, raw, end = lines[0]
    header, extra, notes = _header(path, number, raw, options)
    journal = Journal(path=path, header=header, results=[], notes=notes, good_size=end)
    for position, (number, raw, end) in enumerate(lines[1:], start=2):
        try:
            journal.results.append(RunResult.model_validate_json(raw, extra=extra))
        except ValidationError as exc:
            if position == len(lines):
                journal.notes.append(
                    f"{path}:{number}: ignoring a torn last line ({len(raw)} bytes; the run was "
                    "interrupted while writing it); that run will be run again"
                )
                break
            raise JournalError(f"{path}:{number}: corrupt run journal line: {_first(exc)}") from None
        journal.good_size = end
    journal.terminated = data[: journal.good_size].endswith(b"\n")
    return journal


def _header(
    path: Path, number: int, raw: bytes, options: type[OptionsT]
) -> tuple[JournalHeader[OptionsT], ExtraValues | None, list[str]]:
    """The header, how strictly to read the result lines (None: the models' own `forbid`), and notes."""
    notes: list[str] = []
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise JournalError(f"{path}:{number}: not a toolcall-harness run journal: {exc}") from None
    version = parse_version(data.get("journal")) if isinstance(data, dict) else None
    if not isinstance(data, dict) or version is None:
        found = data.get("journal") if isinstance(data, dict) else None
        what = "journal: field required" if found is None else f"journal: not a version: {found!r}"
        raise JournalError(f"{path}:{number}: not a toolcall-harness run journal: {what}")
    ours = f"{JOURNAL_VERSION[0]}.{JOURNAL_VERSION[1]}"
    if version[0] > JOURNAL_VERSION[0]:
        raise JournalError(
            f"{path}:{number}: journal version {version[0]}.{version[1]} was written by a newer "
            f"toolcall-harness; this one ({ours}) cannot resume it: upgrade toolcall-harness"
        )
    extra: ExtraValues | None = None
    if version[0] == 1:
        data = _migrate_v1(data)  # 2.x reads as it is: 3.0 only added `options.shard`
    elif version[1] > JOURNAL_VERSION[1]:
        extra = "ignore"
        notes.append(f"{path}: journal version {version[0]}.{version[1]} is newer than this "
                     f"toolcall-harness's {ours}: fields it does not know are ignored")
    try:
        header = JournalHeader[options].model_validate(data, extra=extra)  # type: ignore[valid-type]
    except ValidationError as exc:
        raise JournalError(f"{path}:{number}: bad run journal header: {_first(exc)}") from None
    return header, extra, notes


def _first(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])
