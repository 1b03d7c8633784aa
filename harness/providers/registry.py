"""Provider registry and key-by-convention: `--provider generalcompute` reads GENERALCOMPUTE_API_KEY.

The registry ships with the package (`harness/data/providers.yaml`); a user file overrides entries by
name, and `--base-url/--model` make an ad hoc provider. Keys are read from the environment only and
never stored in a model that gets saved.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from harness.core.errors import ConfigError, did_you_mean, located
from harness.core.files import read_text
from harness.core.model import TargetInfo
from harness.core.yaml_source import YamlSource, field_problems, syntax_problem
from harness.providers.launchers import LAUNCHERS

AD_HOC = "adhoc"


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0


class ProviderSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str | None = None
    api_key_env: str | None = None
    models: list[str] = Field(default_factory=list)
    headers: dict[str, str] = Field(default_factory=dict)
    extra_body: dict[str, Any] = Field(default_factory=dict)
    model_extra_body: dict[str, dict[str, Any]] = Field(default_factory=dict)
    prices: dict[str, Price] = Field(default_factory=dict)
    # The id of a registered launcher (built-in `llama-server`, or a plugin's) that starts the server.
    launcher: str | None = None
    # Runs in flight at once for this provider, at most (a server with one slot gains nothing from more);
    # `--concurrency` still caps it.
    concurrency: Annotated[int, Field(ge=1)] | None = None
    # The key's rate limits, requests and tokens per minute, shared by all the provider's models; the
    # harness paces its requests to stay within them (`--rpm/--tpm` override them).
    rpm: Annotated[int, Field(ge=1)] | None = None
    tpm: Annotated[int, Field(ge=1)] | None = None
    # HTTP statuses worth another try (default: 408, 429, 500, 502, 503, 504). A deterministic server
    # repeats its answer, so for it only transport failures are retried: `retry_statuses: []`.
    retry_statuses: list[Annotated[int, Field(ge=400, le=599)]] | None = None
    # The vendor view: model id -> the canonical model it serves (rows of one canonical model are compared
    # side by side; an unmapped id is its own canonical model), and whether this provider is the
    # reference (e.g. the model's official API) its canonical models are compared against.
    canonical: dict[str, str] = Field(default_factory=dict)
    reference: bool = False

    @field_validator("launcher")
    @classmethod
    def _registered_launcher(cls, value: str | None) -> str | None:
        if value is not None and value not in LAUNCHERS:
            raise PydanticCustomError("unknown_launcher", str(LAUNCHERS.unknown(value)))
        return value


class RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    providers: dict[str, ProviderSpec]


def _parse_registry(text: str, origin: str) -> dict[str, ProviderSpec]:
    """The providers of one registry file; every problem in it at once, each as `origin:line: field: why`.

    Located like scenario files (the same YAML-node mapping), because a misspelt key in a providers
    file is the same mistake and deserves the same answer: where it is and what was probably meant.
    """
    try:
        source = YamlSource(origin, text)
    except yaml.YAMLError as exc:
        line, message = syntax_problem(exc)
        raise ConfigError(located(origin, line, message)) from None
    if source.data is None:
        raise ConfigError(located(origin, 1, "empty providers file: expected a 'providers:' mapping"))
    try:
        return RegistryFile.model_validate(source.data).providers
    except ValidationError as err:
        problems = sorted(field_problems(err, source, RegistryFile), key=lambda p: p.line)
        raise ConfigError(
            "\n".join(
                located(origin, p.line, f"{p.field}: {p.message}" if p.field else p.message) for p in problems
            )
        ) from None


def load_registry(user_file: str | Path | None = None) -> dict[str, ProviderSpec]:
    shipped = resources.files("harness").joinpath("data/providers.yaml").read_text(encoding="utf-8")
    registry = _parse_registry(shipped, "harness/data/providers.yaml")
    if user_file is not None:
        path = Path(user_file)
        try:
            text = read_text(path, "provider files")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read provider file: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: cannot read provider file: not UTF-8 text ({exc.reason})") from None
        registry.update(_parse_registry(text, str(path)))
    return registry


def is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Target:
    """One provider/model pair to run against. `api_key` lives only in memory."""

    provider: str
    model: str
    base_url: str | None
    api_key_env: str | None
    headers: dict[str, str] = field(default_factory=dict)
    extra_body: dict[str, Any] = field(default_factory=dict)
    launcher: str | None = None
    price: Price | None = None
    retry_statuses: list[int] | None = None
    rpm: int | None = None  # the provider's rate limits (requests, tokens per minute), from the registry
    tpm: int | None = None
    concurrency: int | None = None  # the provider's own cap on runs in flight, from the registry
    canonical: str | None = None  # the canonical model, when the registry maps this model id
    reference: bool = False

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.model}"

    @property
    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) if self.api_key_env else None

    @property
    def needs_key(self) -> bool:
        return self.api_key_env is not None and not (self.base_url and is_loopback(self.base_url))

    def missing_key(self) -> str | None:
        """One sentence naming the variable, or None when the target can run live."""
        if self.needs_key and not self.api_key:
            return f"{self.api_key_env} is not set: export it to run '{self.provider}' live"
        return None


def select_targets(
    registry: dict[str, ProviderSpec],
    providers: list[str],
    models: list[str] | None = None,
    *,
    base_url: str | None = None,
    api_key_env: str | None = None,
) -> list[Target]:
    """Targets for the requested providers/models; ad hoc when `base_url` is given."""
    if base_url is not None:
        if not models:
            raise ConfigError("--base-url needs at least one --model")
        spec = ProviderSpec(base_url=base_url, api_key_env=api_key_env, models=models)
        return [_target(providers[0] if providers else AD_HOC, spec, m) for m in models]
    if not providers:
        raise ConfigError("no provider given: use --provider NAME or --base-url URL --model M")
    targets = []
    for name in providers:
        if name not in registry:
            hint = did_you_mean(name, registry)
            raise ConfigError(f"unknown provider '{name}'{hint} (known: {', '.join(sorted(registry))})")
        spec = registry[name]
        chosen = models or spec.models
        if not chosen:
            raise ConfigError(f"provider '{name}' has no default models: pass --model")
        if spec.launcher and models:
            unknown = [m for m in models if m not in spec.models]
            if unknown:
                raise ConfigError(
                    f"unknown model '{unknown[0]}' for '{name}' (known: {', '.join(spec.models)})"
                )
        targets += [_target(name, spec, m) for m in chosen]
    return targets


def _target(name: str, spec: ProviderSpec, model: str) -> Target:
    extra = {**spec.extra_body, **spec.model_extra_body.get(model, {})}
    return Target(
        provider=name,
        model=model,
        base_url=spec.base_url,
        api_key_env=spec.api_key_env,
        headers=dict(spec.headers),
        extra_body=extra,
        launcher=spec.launcher,
        price=spec.prices.get(model),
        retry_statuses=spec.retry_statuses,
        rpm=spec.rpm,
        tpm=spec.tpm,
        concurrency=spec.concurrency,
        canonical=spec.canonical.get(model),
        reference=spec.reference,
    )


def target_infos(targets: Iterable[Target]) -> list[TargetInfo]:
    infos: dict[str, TargetInfo] = {}
    for t in targets:
        infos.setdefault(
            t.provider, TargetInfo(provider=t.provider, base_url=t.base_url or "local", models=[])
        )
        info = infos[t.provider]
        info.models.append(t.model)
        if t.canonical is not None:
            info.canonical[t.model] = t.canonical
        info.reference = info.reference or t.reference
    return list(infos.values())
