"""Which targets and which scenarios a run is about, from its options: the same in both front-ends."""

from __future__ import annotations

from pathlib import Path

from harness.app.options import RunOptions
from harness.core.errors import ConfigError
from harness.providers.registry import Target, load_registry, select_targets
from harness.scenario.loader import load_scenarios
from harness.scenario.selection import select_scenarios
from harness.scenario.spec import ResolvedScenario


def targets_of(options: RunOptions) -> list[Target]:
    """Provider/model pairs from the registry (or the ad hoc endpoint); unknown names say 'did you mean'."""
    registry = load_registry(options.providers_file)
    return select_targets(registry, options.providers, options.models or None,
                          base_url=options.base_url, api_key_env=options.api_key_env)


def scenarios_of(options: RunOptions, paths: list[Path]) -> list[ResolvedScenario]:
    """The scenarios under `paths` that `-k` selects; none at all is a usage error, not an empty table."""
    scenarios = select_scenarios(load_scenarios(paths), options.keyword)
    if not scenarios:
        raise ConfigError(f"no scenario matches -k {options.keyword!r}")
    return scenarios
