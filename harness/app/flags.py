"""The `run` options as both front-ends spell them — flags, help, choices, defaults — in one table.

Stdlib only, like the two modules whose defaults it shows (`RunConfig`, `RetryPolicy`): the pytest plugin
builds its option group from this table when pytest starts, and importing pydantic or the openai SDK
there would cost every pytest invocation in the environment, `--provider` or not.

Under pytest three options have their own spelling, because well-known plugins own the plain one and
pytest refuses a second registration of a flag (the whole session fails to start, whichever plugin
loads second): `--timeout` is pytest-timeout's, `--base-url` pytest-base-url's (pulled in by
pytest-playwright and pytest-selenium), `--retries` pytest-retry's. The CLI accepts those spellings too,
so a command line can move between the front-ends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from harness.engine.config import RunConfig
from harness.transport.record_modes import RECORD_MODES
from harness.transport.retry import RetryPolicy

if TYPE_CHECKING:
    from harness.core.model import Mode

FrontEnd = Literal["cli", "pytest"]
StreamChoice = Literal["both", "on", "off"]
STREAM_CHOICES: dict[str, tuple[Mode, ...]] = {
    "both": ("nonstream", "stream"),
    "on": ("stream",),
    "off": ("nonstream",),
}
DEFAULT_STREAM: StreamChoice = "both"
DEFAULT_SCENARIOS = "scenarios"  # under the working directory (CLI) or the project folder (pytest)
DEFAULT_CASSETTES = str(RunConfig.cassette_dir)
DEFAULT_REPORTS = "reports"
DEFAULT_TABLE_FORMAT = "plain"
DEFAULT_SAMPLE_SEED = 0
# The environment variable naming plugin modules (harness.app.plugins reads it; kept here, stdlib-only).
PLUGINS_ENV = "TOOLCALL_HARNESS_PLUGINS"
# Options of the pytest plugin are stored under this prefix, so no other plugin's `dest` can clash.
PYTEST_DEST_PREFIX = "toolcall_"


@dataclass(frozen=True)
class Flag:
    """One `run` option: its field in `RunOptions` and how each front-end spells and explains it."""

    field: str
    cli: tuple[str, ...]  # `toolcall-harness run` spellings, the first one named in messages; () = none
    pytest: tuple[str, ...]  # the plugin's spellings; () = not under pytest (pytest has its own, or no use)
    help: str
    type: Callable[[str], Any] | None = None
    choices: tuple[str, ...] | None = None
    repeat: bool = False
    metavar: str | None = None
    plan: bool = False  # decides what a run plans: a resumed run takes it from its journal
    path: bool = False  # a path relative to the working directory the run was started in
    pytest_help: str | None = None

    def spelling(self, front_end: FrontEnd) -> str:
        """How messages name the option in this front-end (the field name if it has no flag there)."""
        names = self.cli if front_end == "cli" else self.pytest
        return names[0] if names else self.field

    def argparse_kwargs(self, front_end: FrontEnd) -> dict[str, Any]:
        """Keyword arguments for argparse's `add_argument`, which pytest's `addoption` takes as well.

        Absent options stay None (or an empty list), so `given` can tell them from a default; the
        defaults themselves are applied once, by `RunOptions`.
        """
        kwargs: dict[str, Any] = {
            "dest": self.field if front_end == "cli" else PYTEST_DEST_PREFIX + self.field,
            "help": self.pytest_help if front_end == "pytest" and self.pytest_help else self.help,
            "default": [] if self.repeat else None,
        }
        if self.repeat:
            kwargs["action"] = "append"
        if self.type is not None:
            kwargs["type"] = self.type
        if self.choices is not None:
            kwargs["choices"] = self.choices
        if self.metavar is not None:
            kwargs["metavar"] = self.metavar
        return kwargs


def _seconds(value: float) -> str:
    return f"{value:g}"


RUN_FLAGS: tuple[Flag, ...] = (
    Flag("providers", ("--provider",), ("--provider",), "provider name from the registry (repeatable)",
         repeat=True, plan=True, metavar="NAME"),
    Flag("models", ("--model",), ("--model",), "model name (repeatable); default: the provider's",
         repeat=True, plan=True, metavar="MODEL"),
    Flag("base_url", ("--base-url", "--api-base-url"), ("--api-base-url",),
         "ad hoc OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 (needs --model)",
         plan=True, metavar="URL"),
    Flag("api_key_env", ("--api-key-env",), ("--api-key-env",),
         "environment variable holding the key for the ad hoc endpoint", plan=True, metavar="VAR"),
    Flag("providers_file", ("--providers-file",), ("--providers-file",),
         "YAML file overriding the shipped provider registry", plan=True, path=True, metavar="FILE"),
    Flag("scenarios", ("--scenarios",), ("--scenarios",),
         f"scenario files or folders (repeatable; default: {DEFAULT_SCENARIOS}/)", repeat=True, plan=True,
         path=True, metavar="PATH",
         pytest_help="scenario files or folders (repeatable; default: the ini option toolcall_scenarios, "
         f"'{DEFAULT_SCENARIOS}' in the project folder)"),
    Flag("sample", ("--sample",), ("--sample",),
         "run N entries of the scenario sources that sample (bfcl), drawn per category; YAML scenarios "
         "always run in full", type=int, plan=True, metavar="N"),
    Flag("sample_seed", ("--sample-seed",), ("--sample-seed",),
         f"seed of --sample: the same seed draws the same entries (default {DEFAULT_SAMPLE_SEED})", type=int,
         plan=True, metavar="SEED"),
    Flag("keyword", ("-k",), (), "select scenarios by id, family or tag (pytest -k syntax)", plan=True,
         metavar="EXPRESSION"),
    Flag("stream", ("--stream",), ("--stream",),
         f"both, on (streamed only) or off (non-streamed only); default: {DEFAULT_STREAM}",
         choices=tuple(sorted(STREAM_CHOICES)), plan=True),
    Flag("trials", ("--trials",), ("--trials",),
         f"runs of each scenario, model and mode (default {RunConfig.trials}); pass^k needs more than 1",
         type=int, plan=True, metavar="N"),
    Flag("shard", ("--shard",), ("--shard",),
         "run only shard I of N (1/4 .. 4/4): a deterministic part of the plan, balanced by expected "
         "requests; merge the N reports with `toolcall-harness report --merge`", plan=True, metavar="I/N",
         pytest_help="run only shard I of N (1/4 .. 4/4) of the scenario runs; the others are deselected"),
    Flag("record_mode", ("--record-mode",), ("--record-mode",),
         "use cassettes: none = replay only (default when no key); default with a key: live, no cassette",
         choices=RECORD_MODES, plan=True,
         pytest_help="default: 'all' (live, re-record) with the provider's key, "
         "else 'none' (offline replay)"),
    Flag("cassette_dir", ("--cassette-dir",), ("--cassette-dir",),
         f"folder of the cassettes (default: {DEFAULT_CASSETTES})", plan=True, path=True, metavar="DIR",
         pytest_help=f"folder of the cassettes (default: {DEFAULT_CASSETTES} in the project folder)"),
    Flag("report_dir", ("--report-dir",), ("--report-dir",),
         f"folder of the journal and the JSON report (default: {DEFAULT_REPORTS})", path=True, metavar="DIR",
         pytest_help=f"folder of the JSON report (default: {DEFAULT_REPORTS} in the project folder)"),
    Flag("concurrency", ("--concurrency",), (),
         f"runs in flight per provider (default {RunConfig.concurrency})", type=int, metavar="N"),
    Flag("processes", ("--processes",), (),
         f"worker processes sharing the plan, each with --concurrency/N runs in flight and 1/N of the rate "
         f"limits (default {RunConfig.processes}); raise it when one process's CPU is the bound "
         "(docs/architecture.md)", type=int, metavar="N"),
    Flag("rpm", ("--rpm",), ("--rpm",),
         "requests per minute allowed per provider (its key's limit); overrides the providers file's rpm. "
         "Each process paces itself: with N xdist workers or --shard jobs on one key, give each 1/N",
         type=int, metavar="N",
         pytest_help="requests per minute allowed per provider; overrides the providers file's rpm. Under "
         "xdist each worker takes 1/N of it (PYTEST_XDIST_WORKER_COUNT)"),
    Flag("tpm", ("--tpm",), ("--tpm",),
         "tokens per minute allowed per provider (estimated before each request, corrected by its usage); "
         "overrides the providers file's tpm", type=int, metavar="N",
         pytest_help="tokens per minute allowed per provider; overrides the providers file's tpm. Under "
         "xdist each worker takes 1/N of it"),
    Flag("timeout", ("--timeout", "--request-timeout"), ("--request-timeout",),
         f"seconds per request, connect and every read together (default {_seconds(RunConfig.timeout)})",
         type=float, metavar="SECONDS"),
    Flag("retries", ("--retries", "--request-retries"), ("--request-retries",),
         f"tries per request on transport failures and retryable statuses (default {RetryPolicy.tries}; "
         "408/429/5xx unless the provider's retry_statuses say otherwise)", type=int, metavar="N"),
    Flag("retry_base_delay", ("--retry-base-delay",), ("--retry-base-delay",),
         f"backoff before the first retry; doubles per try, with jitter (default "
         f"{_seconds(RetryPolicy.base_delay)})", type=float, metavar="SECONDS"),
    Flag("retry_max_delay", ("--retry-max-delay",), ("--retry-max-delay",),
         f"cap on one backoff, and on the wait a server asks for in Retry-After (default "
         f"{_seconds(RetryPolicy.max_delay)})", type=float, metavar="SECONDS"),
    Flag("deadline", ("--deadline",), ("--deadline",),
         "start no run after this many seconds; the rest are skipped, and --resume runs them later",
         type=float, metavar="SECONDS",
         pytest_help="start no run after this many seconds from the first; the rest are skipped"),
    Flag("clients", ("--clients",), ("--clients",),
         "also replay every answer to these client libraries, comma-separated (python-openai, node-openai, "
         "node-ai-sdk); a client that rejects or misreads a response fails the run (docs/clients.md)",
         plan=True, metavar="IDS"),
    Flag("run_timeout", ("--run-timeout",), ("--run-timeout",),
         "seconds per run, all its requests and retries together (default: no bound)", type=float,
         metavar="SECONDS"),
    Flag("max_response_bytes", ("--max-response-bytes",), ("--max-response-bytes",),
         f"a bigger response body is an error of kind too_large (default {RunConfig.max_response_bytes})",
         type=int, metavar="BYTES"),
    Flag("checks", ("--checks",), ("--checks",),
         "run only these checks: ids or patterns such as 'tool_call.*' (repeatable, comma-separated; "
         "`toolcall-harness plugins` lists them)", repeat=True, plan=True, metavar="IDS"),
    Flag("exclude_checks", ("--exclude-checks",), ("--exclude-checks",),
         "skip these checks: ids or patterns (repeatable, comma-separated; wins over --checks)",
         repeat=True, plan=True, metavar="IDS"),
    Flag("plugins", ("--plugins",), ("--plugins",),
         f"plugin module or .py file to load first (repeatable, comma-separated; also ${PLUGINS_ENV})",
         repeat=True, metavar="MODULE"),
    Flag("format", ("--format",), (),
         f"report format: {DEFAULT_TABLE_FORMAT} (default), github, markdown, grid, rst, json, html, or a "
         "plugin's reporter", metavar="FORMAT"),
)
FLAGS: dict[str, Flag] = {flag.field: flag for flag in RUN_FLAGS}


def given(values: Mapping[str, Any], front_end: FrontEnd = "cli") -> dict[str, Any]:
    """The options a front-end's parse says the user gave, by field: absent ones are None or [].

    `values` holds the parsed namespace (`vars(args)` or pytest's `config.option`), by destination.
    """
    found: dict[str, Any] = {}
    for flag in RUN_FLAGS:
        if not (flag.cli if front_end == "cli" else flag.pytest):
            continue
        dest = flag.field if front_end == "cli" else PYTEST_DEST_PREFIX + flag.field
        value = values.get(dest)
        if value is not None and value != []:
            found[flag.field] = value
    return found
