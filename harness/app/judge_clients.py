"""`judge --clients`: what real client libraries make of each recorded exchange, beside the wire's verdict.

The exchanges are judged on the wire first (`app.judge`); this module replays the same bytes to each
client through one `ClientSession` (one replay server, one long-lived driver per client for all the
files) and adds each client's `ClientCheck` to the exchange's verdict as plain data, so the JSON output
and the text rendering come from the same dictionaries. The clients' versions head the text, and each
check carries its version, so a verdict can be traced to a client release.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from harness.clients import ClientCheck, ClientSession, ClientTally, ReplayExchange, tally
from harness.clients.tally import COMPATIBLE
from harness.conformance.wire import Assessment

if TYPE_CHECKING:
    from harness.app.judge import Recorded


def check_clients(client_ids: Sequence[str], assessed: Sequence[tuple[Recorded, Assessment]]
                  ) -> tuple[dict[str, str], list[list[ClientCheck]]]:
    """The clients' versions, and each exchange's checks in client order; `ClientUnavailable` first.

    The session opens every driver before the first exchange, so a missing Node or install is one
    message before anything is replayed.
    """
    with ClientSession(client_ids) as session:
        checks = [session.check(ReplayExchange.of(recorded, recorded.headers), wire=assessment)
                  for recorded, assessment in assessed]
        return session.versions(), checks


def check_data(check: ClientCheck) -> dict[str, Any]:
    """One client's verdict as JSON data: the verdict, its findings, and what the client surfaced."""
    result = check.result.model_dump(mode="json", exclude={"duration_s", "client", "version"})
    return {
        "client": check.client,
        "version": check.version,
        "verdict": check.verdict,
        "findings": [{"check": f.check, "severity": f.severity, "message": f.message}
                     for f in check.findings],
        "result": result,
    }


def compatible(verdicts: list[dict[str, Any]]) -> bool:
    """Every client gave its user what the wire carried (or raised where it should, or hid a violation)."""
    return all(c["verdict"] in COMPATIBLE for v in verdicts for c in v.get("clients", ()))


def tallies(verdicts: list[dict[str, Any]]) -> list[ClientTally]:
    return tally(ClientCheck.model_validate({**c, "result": _result(c)})
                 for v in verdicts for c in v.get("clients", ()))


def _result(data: dict[str, Any]) -> dict[str, Any]:
    return {**data["result"], "client": data["client"], "version": data["version"]}


def header_lines(versions: dict[str, str]) -> list[str]:
    """`clients: python-openai = openai (Python) 2.8.1; ...`, above the exchanges."""
    if not versions:
        return []
    return ["clients: " + "; ".join(f"{cid} = {version}" for cid, version in versions.items())]


def block_lines(verdict: dict[str, Any]) -> list[str]:
    """One line per client under an exchange, and its findings indented below it."""
    lines = []
    for c in verdict.get("clients", ()):
        result = c["result"]
        error = result.get("error")
        said = (f"  raised {error['type']}: {_short(error['message'])}" if error
                else f"  driver error: {_short(result['driver_error'])}" if result.get("driver_error")
                else f"  calls={len(result['tool_calls'])}  finish={result['finish_reason']}")
        lines.append(f"  client {c['client']:<14} {c['verdict'].upper():<8}{said}")
        lines += [f"    {f['severity']:<9} {f['check']}: {f['message']}" for f in c["findings"]]
    return lines


def summary_lines(verdicts: list[dict[str, Any]]) -> list[str]:
    """`clients: python-openai ✓ 22/22, ...` and, per client, how many exchanges had each verdict."""
    found = tallies(verdicts)
    if not found:
        return []
    lines = ["clients: " + ", ".join(t.label() for t in found)]
    lines += [f"  {t.client}: " + ", ".join(f"{n} {v}" for v, n in t.counts.items()) for t in found]
    return lines


def _short(text: str, limit: int = 160) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"
