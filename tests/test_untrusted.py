"""Untrusted files stay data: scenarios, cassettes and reports never run code and never crash the CLI.

Each malicious file carries a payload that would create a marker file if any loader constructed it, so
"rejected" is checked by its effect as well as by its message.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SCENARIOS, load_report

from harness.cli.main import main
from harness.testing.stub import StubServer


def payload(marker: Path) -> str:
    return f'!!python/object/apply:os.system ["touch {marker}"]'


def tagged_cassette(marker: Path) -> str:
    return f"""interactions:
- request:
    body: '{{"model": "stubby"}}'
    headers: {{}}
    method: POST
    uri: http://127.0.0.1:9/v1/chat/completions
  response:
    body:
      string: {payload(marker)}
    headers: {{}}
    status: {{code: 200, message: OK}}
version: 1
"""


def replay(cassettes: Path, tmp_path: Path, mode: str = "none") -> int:
    return main(["run", "--base-url", "http://127.0.0.1:9/v1", "--model", "stubby", "--scenarios",
                 str(SCENARIOS), "-k", "boiling_point", "--stream", "off", "--record-mode", mode,
                 "--cassette-dir", str(cassettes), "--report-dir", str(tmp_path / "reports")])


def cassette_for(cassettes: Path) -> Path:
    path = cassettes / "adhoc" / "stubby" / "boiling_point.yaml"
    path.parent.mkdir(parents=True)
    return path


def test_scenario_with_python_tag_is_rejected_by_run(tmp_path: Path, capsys) -> None:
    marker = tmp_path / "pwned"
    scenario = tmp_path / "evil.yaml"
    scenario.write_text("id: evil\nfamily: single_call\nmessages:\n  - " + payload(marker) + "\n")
    with StubServer() as stub:
        assert main(["run", "--base-url", stub.base_url, "--model", "m", "--scenarios", str(scenario)]) == 2
        assert stub.requests == []
    assert not marker.exists()
    assert f"{scenario}:4: invalid YAML: YAML tags are not allowed" in capsys.readouterr().err


def test_cassette_with_python_tag_is_refused_by_judge(tmp_path: Path, capsys) -> None:
    marker = tmp_path / "pwned"
    cassette = tmp_path / "evil.yaml"
    cassette.write_text(tagged_cassette(marker))
    assert main(["judge", str(cassette)]) == 2
    assert not marker.exists()
    assert capsys.readouterr().err.strip() == (
        f"judge: {cassette}:9: not valid YAML (could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system')")


@pytest.mark.parametrize("mode", ["none", "all"])
def test_cassette_with_python_tag_is_an_error_on_replay_and_left_alone(mode: str, tmp_path: Path,
                                                                      capsys) -> None:
    """vcrpy 9.4's cassette loader is safe; the harness turns its refusal into one cell's `error`.

    One bad file among hundreds of cassettes does not hide the verdicts of the others: the run goes on,
    the cell is an `error`, and the exit code is 2 (bad input) with the command that re-records it.
    The file is not re-recorded either (even with --record-mode all): someone should look at it.
    """
    marker = tmp_path / "pwned"
    cassettes = tmp_path / "cassettes"
    path = cassette_for(cassettes)
    path.write_text(tagged_cassette(marker))
    assert replay(cassettes, tmp_path, mode) == 2
    assert not marker.exists()
    assert path.read_text() == tagged_cassette(marker)
    [run] = load_report(tmp_path / "reports")["runs"]
    assert run["outcome"] == "error" and run["turns"] == []
    assert run["error"]["kind"] == "config"
    assert run["error"]["message"] == (
        f"{path}:9: cassette is not plain YAML (invalid YAML: YAML tags are not allowed "
        "('tag:yaml.org,2002:python/object/apply:os.system')); re-record it with: toolcall-harness run "
        "--base-url http://127.0.0.1:9/v1 --model stubby -k boiling_point --stream off "
        f"--scenarios {SCENARIOS} --cassette-dir {cassettes} --record-mode all")
    assert run["error"]["message"] in capsys.readouterr().out  # shown with the failures, not only saved


@pytest.mark.parametrize(
    ("text", "judge_says", "replay_says"),
    [
        ("interactions: [unclosed\n", ":2: not valid YAML", ":2: cassette is not plain YAML"),
        ("interactions: 5\nversion: 1\n", ": not a cassette: expected a top-level 'interactions' list",
         ": not a vcrpy cassette (expected 'interactions': a list of request/response mappings)"),
        ("- just\n- a list\n", ": not a cassette: expected a top-level 'interactions' list",
         ": not a vcrpy cassette"),
        ("interactions:\n- {request: 1}\nversion: 1\n",
         ": interactions[0]: expected 'request' and 'response'", ": not a vcrpy cassette"),
    ],
    ids=["not_yaml", "interactions_not_a_list", "top_level_list", "interaction_not_a_mapping"],
)
def test_corrupt_cassette_gets_a_clear_message(text: str, judge_says: str, replay_says: str, tmp_path: Path,
                                               capsys) -> None:
    cassettes = tmp_path / "cassettes"
    path = cassette_for(cassettes)
    path.write_text(text)
    assert main(["judge", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"judge: {path}{judge_says}")
    assert replay(cassettes, tmp_path) == 2
    [run] = load_report(tmp_path / "reports")["runs"]
    assert run["outcome"] == "error" and run["error"]["message"].startswith(f"{path}{replay_says}")
    assert path.read_text() == text


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "not a toolcall-harness report: (top level): Invalid JSON"),
        ('{"version": 1, "runs": [{"outcome": "maybe"}]}', "not a toolcall-harness report: runs.0.key:"),
        ("version: 1\nruns: []\n", "not a toolcall-harness report: (top level): Invalid JSON"),
        (json.dumps({"runs": "!!python/object/apply:os.system"}), "not a toolcall-harness report: runs:"),
    ],
    ids=["not_json", "wrong_structure", "yaml", "tag_as_text"],
)
def test_corrupt_report_is_exit_2(text: str, says: str, tmp_path: Path, capsys) -> None:
    path = tmp_path / "report.json"
    path.write_text(text)
    assert main(["report", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {path}: {says}")
