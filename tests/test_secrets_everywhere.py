"""No secret in any output: what `models`, `report`, `diff` and `run` print or write, including a key
that a provider streams split across SSE deltas; and `--resume` never takes where to send the key from
a journal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import SCENARIOS
from oracle import oracle

from harness.cli.main import main
from harness.conformance.stream import assemble
from harness.testing.stub import StubServer, scripted
from harness.transport.redaction import Redactor

KEY = "sk-split-ABCDEF0123456789"
ENV = "TOOLCALL_SPLIT_KEY"


def keyed_providers(path: Path, base_url: str) -> Path:
    path.write_text(yaml.safe_dump({"providers": {"keyed": {
        "base_url": base_url, "api_key_env": ENV, "models": ["stubby"]}}}))
    return path


def assembled_texts(obj: Any) -> list[str]:
    """Every string in a saved document, and what each SSE text among them assembles to."""
    found: list[str] = []
    if isinstance(obj, dict):
        for value in obj.values():
            found += assembled_texts(value)
    elif isinstance(obj, list):
        for value in obj:
            found += assembled_texts(value)
    elif isinstance(obj, str | bytes):
        text = obj.decode() if isinstance(obj, bytes) else obj
        found.append(text)
        if "data:" in text:
            assembly = assemble(text)
            found.append(assembly.content or "")
            found += [c.arguments_raw or "" for c in assembly.tool_calls]
    return found


def test_a_key_streamed_across_deltas_is_redacted_where_the_stream_assembles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv(ENV, KEY)
    # The stub cuts content into three deltas: the key lands across a cut.
    with StubServer(scripted(f"The answer is 100 and {KEY}!")) as stub:
        providers = keyed_providers(tmp_path / "providers.yaml", stub.base_url)
        code = main(["run", "--provider", "keyed", "--providers-file", str(providers), "--scenarios",
                     str(SCENARIOS), "-k", "boiling_point", "--stream", "on", "--record-mode", "all",
                     "--cassette-dir", str(tmp_path / "cassettes"),
                     "--report-dir", str(tmp_path / "reports")])
    assert code == 0
    out = capsys.readouterr()
    assert KEY not in out.out + out.err
    [report] = (tmp_path / "reports").glob("*.json")
    [journal] = (tmp_path / "reports").glob("*.jsonl")
    [cassette] = (tmp_path / "cassettes").glob("*/*/*.yaml")
    documents = {
        report: json.loads(report.read_text()),
        journal: [json.loads(line) for line in journal.read_text().splitlines()],
        cassette: yaml.safe_load(cassette.read_text()),
    }
    for path, data in documents.items():
        texts = assembled_texts(data)
        assert any("<REDACTED>" in t for t in texts), path
        assert not [t for t in texts if KEY in t], path
    assert main(["report", str(report), "--format", "html"]) == 0
    assert main(["report", "--merge", str(report), str(report)]) == 0
    assert KEY not in capsys.readouterr().out


def test_the_redactor_works_on_what_a_stream_assembles_to() -> None:
    stream = "".join(
        f"data: {json.dumps({'choices': [{'index': 0, 'delta': {'content': part}}]})}\n\n"
        for part in ["key: sk-spl", "it-ABCDEF01", "23456789 end"]
    ) + "data: [DONE]\n\n"
    redacted = Redactor([KEY])(stream)
    assert assemble(redacted).content == "key: <REDACTED> end"
    assert Redactor([KEY])("no secret here") == "no secret here"


def test_models_never_prints_a_key_the_server_echoes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                     capsys) -> None:
    monkeypatch.setenv(ENV, KEY)
    models = [{"id": f"echo-{KEY}", "object": "model", "created": 0, "owned_by": KEY}]
    with StubServer(models=models) as stub:
        for fmt in ("text", "json"):
            assert main(["models", "--base-url", stub.base_url, "--api-key-env", ENV, "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert KEY not in out and "echo-<REDACTED>" in out


def test_report_and_diff_redact_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path, capsys) -> None:
    """A report written elsewhere (or by hand) may hold a key this machine knows: it is not printed."""
    from harness.core.model import RunKey, RunResult
    from harness.results.store import new_report, write_report

    monkeypatch.setenv("SOMEPROVIDER_API_KEY", KEY)
    key = RunKey(provider="p", model="m", scenario="s", mode="nonstream")
    run = RunResult(key=key, family="single_call", outcome="fail", final_answer=f"here: {KEY}")
    path = write_report(new_report([], [run]), tmp_path, "r")
    for args in (["report", str(path)], ["report", str(path), "--format", "json"],
                 ["diff", str(path), str(path)]):
        main(args)
    out = capsys.readouterr()
    assert KEY not in out.out + out.err


# ------------------------------------------------------------------------------------------- resume


def half_done_journal(stub: StubServer, tmp_path: Path) -> Path:
    """A run cut by its deadline after the first of two runs: a journal with one run left to do."""
    stub.latency = 0.5
    main(["run", "--base-url", stub.base_url, "--model", "stubby", "--scenarios", str(SCENARIOS),
          "-k", "boiling_point or choice_none", "--stream", "off", "--concurrency", "1", "--deadline", "0.8",
          "--report-dir", str(tmp_path / "reports")])
    stub.latency = 0.0
    [journal] = (tmp_path / "reports").glob("*.jsonl")
    return journal


def edit_header(journal: Path, **options: Any) -> None:
    lines = journal.read_text().splitlines()
    header = json.loads(lines[0])
    header["options"].update(options)
    journal.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")


def test_resume_never_takes_the_endpoint_or_key_variable_from_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("HOME_SECRET_KEY", KEY)
    with StubServer(oracle()) as honest, StubServer(oracle()) as attacker:
        journal = half_done_journal(honest, tmp_path)
        edit_header(journal, base_url=attacker.base_url, api_key_env="HOME_SECRET_KEY",
                    cassette_dir="/tmp/elsewhere")
        capsys.readouterr()
        assert main(["run", "--resume", str(journal)]) == 2
        err = capsys.readouterr().err
        assert attacker.requests == []
        assert f"{journal} was run with --base-url {attacker.base_url}" in err
        assert "--resume takes the endpoint, the key variable and the folders from the command line" in err
        # Stating them on the command line is what a resume trusts; the journal must agree with it.
        assert main(["run", "--resume", str(journal), "--base-url", honest.base_url]) == 2
        assert "disagrees" in capsys.readouterr().err
        assert attacker.requests == []


def test_resume_with_the_endpoint_on_the_command_line_finishes_the_run(tmp_path: Path, capsys) -> None:
    with StubServer(oracle()) as stub:
        journal = half_done_journal(stub, tmp_path)
        assert main(["run", "--resume", str(journal), "--base-url", stub.base_url]) == 0
    assert "1 done, 1 to run" in capsys.readouterr().out


# -------------------------------------------------------------------------------------------- paths


@pytest.mark.parametrize("name", ["..", "../../x", "/abs/path", "p" * 300])
def test_a_provider_name_never_leads_outside_its_folders(name: str, tmp_path: Path, capsys) -> None:
    cassettes, reports = tmp_path / "c" / "cassettes", tmp_path / "r" / "reports"
    with StubServer(oracle()) as stub:
        providers = tmp_path / "providers.yaml"
        providers.write_text(yaml.safe_dump({"providers": {name: {"base_url": stub.base_url,
                                                                  "models": ["../m"]}}}))
        code = main(["run", "--provider", name, "--providers-file", str(providers), "--scenarios",
                     str(SCENARIOS), "-k", "boiling_point", "--stream", "off", "--record-mode", "all",
                     "--cassette-dir", str(cassettes), "--report-dir", str(reports)])
    assert code == 0, capsys.readouterr().err
    written = {p for p in tmp_path.rglob("*") if p.is_file()} - {providers}
    assert written and all(cassettes in p.parents or reports in p.parents for p in written), written
    assert all(len(part) <= 120 for p in written for part in p.parts)


def test_report_dir_that_is_a_file_is_a_usage_error(tmp_path: Path, capsys) -> None:
    target = tmp_path / "afile"
    target.write_text("")
    with StubServer() as stub:
        assert main(["run", "--base-url", stub.base_url, "--model", "m", "--scenarios", str(SCENARIOS),
                     "-k", "boiling_point", "--report-dir", str(target)]) == 2
        assert stub.requests == []
    assert f"--report-dir {target} is a file, not a folder" in capsys.readouterr().err


def test_output_to_a_closed_pipe_ends_quietly() -> None:
    code = ("import sys; from harness.cli.main import main; "
            f"sys.exit(main(['list', {str(SCENARIOS)!r}] * 1))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=30)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
