"""The commands that never call a provider: `validate`, `list`, `schema`, `report`, `diff`.

They read scenario files and saved reports only, so nothing here may import the openai SDK or vcrpy
(a test runs each in a fresh interpreter and checks): they start in a fraction of a second.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from harness.core.errors import ConfigError

# Each command imports what it needs when it runs: `validate` has no use for the report models.


def validate(args: argparse.Namespace) -> int:
    from harness.scenario.loader import load_scenarios

    scenarios = load_scenarios(args.paths)
    print(f"{len(scenarios)} scenario(s) OK")
    return 0


def listing(args: argparse.Namespace) -> int:
    from harness.scenario.loader import load_scenarios

    rows = [
        {
            "id": s.id,
            "family": s.scenario.family,
            "file": f"{s.file}:{s.line}",
            "tags": s.scenario.tags,
            "description": s.scenario.description,
        }
        for s in load_scenarios(args.paths)
    ]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['id']:40} {r['family']:20} {r['description']}")
    return 0


def schema(args: argparse.Namespace) -> int:
    from harness.scenario.spec import scenario_json_schema

    print(json.dumps(scenario_json_schema(), indent=2))
    return 0


def report(args: argparse.Namespace) -> int:
    from harness.reporting.reporters import REPORTERS, render_report, write_rendered
    from harness.results.store import merge_reports, read_report

    if (args.report is None) == (args.merge is None):
        raise ConfigError("give either one REPORT to render or --merge SHARD [SHARD ...]")
    fmt = args.format or ("json" if args.merge else "plain")
    REPORTERS.get(fmt, where="--format")  # before any report is read: a typo costs nothing
    if args.merge:
        from harness.results.shards import check_shards

        shards = [(path, read_report(path)) for path in args.merge]
        for warning in check_shards(shards):  # refuses missing, duplicated or mixed shards
            print(warning, file=sys.stderr)
        merged, replaced = merge_reports(report for _, report in shards)
        for run in replaced:
            print(f"merge: {run.key.label} is in more than one shard: the later one wins", file=sys.stderr)
    else:
        merged = read_report(args.report)
        if merged.shard is not None:  # a part, not the run: said where a reader of the table sees it
            print(f"note: {args.report} is shard {merged.shard.label} of a run ({merged.shard.runs} of its "
                  f"{merged.shard.planned} runs); merge all {merged.shard.count} with: toolcall-harness "
                  "report --merge SHARD ...", file=sys.stderr)
    if args.by_model or args.reference:
        from harness.reporting.vendor_view import by_model_text

        write_rendered(by_model_text(merged, fmt, args.reference, by_model=args.by_model), args.output)
    else:
        write_rendered(render_report(merged, fmt), args.output)
    return 0


def diff(args: argparse.Namespace) -> int:
    from harness.results.diff import diff_reports, render_markdown, render_text
    from harness.results.store import read_report

    if args.max_flaky is not None and args.max_flaky < 0:
        raise ConfigError("--max-flaky must be 0 or more")
    result = diff_reports(read_report(args.old), read_report(args.new))
    render = render_markdown if args.format == "markdown" else render_text
    print(render(result, args.max_flaky))
    return 1 if result.failed(args.max_flaky) else 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "validate": validate,
    "list": listing,
    "schema": schema,
    "report": report,
    "diff": diff,
}
