"""`toolcall-harness`, the argparse front-end. Exit codes: 0 all passed, 1 failed or errored, 2 bad input."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from harness.cassettes import RECORD_MODES, cassette_path
from harness.models import RunKey, RunResult
from harness.providers import ConfigError, Target, load_registry, select_targets
from harness.report import (
    describe_failure,
    new_report,
    outcome_counts,
    read_report,
    render_table,
    target_infos,
    write_report,
)
from harness.runner import Engine, RunConfig, plan
from harness.scenarios import ScenarioError, load_scenarios
from harness.selection import select_scenarios
from harness.spec import ResolvedScenario, scenario_json_schema

DEFAULT_SCENARIOS = "scenarios"
STREAM_CHOICES = {"both": ("nonstream", "stream"), "on": ("stream",), "off": ("nonstream",)}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="toolcall-harness", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run scenarios against providers and print the support table")
    run.add_argument(
        "--provider", action="append", default=[], help="provider name from the registry (repeatable)"
    )
    run.add_argument(
        "--model", action="append", default=[], help="model name (repeatable); default: the provider's"
    )
    run.add_argument("--base-url", help="ad hoc OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1")
    run.add_argument("--api-key-env", help="environment variable holding the key for --base-url")
    run.add_argument("--providers-file", help="YAML file overriding the shipped provider registry")
    run.add_argument(
        "--scenarios", action="append", default=[], help=f"files or folders (default: {DEFAULT_SCENARIOS}/)"
    )
    run.add_argument("-k", dest="keyword", help="select scenarios by id, family or tag (pytest -k syntax)")
    run.add_argument("--stream", choices=sorted(STREAM_CHOICES), default="both")
    run.add_argument("--trials", type=int, default=1)
    run.add_argument(
        "--record-mode",
        choices=RECORD_MODES,
        help="use cassettes: none = replay only (default when no key); default with a key: live, no cassette",
    )
    run.add_argument("--cassette-dir", default="cassettes")
    run.add_argument("--report-dir", default="reports")
    run.add_argument("--concurrency", type=int, default=4, help="runs in flight per provider")
    run.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    run.add_argument("--retries", type=int, default=3, help="tries per request on 429/5xx/timeouts")
    run.add_argument("--format", default="plain", help="table format: plain, github, markdown, html, grid")

    validate = sub.add_parser("validate", help="check scenario files; exit 2 with located errors")
    validate.add_argument("paths", nargs="*", default=[DEFAULT_SCENARIOS])

    listing = sub.add_parser("list", help="list scenarios")
    listing.add_argument("paths", nargs="*", default=[DEFAULT_SCENARIOS])
    listing.add_argument("--format", choices=["text", "json"], default="text")

    sub.add_parser("schema", help="print the JSON Schema of the scenario format")

    report = sub.add_parser("report", help="re-render a saved report offline")
    report.add_argument("report")
    report.add_argument("--format", default="plain", help="plain, github, markdown, html, grid, json")

    judge = sub.add_parser("judge", help="judge recorded exchanges or cassettes without calling anything")
    judge.add_argument("files", nargs="+")
    judge.add_argument("--format", choices=["json", "text"], default="text")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "validate":
            scenarios = load_scenarios(args.paths)
            print(f"{len(scenarios)} scenario(s) OK")
            return 0
        if args.command == "list":
            return _list(load_scenarios(args.paths), args.format)
        if args.command == "schema":
            print(json.dumps(scenario_json_schema(), indent=2))
            return 0
        if args.command == "report":
            return _report(args)
        if args.command == "judge":
            from harness.judge import run_judge

            return run_judge(args.files, args.format)
        return _run(args)
    except ScenarioError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in scenario files", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _list(scenarios: list[ResolvedScenario], fmt: str) -> int:
    rows = [
        {
            "id": s.id,
            "family": s.scenario.family,
            "file": f"{s.file}:{s.line}",
            "tags": s.scenario.tags,
            "description": s.scenario.description,
        }
        for s in scenarios
    ]
    if fmt == "json":
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['id']:40} {r['family']:20} {r['description']}")
    return 0


def _report(args: argparse.Namespace) -> int:
    report = read_report(args.report)
    if args.format == "json":
        print(report.model_dump_json(indent=1))
    else:
        print(render_table(report, args.format))
    return 0


def command_for(args: argparse.Namespace, key: RunKey, record_mode: str | None) -> str:
    parts = ["toolcall-harness", "run"]
    parts += ["--base-url", args.base_url] if args.base_url else ["--provider", key.provider]
    parts += ["--model", key.model, "-k", key.scenario, "--stream", "on" if key.mode == "stream" else "off"]
    for path in args.scenarios:
        parts += ["--scenarios", path]
    if key.trial > 1:
        parts += ["--trials", str(key.trial)]
    mode = record_mode or args.record_mode
    if mode:
        parts += ["--record-mode", mode]
    return shlex.join(parts)


def decide_record_mode(targets: list[Target], requested: str | None) -> tuple[str | None, str]:
    """Record mode and the header line saying how the run talks to providers."""
    if requested is not None:
        return requested, f"record mode '{requested}'"
    missing = [m for t in targets if (m := _why_offline(t))]
    if missing:
        return "none", f"replaying cassettes offline ({missing[0]})"
    return None, "live"


def _why_offline(target: Target) -> str | None:
    if target.launcher:
        from harness.local import missing_reason

        return missing_reason()
    return target.missing_key()


def _run(args: argparse.Namespace) -> int:
    registry = load_registry(args.providers_file)
    targets = select_targets(
        registry, args.provider, args.model or None, base_url=args.base_url, api_key_env=args.api_key_env
    )
    scenarios = select_scenarios(load_scenarios(args.scenarios or [DEFAULT_SCENARIOS]), args.keyword)
    if not scenarios:
        raise ConfigError(f"no scenario matches -k {args.keyword!r}")
    if args.trials < 1 or args.concurrency < 1:
        raise ConfigError("--trials and --concurrency must be at least 1")
    record_mode, how = decide_record_mode(targets, args.record_mode)
    config = RunConfig(
        modes=STREAM_CHOICES[args.stream],
        trials=args.trials,
        record_mode=record_mode,  # type: ignore[arg-type]
        cassette_dir=Path(args.cassette_dir),
        timeout=args.timeout,
        concurrency=args.concurrency,
        command_for=lambda key, mode: command_for(args, key, mode),
    )
    config.retry = type(config.retry)(tries=max(1, args.retries))
    runs = plan(scenarios, targets, config)
    if args.record_mode is None and record_mode == "none":
        if not any(cassette_path(config.cassette_dir, r.key).is_file() for r in runs):
            raise ConfigError(how.removeprefix("replaying cassettes offline (").rstrip(")")
                              + f", and there are no cassettes under {config.cassette_dir} to replay")
    print(
        f"toolcall-harness: {len(runs)} run(s), {len(scenarios)} scenario(s) x {len(targets)} model(s); {how}"
    )
    progress = Progress(len(runs), sys.stdout)
    with Engine(config) as engine:
        results = engine.run_all(runs, progress.update)
    progress.finish()
    report = new_report(target_infos(targets), results)
    path = write_report(report, args.report_dir)
    failures = [r for r in results if r.outcome in ("fail", "error")]
    for result in failures:
        print(describe_failure(result))
    print(render_table(report, args.format))
    counts = outcome_counts(results)
    print(", ".join(f"{n} {k}" for k, n in counts.items() if n) + f" — report: {path}")
    return 1 if failures else 0


class Progress:
    """Live progress on a terminal; one plain line per run when piped or in CI."""

    def __init__(self, total: int, out: TextIO) -> None:
        self.total = total
        self.out = out
        self.tty = out.isatty()
        self.done = 0
        self.counts = {"pass": 0, "fail": 0, "error": 0, "skip": 0}
        self.started = time.monotonic()

    def update(self, index: int, result: RunResult) -> None:
        self.done += 1
        self.counts[result.outcome] += 1
        if not self.tty:
            print(
                f"[{self.done}/{self.total}] {result.outcome.upper():5} {result.key.label}",
                file=self.out,
                flush=True,
            )
            return
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.done * (self.total - self.done)
        summary = " ".join(f"{k} {v}" for k, v in self.counts.items())
        self.out.write(f"\r[{self.done}/{self.total}] {summary} | {elapsed:.0f}s elapsed, ETA {eta:.0f}s ")
        self.out.flush()

    def finish(self) -> None:
        if self.tty:
            self.out.write("\n")
