"""Typed, validated `run` options: what both front-ends parse into, and what the run journal stores.

One model, one set of rules: the CLI exits 2 and the pytest plugin raises `pytest.UsageError` with the
same sentence, naming the option as the user spelt it (`--trials must be at least 1, got 0`). The
defaults come from `RunConfig` and `RetryPolicy`, where the engine declares them.

Path options keep what the user typed (relative to the working directory); absent ones stay None, and
`locations` puts them under the front-end's base folder: the working directory for the CLI, the
project folder for pytest.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from harness.app.flags import (
    DEFAULT_CASSETTES,
    DEFAULT_REPORTS,
    DEFAULT_SAMPLE_SEED,
    DEFAULT_SCENARIOS,
    DEFAULT_STREAM,
    DEFAULT_TABLE_FORMAT,
    FLAGS,
    STREAM_CHOICES,
    FrontEnd,
    StreamChoice,
)
from harness.conformance.check_registry import CheckSelection
from harness.core.errors import ConfigError
from harness.core.model import RunKey
from harness.engine.config import RunConfig
from harness.engine.shard import Shard
from harness.scenario.sources import YAML_SOURCE, split_spec
from harness.transport.record_modes import RecordModeName
from harness.transport.retry import RetryPolicy


class RunOptions(BaseModel):
    """The options of one `run`, by meaning rather than by flag; saved in the journal of the run."""

    model_config = ConfigDict(extra="forbid")

    providers: list[str] = []
    models: list[str] = []
    base_url: str | None = None
    api_key_env: str | None = None
    providers_file: str | None = None
    scenarios: list[str] = []  # YAML paths and `ID:ARGUMENT` source values; empty: the default folder
    sample: int | None = None  # entries drawn by the sources that sample (bfcl); None: all
    sample_seed: int = DEFAULT_SAMPLE_SEED
    keyword: str | None = None
    stream: StreamChoice = DEFAULT_STREAM
    trials: int = RunConfig.trials
    shard: str | None = None  # `I/N`, normalised; `shard_spec` reads it (harness.engine.shard)
    record_mode: RecordModeName | None = None  # None: the record policy decides (see record_policy.py)
    cassette_dir: str | None = None
    report_dir: str | None = None
    concurrency: int = RunConfig.concurrency
    processes: int = RunConfig.processes
    rpm: int | None = None  # None: each provider's registry value, if any
    tpm: int | None = None
    timeout: float = RunConfig.timeout
    retries: int = RetryPolicy.tries
    retry_base_delay: float = RetryPolicy.base_delay
    retry_max_delay: float = RetryPolicy.max_delay
    deadline: float | None = None
    clients: list[str] = []  # client library ids (`--clients`); empty: no client checks, no Node needed
    run_timeout: float | None = None
    max_response_bytes: int = RunConfig.max_response_bytes
    checks: list[str] = []  # check ids or patterns to run (none: all); validated by `select_checks`
    exclude_checks: list[str] = []
    plugins: list[str] = []  # modules loaded before anything that names a plugin's extension is checked
    format: str = DEFAULT_TABLE_FORMAT  # a reporter id, validated against the registry by the session

    @field_validator("clients", mode="before")
    @classmethod
    def _client_ids(cls, value: Any) -> Any:
        """`--clients a,b` is one string; ids are checked now (a typo fails before anything runs)."""
        if isinstance(value, str | list) and value:
            from harness.app.run_clients import client_ids

            return client_ids(value)
        return value

    @field_validator("trials", "concurrency", "processes", "retries", "max_response_bytes", "sample", "rpm",
                     "tpm")
    @classmethod
    def _at_least_one(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(f"must be at least 1, got {value}")
        return value

    @field_validator("shard")
    @classmethod
    def _shard(cls, value: str | None) -> str | None:
        return None if value is None else Shard.parse(value).label  # " 02/4" is saved as "2/4"

    @field_validator("timeout", "deadline", "run_timeout")
    @classmethod
    def _positive_seconds(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError(f"must be a finite number of seconds, got {value}")
        if value is not None and value <= 0:
            raise ValueError(f"must be more than 0 seconds, got {value:g}")
        return value

    @field_validator("retry_base_delay", "retry_max_delay")
    @classmethod
    def _delay(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number of seconds, got {value}")
        if value < 0:
            raise ValueError(f"must be 0 or more seconds, got {value:g}")
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            parsed = urlparse(value)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            tries=self.retries, base_delay=self.retry_base_delay, max_delay=self.retry_max_delay
        )

    def shard_spec(self) -> Shard | None:
        return None if self.shard is None else Shard.parse(self.shard)

    def locations(self, base: Path = Path(), default_scenarios: list[Path] | None = None) -> Locations:
        """Where the run reads scenarios and cassettes and writes reports.

        Given paths stay as given (relative to the working directory); absent ones go under `base`. The
        CLI's base is the working directory as `Path()`, so its paths stay relative, printed and saved
        (cassette paths in reports, scenario files in journals) as before.
        """
        yaml = [p for p in self.scenarios if split_spec(p)[0] == YAML_SOURCE]
        sources = [p for p in self.scenarios if split_spec(p)[0] != YAML_SOURCE]
        if self.scenarios:
            scenarios = [Path(p) for p in yaml]
        else:
            scenarios = default_scenarios or [base / DEFAULT_SCENARIOS]
        return Locations(
            scenarios=scenarios,
            cassette_dir=Path(self.cassette_dir) if self.cassette_dir else base / DEFAULT_CASSETTES,
            report_dir=Path(self.report_dir) if self.report_dir else base / DEFAULT_REPORTS,
            sources=sources,
        )

    def run_config(self, record_mode: RecordModeName | None, cassette_dir: Path,
                   command_for: Callable[[RunKey, str | None], str] | None = None,
                   concurrency: int | None = None, checks: CheckSelection | None = None) -> RunConfig:
        """The engine's view of these options, once the record policy and the locations are decided."""
        return RunConfig(
            modes=STREAM_CHOICES[self.stream],
            trials=self.trials,
            record_mode=record_mode,
            cassette_dir=cassette_dir,
            timeout=self.timeout,
            retry=self.retry_policy(),
            concurrency=concurrency if concurrency is not None else self.concurrency,
            processes=self.processes,
            rpm=self.rpm,
            tpm=self.tpm,
            deadline=self.deadline,
            run_timeout=self.run_timeout,
            max_response_bytes=self.max_response_bytes,
            command_for=command_for,
            checks=None if checks is None or checks.everything else checks,
        )


