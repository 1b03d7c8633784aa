"""What an HTTP failure means: the error kind of a status, and the provider's own message from the body.

Transport-level knowledge, shared by the client that sends requests and the wire judge that reads
recorded ones.
"""

from __future__ import annotations

import json
from typing import Any

from harness.core.model import ErrorInfo, ErrorKind

_STATUS_KINDS: dict[int, ErrorKind] = {
    400: "bad_request", 409: "bad_request", 413: "bad_request", 422: "bad_request",
    401: "unauthorized", 403: "unauthorized", 404: "not_found", 408: "timeout", 429: "rate_limited",
}


def classify_error(status: int | None, text: str) -> ErrorInfo:
    """Map an HTTP failure to an `ErrorKind`, carrying the provider's own message when it sent one."""
    if status is None:
        kind: ErrorKind = "connection"
    elif status in _STATUS_KINDS:
        kind = _STATUS_KINDS[status]
    elif status >= 500:
        kind = "server_error"
    elif 400 <= status < 500:
        kind = "bad_request"
    else:
        kind = "invalid_body"
    return ErrorInfo(kind=kind, message=error_message(text, status), status=status)


def error_message(text: str, status: int | None = None) -> str:
    """The provider's error message from `{"error": {"message"}}`, `{"error": "..."}` or `{"message"}`."""
    try:
        data: Any = json.loads(text)
    except (ValueError, TypeError):
        data = None
    message = _message_of(data) if isinstance(data, dict) else None
    if message:
        return message
    excerpt = " ".join((text or "").split())[:200]
    if excerpt:
        return excerpt
    return f"HTTP {status} with an empty body" if status is not None else "no response"


def _message_of(data: dict[str, Any]) -> str | None:
    error = data.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]:
        return str(error["message"])
    if isinstance(error, str) and error:
        return error
    if isinstance(data.get("message"), str) and data["message"]:
        return str(data["message"])
    return None


def error_in_body(error: Any) -> ErrorInfo:
    """An `{"error": ...}` object inside a 2xx body or mid-stream, classified by its code when numeric."""
    code = error.get("code") if isinstance(error, dict) else None
    status = int(code) if isinstance(code, int | str) and str(code).isdigit() else None
    message = _message_of({"error": error}) or json.dumps(error)[:200]
    if status is not None and 400 <= status < 600:
        return ErrorInfo(kind=classify_error(status, "").kind, message=message, status=status)
    return ErrorInfo(kind="server_error", message=message)
