"""The engine: scenario x target -> RunResult. Knows nothing of pytest or argparse.

`Engine.run` drives the tool loop of the seed guides (request -> tool_calls -> simulated tool ->
`tool` message with the matching `tool_call_id` -> again) and judges every turn with the wire checks and
the scenario's expectations. `Engine.run_all` runs a plan concurrently with a per-provider limit and
returns results in plan order, whatever order they finish in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import openai
import yaml

from harness.conformance.expectations import Conversation, evaluate
from harness.conformance.wire import assess
from harness.core.model import ErrorInfo, Finding, Mode, Provenance, Reply, RunKey, RunResult, Turn
from harness.providers.registry import Price, Target
from harness.scenario.simulator import ToolSimulator
from harness.scenario.spec import ResolvedScenario
from harness.transport.cassettes import (
    REPLAY_BASE_URL,
    CassetteTransport,
    RecordModeName,
    Redactor,
    cassette_path,
    open_cassette,
)
from harness.transport.client import RetryPolicy, send

MODES: tuple[Mode, ...] = ("nonstream", "stream")


@dataclass(frozen=True)
class PlannedRun:
    scenario: ResolvedScenario
    target: Target
    key: RunKey


@dataclass
class RunConfig:
    """Everything both front-ends decide; the engine only reads it."""

    modes: tuple[Mode, ...] = MODES
    trials: int = 1
    record_mode: RecordModeName | None = None  # None: live, no cassette
    cassette_dir: Path = Path("cassettes")
    timeout: float = 120.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    concurrency: int = 4
    deadline: float | None = None  # seconds from the start of run_all; later runs are skipped
    # Builds the command that reproduces (or records) one run, in the front-end's own words.
    command_for: Callable[[RunKey, str | None], str] | None = None


def _count_usage(result: RunResult, price: Price | None) -> None:
    """Token counts from the `usage` every answered turn reported, and their cost at the registry's prices.

    All or nothing: when a turn reported no usage (or no integer counts), a sum would understate the run,
    so the counts and the cost stay unknown.
    """
    replies = [t.reply for t in result.turns if t.reply is not None]
    counts = [_token_counts(r.usage or {}) for r in replies]
    if not counts or None in counts:
        return
    result.prompt_tokens = sum(c[0] for c in counts if c is not None)
    result.completion_tokens = sum(c[1] for c in counts if c is not None)
    if price is not None:
        result.cost_usd = (
            result.prompt_tokens * price.input_per_mtok + result.completion_tokens * price.output_per_mtok
        ) / 1e6


def _token_counts(usage: dict[str, Any]) -> tuple[int, int] | None:
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if type(prompt) is int and type(completion) is int:  # not bool, not float, not missing
        return prompt, completion
    return None


def plan(
    scenarios: Iterable[ResolvedScenario], targets: Iterable[Target], config: RunConfig
) -> list[PlannedRun]:
    runs = []
    for target in targets:
        for rs in scenarios:
            for mode in config.modes:
                for trial in range(1, config.trials + 1):
                    key = RunKey(
                        provider=target.provider, model=target.model, scenario=rs.id, mode=mode, trial=trial
                    )
                    runs.append(PlannedRun(rs, target, key))
    return runs


def assistant_message(reply: Reply) -> dict[str, Any]:
    """The assistant turn echoed back in the history, with the arguments exactly as the model sent them."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": c.id or "",
                "type": "function",
                "function": {
                    "name": c.name or "",
                    "arguments": c.arguments_raw if c.arguments_raw is not None else "",
                },
            }
            for c in reply.tool_calls
        ]
    return message


def request_body(
    rs: ResolvedScenario, target: Target, messages: list[dict[str, Any]], mode: Mode, turn: int = 1
) -> dict[str, Any]:
    opts = rs.scenario.options
    body: dict[str, Any] = {"model": target.model, "messages": messages}
    if rs.tools:
        body["tools"] = rs.openai_tools()
    for name in ("tool_choice", "parallel_tool_calls", "temperature", "max_tokens", "seed"):
        value = getattr(opts, name)
        if value is not None:
            body[name] = value
    if turn > 1 and opts.later_tool_choice is not None:
        body["tool_choice"] = opts.later_tool_choice
    if mode == "stream":
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    body.update(target.extra_body)
    body.update(opts.extra_body)
    return body


