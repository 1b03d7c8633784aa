"""Run options are validated once, the same way in both front-ends: the CLI exits 2, pytest raises a
UsageError, and both say the same sentence, naming the option as the user spelt it.

Also pinned here: a retry policy that cannot retry cannot exist, the options every `run` has under
pytest, and the one reproduce command both front-ends print.
"""

from __future__ import annotations

import math

import pytest

from harness.app.flags import RUN_FLAGS
from harness.app.options import RunOptions
from harness.app.reproduce import reproduce_command
from harness.cli.main import main
from harness.core.model import RunKey
from harness.transport.retry import RetryPolicy

# (CLI arguments, pytest arguments, the message, which is the same in both when the spelling is)
BAD_OPTIONS = [
    (["--trials", "0"], None, "--trials must be at least 1, got 0"),
    (["--deadline", "0"], None, "--deadline must be more than 0 seconds, got 0"),
    (["--deadline", "inf"], None, "--deadline must be a finite number of seconds, got inf"),
    (["--retry-base-delay", "-1"], None, "--retry-base-delay must be 0 or more seconds, got -1"),
    (["--retry-max-delay", "nan"], None, "--retry-max-delay must be a finite number of seconds, got nan"),
    (["--timeout", "nan"], ["--request-timeout", "nan"],
     "{} must be a finite number of seconds, got nan"),
    (["--timeout", "-5"], ["--request-timeout", "-5"], "{} must be more than 0 seconds, got -5"),
    (["--retries", "0"], ["--request-retries", "0"], "{} must be at least 1, got 0"),
    (["--base-url", "ftp://example.com/v1", "--model", "m"], ["--api-base-url", "ftp://example.com/v1"],
     "{} must be an http:// or https:// URL, got 'ftp://example.com/v1'"),
    (["--rpm", "0"], None, "--rpm must be at least 1, got 0"),
    (["--tpm", "-5"], None, "--tpm must be at least 1, got -5"),
    (["--rpm", "0", "--tpm", "0"], None, "--rpm must be at least 1, got 0; --tpm must be at least 1, got 0"),
    (["--trials", "0", "--deadline", "-1"], None,
     "--trials must be at least 1, got 0; --deadline must be more than 0 seconds, got -1"),
]


def _cases() -> list[object]:
    cases = []
    for cli, under_pytest, message in BAD_OPTIONS:
        cases.append(pytest.param("cli", cli, message.format(cli[0]), id="cli " + " ".join(cli)))
        args = under_pytest or cli
        cases.append(pytest.param("pytest", args, message.format(args[0]), id="pytest " + " ".join(args)))
    return cases


@pytest.mark.parametrize(("front_end", "args", "message"), _cases())
def test_bad_options_get_one_sentence_in_both_front_ends(
    front_end: str, args: list[str], message: str, pytester: pytest.Pytester,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if front_end == "cli":
        assert main(["run", "--provider", "local", *args]) == 2
        assert capsys.readouterr().err == f"error: {message}\n"
        return
    result = pytester.runpytest("--provider", "local", *args, "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: {message}" in result.stderr.lines


def test_zero_trials_under_pytest_is_a_usage_error_not_an_empty_session(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--provider", "local", "--trials", "0", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # was 5: nothing collected, nothing said
    result.stderr.fnmatch_lines(["ERROR: --trials must be at least 1, got 0"])


@pytest.mark.parametrize(
    "policy",
    [dict(tries=0), dict(tries=-1), dict(base_delay=-1.0), dict(max_delay=math.nan),
     dict(max_total_wait=math.inf), dict(tries=1.5)],
    ids=str,
)
def test_a_retry_policy_that_cannot_work_cannot_be_made(policy: dict[str, float]) -> None:
    """`RetryPolicy(tries=0)` used to reach the send loop and die there with an UnboundLocalError."""
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**policy)  # type: ignore[arg-type]


def test_every_run_option_has_one_field_and_every_field_one_option() -> None:
    assert [f.field for f in RUN_FLAGS] == list(RunOptions.model_fields)


def test_run_options_that_make_sense_under_pytest_exist_there(pytester: pytest.Pytester) -> None:
    """Everything but -k (pytest's own), --concurrency and --processes (pytest runs items one by one,
    -n for more), --format (the summary table) and --resume (pytest has --lf)."""
    help_text = pytester.runpytest("--help").stdout.str()
    for flag in ("--provider", "--model", "--api-base-url", "--api-key-env", "--providers-file",
                 "--scenarios", "--stream", "--trials", "--record-mode", "--cassette-dir", "--report-dir",
                 "--request-timeout", "--request-retries", "--retry-base-delay", "--retry-max-delay",
                 "--deadline"):
        assert f"  {flag}" in help_text, flag
    cli_only = {f.field for f in RUN_FLAGS if not f.pytest}
    assert cli_only == {"keyword", "concurrency", "processes", "format"}


def test_the_plugin_leaves_the_plain_names_to_the_plugins_that_own_them(pytester: pytest.Pytester) -> None:
    """pytest-timeout owns --timeout, pytest-base-url (pytest-playwright, pytest-selenium) --base-url,
    pytest-retry --retries: registering one of them twice stops pytest before it starts."""
    pytester.makeconftest(
        """
        def pytest_addoption(parser):
            parser.addoption("--timeout", type=float)
            parser.addoption("--base-url")
            parser.addoption("--retries", type=int)
            parser.addoption("--retry-delay", type=float)
        """
    )
    pytester.makepyfile("def test_ok(): pass")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_cli_takes_the_pytest_spellings_too(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--provider", "local", "--request-timeout", "0"]) == 2
    assert capsys.readouterr().err == "error: --timeout must be more than 0 seconds, got 0\n"


# ----------------------------------------------------------------------------------- reproduce command

KEY = RunKey(provider="p", model="m", scenario="two_cities", mode="stream", trial=2)
OPTIONS = RunOptions(providers=["p"], providers_file="p.yaml", scenarios=["mine"], cassette_dir="tapes",
                     record_mode="none", timeout=9)


def test_one_reproduce_command_in_each_front_ends_words() -> None:
    assert reproduce_command("cli", OPTIONS, KEY) == (
        "toolcall-harness run --provider p --model m --providers-file p.yaml -k two_cities --stream on "
        "--scenarios mine --cassette-dir tapes --trials 2 --record-mode none")
    nodeid = "mine/x.yaml::two_cities[p/m-stream-t2]"
    assert reproduce_command("pytest", OPTIONS, KEY, "once", nodeid=nodeid) == (
        "pytest 'mine/x.yaml::two_cities[p/m-stream-t2]' --provider p --model m --providers-file p.yaml "
        "--scenarios mine --cassette-dir tapes --trials 2 --record-mode once")


def test_an_ad_hoc_endpoint_is_reproduced_with_its_url() -> None:
    options = RunOptions(base_url="http://127.0.0.1:8080/v1", models=["m"], api_key_env="MY_KEY")
    key = KEY.model_copy(update={"provider": "adhoc", "mode": "nonstream", "trial": 1})
    assert reproduce_command("cli", options, key) == (
        "toolcall-harness run --base-url http://127.0.0.1:8080/v1 --api-key-env MY_KEY --model m "
        "-k two_cities --stream off")
    assert reproduce_command("pytest", options, key, nodeid="a.yaml::x") == (
        "pytest a.yaml::x --api-base-url http://127.0.0.1:8080/v1 --api-key-env MY_KEY --model m")
