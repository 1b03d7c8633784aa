"""The `sdk.parse` check: validate a response with the openai SDK's own pydantic types.

The other wire checks each judge one rule of the contract; this one asks the reference client itself,
through `ChatCompletion.model_validate` on a body or `ChatCompletionChunk.model_validate` on every chunk,
and reports what it really rejects where a tool-calling client reads. It reads an exchange through the
small `Judged` protocol so that `checks.py` can register it without an import cycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import ValidationError

from harness.conformance.stream import StreamTrace
from harness.core.model import Finding, Reply


class Judged(Protocol):
    """What this check reads of a `checks.Exchange`: the parsed body or the stream, and the reply."""

    @property
    def body(self) -> dict[str, Any] | None: ...

    @property
    def stream(self) -> StreamTrace | None: ...

    @property
    def reply(self) -> Reply: ...


def check_sdk_parse(ex: Judged) -> Iterator[Finding]:
    """Validate with the openai SDK's own types; report only what validation really rejects.

    Only errors inside `choices` (what a tool-calling client reads) are reported, as violations. Errors
    in the envelope (`object` missing or "", `service_tier: "on_demand"`, `usage`...) are not: the SDK's
    default parsing does not validate, real conformant providers send them, and a tool-calling client
    never reads them. Errors a dedicated check already reports (inside a tool call, legacy
    function_call, finish_reason next to calls) are left to that check so one defect is not counted
    twice.
    """
    if ex.body is not None:
        documents: list[tuple[int | None, dict[str, Any]]] = [(None, ex.body)]
        model: Any = ChatCompletion
    elif ex.stream is not None:
        documents = list(enumerate(ex.stream.chunks))
        model = ChatCompletionChunk
    else:
        return
    groups: dict[tuple[str, str], tuple[list[int], Any]] = {}
    for number, document in documents:
        try:
            model.model_validate(document)
        except ValidationError as err:
            for error in err.errors():
                if not error["loc"] or error["loc"][0] != "choices" or _covered(error["loc"], ex):
                    continue
                key = (".".join(str(p) for p in error["loc"]), error["msg"])
                numbers, _ = groups.setdefault(key, ([], error.get("input")))
                if number is not None:
                    numbers.append(number)
    for (where, msg), (numbers, value) in groups.items():
        place = f" in chunk(s) {spans(numbers)}" if numbers else ""
        got = "" if msg == "Field required" else f" (got {value!r:.80})"
        yield Finding(
            check="sdk.parse",
            expected=msg,
            actual=value if msg != "Field required" else "missing",
            message=f"openai {model.__name__}.model_validate rejects `{where}`{place}: {msg}{got}; "
            "a client that reads it through the SDK's types breaks",
        )


def _covered(loc: tuple[int | str, ...], ex: Judged) -> bool:
    for position, part in enumerate(loc):
        if part == "function_call":
            return True
        if part == "tool_calls" and position + 1 < len(loc) and isinstance(loc[position + 1], int):
            return True
    return bool(loc) and loc[-1] == "finish_reason" and bool(ex.reply.tool_calls)


def spans(numbers: list[int]) -> str:
    """Chunk numbers as runs, e.g. [0, 1, 2, 5] -> "0-2, 5"; `stream.index` names its chunks this way too."""
    runs: list[str] = []
    for n in numbers:
        if runs and runs[-1].split("-")[-1] == str(n - 1):
            runs[-1] = f"{runs[-1].split('-')[0]}-{n}"
        else:
            runs.append(str(n))
    return ", ".join(runs)
