"""The run journal: `reports/<run>.jsonl`, one line per finished run, so a killed run loses nothing done.

The first line is a `JournalHeader` (targets, scenario files, the `run` options) and every later line a
`RunResult`, appended, flushed and fsynced as the run finishes. `--resume` replays the header's options,
runs only the planned keys that have no line yet, and rebuilds the table and the JSON report from the
journal. A process killed mid-write leaves at most one torn line, always the last one: it is dropped with
a note. A bad line anywhere else means the file was edited or is not a journal, and is refused with its
line number rather than silently shrinking the run.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.core.errors import ConfigError
from harness.core.model import RunKey, RunResult, TargetInfo

JOURNAL_VERSION = 1
SUFFIX = ".jsonl"


class JournalError(ConfigError):
    """A journal that cannot be resumed; the message names the file and the line."""


class JournalHeader(BaseModel):
    """What a resumed run needs to plan the same runs again, and what a reader needs to know the run."""

    model_config = ConfigDict(extra="forbid")

    journal: int = JOURNAL_VERSION
    name: str
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    harness_version: str = ""
    cwd: str
    targets: list[TargetInfo]
    scenario_files: dict[str, str]  # file -> sha256, to notice scenarios edited between run and resume
    planned: int
    options: dict[str, Any]  # the parsed `run` options, as given on the command line


@dataclass
class Journal:
    """A journal as read back: its header, the results in file order, and what the reader noticed."""

    path: Path
    header: JournalHeader
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
    return f"{stamp}-{'+'.join(sorted(set(providers))) or 'run'}"


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


def create(report_dir: str | Path, header: JournalHeader) -> JournalWriter:
    """A new journal named after the header; a name taken in the same second gets a numeric suffix."""
    directory = Path(report_dir)
    directory.mkdir(parents=True, exist_ok=True)
    base = header.name
    for n in range(1, 1000):
        name = base if n == 1 else f"{base}-{n}"
        path = directory / f"{name}{SUFFIX}"
        try:
            handle = path.open("xb")
        except FileExistsError:
            continue
        header.name = name
        writer = JournalWriter(path, handle)
        writer._write(header.model_dump_json())
        return writer
    raise JournalError(f"{directory}: cannot find a free journal name for {base}")


def reopen(journal: Journal) -> JournalWriter:
    """Open for appending after cutting off a torn tail, so new lines never glue onto a fragment."""
    handle = journal.path.open("r+b")
    handle.truncate(journal.good_size)
    handle.seek(journal.good_size)
    if not journal.terminated:
        handle.write(b"\n")
    return JournalWriter(journal.path, handle)


def read(path: str | Path) -> Journal:
    path = Path(path)
    try:
        data = path.read_bytes()
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
    try:
        header = JournalHeader.model_validate_json(raw)
    except ValidationError as exc:
        raise JournalError(f"{path}:{number}: not a toolcall-harness run journal: {_first(exc)}") from None
    if header.journal != JOURNAL_VERSION:
        raise JournalError(f"{path}:{number}: journal version {header.journal}, expected {JOURNAL_VERSION}")
    journal = Journal(path=path, header=header, results=[], good_size=end)
    for position, (number, raw, end) in enumerate(lines[1:], start=2):
        try:
            journal.results.append(RunResult.model_validate_json(raw))
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


def _first(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])
