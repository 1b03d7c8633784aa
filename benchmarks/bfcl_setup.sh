#!/usr/bin/env bash
# A benchmark-only venv in which BFCL's own checker imports: bfcl-eval without its declared dependencies,
# plus the few modules that its checker, its OpenAI handler and its evaluation runner import at load
# time (versions as bfcl-eval pins them where it pins them). Only `bfcl_eval.constants.model_config`
# (the model registry, which imports every provider SDK) is then replaced, in benchmarks/bfcl_agreement.py.
# Usage: bash benchmarks/bfcl_setup.sh [VENV]   (default benchmarks/.bfcl-venv)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${1:-$here/.bfcl-venv}"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --no-deps bfcl-eval
"$venv/bin/pip" install -q -e "$here/.." \
  "filelock==3.20.0" "tree_sitter==0.21.3" "tree-sitter-java==0.21.0" "tree-sitter-javascript==0.21.4" \
  overrides tenacity "numpy==1.26.4" pandas tqdm python-dotenv
echo "run: $venv/bin/python $here/bfcl_agreement.py"
