"""A providers file gets the located, friendly errors a scenario file gets: `path:line: field: why`."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli.main import main
from harness.core.errors import ConfigError
from harness.providers.registry import load_registry, select_targets

ROOT = Path(__file__).parents[1]
BAD = Path(__file__).parent / "data" / "providers_bad"


@pytest.mark.parametrize("path", sorted(BAD.glob("*.yaml")), ids=lambda p: p.stem)
def test_bad_providers_file_golden_messages(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    with pytest.raises(ConfigError) as caught:
        load_registry(path.relative_to(ROOT))
    assert str(caught.value).splitlines() == path.with_suffix(".expected").read_text().splitlines()


def test_every_problem_of_the_file_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "providers.yaml"
    path.write_text("providers:\n  a:\n    modles: [x]\n  b:\n    base_urll: http://h/v1\n")
    with pytest.raises(ConfigError) as caught:
        load_registry(path)
    assert str(caught.value).splitlines() == [
        f"{path}:3: providers.a: unknown key 'modles' — did you mean 'models'?",
        f"{path}:5: providers.b: unknown key 'base_urll' — did you mean 'base_url'?",
    ]


def test_the_cli_exits_2_with_the_located_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "providers.yaml"
    path.write_text("providers:\n  local:\n    modles: [x]\n")
    assert main(["run", "--provider", "local", "--providers-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:3: providers.local: unknown key 'modles' — did you mean 'models'?" in err
    assert "Traceback" not in err


def test_a_good_file_still_overrides_the_shipped_entries(tmp_path: Path) -> None:
    path = tmp_path / "providers.yaml"
    path.write_text("providers:\n  local:\n    base_url: http://127.0.0.1:1/v1\n    models: [m]\n")
    registry = load_registry(path)
    assert registry["local"].models == ["m"] and "generalcompute" in registry


def test_rate_limits_reach_the_targets_of_every_model(tmp_path: Path) -> None:
    path = tmp_path / "providers.yaml"
    path.write_text("providers:\n  gw:\n    base_url: http://127.0.0.1:1/v1\n    models: [a, b]\n"
                    "    rpm: 60\n    tpm: 90000\n")
    targets = select_targets(load_registry(path), ["gw"])
    assert [(t.model, t.rpm, t.tpm) for t in targets] == [("a", 60, 90000), ("b", 60, 90000)]


def test_a_rate_limit_that_is_not_a_number_is_refused_by_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "--provider", "local", "--rpm", "sixty"])
    assert exited.value.code == 2
    assert "argument --rpm: invalid int value: 'sixty'" in capsys.readouterr().err
