"""`python-openai`: the openai Python SDK, through the helpers that parse and accumulate for the user.

Non-stream goes through `chat.completions.parse` and a stream through `chat.completions.stream`, whose
`ChatCompletionStreamState` accumulates the deltas: both end in the SDK's own `parse_chat_completion`,
which is where a typed client drops or keeps a call. The recorded request is sent as it was: model and
messages as arguments, everything else in `extra_body` (so `parse`, which refuses tools that are not
`strict`, still sends ordinary tools); `stream()` also gets `tools`, as a user would pass them.
"""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

import openai

from harness.clients.driver import ClientDriver, builtin
from harness.clients.exchange import ReplayExchange
from harness.clients.result import ClientCall, ClientError, ClientResult

MAX_MESSAGE = 500


@builtin
class PythonOpenAIDriver(ClientDriver):
    id = "python-openai"
    library = "openai (Python)"
    description = "the openai Python SDK: chat.completions.parse and .stream"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._client: openai.OpenAI | None = None
        # One exchange at a time: `warnings.catch_warnings` is process state, and the SDK is fast.
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        return openai.__version__

    def open(self) -> None:
        if self._client is None:
            # One HTTP pool for the run; each exchange gets a copy pointed at its mount.
            # trust_env=False: no proxy from the environment may stand between the SDK and the loopback.
            http = openai.DefaultHttpxClient(trust_env=False)
            self._client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="replay", max_retries=0,
                                         timeout=self.timeout_s, http_client=http)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def run(self, exchange: ReplayExchange, base_url: str, *,
            requests: Callable[[], int] | None = None) -> ClientResult:
        self.open()
        assert self._client is not None
        client = self._client.with_options(base_url=base_url)
        mode = "stream" if exchange.stream else "nonstream"
        api = "chat.completions.stream" if exchange.stream else "chat.completions.parse"
        result = ClientResult(client=self.id, library=self.library, version=self.version, mode=mode, api=api)
        with self._lock, warnings.catch_warnings():
            # pydantic warns when the SDK dumps a value of the wrong type (object arguments); the value
            # itself is the evidence, the warning is noise on the harness's stderr.
            warnings.simplefilter("ignore")
            started = time.perf_counter()
            try:
                completion = _call(client, exchange)
            except Exception as exc:  # whatever the SDK raises is the finding
                result.error = ClientError(type=type(exc).__name__, message=_message(exc))
            else:
                try:
                    _read(completion, result)
                except Exception as exc:
                    result.error = ClientError(type=type(exc).__name__, message=_message(exc), stage="result")
            result.duration_s = time.perf_counter() - started
        if requests is not None:
            self.settle(result, requests())
        return result


def _call(client: openai.OpenAI, exchange: ReplayExchange) -> Any:
    request = dict(exchange.request)
    model, messages = request.pop("model", ""), request.pop("messages", [])
    request.pop("stream", None)
    if not exchange.stream:
        return client.chat.completions.parse(model=model, messages=messages, extra_body=request)
    tools = request.pop("tools", openai.omit)
    with client.chat.completions.stream(model=model, messages=messages, tools=tools,
                                        extra_body=request) as stream:
        for _ in stream:
            pass
        return stream.get_final_completion()


def _read(completion: Any, result: ClientResult) -> None:
    """Read the completion the way a user's tool loop does; what that raises is a result-stage error."""
    choice = completion.choices[0]
    message = choice.message
    result.finish_reason = choice.finish_reason
    result.text = message.content
    for call in message.tool_calls or []:
        function = call.function
        result.tool_calls.append(ClientCall(id=call.id, name=function.name, arguments=function.arguments))
    legacy = getattr(message, "function_call", None)
    if legacy is not None:
        result.tool_calls.append(ClientCall(name=legacy.name, arguments=legacy.arguments))


def _message(exc: BaseException) -> str:
    text = str(exc) or repr(exc)
    body = getattr(exc, "body", None)
    if body is not None and not text:
        text = json.dumps(body)[:MAX_MESSAGE]
    return " ".join(text.split())[:MAX_MESSAGE]
