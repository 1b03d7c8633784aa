"""`toolcall-harness`, the argparse front-end. Exit codes: 0 all passed, 1 failed or errored, 2 bad input."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import harness
from harness.core.errors import ConfigError
from harness.core.model import Mode, RunKey, RunResult
from harness.engine.engine import Engine, PlannedRun, RunConfig, plan
from harness.providers.registry import Target, load_registry, select_targets, target_infos
from harness.reporting.table import render_table
from harness.reporting.text import describe_failure, mode_mismatch_lines
from harness.results import journal
from harness.results.store import merge_reports, new_report, outcome_counts, read_report, write_report
from harness.scenario.loader import ScenarioError, load_scenarios
from harness.scenario.selection import select_scenarios
from harness.scenario.spec import ResolvedScenario, scenario_json_schema
from harness.transport.cassettes import RECORD_MODES, cassette_path
from harness.transport.client import RetryPolicy

DEFAULT_SCENARIOS = "scenarios"
STREAM_CHOICES: dict[str, tuple[Mode, ...]] = {
    "both": ("nonstream", "stream"),
    "on": ("stream",),
    "off": ("nonstream",),
}


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
    run.add_argument(
        "--retries",
        type=int,
        default=3,
        help="tries per request on transport failures and retryable statuses (408/429/5xx unless the "
        "provider's retry_statuses say otherwise)",
    )
    run.add_argument(
        "--retry-base-delay",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="backoff before the first retry; doubles per try, with jitter (default 1)",
    )
    run.add_argument(
        "--retry-max-delay",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="cap on one backoff, and on the wait a server asks for in Retry-After (default 30)",
    )
    run.add_argument(
        "--deadline",
        type=float,
        metavar="SECONDS",
        help="start no run after this many seconds; the rest are skipped, and --resume runs them later",
    )
    run.add_argument(
        "--resume",
        metavar="RUN",
        help="finish an interrupted run: its journal (reports/<run>.jsonl), its report path or its name",
    )
    run.add_argument("--format", default="plain", help="table format: plain, github, markdown, html, grid")

    validate = sub.add_parser("validate", help="check scenario files; exit 2 with located errors")
    validate.add_argument("paths", nargs="*", default=[DEFAULT_SCENARIOS])

    listing = sub.add_parser("list", help="list scenarios")
    listing.add_argument("paths", nargs="*", default=[DEFAULT_SCENARIOS])
    listing.add_argument("--format", choices=["text", "json"], default="text")

    sub.add_parser("schema", help="print the JSON Schema of the scenario format")

    report = sub.add_parser("report", help="re-render a saved report offline, or merge shards into one")
    report.add_argument("report", nargs="?")
    report.add_argument(
        "--format",
        help="plain (default), github, markdown, grid, json, or html (one self-contained page); "
        "json by default with --merge",
    )
    report.add_argument("--merge", nargs="+", metavar="SHARD", help="merge these reports (later shards win)")
    report.add_argument("-o", "--output", help="write to this file instead of stdout")

    diff = sub.add_parser("diff", help="compare two reports cell by cell; exit 1 on regressions")
    diff.add_argument("old")
    diff.add_argument("new")
    diff.add_argument("--format", choices=["text", "markdown"], default="text")
    diff.add_argument("--max-flaky", type=int, help="also exit 1 when more cells than this are flaky")

    models = sub.add_parser("models", help="list a provider's models (GET /models) and declared tool support")
    models.add_argument("--provider", help="provider name from the registry")
    models.add_argument("--base-url", help="ad hoc OpenAI-compatible endpoint")
    models.add_argument("--api-key-env", help="environment variable holding the key for --base-url")
    models.add_argument("--providers-file", help="YAML file overriding the shipped provider registry")
    models.add_argument("--format", choices=["text", "json"], default="text")
    models.add_argument("--timeout", type=float, default=30.0, help="seconds for the request")

    doctor = sub.add_parser("doctor", help="check that the local provider can run here, and the fixes")
    doctor.add_argument("--model", action="append", default=[], help="local model to start (default: all)")
    doctor.add_argument("--no-start", action="store_true", help="only check what is installed")
    doctor.add_argument("--format", choices=["text", "json"], default="text")

    judge = sub.add_parser("judge", help="judge recorded exchanges or cassettes without calling anything")
    judge.add_argument("files", nargs="+")
    judge.add_argument("--format", choices=["json", "text"], default="text")
    return parser


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds, so servers we started are stopped and results flushed


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
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
        if args.command == "diff":
            return _diff(args)
        if args.command == "models":
            from harness.providers.discovery import run_models

            return run_models(args)
        if args.command == "doctor":
            from harness.app.doctor import run_doctor

            return run_doctor(args.model, args.format, start=not args.no_start)
        if args.command == "judge":
            from harness.app.judge import run_judge

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
    if (args.report is None) == (args.merge is None):
        raise ConfigError("give either one REPORT to render or --merge SHARD [SHARD ...]")
    if args.merge:
        report, replaced = merge_reports(read_report(path) for path in args.merge)
        for run in replaced:
            print(f"merge: {run.key.label} is in more than one shard: the later one wins", file=sys.stderr)
    else:
        report = read_report(args.report)
    fmt = args.format or ("json" if args.merge else "plain")
    if fmt == "json":
        text = report.model_dump_json(indent=1)
    elif fmt == "html":
        from harness.reporting.html import render_html

        text = render_html(report)
    else:
        text = render_table(report, fmt)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


def _diff(args: argparse.Namespace) -> int:
    from harness.results.diff import diff_reports, render_markdown, render_text

    if args.max_flaky is not None and args.max_flaky < 0:
        raise ConfigError("--max-flaky must be 0 or more")
    result = diff_reports(read_report(args.old), read_report(args.new))
    render = render_markdown if args.format == "markdown" else render_text
    print(render(result, args.max_flaky))
    return 1 if result.failed(args.max_flaky) else 0


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
        from harness.providers.llama_server import missing_reason

        return missing_reason()
    return target.missing_key()


def _run(args: argparse.Namespace) -> int:
    resumed = None
    if args.resume:
        resumed = journal.read(journal.locate(args.resume, args.report_dir))
        args = _resume_args(args, resumed)
    registry = load_registry(args.providers_file)
    targets = select_targets(
        registry, args.provider, args.model or None, base_url=args.base_url, api_key_env=args.api_key_env
    )
    scenarios = select_scenarios(load_scenarios(args.scenarios or [DEFAULT_SCENARIOS]), args.keyword)
    if not scenarios:
        raise ConfigError(f"no scenario matches -k {args.keyword!r}")
    if args.trials < 1 or args.concurrency < 1:
        raise ConfigError("--trials and --concurrency must be at least 1")
    if args.timeout <= 0 or (args.deadline is not None and args.deadline <= 0):
        raise ConfigError("--timeout and --deadline must be more than 0 seconds")
    if args.retry_base_delay < 0 or args.retry_max_delay < 0:
        raise ConfigError("--retry-base-delay and --retry-max-delay must be 0 or more")
    record_mode, how = decide_record_mode(targets, args.record_mode)
    config = RunConfig(
        modes=STREAM_CHOICES[args.stream],
        trials=args.trials,
        record_mode=record_mode,  # type: ignore[arg-type]
        cassette_dir=Path(args.cassette_dir),
        timeout=args.timeout,
        concurrency=args.concurrency,
        deadline=args.deadline,
        command_for=lambda key, mode: command_for(args, key, mode),
    )
    config.retry = RetryPolicy(
        tries=max(1, args.retries),
        base_delay=args.retry_base_delay,
        max_delay=args.retry_max_delay,
    )
    runs = plan(scenarios, targets, config)
    if args.record_mode is None and record_mode == "none":
        if not any(cassette_path(config.cassette_dir, r.key).is_file() for r in runs):
            raise ConfigError(how.removeprefix("replaying cassettes offline (").rstrip(")")
                              + f", and there are no cassettes under {config.cassette_dir} to replay")
    files = journal.digests(sorted({Path(s.file) for s in scenarios}))
    done = _already_done(resumed, runs, files) if resumed else {}
    todo = [r for r in runs if r.key not in done]
    engine = Engine(config)
    broken = engine.start_launchers({r.target.label: r.target for r in todo}.values())
    for failure in broken.values():
        print(f"error: {failure}", file=sys.stderr)
    if broken and all(r.target.label in broken for r in todo):
        engine.close()
        print("no run was started: the local server could not start (see above)", file=sys.stderr)
        return 2
    print(
        f"toolcall-harness: {len(runs)} run(s), {len(scenarios)} scenario(s) x {len(targets)} model(s); {how}"
        + (f"; resuming {resumed.path}: {len(done)} done, {len(todo)} to run" if resumed else "")
    )
    if resumed:
        writer = journal.reopen(resumed)
    else:
        header = journal.JournalHeader(
            name=journal.new_name([t.provider for t in targets]),
            harness_version=harness.__version__,
            cwd=os.getcwd(),
            targets=target_infos(targets),
            scenario_files=files,
            planned=len(runs),
            options={k: v for k, v in vars(args).items() if k not in ("command", "resume")},
        )
        writer = journal.create(args.report_dir, header)
    progress = Progress(len(todo), sys.stdout)
    with writer, engine:

        def finished(index: int, result: RunResult) -> None:
            not_started = engine.deadline_skipped | engine.environment_skipped
            if result.key not in not_started:  # never judged: a resume runs it
                writer.append(result)
            progress.update(index, result)

        try:
            fresh = engine.run_all(todo, finished)
        except (KeyboardInterrupt, SystemExit) as exc:  # Ctrl-C, or SIGTERM raising SystemExit
            progress.finish()
            print(f"interrupted: finished runs are saved in {writer.path}; finish the run with: "
                  f"toolcall-harness run --resume {shlex.quote(str(writer.path))}", file=sys.stderr)
            if isinstance(exc, SystemExit):
                raise
            return 130
    progress.finish()
    by_key = {**done, **{r.key: r for r in fresh}}
    results = [by_key[r.key] for r in runs]
    report = new_report(target_infos(targets), results)
    path = write_report(report, writer.path.parent, writer.path.stem)
    failures = [r for r in results if r.outcome in ("fail", "error")]
    for result in failures:
        print(describe_failure(result))
    print(render_table(report, args.format))
    for line in mode_mismatch_lines(report):
        print(line)
    counts = outcome_counts(results)
    print(", ".join(f"{n} {k}" for k, n in counts.items() if n) + f" — report: {path}")
    resume = f"toolcall-harness run --resume {shlex.quote(str(writer.path))}"
    if engine.deadline_skipped:
        print(f"{len(engine.deadline_skipped)} run(s) skipped at the --deadline; run them with: {resume}")
    if engine.environment_failures:
        for label, failure in engine.environment_failures.items():
            if label not in broken:  # those were printed before the run started
                print(f"error: {failure}", file=sys.stderr)
        print(f"{len(engine.environment_skipped)} run(s) not run because a local server failed; after the "
              f"fix, run them with: {resume}", file=sys.stderr)
        return 2
    return 1 if failures else 0


# Options that decide what a run plans: a resumed run takes them from its journal, never from the command.
_PLAN_OPTIONS = ("provider", "model", "base_url", "api_key_env", "providers_file", "scenarios", "keyword",
                 "stream", "trials", "record_mode", "cassette_dir")
_PATH_OPTIONS = ("providers_file", "scenarios", "cassette_dir")


def _resume_args(args: argparse.Namespace, resumed: journal.Journal) -> argparse.Namespace:
    """The journal's options, with runtime ones (timeout, retries, deadline, ...) overridable."""
    defaults = vars(_parser().parse_args(["run"]))
    given = [name for name in _PLAN_OPTIONS if getattr(args, name) != defaults[name]]
    if given:
        flags = ", ".join("-k" if n == "keyword" else "--" + n.replace("_", "-") for n in given)
        raise ConfigError(f"--resume takes the plan from {resumed.path}; drop {flags}")
    options = {**defaults, **resumed.header.options}
    for name, default in defaults.items():
        if name not in _PLAN_OPTIONS and getattr(args, name) != default:
            options[name] = getattr(args, name)
    if Path(resumed.header.cwd) != Path.cwd():  # relative paths meant the original working directory
        for name in _PATH_OPTIONS:
            value = options.get(name)
            if isinstance(value, str):
                options[name] = str(Path(resumed.header.cwd, value))
            elif isinstance(value, list):
                options[name] = [str(Path(resumed.header.cwd, v)) for v in value]
    options.update(command="run", resume=str(resumed.path))
    for note in resumed.notes:
        print(f"note: {note}", file=sys.stderr)
    return argparse.Namespace(**options)


def _already_done(
    resumed: journal.Journal, runs: list[PlannedRun], files: dict[str, str]
) -> dict[RunKey, RunResult]:
    """Journaled results of planned runs; results of runs no longer planned are left out, with a note."""
    planned = {r.key for r in runs}
    done = resumed.done()
    stale = [key for key in done if key not in planned]
    if stale:
        print(f"note: {len(stale)} journaled run(s) are no longer planned (scenarios edited?) and are left "
              f"out: {', '.join(k.label for k in stale[:3])}", file=sys.stderr)
    for name, digest in resumed.header.scenario_files.items():
        if name in files and files[name] != digest:
            print(f"note: {name} changed since the run started; runs already journaled keep their "
                  "verdicts", file=sys.stderr)
    return {key: result for key, result in done.items() if key in planned}


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
