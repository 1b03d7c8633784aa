"""`toolcall-harness`, the argparse front-end. Exit codes: 0 all passed, 1 failed or errored, 2 bad input.

This module parses and dispatches, nothing more; each command lives in its own module and is imported
only when it runs, so `validate`, `list`, `schema`, `report` and `diff` never load the openai SDK or
vcrpy. The `run` options come from the table both front-ends share (`harness.app.flags`).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from harness.app.flags import DEFAULT_SCENARIOS, FLAGS, RUN_FLAGS
from harness.app.output import quiet_stdout, redacted_output
from harness.core.errors import HarnessError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="toolcall-harness", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run scenarios against providers and print the support table")
    for flag in RUN_FLAGS:
        if flag.cli:
            run.add_argument(*flag.cli, **flag.argparse_kwargs("cli"))
    run.add_argument(
        "--resume",
        metavar="RUN",
        help="finish an interrupted run: its journal (reports/<run>.jsonl), its report path or its name",
    )

    validate = sub.add_parser("validate", help="check scenario files; exit 2 with located errors")
    validate.add_argument("paths", nargs="*", default=[DEFAULT_SCENARIOS])

    listing = sub.add_parser("list", help="list scenarios")
    listing.add_argument("paths", nargs="*", default=[DEFAULT_SCENARIOS])
    listing.add_argument("--format", choices=["text", "json"], default="text")

    schema = sub.add_parser("schema", help="print the JSON Schema of the scenario format")

    plugins = sub.add_parser("plugins", help="list every check, matcher, reporter, launcher and scenario "
                             "source, built-in and from plugins, with its package")
    plugins.add_argument("--format", choices=["text", "json"], default="text")

    report = sub.add_parser("report", help="re-render a saved report offline, or merge shards into one")
    report.add_argument("report", nargs="?")
    report.add_argument(
        "--format",
        help="plain (default), github, markdown, grid, rst, json, html (one self-contained page), or a "
        "plugin's reporter; json by default with --merge",
    )
    report.add_argument("--merge", nargs="+", metavar="SHARD",
                        help="merge these reports (later ones win a run they share); the shards of a "
                        "--shard run must all be there, once each, from one plan")
    report.add_argument("-o", "--output", help="write to this file instead of stdout")
    report.add_argument("--by-model", action="store_true",
                        help="the vendor view: each canonical model's providers side by side")
    report.add_argument("--reference", metavar="PROVIDER[/MODEL]",
                        help="with --by-model: compare each model's vendors with this provider's runs")

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

    doctor = sub.add_parser("doctor", help="check that the launched local stacks can run here, and the fixes")
    doctor.add_argument("--provider", action="append", default=[], metavar="PROVIDER",
                        help="launched provider whose servers to start (repeatable; default: local)")
    doctor.add_argument("--model", action="append", default=[],
                        help="model of the first provider to start (default: all)")
    doctor.add_argument("--no-start", action="store_true", help="only check what is installed")
    doctor.add_argument("--format", choices=["text", "json"], default="text")

    judge = sub.add_parser("judge", help="judge recorded exchanges or cassettes without calling anything")
    judge.add_argument("files", nargs="+")
    judge.add_argument("--format", choices=["json", "text"], default="text")
    judge.add_argument("--clients", metavar="IDS",
                       help="also replay each exchange to these client libraries, comma-separated: "
                       "python-openai, node-openai, node-ai-sdk (see docs/clients.md)")
    for flag in (FLAGS["checks"], FLAGS["exclude_checks"]):
        judge.add_argument(*flag.cli, **flag.argparse_kwargs("cli"))

    clients = sub.add_parser("clients", help="the client libraries of --clients")
    clients_sub = clients.add_subparsers(dest="clients_command", required=True)
    install = clients_sub.add_parser("install", help="install the Node clients (npm ci from the lockfile)")
    install.add_argument("--force", action="store_true", help="reinstall even when installed")
    # Every command that judges, renders, lists or loads scenarios can name plugin modules.
    for command in (validate, listing, schema, plugins, report, models, doctor, judge):
        command.add_argument(*FLAGS["plugins"].cli, **FLAGS["plugins"].argparse_kwargs("cli"))
    return parser


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds, so servers we started are stopped and results flushed


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with redacted_output(getattr(args, "api_key_env", None)):
        try:
            return _main(args)
        except BrokenPipeError:  # `toolcall-harness list | head`: the reader has all it wanted
            quiet_stdout()
            return 0


def _main(args: argparse.Namespace) -> int:
    try:
        return _dispatch(args)
    except HarnessError as exc:
        problems = getattr(exc, "problems", None)  # a ScenarioError lists every problem found
        if problems is not None:
            for problem in problems:
                print(problem, file=sys.stderr)
            print(f"{len(problems)} problem(s) in scenario files", file=sys.stderr)
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 2


# Commands that never meet a plugin's extension, so they start without looking for plugins (`models`
# does: a providers file may name a plugin's launcher).
WITHOUT_PLUGINS = ("diff", "clients")


def _dispatch(args: argparse.Namespace) -> int:
    if args.command not in WITHOUT_PLUGINS:
        from harness.app.plugins import load_plugins

        load_plugins(args.plugins)  # once, before any option that names a plugin's extension is checked
    if args.command == "plugins":
        from harness.app.plugins import render_plugins

        print(render_plugins(args.format))
        return 0
    if args.command == "run":
        from harness.cli.run import run_command

        return run_command(args)
    if args.command == "models":
        from harness.providers.discovery import run_models

        return run_models(args)
    if args.command == "doctor":
        from harness.app.doctor import run_doctor

        return run_doctor(args.model, args.format, start=not args.no_start, providers=args.provider)
    if args.command == "judge":
        from harness.app.judge import run_judge

        return run_judge(args.files, args.format, args.clients, args.checks, args.exclude_checks)
    if args.command == "clients":
        from harness.clients.installer import main as install_clients

        return install_clients(["--force"] if args.force else [])
    from harness.cli import offline

    return offline.COMMANDS[args.command](args)
