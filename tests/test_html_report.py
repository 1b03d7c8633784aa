"""The self-contained HTML report: matrix, evidence, escaping of provider content, charts, a real render."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.core.model import (
    ErrorInfo,
    Finding,
    Outcome,
    Provenance,
    Reply,
    Report,
    RunKey,
    RunResult,
    TargetInfo,
    ToolCall,
    Turn,
)
from harness.reporting.html import SCRIPT, model_stats, percentile, render_html

EVIL = '<script>alert(1)</script>"><img src=https://evil.example/x.png onerror=alert(2)>'


def turn(
    number: int, *, latency: float | None = None, ttft: float | None = None, content: str = "ok"
) -> Turn:
    return Turn(
        number=number,
        request={
            "model": "m",
            "stream": ttft is not None,
            "tools": [{"type": "function", "function": {"name": "get_weather"}}],
            "messages": [
                {"role": "user", "content": f"weather? {EVIL}"},
                {"role": "tool", "tool_call_id": "call_1", "content": EVIL},
            ],
        },
        status=200,
        response_text=f'data: {{"content": "{EVIL}"}}\n\ndata: [DONE]\n',
        reply=Reply(
            content=content,
            finish_reason="tool_calls",
            usage={"prompt_tokens": 100, "completion_tokens": 7},
            tool_calls=[
                ToolCall(index=0, id="call_1", type="function", name="get_weather", arguments_raw=EVIL)
            ],
        ),
        latency_s=latency,
        ttft_s=ttft,
    )


def run(
    scenario: str,
    outcome: Outcome,
    *,
    model: str = "m1",
    family: str = "single_call",
    mode: str = "nonstream",
    provenance: Provenance = "live",
    turns: list[Turn] | None = None,
) -> RunResult:
    return RunResult(
        key=RunKey(provider="p", model=model, scenario=scenario, mode=mode),  # type: ignore[arg-type]
        family=family,
        outcome=outcome,
        provenance=provenance,
        findings=[Finding(check="tool_call.id", message=EVIL, turn=1, expected="id", actual=EVIL)]
        if outcome == "fail"
        else [],
        error=ErrorInfo(kind="server_error", message=EVIL, status=502) if outcome == "error" else None,
        turns=turns if turns is not None else [turn(1, latency=1.0, content=EVIL)],
        reproduce="toolcall-harness run --provider p -k " + scenario,
    )


@pytest.fixture
def sample() -> Report:
    return Report(
        targets=[TargetInfo(provider="p", base_url="https://api.example.com/v1", models=["m1", "m2"])],
        runs=[
            run("weather", "pass", turns=[turn(1, latency=1.0), turn(2, latency=3.0)]),
            run("weather", "pass", mode="stream", turns=[turn(1, latency=2.0, ttft=0.25)]),
            run("two_cities", "fail", family="parallel"),
            run("chain", "error", family="chained"),
            run("weather", "pass", model="m2", provenance="replayed", turns=[turn(1, latency=0.01)]),
            run("two_cities", "pass", model="m2", family="parallel", provenance="replayed"),
            run("two_cities", "fail", model="m2", family="parallel", mode="stream", provenance="replayed"),
        ],
    )


def test_matrix_cells_are_coloured_and_point_at_their_runs(sample: Report) -> None:
    page = render_html(sample)
    cells = re.findall(
        r'<td class="cell (c-\w+)"(?: tabindex="0" data-runs="([^"]*)")?[^>]*>([^<]*)</td>', page
    )
    assert len(cells) == 2 * 8  # two models x (six families + streaming + wire)
    m1 = dict(zip(["single_call", "parallel", "chained", "forced_choice"], cells[:4], strict=False))
    assert m1["single_call"] == ("c-pass", "run-0 run-1", "✓ 2/2")
    assert m1["parallel"] == ("c-fail", "run-2", "✗ 0/1")
    assert m1["chained"] == ("c-error", "run-3", "err")
    assert m1["forced_choice"] == ("c-empty", "", "–")
    assert cells[8 + 1] == ("c-mixed", "run-5 run-6", "~ 1/2")  # m2 parallel
    for ids in filter(None, (c[1] for c in cells)):
        for rid in ids.split():
            assert f'<section class="run" id="{rid}">' in page


def test_evidence_is_shown_and_escaped(sample: Report) -> None:
    page = render_html(sample)
    assert page.count("<script") == 1 and page.count("</script>") == 1  # ours, at the end
    assert "<img" not in page and "onerror=alert(2)>" not in page
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img"  # markupsafe writes " as &#34;
    # user message, tool message, reply content, raw arguments, raw SSE, finding, expected/actual, error
    assert page.count(escaped) >= 8
    assert "tool_call_id=call_1" in page and "get_weather" in page and "data: [DONE]" in page
    assert "toolcall-harness run --provider p -k two_cities" in page


class _Assets(HTMLParser):
    """Every URL-valued attribute of a real tag, and the text of style blocks, as a browser would see them."""

    URL_ATTRS = frozenset({"src", "href", "action", "data", "poster", "srcset", "xlink:href", "formaction"})

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_style = tag == "style"
        self.urls += [v or "" for k, v in attrs if k in self.URL_ATTRS]
        self.styles += [v or "" for k, v in attrs if k == "style"]

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def test_no_network_assets(sample: Report) -> None:
    assets = _Assets()
    assets.feed(render_html(sample))
    assert {"table", "svg", "section", "script", "style", "pre"} <= set(assets.tags)
    assert not {"link", "img", "iframe", "object", "embed", "base"} & set(assets.tags)
    assert [u for u in assets.urls if re.match(r"\s*(https?:)?//", u, re.I)] == []
    assert not any(re.search(r"url\(|@import", css, re.I) for css in assets.styles)
    # The one script is inline and fetches nothing.
    assert "fetch(" not in SCRIPT and "XMLHttpRequest" not in SCRIPT and "import(" not in SCRIPT


def test_latency_excludes_replayed_runs_and_tokens_come_from_usage(sample: Report) -> None:
    live = model_stats(r for r in sample.runs if r.key.model == "m1")
    assert live.requests == 5 and live.p50 == 1.0 and live.p95 == 3.0 and live.ttft_p50 == 0.25
    assert (live.tokens_in, live.tokens_out, live.tokens_unknown) == (500, 35, 0)
    replayed = model_stats(r for r in sample.runs if r.key.model == "m2")
    assert replayed.requests == 0 and replayed.p50 is None and replayed.tokens_in == 300
    page = render_html(sample)
    assert page.count("<svg") == 1 and "<title>p/m1 p95 3.000s</title>" in page and "p/m2 p50" not in page
    assert percentile([5.0, 1.0, 2.0, 4.0, 3.0], 0.5) == 3.0 and percentile([1.0], 0.95) == 1.0


def test_without_live_runs_the_chart_says_so() -> None:
    page = render_html(Report(runs=[run("w", "pass", provenance="replayed")]))
    assert "<svg" not in page and "No live latency measured" in page


def test_cli_writes_the_page(sample: Report, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "run.json"
    saved.write_text(sample.model_dump_json())
    out = tmp_path / "report.html"
    assert main(["report", str(saved), "--format", "html", "-o", str(out)]) == 0
    assert out.read_text().startswith("<!DOCTYPE html>") and capsys.readouterr().out == ""
    assert main(["report", str(saved), "--format", "html"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("</html>")


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _headless(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
    ]
    return subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_page_renders_in_headless_chromium(sample: Report, tmp_path: Path) -> None:
    browser = _chromium()
    assert browser is not None
    page = tmp_path / "report.html"
    page.write_text(render_html(sample), encoding="utf-8")
    png = tmp_path / "shot.png"
    done = _headless(
        browser, tmp_path / "profile", f"--screenshot={png}", "--window-size=1200,900", page.as_uri()
    )
    assert png.is_file(), done.stderr[-2000:]
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 10_000  # a blank 1200x900 page is ~5 KB
    # The script ran without throwing: it replaced the placeholder and hid the runs until a click.
    dom = _headless(browser, tmp_path / "profile2", "--dump-dom", page.as_uri()).stdout
    assert "Click a cell of the matrix to see its runs" in dom
    assert len(re.findall(r'<section class="run" id="run-\d+" hidden="">', dom)) == len(sample.runs)


def test_matrix_carries_pass_hat_k_and_cost_like_the_table(sample: Report) -> None:
    runs = [
        *sample.runs,
        sample.runs[0].model_copy(update={"key": sample.runs[0].key.model_copy(update={"trial": 2})}),
        sample.runs[2].model_copy(update={"cost_usd": 0.25}),
    ]
    page = render_html(sample.model_copy(update={"runs": runs}))
    assert "<th>pass^2</th><th>cost</th>" in page
    assert '<td class="cell c-empty">$0.2500</td>' in page
