"""Which targets and which scenarios a run is about, from its options: the same in both front-ends."""

from __future__ import annotations

from harness.app.options import Locations, RunOptions
from harness.core.errors import ConfigError
from harness.providers.registry import Target, load_registry, select_targets
from harness.scenario.selection import select_scenarios
from harness.scenario.sources import Sample, resolve_sources
from harness.scenario.spec import ResolvedScenario


def targets_of(options: RunOptions) -> list[Target]:
    """Provider/model pairs from the registry (or the ad hoc endpoint); unknown names say 'did you mean'."""
    registry = load_registry(options.providers_file)
    return select_targets(registry, options.providers, options.models or None,
                          base_url=options.base_url, api_key_env=options.api_key_env)


def scenarios_of(options: RunOptions, locations: Locations) -> dict[str, list[ResolvedScenario]]:
    """The scenarios each source gives (YAML files under `yaml`, `bfcl:...` values under `bfcl`), sampled
    by the sources that sample, then narrowed by `-k`; none at all is a usage error, not an empty table."""
    sample = Sample(options.sample, options.sample_seed) if options.sample is not None else None
    by_source = resolve_sources(locations.specs, sample=sample)
    selected = {source: select_scenarios(found, options.keyword) for source, found in by_source.items()}
    if not any(selected.values()):
        raise ConfigError(f"no scenario matches -k {options.keyword!r}")
    return selected
