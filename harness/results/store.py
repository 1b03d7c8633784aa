"""Reports are data first: the JSON report is the source of truth; tables and pages are renderings of it.

This module makes, saves, reads and merges reports. Rendering lives in `harness.reporting`.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from pydantic import ValidationError

import harness
from harness.conformance.mode_mismatch import flag_mode_mismatches
from harness.core.errors import ConfigError
from harness.core.files import read_text
from harness.core.model import (
    NEWER_MINOR,
    REPORT_MINOR,
    REPORT_VERSION,
    Report,
    RunResult,
    TargetInfo,
    declared_version,
)
from harness.core.paths import inside
from harness.core.shard import ShardInfo
from harness.results.accuracy import accuracy_summaries
from harness.results.cells import summaries
from harness.results.journal import run_label


def git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def new_report(targets: Iterable[TargetInfo], runs: list[RunResult], shard: ShardInfo | None = None
               ) -> Report:
    return Report(
        shard=shard,
        harness_version=harness.__version__,
        openai_version=version("openai"),
        git_revision=git_revision(),
        targets=list(targets),
        runs=flag_mode_mismatches(runs),
        cells=summaries(runs),
        accuracy=accuracy_summaries(runs),
    )


def write_report(report: Report, report_dir: str | Path, name: str | None = None) -> Path:
    directory = Path(report_dir)
    directory.mkdir(parents=True, exist_ok=True)
    if name is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        name = f"{stamp}-{run_label([t.provider for t in report.targets])}"
        name += shard_suffix(report.shard) if report.shard else ""
    path = inside(directory, f"{name}.json")
    # Whatever the report was read as, in memory it has this harness's shape, and is written as such.
    current = report.model_copy(update={"version": REPORT_VERSION, "minor": REPORT_MINOR})
    path.write_text(current.model_dump_json(indent=1), encoding="utf-8")
    return path


def shard_suffix(shard: ShardInfo) -> str:
    """`-shard2of4`: the N shards of one run may finish in the same second and meet in one folder."""
    return f"-shard{shard.index}of{shard.count}"


def read_report(path: str | Path) -> Report:
    """A saved report, checked against the versions this harness reads (see `harness.core.model`).

    A newer major version is refused with one sentence naming the file, both versions and the way out;
    a newer minor version of our major reads, ignoring the fields it added; older versions migrate as
    the model validates them. Anything else that is not a report is a located usage error, never a
    traceback.
    """
    if str(path).endswith(".jsonl"):
        raise ConfigError(
            f"{path} is a run journal, not a report: the run did not finish. Finish it (the report is "
            f"written at the end) with: toolcall-harness run --resume {path}")
    try:
        text = read_text(path, "reports")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read report: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a toolcall-harness report: not UTF-8 text ({exc.reason})") from None
    try:  # parsed once for the versions; validated from the text, for JSON-worded messages
        data = json.loads(text)
    except ValueError as exc:
        problem = f"(top level): Invalid JSON: {exc}"
        raise ConfigError(f"{path}: not a toolcall-harness report: {problem}") from None
    newer_minor = False
    if isinstance(data, dict):
        major, minor = declared_version(data)
        if major > REPORT_VERSION:
            raise ConfigError(
                f"{path}: report version {major}.{minor} is newer than this harness reads: toolcall-harness "
                f"{harness.__version__} reads report versions up to {REPORT_VERSION}.x; upgrade "
                "toolcall-harness to read it"
            )
        newer_minor = major == REPORT_VERSION and minor > REPORT_MINOR
    try:
        return Report.model_validate_json(text, context={NEWER_MINOR: True} if newer_minor else None)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{path}: not a toolcall-harness report: {where}: {first['msg']}") from None


def outcome_counts(runs: Iterable[RunResult]) -> dict[str, int]:
    counts = {"pass": 0, "fail": 0, "error": 0, "skip": 0}
    for r in runs:
        counts[r.outcome] += 1
    return counts


def merge_reports(shards: Iterable[Report]) -> tuple[Report, list[RunResult]]:
    """One report from shards (e.g. one per provider in CI) and the runs that a later shard replaced.

    Targets are united per provider (models in first-seen order); runs are concatenated, and when two
    shards hold the same run key the later shard wins, keeping the earlier run's position. The merged
    report carries the newest shard's creation time, the first shard's harness and SDK versions, and
    this harness's report version. Stream/non-stream
    warnings are found again over the merged runs.
    """
    shards = list(shards)
    if not shards:
        raise ConfigError("nothing to merge: give at least one report")
    targets: dict[str, TargetInfo] = {}
    runs: dict[object, RunResult] = {}
    replaced: list[RunResult] = []
    for shard in shards:
        for t in shard.targets:
            blank = TargetInfo(provider=t.provider, base_url=t.base_url, models=[])
            targets.setdefault(t.provider, blank).merge(t)
        for run in shard.runs:
            if run.key in runs:
                replaced.append(runs[run.key])
            runs[run.key] = run
    first = shards[0]
    report = first.model_copy(
        update={
            "version": REPORT_VERSION,
            "minor": REPORT_MINOR,
            "created": max(s.created for s in shards),
            "targets": list(targets.values()),
            "runs": flag_mode_mismatches(runs.values()),
            "cells": summaries(runs.values()),
            "accuracy": accuracy_summaries(runs.values()),
            "shard": None,  # the merge is a whole run; `harness.results.shards` checked its shards
        }
    )
    return report, replaced