@dataclass(frozen=True)
class Locations:
    scenarios: list[Path]  # YAML files and folders
    cassette_dir: Path
    report_dir: Path
    sources: list[str] = field(default_factory=list)  # `ID:ARGUMENT` values of registered sources

    @property
    def specs(self) -> list[str]:
        """What `resolve_scenarios` reads: the YAML paths, then the source values."""
        return [str(p) for p in self.scenarios] + self.sources


class OptionsError(ConfigError):
    """Options that break a rule; the message names each option as the front-end spells it."""


def parse_options(values: dict[str, Any], front_end: FrontEnd) -> RunOptions:
    """`RunOptions` from the options the user gave (by field), or one sentence naming every problem."""
    try:
        return RunOptions.model_validate(values)
    except ValidationError as exc:
        raise OptionsError(describe(exc, front_end)) from None


def describe(exc: ValidationError, front_end: FrontEnd) -> str:
    """`--trials must be at least 1, got 0; --deadline must be ...`: pydantic's errors in the user's terms."""
    problems = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        name = FLAGS[field].spelling(front_end) if field in FLAGS else field
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{name} {message}" if error["type"] == "value_error" else f"{name}: {message}")
    return "; ".join(problems)


def resumed(journaled: RunOptions, given: dict[str, Any], journal: Path, journal_cwd: Path,
            front_end: FrontEnd = "cli") -> RunOptions:
    """The options of a resumed run: the plan as journaled, runtime options overridable from the command.

    A plan option given again with the journaled value is fine (a shell history line still works); a
    different one is refused, since the journal's finished runs belong to the journaled plan. Relative
    paths meant the directory the run was started in, so they are rebased there when it differs.
    """
    _check_shard(journaled, given, journal)
    conflicts = [FLAGS[name].spelling(front_end) for name in FLAGS if FLAGS[name].plan and name not in TRUSTED
                 and name != "shard" and name in given and given[name] != getattr(journaled, name)]
    if conflicts:
        raise ConfigError(f"--resume takes the plan from {journal}; drop {', '.join(conflicts)}")
    _check_trusted(journaled, given, journal, journal_cwd, front_end)
    options = journaled.model_copy(update={k: v for k, v in given.items() if not FLAGS[k].plan})
    options = RunOptions.model_validate(options.model_dump())  # the overrides are validated too
    if journal_cwd != Path.cwd():
        options = _rebased(options, journal_cwd)
    return options


