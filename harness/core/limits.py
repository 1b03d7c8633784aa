"""Size bounds on what the harness reads: files by kind, and YAML alias expansion.

A nightly job reads scenario, provider, cassette and report files that people edit by hand, and a
576-byte YAML file can describe gigabytes through aliases (`&a [*b, *b, ...]`): every file is read
through `harness.core.files.read_text` with the limit of its kind, and every YAML document is refused
by `harness.core.yaml_source.check_aliases` when its aliases would expand beyond `ALIAS_BUDGET` nodes,
before anything walks the expanded data. Limits on files are constants, far above any honest input;
the response cap is an option (`--max-response-bytes`). Stdlib only: the front-ends show the defaults.
"""

from __future__ import annotations

MB = 1024 * 1024
# Bytes per kind of file. Reports and journals hold raw traffic of whole matrices, hence their room.
LIMITS: dict[str, int] = {
    "scenario files": 2 * MB,
    "provider files": 2 * MB,
    "cassettes": 64 * MB,
    "reports": 512 * MB,
    "journals": 512 * MB,
    "exchanges": 64 * MB,
}
# Nodes a YAML document may expand to through aliases (a scenario file has a few hundred).
ALIAS_BUDGET = 100_000
# What an oversized response keeps as evidence, in bytes.
EVIDENCE_BYTES = 16 * 1024
DEFAULT_MAX_RESPONSE_BYTES = 8 * MB
