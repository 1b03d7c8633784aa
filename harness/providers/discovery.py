"""Capability discovery: which models a provider serves, and which of them say they support tools.

`GET /models` is the one listing every OpenAI-compatible provider has, but tool support is declared in
provider-specific extras, when at all: OpenRouter lists `supported_parameters` (containing "tools"),
others (Lunos and similar gateways) carry `capabilities` or `features` as a list of names or a dict of
flags. A model that declares nothing is reported as unknown, never as unsupported: only a run of the
scenarios can tell.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlparse

import openai

from harness.core.errors import ConfigError
from harness.providers.capabilities import entry_capabilities
from harness.providers.registry import Target, load_registry, select_targets


@dataclass(frozen=True)
class ModelInfo:
    id: str
    tools: bool | None  # None: the provider does not say
    source: str | None  # the field the answer came from, e.g. "supported_parameters"
    owned_by: str | None = None


def declared_tools(entry: dict[str, Any]) -> tuple[bool | None, str | None]:
    """Tool support as declared by one `/models` entry, and the field that declared it (the rules of
    `harness.providers.capabilities`, which the report's declared-against-observed table uses too)."""
    declared = entry_capabilities(entry)
    return (declared.tools, declared.source) if declared.tools is not None else (None, None)


def list_models(target: Target, timeout: float = 30.0) -> list[ModelInfo]:
    """The provider's `/models` listing through the openai SDK, keeping the provider's extra fields."""
    if target.base_url is None:
        raise ConfigError(f"provider '{target.provider}' is started by the harness and has no listing")
    client = openai.OpenAI(
        base_url=target.base_url,
        api_key=target.api_key or "not-needed",
        max_retries=1,
        timeout=timeout,
        default_headers=target.headers or None,
    )
    infos = []
    for model in client.models.list():
        entry = model.model_dump()
        tools, source = declared_tools(entry)
        infos.append(ModelInfo(id=model.id, tools=tools, source=source, owned_by=entry.get("owned_by")))
    return sorted(infos, key=lambda m: m.id)


def _check_options(args: argparse.Namespace) -> None:
    """The rules `run` applies to the same options (`harness.app.options.RunOptions`), in its words."""
    if args.base_url is not None:
        parsed = urlparse(args.base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError(f"--base-url must be an http:// or https:// URL, got {args.base_url!r}")
    if not math.isfinite(args.timeout):
        raise ConfigError(f"--timeout must be a finite number of seconds, got {args.timeout}")
    if args.timeout <= 0:
        raise ConfigError(f"--timeout must be more than 0 seconds, got {args.timeout:g}")


def _target(args: argparse.Namespace) -> Target:
    _check_options(args)
    registry = load_registry(args.providers_file)
    if args.base_url is None and not args.provider:
        raise ConfigError("no provider given: use --provider NAME or --base-url URL")
    spec = registry.get(args.provider or "")
    if args.base_url is None and spec is not None and spec.launcher:
        raise ConfigError(
            f"provider '{args.provider}' is started by the harness itself: "
            f"its models are {', '.join(spec.models)}"
        )
    providers = [args.provider] if args.provider else []
    # The model name is irrelevant to a listing; select_targets wants one to build a Target.
    target = select_targets(registry, providers, ["-"], base_url=args.base_url, api_key_env=args.api_key_env)[
        0
    ]
    if target.missing_key():
        raise ConfigError(
            f"{target.api_key_env} is not set: export it to list the models of '{target.provider}'"
        )
    return target


def run_models(args: argparse.Namespace) -> int:
    """`toolcall-harness models`: exit 0 with the listing, 1 when the provider could not be asked."""
    target = _target(args)
    try:
        infos = list_models(target, args.timeout)
    except openai.APIStatusError as exc:
        print(f"error: GET {target.base_url}/models: HTTP {exc.status_code}: {exc.message}", file=sys.stderr)
        return 1
    except openai.APIError as exc:
        print(f"error: GET {target.base_url}/models: {exc.message}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps([asdict(i) for i in infos], indent=2))
        return 0
    width = max((len(i.id) for i in infos), default=5)
    for i in infos:
        tools = {True: "tools", False: "no tools", None: "tools?"}[i.tools]
        where = f" ({i.source})" if i.source else ""
        print(f"{i.id:{width}}  {tools}{where}")
    declared = sum(i.tools is True for i in infos)
    print(f"{len(infos)} model(s) from {target.provider}; {declared} declare tool support")
    return 0
