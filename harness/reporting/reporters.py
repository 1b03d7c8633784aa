"""Reporters: renderings of a saved `Report`, chosen by id with `--format`, built-in or from plugins.

The report is the single source of truth; a reporter is one function from it to text or bytes, so a
team can add the format its dashboard reads (CSV, JUnit XML, a chat message) without touching the
harness, and re-render any saved report offline. The built-in formats wrap the public renderers
(`render_table`, `render_html`) and register through the same `@reporter` decorator a plugin uses.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from harness.core.model import Report
from harness.core.registry import Registry
from harness.reporting.accuracy import render_accuracy
from harness.reporting.table import TABLE_FORMATS, render_table

GROUP = "toolcall_harness.reporters"
Rendered = str | bytes
RenderFn = Callable[[Report], Rendered]
DEFAULT_REPORTER = "plain"


@dataclass(frozen=True)
class Reporter:
    """One output format: its id (the `--format` value), its render function and a file suffix."""

    id: str
    render: RenderFn
    description: str = ""
    suffix: str = ".txt"  # for front-ends that name an output file after the format


REPORTERS: Registry[Reporter] = Registry("reporter", GROUP)


def reporter(
    id: str, *, description: str | None = None, suffix: str = ".txt"
) -> Callable[[RenderFn], RenderFn]:
    """Register the decorated `render(report) -> str | bytes` as the format `id`; the plugin decorator.

    ::

        @harness.reporter("csv", suffix=".csv")
        def csv(report: Report) -> str:
            ...
    """

    def decorate(fn: RenderFn) -> RenderFn:
        text = description if description is not None else (fn.__doc__ or "")
        REPORTERS.add(id, Reporter(id, fn, text.strip().split("\n")[0] if text else "", suffix),
                      module=fn.__module__)
        return fn

    return decorate


def render_report(report: Report, fmt: str = DEFAULT_REPORTER, *, where: str = "--format") -> Rendered:
    """The report in format `fmt`; an unknown format is a located error with "did you mean"."""
    return REPORTERS.get(fmt, where=where).render(report)


def write_rendered(
    rendered: Rendered, output: str | Path | None = None, stream: TextIO | None = None
) -> None:
    """Write a rendering to `output`, or to `stream` (stdout); text gets a final newline, bytes go as they
    are, so a binary format (an archive, an image) is never mangled by an encoding."""
    if output is not None:
        path = Path(output)
        if isinstance(rendered, bytes):
            path.write_bytes(rendered)
        else:
            path.write_text(rendered + "\n", encoding="utf-8")
        return
    out = stream if stream is not None else sys.stdout
    if isinstance(rendered, bytes):
        buffer: BinaryIO = out.buffer  # type: ignore[attr-defined]
        out.flush()
        buffer.write(rendered)
        buffer.flush()
    else:
        print(rendered, file=out)


# ------------------------------------------------------------------------------------------- built-ins


def _table(fmt: str, description: str) -> None:
    def render(report: Report) -> str:
        accuracy = render_accuracy(report, TABLE_FORMATS.get(fmt, fmt))
        table = render_table(report, fmt)
        return f"{table}\n\n{accuracy}" if accuracy else table

    render.__module__ = __name__
    reporter(fmt, description=description, suffix=".md" if fmt in ("markdown", "github") else ".txt")(render)


_table("plain", "the support table as plain text (the terminal's)")
_table("github", "the support table as GitHub-flavoured markdown")
_table("markdown", "the support table as a markdown pipe table")
_table("grid", "the support table with grid lines")
_table("rst", "the support table as reStructuredText")


@reporter("json", suffix=".json")
def render_json(report: Report) -> str:
    """The versioned JSON report itself (what `report` reads back)."""
    return report.model_dump_json(indent=1)


@reporter("html", suffix=".html")
def render_html_page(report: Report) -> str:
    """One self-contained HTML page: matrix, every run's evidence, latency and tokens."""
    from harness.reporting.html import render_html  # only when asked: the page's code is the largest

    return render_html(report)
