"""The GitHub workflows parse, have the intended shape, and only call CLI commands that exist.

A workflow that calls `toolcall-harness diff --max-flakey` fails at 3 a.m. with nobody watching, so every
`toolcall-harness ...` line in a run script is parsed with the real argument parser here.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.app.options import parse_options
from harness.cli.main import _parser
from harness.engine.shard import Shard
from harness.providers.registry import load_registry

# Stand-ins for shell variables whose value must parse as something other than a string.
SAMPLE_VALUES = {"MAX_FLAKY": "3", "SHARD": "2", "NIGHTLY_SHARDS": "4"}
WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"


def load(name: str) -> dict[Any, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    """YAML 1.1 reads the bare key `on` as the boolean True."""
    on = workflow[True] if True in workflow else workflow["on"]
    return {on: None} if isinstance(on, str) else on


def run_scripts(workflow: dict[Any, Any]) -> list[str]:
    return [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]


def cli_commands(script: str) -> list[list[str]]:
    """Each `toolcall-harness` command in a shell script, with expressions and variables stood in for."""
    script = script.replace("\\\n", " ")
    script = re.sub(r"\$\{\{.*?\}\}", "x", script)
    script = re.sub(r'"?\$\{\w+\[@\]\}"?', "shard.json", script)
    script = re.sub(r'"?\$\{?(\w+)\}?"?', lambda m: SAMPLE_VALUES.get(m[1], "x"), script)
    commands = []
    for line in script.splitlines():
        if not re.match(r"\s*toolcall-harness\s", line):
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = []
        for word in lexer:
            if set(word) <= set("();<>|&"):
                break
            words.append(word)
        commands.append(words)
    return commands


ALL_COMMANDS = [
    pytest.param(cmd, id=f"{name}:{' '.join(cmd[1:])}")
    for name in ("nightly.yml", "ci.yml", "stacks.yml")
    for script in run_scripts(load(name))
    for cmd in cli_commands(script)
]


def test_workflows_call_the_cli() -> None:
    assert len(ALL_COMMANDS) >= 5


@pytest.mark.parametrize("command", ALL_COMMANDS)
def test_every_cli_call_parses(command: list[str]) -> None:
    parser = _parser()
    subcommands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert command[1] in subcommands, f"{shlex.join(command)}: no subcommand {command[1]!r}"
    try:
        parser.parse_args(command[1:])
    except SystemExit as exc:
        pytest.fail(f"{shlex.join(command)}: rejected by the CLI parser (exit {exc.code})")


def expand(matrix: dict[str, Any]) -> list[dict[str, Any]]:
    """The jobs of a matrix as GitHub makes them: the product of its lists, then each `include` entry
    added to every job whose values it does not overwrite (or as a job of its own if it fits none)."""
    axes = {k: v for k, v in matrix.items() if k not in ("include", "exclude")}
    jobs: list[dict[str, Any]] = [{}]
    for axis, values in axes.items():
        jobs = [{**job, axis: value} for job in jobs for value in values]
    for extra in matrix.get("include", []):
        fits = [job for job in jobs if all(job.get(k, v) == v for k, v in extra.items() if k in axes)]
        for job in fits:
            job.update(extra)
        if not fits:
            jobs.append(dict(extra))
    return jobs


def test_nightly_triggers_and_matrix() -> None:
    nightly = load("nightly.yml")
    on = triggers(nightly)
    assert "workflow_dispatch" in on and [bool(s["cron"]) for s in on["schedule"]] == [True]
    shard = nightly["jobs"]["shard"]
    assert shard["strategy"]["fail-fast"] is False
    registry = load_registry()
    jobs = expand(shard["strategy"]["matrix"])
    for job in jobs:
        spec = registry[job["provider"]]
        assert spec.api_key_env == job["key_env"], job
        assert not spec.launcher
    hosted = {name for name, spec in registry.items() if spec.api_key_env}
    assert {job["provider"] for job in jobs} == hosted


def test_nightly_shards_each_provider_over_1_to_n() -> None:
    """Each provider runs every shard 1..N of its plan, once: the merge refuses a provider missing one."""
    nightly = load("nightly.yml")
    count = int(nightly["env"]["NIGHTLY_SHARDS"])
    assert count >= 2
    jobs = expand(nightly["jobs"]["shard"]["strategy"]["matrix"])
    for provider in {job["provider"] for job in jobs}:
        shards = sorted(job["shard"] for job in jobs if job["provider"] == provider)
        assert shards == list(range(1, count + 1)), provider
    steps = nightly["jobs"]["shard"]["steps"]
    [run] = [s for s in steps if "toolcall-harness run" in s.get("run", "")]
    assert run["env"]["SHARD"] == "${{ matrix.shard }}"
    assert '--shard "$SHARD/$NIGHTLY_SHARDS"' in run["run"]
    [command] = cli_commands(run["run"])
    assert ("--shard", "2/4") in zip(command, command[1:], strict=False)
    assert parse_options({"shard": "2/4"}, "cli").shard_spec() == Shard(2, 4)
    # one artifact per job: two shards of a provider must not overwrite each other's report
    names = [s["with"]["name"] for s in steps if "upload-artifact" in s.get("uses", "")]
    assert all(name.endswith("-${{ matrix.provider }}-${{ matrix.shard }}") for name in names), names


def test_nightly_shard_skips_without_key_and_uploads_evidence() -> None:
    steps = load("nightly.yml")["jobs"]["shard"]["steps"]
    check = steps[0]
    assert check["id"] == "key" and "secrets[matrix.key_env]" in check["env"]["PROVIDER_KEY"]
    for step in steps[1:]:
        assert "steps.key.outputs.present == 'true'" in step["if"], step
    [run] = [s for s in steps if "toolcall-harness run" in s.get("run", "")]
    [command] = cli_commands(run["run"])
    assert command[:4] == ["toolcall-harness", "run", "--provider", "x"]
    assert ("--record-mode", "all") in zip(command, command[1:], strict=False)
    assert ("--report-dir", "reports") in zip(command, command[1:], strict=False)
    uploads = {s["with"]["name"]: s["with"]["path"] for s in steps if "upload-artifact" in s.get("uses", "")}
    assert uploads == {
        "report-${{ matrix.provider }}-${{ matrix.shard }}": "reports/*.json",
        "cassettes-${{ matrix.provider }}-${{ matrix.shard }}": "cassettes/",
    }
    assert all("always()" in s["if"] for s in steps if "upload-artifact" in s.get("uses", ""))


def test_nightly_merge_diffs_against_the_previous_night() -> None:
    merge = load("nightly.yml")["jobs"]["merge"]
    assert merge["needs"] == "shard" and merge["if"] == "always()"
    steps = merge["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/download-artifact@") for u in uses)
    text = "\n".join(s.get("run", "") for s in steps)
    commands = [c[1] for c in cli_commands(text)]
    assert commands[0] == "report" and "--merge" in text and commands[-1] == "diff"
    assert "gh run download" in text and "nightly-report" in text
    diff_step = steps[-1]
    assert '>> "$GITHUB_STEP_SUMMARY"' in diff_step["run"] and 'exit "$code"' in diff_step["run"]
    assert diff_step["if"] == "steps.previous.outputs.found == 'true'"
    assert load("nightly.yml")["permissions"]["actions"] == "read"


def test_ci_runs_the_entry_point_on_push() -> None:
    ci = load("ci.yml")
    assert "push" in triggers(ci)
    [job] = ci["jobs"].values()
    assert [s["run"] for s in job["steps"] if "run" in s] == ["bash .ci/run"]
    assert (WORKFLOWS.parent.parent / ".ci" / "run").is_file()
