"""A local OpenAI-compatible chat-completions server for tests and benchmarks.

The harness judges what a provider sends on the wire, so its own tests need a provider whose wire
bytes they control: one that answers correctly, one that breaks a single rule of the protocol
(`BREAKS`), and one that fails the way networks and gateways fail (`Fault`). This module is that
provider, stdlib only so it runs anywhere the package is installed, and bound to 127.0.0.1 only.

    with StubServer(breaks={"duplicate_ids"}) as stub:
        client = openai.OpenAI(base_url=stub.base_url, api_key="test")

A responder turns a request body into either an assistant message or a control dict
`{"message": {...}, "breaks": [...], "finish_reason": ..., "usage": {...}}` (any key but "message"
optional; "breaks" replaces the server's breaks for that response). In a message, a tool call may be
written short as `{"name": ..., "arguments": {...}}`: the stub adds a deterministic id, the type and
JSON-encodes the arguments. Calls written in full (`{"id", "type", "function"}`) are sent verbatim.
"""

from __future__ import annotations

import difflib
import functools
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

Responder = Callable[[dict[str, Any]], dict[str, Any]]
FaultKind = Literal[
    "status",
    "html",
    "invalid_json",
    "empty_choices",
    "unknown_finish_reason",
    "timeout",
    "reset_midstream",
    "cut_before_done",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
BREAKS: frozenset[str] = frozenset(
    {
        "duplicate_ids",  # every call carries the first call's id
        "arguments_object",  # function.arguments is a JSON object, not a string
        "missing_type",  # no "type": "function" on calls
        "missing_id",  # no "id" on calls
        "wrong_finish_reason",  # "stop" although calls are present
        "no_done",  # stream ends without `data: [DONE]`
        "no_index",  # stream tool-call deltas carry no "index"
        "repeat_header",  # stream continuation deltas repeat id, type and name
        "no_finish_reason",  # finish_reason is never set (stream: no final chunk)
        "invalid_json_args",  # arguments cut in half, so they no longer parse
        "unknown_tool",  # the first call names a tool that was not offered
    }
)
UNKNOWN_TOOL = "stub_unknown_tool"
_CONTROL_KEYS = frozenset({"message", "breaks", "finish_reason", "usage"})
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def _check_names(kind: str, given: Iterable[str], allowed: Iterable[str]) -> None:
    """Reject a misspelt break or fault kind loudly: a silently ignored one makes a test vacuous."""
    allowed = sorted(allowed)
    for name in given:
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f" — did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(allowed)}"
            raise ValueError(f"unknown {kind} {name!r}{hint}")


@dataclass(frozen=True)
class Fault:
    """A failure to inject into one chat-completions request, or into every one (`every=True`).

    Faults pinned with `request=N` (1-based, counting chat-completions requests) fire on that request;
    the unpinned ones are consumed in list order by the following requests; an `every` fault fires
    whenever neither applies, which is how benchmarks model a persistently broken provider.
    `status` defaults to 500 for "status" and 200 for "html" (a login or proxy page served as success).
    """

    kind: FaultKind
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | bytes | dict[str, Any] | None = None
    seconds: float = 1.0  # "timeout": how long to stall before answering normally
    after_events: int = 2  # "reset_midstream": SSE events sent before the socket is closed
    finish_reason: str = "end_turn"  # "unknown_finish_reason": the value sent
    request: int | None = None
    every: bool = False

    def __post_init__(self) -> None:
        _check_names("fault kind", [self.kind], FAULT_KINDS)
        if self.every and self.request is not None:
            raise ValueError("a Fault is either pinned to one request or applies to every request, not both")


# --- responders -------------------------------------------------------------------------------------


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


def example_value(schema: Mapping[str, Any]) -> Any:
    """A plausible value for a JSON Schema: const, first enum value, default, else a fixed one per type."""
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return example_value(schema[key][0])
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return example_arguments(schema)
    if kind == "array":
        return [example_value(schema.get("items", {}))] if schema.get("minItems", 0) else []
    return {"integer": 1, "number": 1.5, "boolean": True, "null": None}.get(kind, "stub")


def example_arguments(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments that fill exactly the required properties, so they validate against most schemas."""
    properties = parameters.get("properties") or {}
    return {name: example_value(properties.get(name, {})) for name in parameters.get("required", [])}


def echo_responder(body: dict[str, Any]) -> dict[str, Any]:
    """A predictable model: answers tool results, else calls a tool when it may, else says hello.

    After tool messages it answers "Results: " plus their contents joined with "; ", so a test can see
    which results reached the model. With tools offered and tool_choice not "none" it calls the tool
    named by tool_choice, or the first one, with the function's "x-stub-arguments" dict if present or
    else `example_arguments` of its parameters.
    """
    messages = body.get("messages") or []
    if messages and messages[-1].get("role") == "tool":
        trailing: list[str] = []
        for message in reversed(messages):
            if message.get("role") != "tool":
                break
            trailing.insert(0, _text(message.get("content")))
        return {"role": "assistant", "content": "Results: " + "; ".join(trailing)}
    tools = [t.get("function", {}) for t in body.get("tools") or []]
    choice = body.get("tool_choice", "auto")
    if tools and choice != "none":
        function = tools[0]
        if isinstance(choice, dict):
            name = choice.get("function", {}).get("name")
            function = next((f for f in tools if f.get("name") == name), {"name": name})
        arguments = function.get("x-stub-arguments")
        if not isinstance(arguments, dict):
            arguments = example_arguments(function.get("parameters") or {})
        call = {"name": function.get("name"), "arguments": arguments}
        return {"role": "assistant", "content": None, "tool_calls": [call]}
    return {"role": "assistant", "content": "Hello."}


def _as_reply(item: dict[str, Any] | str) -> dict[str, Any]:
    return {"role": "assistant", "content": item} if isinstance(item, str) else item


def scripted(*replies: dict[str, Any] | str) -> Responder:
    """Serve the given messages (or control dicts; a str is a text answer) in order, then repeat the last.

    Multi-turn tests need the model's side of the conversation fixed in advance.
    """
    if not replies:
        raise ValueError("scripted() needs at least one reply")
    queue = [_as_reply(r) for r in replies]
    lock = threading.Lock()

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        with lock:
            return queue.pop(0) if len(queue) > 1 else queue[0]

    return responder


def by_last_user(
    mapping: Mapping[str, dict[str, Any] | str], default: Responder = echo_responder
) -> Responder:
    """Pick the reply whose key occurs in the last user message (first match wins), else ask `default`.

    Concurrent requests arrive in any order, so benchmarks key replies by prompt rather than by turn.
    """

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
        text = _text(users[-1].get("content")) if users else ""
        for key, reply in mapping.items():
            if key in text:
                return _as_reply(reply)
        return default(body)

    return responder


# --- rendering --------------------------------------------------------------------------------------


@dataclass
class _Reply:
    message: dict[str, Any]
    breaks: frozenset[str]
    finish_reason: str | None
    usage: dict[str, Any]


def _split(text: str, parts: int = 3) -> list[str]:
    """Cut at a few points so clients must concatenate fragments, as real providers make them do."""
    cuts = sorted({0, *(len(text) * i // parts for i in range(1, parts)), len(text)})
    return [text[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if b > a] or [text]


def _prepare(raw: dict[str, Any], body: dict[str, Any], server_breaks: Iterable[str], number: int) -> _Reply:
    """Normalise a responder's answer and apply the breaks that alter the message itself."""
    control: dict[str, Any] = raw if "message" in raw else {"message": raw}
    _check_names("responder key", control, _CONTROL_KEYS)
    breaks = frozenset(control.get("breaks", server_breaks))
    _check_names("break", breaks, BREAKS)
    message = {"role": "assistant", "content": None, **control["message"]}
    calls = []
    for i, call in enumerate(message.get("tool_calls") or []):
        if "function" not in call:
            arguments = call.get("arguments", {})
            call = {
                "id": call.get("id", f"call_stub_{number}_{i}"),
                "type": "function",
                "function": {
                    "name": call["name"],
                    "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
                },
            }
        calls.append(json.loads(json.dumps(call)))
    for call in calls:
        function = call.get("function", {})
        if "duplicate_ids" in breaks and calls[0].get("id"):
            call["id"] = calls[0]["id"]
        if "missing_id" in breaks:
            call.pop("id", None)
        if "missing_type" in breaks:
            call.pop("type", None)
        arguments = function.get("arguments")
        if "invalid_json_args" in breaks and isinstance(arguments, str):
            function["arguments"] = arguments[: max(1, len(arguments) // 2)]
        elif "arguments_object" in breaks and isinstance(arguments, str):
            try:
                function["arguments"] = json.loads(arguments)
            except ValueError:
                function["arguments"] = {"raw": arguments}
    if calls and "unknown_tool" in breaks:
        offered = {t.get("function", {}).get("name") for t in body.get("tools") or []}
        calls[0]["function"]["name"] = UNKNOWN_TOOL + ("_x" if UNKNOWN_TOOL in offered else "")
    if calls:
        message["tool_calls"] = calls
    else:
        message.pop("tool_calls", None)
    finish: str | None = control.get("finish_reason", "tool_calls" if calls else "stop")
    if "wrong_finish_reason" in breaks and calls:
        finish = "stop"
    if "no_finish_reason" in breaks:
        finish = None
    prompt = max(1, len(json.dumps(body.get("messages", []))) // 4)
    completion = max(1, len(json.dumps(message)) // 4)
    usage = control.get("usage") or {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    return _Reply(message, breaks, finish, usage)


def _render_completion(reply: _Reply, *, ident: str, created: int, model: str) -> dict[str, Any]:
    choice = {"index": 0, "message": reply.message, "logprobs": None, "finish_reason": reply.finish_reason}
    return {
        "id": ident,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [choice],
        "usage": reply.usage,
    }


def _event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data)}\n\n"


def _render_events(reply: _Reply, *, ident: str, created: int, model: str, include_usage: bool) -> list[str]:
    """The SSE events of a stream, each `data: ...\\n\\n`, laid out the way OpenAI streams tool calls."""
    base = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return _event(
            {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        )

    breaks, message = reply.breaks, reply.message
    content = message.get("content")
    pieces = _split(content) if isinstance(content, str) and content else [None]
    events = [chunk({"role": "assistant", "content": pieces[0]})]
    events += [chunk({"content": piece}) for piece in pieces[1:]]
    for index, call in enumerate(message.get("tool_calls") or []):
        function = call.get("function", {})
        name, arguments = function.get("name"), function.get("arguments", "")
        head = {key: call[key] for key in ("id", "type") if key in call}
        position = {} if "no_index" in breaks else {"index": index}
        # An arguments value that is not a string cannot be fragmented, so it travels whole in the header.
        first = "" if isinstance(arguments, str) else arguments
        events.append(
            chunk({"tool_calls": [{**position, **head, "function": {"name": name, "arguments": first}}]})
        )
        for fragment in _split(arguments) if isinstance(arguments, str) and arguments else []:
            entry: dict[str, Any] = {**position, "function": {"arguments": fragment}}
            if "repeat_header" in breaks:
                entry = {**position, **head, "function": {"name": name, "arguments": fragment}}
            events.append(chunk({"tool_calls": [entry]}))
    if reply.finish_reason is not None:
        events.append(chunk({}, reply.finish_reason))
    if include_usage:
        events.append(_event({**base, "choices": [], "usage": reply.usage}))
    if "no_done" not in breaks:
        events.append("data: [DONE]\n\n")
    return events


# --- the server -------------------------------------------------------------------------------------


def _bytes(body: str | bytes | dict[str, Any]) -> bytes:
    if isinstance(body, dict):
        return json.dumps(body).encode()
    return body.encode() if isinstance(body, str) else body


def _error_body(status: int, message: str) -> dict[str, Any]:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    return {
        "error": {
            "message": message,
            "type": _ERROR_TYPES.get(status, "server_error"),
            "code": phrase.lower().replace(" ", "_").replace("-", "_"),
        }
    }


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    stub: StubServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (a timeout test) is expected, not a stub bug."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


STOP_GRACE_S = 2.0


class StubServer:
    """An OpenAI-compatible server on a free loopback port; a context manager, or start()/stop().

    `requests` holds the JSON bodies of chat-completions requests in arrival order and `headers[i]` the
    headers (names lower-cased) of `requests[i]`; `max_in_flight` is the peak number of chat-completions
    requests handled at once, which benchmarks read to prove their requests really overlapped.
    `errors` collects responder exceptions, which are also answered as HTTP 500.
    """

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        latency: float = 0.0,
        chunk_delay: float = 0.0,
        faults: list[Fault] | None = None,
        models: list[dict[str, Any]] | None = None,
        breaks: Iterable[str] = (),
    ) -> None:
        self.responder: Responder = responder or echo_responder
        self.latency = latency
        self.chunk_delay = chunk_delay
        self.models = models or [{"id": "stub-model", "object": "model", "created": 0, "owned_by": "stub"}]
        self.breaks: set[str] = set(breaks)
        _check_names("break", self.breaks, BREAKS)
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.errors: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # notified whenever a request finishes
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._port = 0
        self._thread: threading.Thread | None = None
        self.inject(*(faults or []))

    def inject(self, *faults: Fault) -> None:
        """Add faults after start, e.g. to break a provider halfway through a benchmark."""
        with self._lock:
            if sum(f.every for f in [*self._faults, *faults]) > 1:
                raise ValueError("at most one Fault may have every=True")
            self._faults.extend(faults)

    @property
    def base_url(self) -> str:
        """The URL stays readable after stop(), so a finished run can still report where it went."""
        if not self._port:
            raise RuntimeError("StubServer is not started")
        return f"http://127.0.0.1:{self._port}/v1"

    def start(self) -> StubServer:
        if self._httpd is not None:
            raise RuntimeError("StubServer is already running")
        self._stopping.clear()
        self._httpd = httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.stub = self
        self._port = int(httpd.server_address[1])
        # A short poll interval keeps stop() (which waits for the next poll) from costing 0.5 s per test.
        serve = functools.partial(httpd.serve_forever, poll_interval=0.02)
        self._thread = threading.Thread(target=serve, name="stub-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wake every stalled handler, so a `timeout` fault never delays a test run."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        with self._lock:
            for conn in list(self._connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            # A client may hold its whole answer before the handler has counted itself out.
            self._idle.wait_for(lambda: self.in_flight == 0, timeout=STOP_GRACE_S)
        self._httpd.server_close()
        self._httpd = None

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _admit(self, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Fault | None]:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            number = len(self.requests)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            fault = next((f for f in self._faults if f.request == number), None)
            if fault is None:
                queued = next((f for f in self._faults if f.request is None and not f.every), None)
                if queued is not None:
                    self._faults.remove(queued)
                fault = queued or next((f for f in self._faults if f.every), None)
            return number, fault

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1
            self._idle.notify_all()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Each SSE chunk must leave at once, or time-to-first-byte measures Nagle's algorithm.
    disable_nagle_algorithm = True
    timeout = 60
    server: _HTTPServer
    request_number = 0  # of the chat-completions request being answered; 0 for other routes

    def setup(self) -> None:
        super().setup()
        with self.server.stub._lock:
            self.server.stub._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.stub._lock:
            self.server.stub._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: test output should show findings, not access logs."""

    def do_GET(self) -> None:
        route = urlsplit(self.path).path.rstrip("/")
        if route == "/v1/models":
            self._send(200, {"object": "list", "data": self.server.stub.models})
        elif route == "/health":
            self._send(200, {"status": "ok"})
        else:
            self._send(404, _error_body(404, f"no route for GET {self.path}"))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if urlsplit(self.path).path.rstrip("/") != "/v1/chat/completions":
            self._send(404, _error_body(404, f"no route for POST {self.path}"))
            return
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("the body is not a JSON object")
        except ValueError as exc:
            self._send(400, _error_body(400, f"invalid JSON body: {exc}"))
            return
        stub = self.server.stub
        number, fault = stub._admit(body, {k.lower(): v for k, v in self.headers.items()})
        self.request_number = number
        try:
            self._complete(stub, body, number, fault)
        except OSError:
            self.close_connection = True  # the client went away; nothing left to answer
        finally:
            stub._leave()

    def _complete(self, stub: StubServer, body: dict[str, Any], number: int, fault: Fault | None) -> None:
        kind = fault.kind if fault else None
        stall = fault.seconds if fault and kind == "timeout" else 0.0
        if stub._stopping.wait(stub.latency + stall):
            self.close_connection = True
            return
        if fault and kind in ("status", "html"):
            status = fault.status or (500 if kind == "status" else 200)
            page = f"<html><head><title>{status}</title></head><body><h1>Gateway {status}</h1></body></html>"
            default: dict[str, Any] | str = _error_body(status, "stub fault") if kind == "status" else page
            self._send(status, fault.body or default, fault)
            return
        try:
            reply = _prepare(stub.responder(body), body, stub.breaks, number)
        except Exception as exc:  # a broken responder is a test bug: say so in the answer and in `errors`
            message = f"stub responder failed: {type(exc).__name__}: {exc}"
            with stub._lock:
                stub.errors.append(message)
            self._send(500, _error_body(500, message))
            return
        stream, ident = bool(body.get("stream")), f"chatcmpl-stub-{number}"
        include_usage = stream and bool((body.get("stream_options") or {}).get("include_usage"))
        if fault and kind == "unknown_finish_reason":
            reply.finish_reason = fault.finish_reason
        if kind == "cut_before_done":
            reply.finish_reason, reply.breaks, include_usage = None, reply.breaks | {"no_done"}, False
        created, model = int(time.time()), str(body.get("model", "stub-model"))
        garbage = _bytes(fault.body if fault and fault.body else b'{"id": "chatcmpl-stub", "choices": [')
        if stream:
            rendered = _render_events(
                reply, ident=ident, created=created, model=model, include_usage=include_usage
            )
            events = [e.encode() for e in rendered]
            if kind == "empty_choices":
                empty = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model}
                events = [_event({**empty, "choices": []}).encode(), b"data: [DONE]\n\n"]
            elif kind == "invalid_json":
                events = [b"data: " + garbage + b"\n\n", b"data: [DONE]\n\n"]
            self._stream(stub, events, fault if kind == "reset_midstream" else None)
            return
        completion = _render_completion(reply, ident=ident, created=created, model=model)
        if kind == "empty_choices":
            completion["choices"] = []
        if kind == "invalid_json":
            self._send(200, garbage, fault)
        elif kind == "reset_midstream":
            data = json.dumps(completion).encode()
            self._head(200, "application/json", {"Content-Length": str(len(data))})
            self.wfile.write(data[: len(data) // 2])
            self._abort()
        else:
            self._send(200, completion)

    def _head(self, status: int, content_type: str, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("x-request-id", f"req_stub_{self.request_number}")
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()

    def _send(self, status: int, body: str | bytes | dict[str, Any], fault: Fault | None = None) -> None:
        """Answer in one piece; a body that looks like markup is labelled HTML, anything else JSON."""
        data = _bytes(body)
        extra = {k.lower(): v for k, v in (fault.headers if fault else {}).items()}
        html = data.lstrip()[:1] == b"<"
        content_type = extra.pop("content-type", "text/html; charset=utf-8" if html else "application/json")
        self._head(status, content_type, {"Content-Length": str(len(data)), **extra})
        self.wfile.write(data)

    def _stream(self, stub: StubServer, events: list[bytes], reset: Fault | None) -> None:
        self._head(
            200,
            "text/event-stream; charset=utf-8",
            {"Transfer-Encoding": "chunked", "Cache-Control": "no-cache"},
        )
        cut = min(reset.after_events, len(events) - 1) if reset else len(events)
        for i, event in enumerate(events[:cut]):
            if i and stub.chunk_delay and stub._stopping.wait(stub.chunk_delay):
                break
            self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
        if reset:
            self._abort()
        else:
            self.wfile.write(b"0\r\n\r\n")

    def _abort(self) -> None:
        """Drop the connection mid-body, as a crashed upstream or a killed proxy would."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()
