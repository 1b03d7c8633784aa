"""What each provider declares: its `GET /models` body, fetched once per run like any request of the run.

The body is evidence the report's declared-versus-observed view rests on, so it travels the runs' path:
live through the target's connection pool when the run is live without cassettes; recorded into, or
replayed from, `<cassette-dir>/<provider>/_models.yaml` with the run's record mode otherwise, secrets
scrubbed by the same `Redactor`. In replay a missing cassette means "not recorded": nothing is declared
and nothing is dialled. Any failure — an HTTP error status, a timeout, a body that is not JSON or is too
large, a damaged cassette — is a `ModelsUnavailable` with one sentence; the engine tells it once and the
provider's declarations stay unknown. It never fails the run: declarations are context, not a verdict.

Launched local servers are left out: their `/v1/models` is one server per model, started by the run,
and a plain listing that declares nothing (llama-server's) would only say "unknown" at a cost.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2

from harness.engine.config import RunConfig
from harness.providers.registry import Target
from harness.transport.bounds import Bound, bounded
from harness.transport.cassettes import (
    CassetteMiss,
    CassetteTransport,
    Redactor,
    cassette_problem,
    check_cassette,
    models_cassette_path,
    open_cassette,
)


class ModelsUnavailable(Exception):
    """The models listing could not be fetched or read; the message says why, in one sentence."""


def fetch_models(target: Target, config: RunConfig, inner: httpx2.BaseTransport | None,
                 redact: Redactor) -> Any:
    """The JSON body of `GET {base_url}/models`, or None when replaying without a recorded one.

    `inner` is the live transport (the target's pool), None in replay. Bounded by `--timeout` and
    `--run-timeout` like one request of a run; not by `--deadline`, which decides when runs may start.
    """
    assert target.base_url is not None, "launched servers have no declarations to fetch"
    url = target.base_url.rstrip("/") + "/models"
    transport: CassetteTransport | None = None
    if config.record_mode is not None:
        path = models_cassette_path(config.cassette_dir, target.provider)
        if config.record_mode == "none" and not path.is_file():
            return None
        try:
            if path.is_file():
                check_cassette(path)
            transport = CassetteTransport(open_cassette(path, config.record_mode, redact), inner)
        except Exception as exc:  # a damaged cassette: said, never overwritten
            raise ModelsUnavailable(f"{cassette_problem(path, exc)} (re-record it with --record-mode all)") \
                from None
    headers = {"Accept": "application/json", **target.headers}
    if target.api_key:
        headers["Authorization"] = f"Bearer {target.api_key}"
    bounds = [Bound.after(config.timeout, "timeout", f"the --timeout of {config.timeout:g}s passed")]
    if config.run_timeout is not None:
        bounds.append(Bound.after(config.run_timeout, "timeout",
                                  f"the --run-timeout of {config.run_timeout:g}s passed"))
    try:
        with bounded(*bounds), httpx2.Client(transport=transport or inner, timeout=config.timeout) as http:
            data = _get(http, url, headers, config.max_response_bytes)
    except CassetteMiss:
        raise ModelsUnavailable(f"GET {url}: not in {transport.run_cassette.path if transport else '-'} "
                                "(re-record it with --record-mode all)") from None
    except httpx2.TimeoutException as exc:
        raise ModelsUnavailable(f"GET {url}: timed out ({exc})") from None
    except httpx2.HTTPError as exc:
        raise ModelsUnavailable(f"GET {url}: {type(exc).__name__}: {exc}") from None
    finally:
        if transport is not None and config.record_mode != "none":
            transport.save()
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ModelsUnavailable(f"GET {url}: the body is not JSON ({exc}): {data[:80]!r}") from None


def _get(http: httpx2.Client, url: str, headers: dict[str, str], limit: int) -> bytes:
    """The body of a 2xx answer, read up to `limit` bytes; any other status is a `ModelsUnavailable`."""
    with http.stream("GET", url, headers=headers) as response:
        if not 200 <= response.status_code < 300:
            status = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
            raise ModelsUnavailable(f"GET {url}: {status}")
        data = bytearray()
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) > limit:
                raise ModelsUnavailable(f"GET {url}: the body passed the {limit}-byte response limit")
    return bytes(data)