class Engine:
    """Holds what runs share: HTTP connection pools per target, local servers, the redactor."""

    def __init__(self, config: RunConfig, redact: Redactor | None = None) -> None:
        self.config = config
        self.redact = redact or Redactor()
        self._pools: dict[str, httpx2.HTTPTransport] = {}
        self._lock = threading.Lock()
        self._local: Any = None
        self._started = time.monotonic()
        # Runs skipped because the deadline passed: never started, so a resumed run does them.
        self.deadline_skipped: set[RunKey] = set()
        # A local server that cannot start or died is the environment's fault, not the model's: its runs
        # are not judged (a resumed run does them) and the failure is reported once per target.
        self.environment_failures: dict[str, str] = {}
        self.environment_skipped: set[RunKey] = set()

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        if self._local is not None:
            self._local.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pool(self, target: Target) -> httpx2.HTTPTransport:
        with self._lock:
            name = f"{target.provider}/{target.model}"
            if name not in self._pools:
                self._pools[name] = httpx2.HTTPTransport()
            return self._pools[name]

    def _base_url(self, target: Target, live: bool) -> str:
        if target.launcher is None:
            assert target.base_url is not None
            return target.base_url
        if not live:
            return REPLAY_BASE_URL
        with self._lock:
            if self._local is None:
                from harness.providers.llama_server import LocalServers

                self._local = LocalServers()
        url: str = self._local.base_url(target.model)
        return url

    def start_launchers(self, targets: Iterable[Target]) -> dict[str, str]:
        """Start the local server of every launched target before any run; the failures, by target label.

        A broken local setup then costs one message instead of one error per planned run.
        """
        if self.config.record_mode == "none":
            return {}
        from harness.providers.llama_server import LocalServerError

        for target in targets:
            if target.launcher is None or target.label in self.environment_failures:
                continue
            try:
                self._base_url(target, live=True)
            except LocalServerError as exc:
                self.environment_failures[target.label] = self.redact(str(exc))
        return dict(self.environment_failures)

    def _launcher_died(self, target: Target, grace: float = 0.0) -> str | None:
        """The failure of the target's local server, if it could not start or has died."""
        if target.label in self.environment_failures:
            return self.environment_failures[target.label]
        if target.launcher is None or self._local is None:
            return None
        failure = self._local.died(target.model, grace)
        if failure is None:
            return None
        with self._lock:
            return self.environment_failures.setdefault(target.label, self.redact(str(failure)))

    def _not_run(self, planned: PlannedRun, failure: str) -> RunResult:
        with self._lock:
            self.environment_skipped.add(planned.key)
        return self._skip(planned, "not run: " + failure.splitlines()[0])

    def run(self, planned: PlannedRun) -> RunResult:
        rs, target, key = planned.scenario, planned.target, planned.key
        cfg = self.config
        self.redact.add(target.api_key)
        if cfg.deadline is not None and time.monotonic() - self._started > cfg.deadline:
            with self._lock:
                self.deadline_skipped.add(key)
            return self._skip(planned, f"run deadline of {cfg.deadline:g}s passed")
        if target.label in self.environment_failures:
            return self._not_run(planned, self.environment_failures[target.label])
        transport: CassetteTransport | None = None
        cassette = None
        live = cfg.record_mode != "none"
        if cfg.record_mode is not None:
            cassette = cassette_path(cfg.cassette_dir, key)
            if cfg.record_mode == "none" and not cassette.is_file():
                hint = cfg.command_for(key, "once") if cfg.command_for else ""
                return self._skip(
                    planned, f"no cassette {cassette}" + (f"; record it with: {hint}" if hint else "")
                )
        try:
            base_url = self._base_url(target, live)
        except Exception:  # a local server that cannot start: the environment, reported once
            failure = self._launcher_died(target)
            if failure is None:
                raise
            return self._not_run(planned, failure)
        inner: httpx2.BaseTransport | None = _Borrowed(self._pool(target)) if live else None
        if cassette is not None:
            assert cfg.record_mode is not None
            try:
                loaded = open_cassette(cassette, cfg.record_mode, self.redact)
            except Exception as exc:  # bad input of this cell: reported, never executed nor overwritten
                return RunResult(
                    key=key,
                    family=rs.scenario.family,
                    outcome="error",
                    error=ErrorInfo(kind="config", message=cassette_problem(cassette, exc)),
                    cassette=str(cassette),
                )
            transport = CassetteTransport(loaded, inner)
        http = httpx2.Client(transport=transport or inner)
        client = openai.OpenAI(
            base_url=base_url,
            api_key=target.api_key or "not-needed",
            max_retries=0,
            timeout=cfg.timeout,
            http_client=http,
            default_headers=target.headers or None,
        )
        started = time.perf_counter()
        try:
            result = self._loop(rs, target, key, client, transport)
        finally:
            http.close()
            if transport is not None and cfg.record_mode != "none":
                transport.save()
        result.duration_s = time.perf_counter() - started
        lost = result.error is not None and result.error.kind in ("connection", "timeout")
        if lost and live and (failure := self._launcher_died(target, grace=2.0)):
            return self._not_run(planned, failure)
        # A run whose every response was cut before it completed leaves nothing to record, hence no file.
        result.cassette = str(cassette) if cassette is not None and cassette.is_file() else None
        if transport is not None:
            result.provenance = _provenance(transport.provenance)
            if transport.unplayed:
                result.findings.append(
                    Finding(
                        check="cassette.unplayed",
                        severity="warning",
                        actual=transport.unplayed,
                        message=f"{transport.unplayed} interaction(s) in {cassette} were not played back",
                    )
                )
        _count_usage(result, target.price)
        if cfg.command_for:
            result.reproduce = cfg.command_for(key, None)
        return self.redact.model(result)  # traffic may quote the key; nothing shown or saved may

    def _skip(self, planned: PlannedRun, reason: str) -> RunResult:
        return RunResult(
            key=planned.key, family=planned.scenario.scenario.family, outcome="skip", skip_reason=reason
        )

    def _loop(
        self,
        rs: ResolvedScenario,
        target: Target,
        key: RunKey,
        client: openai.OpenAI,
        transport: CassetteTransport | None,
    ) -> RunResult:
        sim = ToolSimulator(rs)
        messages = [dict(m) for m in rs.scenario.messages]
        turns: list[Turn] = []
        replies: list[Reply] = []
        findings: list[Finding] = []
        final: str | None = None
        hit_max = True

        def how() -> Provenance:
            return transport.provenance[-1] if transport and transport.provenance else "live"

        for number in range(1, rs.scenario.max_iterations + 1):
            body = request_body(rs, target, [dict(m) for m in messages], key.mode, number)
            sent = send(client, body, self.config.retry.for_provider(target.retry_statuses), self.redact, how)
            judged = (
                assess(body, sent.status, sent.text or "", stream=key.mode == "stream")
                if sent.error is None
                else None
            )
            error = sent.error or (judged.error if judged else None)
            turn_findings = [
                f.model_copy(update={"turn": number}) for f in (judged.findings if judged else [])
            ]
            reply = judged.reply if judged else None
            turns.append(
                Turn(
                    number=number,
                    request=body,
                    status=sent.status,
                    response_text=sent.text,
                    reply=reply,
                    error=error,
                    findings=turn_findings,
                    latency_s=sent.latency_s,
                    ttfb_s=sent.ttfb_s,
                    ttft_s=sent.ttft_s,
                    retries=sent.retries,
                )
            )
            findings += turn_findings
            if error is not None:
                return self._errored(rs, key, turns, findings, error)
            assert reply is not None
            replies.append(reply)
            if not reply.tool_calls:
                final = reply.content or ""
                hit_max = False
                break
            messages.append(assistant_message(reply))
            for call in reply.tool_calls:
                messages.append(
                    {"role": "tool", "tool_call_id": call.id or "", "content": sim.execute(call, number)}
                )
        findings += evaluate(rs.scenario.expect, Conversation(replies, sim, final, hit_max))
        return _judged(rs, key, turns, findings, final)

    def _errored(
        self, rs: ResolvedScenario, key: RunKey, turns: list[Turn], findings: list[Finding], error: Any
    ) -> RunResult:
        status = turns[-1].status
        if (
            rs.scenario.expect.accept_rejection
            and status is not None
            and 400 <= status < 500
            and status != 429
        ):
            findings.append(
                Finding(
                    check="provider.rejected",
                    severity="warning",
                    turn=len(turns),
                    actual=status,
                    message=f"the provider rejected the request with HTTP {status}: {error.message}",
                )
            )
            return _judged(rs, key, turns, findings, None)
        return RunResult(
            key=key, family=rs.scenario.family, outcome="error", error=error, findings=findings, turns=turns
        )

    def run_all(
        self, runs: list[PlannedRun], on_result: Callable[[int, RunResult], None] | None = None
    ) -> list[RunResult]:
        """Run concurrently (per-provider limit), report each as it finishes, return in plan order."""
        self._started = time.monotonic()
        results: list[RunResult | None] = [None] * len(runs)
        limits: dict[str, threading.Semaphore] = {}
        for r in runs:
            limits.setdefault(r.target.provider, threading.Semaphore(max(1, self.config.concurrency)))
        done_lock = threading.Lock()

        def one(i: int) -> None:
            with limits[runs[i].target.provider]:
                result = self.run(runs[i])
            results[i] = result
            if on_result:
                with done_lock:
                    on_result(i, result)

        workers = max(1, self.config.concurrency) * max(1, len(limits))
        pool = ThreadPoolExecutor(max_workers=min(workers, max(1, len(runs))))
        try:
            for future in [pool.submit(one, i) for i in range(len(runs))]:
                future.result()
        except BaseException:
            # Ctrl-C: runs not yet started are dropped; those in flight finish and are still reported.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()
        return [r for r in results if r is not None]