def _check_shard(journaled: RunOptions, given: dict[str, Any], journal: Path) -> None:
    """A journal holds one shard's runs: resuming it as another shard would mix two parts of the plan."""
    if "shard" not in given:
        return  # the journal's own shard, if any
    ours = Shard.parse(given["shard"]).label
    if journaled.shard is None:
        raise ConfigError(f"--shard {ours}: {journal} is the journal of a whole run, not of a shard; "
                          "drop --shard to resume it")
    if ours != journaled.shard:
        raise ConfigError(f"--shard {ours}: {journal} is the journal of shard {journaled.shard}; resume "
                          f"shard {ours} from its own journal (named ...-shard{ours.replace('/', 'of')})")


# Where the key goes, which variable is the key, which registry says so, and where files are written:
# a journal is a file anyone may have edited, so a resumed run takes these from the command line only.
TRUSTED = ("providers", "base_url", "api_key_env", "providers_file", "cassette_dir")


def _check_trusted(journaled: RunOptions, given: dict[str, Any], journal: Path, journal_cwd: Path,
                   front_end: FrontEnd) -> None:
    """Refuse a resume whose journal disagrees with the command line on a `TRUSTED` option."""

    def same(name: str, ours: Any, theirs: Any) -> bool:
        if name == "cassette_dir":  # absent: the default folder under the directory of the run
            ours, theirs = ours or DEFAULT_CASSETTES, theirs or DEFAULT_CASSETTES
        if FLAGS[name].path and ours is not None and theirs is not None:
            return (Path.cwd() / ours).resolve() == (journal_cwd / theirs).resolve()
        return bool(ours == theirs)

    def shown(name: str, value: Any) -> str:
        spelling = FLAGS[name].spelling(front_end)
        values = value if isinstance(value, list) else [value]
        return " ".join(f"{spelling} {v}" for v in values) if values else f"no {spelling}"

    default = RunOptions()
    differ = [n for n in TRUSTED if not same(n, given.get(n, getattr(default, n)), getattr(journaled, n))]
    if not differ:
        return
    theirs = " ".join(shown(n, getattr(journaled, n)) for n in differ)
    ours = " ".join(shown(n, given.get(n, getattr(default, n))) for n in differ)
    why = ("--resume takes the endpoint, the key variable and the folders from the command line, never "
           "from a journal")
    if any(n in given for n in differ):
        raise ConfigError(f"{journal} disagrees with the command line: it was run with {theirs}, the "
                          f"command line says {ours}; {why}")
    raise ConfigError(f"{journal} was run with {theirs}; {why}: if you trust them, give them again: "
                      f"toolcall-harness run --resume {journal} {theirs}")


def _rebased(options: RunOptions, cwd: Path) -> RunOptions:
    """Relative plan paths, absent ones included, made absolute under the run's original directory."""
    update: dict[str, Any] = {
        "scenarios": [str(cwd / p) if split_spec(p)[0] == YAML_SOURCE else p
                      for p in options.scenarios or [DEFAULT_SCENARIOS]],
        "cassette_dir": str(cwd / (options.cassette_dir or DEFAULT_CASSETTES)),
    }
    if options.providers_file is not None:
        update["providers_file"] = str(cwd / options.providers_file)
    return options.model_copy(update=update)
