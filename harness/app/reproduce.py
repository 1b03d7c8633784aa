"""The command line that runs one run again, in the words of the front-end that ran it.

Shown under every failure and in every missing-cassette skip (with `--record-mode once`, the command
that records it). It carries the options that decide what the run is — target, scenario, mode, trial,
registry, scenario sources and sample, cassette location, record mode, plugins and check selection —
and only those the user gave, so it reads like the command they typed.
"""

from __future__ import annotations

import shlex

from harness.app.flags import DEFAULT_SAMPLE_SEED, FLAGS, FrontEnd
from harness.app.options import RunOptions
from harness.core.model import RunKey


def reproduce_command(
    front_end: FrontEnd,
    options: RunOptions,
    key: RunKey,
    record_mode: str | None = None,
    *,
    nodeid: str | None = None,
) -> str:
    """`toolcall-harness run ... -k SCENARIO --stream on|off`, or `pytest NODEID --provider ...`.

    Under pytest the node id selects the scenario, mode and trial; the CLI selects them with flags.
    `record_mode` overrides the run's own (the skip of a missing cassette asks for `once`).
    """
    def flag(field: str) -> str:
        return FLAGS[field].spelling(front_end)

    if front_end == "pytest":
        parts = ["pytest", *([nodeid] if nodeid else [])]
    else:
        parts = ["toolcall-harness", "run"]
    if options.base_url:  # an ad hoc endpoint, named after --provider when one was given
        parts += [flag("base_url"), options.base_url]
        parts += ["--provider", key.provider] if options.providers else []
    else:
        parts += ["--provider", key.provider]
    if options.api_key_env:
        parts += [flag("api_key_env"), options.api_key_env]
    parts += ["--model", key.model]
    if options.providers_file:
        parts += [flag("providers_file"), options.providers_file]
    if front_end == "cli":
        parts += ["-k", key.scenario, "--stream", "on" if key.mode == "stream" else "off"]
    for path in options.scenarios:
        parts += [flag("scenarios"), path]
    if options.sample is not None:  # the sample decides which entries exist, hence the item
        parts += [flag("sample"), str(options.sample)]
        if options.sample_seed != DEFAULT_SAMPLE_SEED:
            parts += [flag("sample_seed"), str(options.sample_seed)]
    for field in ("plugins", "checks", "exclude_checks"):  # they decide the verdict
        for value in getattr(options, field):
            parts += [flag(field), value]
    if options.cassette_dir:
        parts += [flag("cassette_dir"), options.cassette_dir]
    if key.trial > 1:
        parts += ["--trials", str(key.trial)]
    if options.clients:
        parts += [flag("clients"), ",".join(options.clients)]
    mode = record_mode or options.record_mode
    if mode:
        parts += ["--record-mode", mode]
    return shlex.join(parts)