class _Borrowed(httpx2.BaseTransport):
    """Lends the target's shared connection pool to one run's client without letting it close the pool."""

    def __init__(self, pool: httpx2.BaseTransport) -> None:
        self.pool = pool

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        return self.pool.handle_request(request)

    def close(self) -> None:
        pass


def cassette_problem(path: Path, exc: Exception) -> str:
    """One sentence on why a cassette cannot be loaded; vcrpy's safe loader refuses Python tags."""
    cause = exc.__cause__ if isinstance(exc.__cause__, yaml.YAMLError) else exc
    if isinstance(cause, yaml.YAMLError):
        mark = getattr(cause, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(cause, "problem", None) or str(cause)
        return f"{where}: cassette is not plain YAML ({problem}); it was not loaded. Delete it and re-record"
    if isinstance(exc, KeyError | TypeError | IndexError | AttributeError):
        return (f"{path}: not a vcrpy cassette (expected 'interactions': a list of request/response "
                f"mappings; {type(exc).__name__}: {exc}). Delete it and re-record")
    return f"{path}: cannot load the cassette: {exc}"


def _judged(
    rs: ResolvedScenario, key: RunKey, turns: list[Turn], findings: list[Finding], final: str | None
) -> RunResult:
    """A run that could be judged: it fails exactly when some finding is a violation."""
    failed = any(f.severity == "violation" for f in findings)
    return RunResult(key=key, family=rs.scenario.family, outcome="fail" if failed else "pass",
                     findings=findings, turns=turns, final_answer=final)


def _provenance(seen: list[Provenance]) -> Provenance:
    if not seen:
        return "live"
    if "recorded" in seen:
        return "recorded"
    return "replayed" if all(p == "replayed" for p in seen) else "live"
