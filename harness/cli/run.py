"""`toolcall-harness run`: the application layer prepares the run; this module wires its listeners.

Options are parsed and validated (`RunOptions`), a resumed run takes its plan from the journal, the
session decides targets, scenarios, record mode and plan, local servers are started before any run,
and then the engine runs the plan while its listeners keep the journal, the progress line and the
results. What is left here is the terminal: the header, the failures, the table, the exit code.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

import harness
from harness.app.flags import given
from harness.app.options import RunOptions, parse_options, resumed
from harness.app.plugins import load_plugins
from harness.app.record_policy import ensure_replayable
from harness.app.report import Results, build_report, save_report
from harness.app.session import RunSession
from harness.cli.progress import Progress
from harness.core.model import RunKey, RunResult
from harness.engine.engine import Engine
from harness.engine.plan import PlannedRun
from harness.providers.registry import target_infos
from harness.reporting.reporters import render_report, write_rendered
from harness.reporting.text import describe_failure, mode_mismatch_lines
from harness.results import journal
from harness.results.store import outcome_counts, shard_suffix


def run_command(args: argparse.Namespace) -> int:
    options = parse_options(given(vars(args)), "cli")
    previous: journal.Journal[RunOptions] | None = None
    if args.resume:
        report_dir = options.locations().report_dir
        previous = journal.read(journal.locate(args.resume, report_dir), RunOptions)
        for note in previous.notes:
            print(f"note: {note}", file=sys.stderr)
        journaled, cwd = previous.header.options, Path(previous.header.cwd)
        options = resumed(journaled, given(vars(args)), previous.path, cwd)
        load_plugins(options.plugins)  # the journaled run's plugins, when the command names none
    session = RunSession.prepare(options, "cli", Path())
    ensure_replayable(session.decision, session.selected, session.config.cassette_dir)
    files = journal.digests(sorted({Path(s.file) for s in session.scenarios}))  # a source's data file too
    done = _already_done(previous, session.selected, files) if previous else {}
    todo = [r for r in session.selected if r.key not in done]

    engine = Engine(session.config)
    broken = engine.start_launchers({r.target.label: r.target for r in todo}.values())
    for failure in broken.values():
        print(f"error: {failure}", file=sys.stderr)
    if broken and all(r.target.label in broken for r in todo):
        engine.close()
        print("no run was started: the local server could not start (see above)", file=sys.stderr)
        return 2
    print(
        f"toolcall-harness: {len(session.runs)} run(s), {len(session.scenarios)} scenario(s) x "
        f"{len(session.targets)} model(s); {session.decision.how}"
        + (f"; resuming {previous.path}: {len(done)} done, {len(todo)} to run" if previous else "")
    )
    if session.shard_line():
        print(session.shard_line())
    writer = journal.reopen(previous) if previous else journal.create(
        session.locations.report_dir, _header(session, files))
    results, progress = Results(), Progress(len(todo), sys.stdout)
    results.add(done.values())
    for listener in (writer.on_event, progress.on_event, results):
        engine.subscribe(listener)
    resume = f"toolcall-harness run --resume {shlex.quote(str(writer.path))}"
    with writer, engine:
        try:
            if session.selected:  # an empty shard asks the providers nothing
                engine.declarations(session.targets)  # each provider's GET /models, recorded like the runs
            engine.run_all(todo)
        except (KeyboardInterrupt, SystemExit) as exc:  # Ctrl-C, or SIGTERM raising SystemExit
            progress.finish()
            print(f"interrupted: finished runs are saved in {writer.path}; finish the run with: {resume}",
                  file=sys.stderr)
            if isinstance(exc, SystemExit):
                raise
            return 130
    progress.finish()
    return _summary(session, results.in_order(session.order), writer.path, engine, resume)


def _header(session: RunSession, files: dict[str, str]) -> journal.JournalHeader[RunOptions]:
    return journal.JournalHeader[RunOptions](
        name=journal.new_name([t.provider for t in session.targets])
        + (shard_suffix(session.shard) if session.shard else ""),
        harness_version=harness.__version__,
        cwd=os.getcwd(),
        targets=target_infos(session.targets),
        scenario_files=files,
        planned=len(session.selected),
        options=session.options,
    )


def _summary(session: RunSession, results: list[RunResult], journal_path: Path, engine: Engine,
             resume: str) -> int:
    """The failures, the table and the counts; exit 2 when a local server failed, 1 on any fail or error."""
    declared = engine.declarations(session.targets) if session.selected else {}
    report = build_report(session.targets, results, declared, shard=session.shard)
    path = save_report(report, journal_path.parent, journal_path.stem)
    failures = [r for r in results if r.outcome in ("fail", "error")]
    for result in failures:
        print(describe_failure(result))
    write_rendered(render_report(report, session.options.format))
    for line in mode_mismatch_lines(report):
        print(line)
    for provider, stats in engine.limiters.stats().items():
        if (throttled := stats.line(provider)) is not None:
            print(throttled)
    counts = outcome_counts(results)
    said = ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "no run"  # an empty shard
    print(f"{said} — report: {path}")
    if engine.deadline_skipped:
        print(f"{len(engine.deadline_skipped)} run(s) skipped at the --deadline; run them with: {resume}")
    if engine.environment_failures:
        print(f"{len(engine.environment_skipped)} run(s) not run because a local server failed; after the "
              f"fix, run them with: {resume}", file=sys.stderr)
        return 2
    if any(r.error is not None and r.error.kind == "config" for r in results):
        return 2  # bad input (a damaged cassette): its message is above, with the command that fixes it
    return 1 if failures else 0


def _already_done(
    previous: journal.Journal[RunOptions], runs: list[PlannedRun], files: dict[str, str]
) -> dict[RunKey, RunResult]:
    """Journaled results of planned runs; results of runs no longer planned are left out, with a note."""
    planned = {r.key for r in runs}
    done = previous.done()
    stale = [key for key in done if key not in planned]
    if stale:
        print(f"note: {len(stale)} journaled run(s) are no longer planned (scenarios edited?) and are left "
              f"out: {', '.join(k.label for k in stale[:3])}", file=sys.stderr)
    for name, digest in previous.header.scenario_files.items():
        if name in files and files[name] != digest:
            print(f"note: {name} changed since the run started; runs already journaled keep their "
                  "verdicts", file=sys.stderr)
    return {key: result for key, result in done.items() if key in planned}
