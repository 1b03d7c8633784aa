"""Agreement of the BFCL pack with BFCL's own code (issue 16), not run in CI.

    bash benchmarks/bfcl_setup.sh
    benchmarks/.bfcl-venv/bin/python benchmarks/bfcl_agreement.py [--category NAME] [--show N]

For every entry of BFCL v4's single-turn categories, the same model outputs go to our checker
(`harness.packs.bfcl.checker.judge`) and to BFCL's evaluation of one entry (`eval_runner`'s
`_evaluate_single_ast_entry` / `_evaluate_single_relevance_entry`, which decode with BFCL's OpenAI
FC handler and call `ast_checker`). Outputs: each entry's possible answers (first and last option
of every parameter) and systematic mutations of them (bfcl_outputs.py), and with `--report` the
real first replies of a report's BFCL runs (e.g. the committed local cassettes replayed: docs/bfcl.md;
`--recorded-only` judges just those). It also compares our
conversion with BFCL's (`load_dataset_entry` + the handler's `_compile_tools`).

How BFCL's code is loaded: benchmarks/bfcl_setup.sh installs bfcl-eval with `--no-deps` and the few
modules its evaluation imports. The one module replaced is `bfcl_eval.constants.model_config`, the
model registry, which imports every provider SDK. BFCL's checker reads one thing from it:
`MODEL_CONFIG_MAPPING[model].underscore_to_dot`, in `convert_func_name`. The stub holds the same
value the real registry gives the OpenAI FC model named below; both facts are verified from BFCL's
source text (with `ast`, nothing executed) before the stub is installed, so the checker's logic is
unchanged. The handler is built with a placeholder API key and never sends a request.

Each line ends in `ratio=<agreement> target=<min>` (higher is better, unlike benchmarks/run.py).
The exit code is 1 when the overall agreement misses the target.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import types
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bfcl_outputs import Output, outputs_for, recorded_outputs  # noqa: E402

from harness.packs.bfcl import checker, convert, data  # noqa: E402

MODEL = "gpt-4o-2024-11-20-FC"  # an OpenAI chat-completions FC model of BFCL's registry
TARGET = 0.995


def install_registry_stub(package: Path) -> None:
    """Replace BFCL's model registry by the one value its checker reads, after checking from the source
    that (a) the checker reads nothing else from it and (b) the real registry has that value."""
    checker_source = (package / "eval_checker/ast_eval/ast_checker.py").read_text()
    functions = [fn for fn in ast.walk(ast.parse(checker_source)) if isinstance(fn, ast.FunctionDef)]
    users = {
        fn.name
        for fn in functions
        if any(isinstance(n, ast.Name) and n.id == "MODEL_CONFIG_MAPPING" for n in ast.walk(fn))
    }
    if users != {"convert_func_name"} or ".underscore_to_dot" not in checker_source:
        sys.exit(f"BFCL's ast_checker uses its model registry in {users}: the stub no longer fits")
    registry = ast.parse((package / "constants/model_config.py").read_text())
    value = None
    for node in ast.walk(registry):
        if isinstance(node, ast.Dict):
            for key, item in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == MODEL and isinstance(item, ast.Call):
                    value = next((k.value.value for k in item.keywords if k.arg == "underscore_to_dot"
                                  and isinstance(k.value, ast.Constant)), None)
    if value is not True:
        sys.exit(f"BFCL's registry does not give {MODEL} underscore_to_dot=True: the stub no longer fits")
    stub = types.ModuleType("bfcl_eval.constants.model_config")
    stub.MODEL_CONFIG_MAPPING = {MODEL: types.SimpleNamespace(underscore_to_dot=True)}  # type: ignore[attr-defined]
    sys.modules[stub.__name__] = stub


@dataclass
class Tally:
    agree: int = 0
    total: int = 0
    bfcl_raised: int = 0
    conversion_same: int = 0
    conversion_total: int = 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--category", action="append", help="a category or group (default: all)")
    parser.add_argument("--show", type=int, default=40, help="disagreements to print in full")
    parser.add_argument("--report", action="append", default=[],
                        help="also judge the real replies of this report's BFCL runs (repeatable)")
    parser.add_argument("--recorded-only", action="store_true",
                        help="judge only the --report replies, on their entries")
    args = parser.parse_args()

    package = data.data_dir().parent
    install_registry_stub(package)
    os.environ.setdefault("OPENAI_API_KEY", "unused-no-request-is-sent")
    from bfcl_eval.constants.enums import Language, ReturnFormat
    from bfcl_eval.eval_checker import eval_runner
    from bfcl_eval.model_handler.api_inference.openai_completion import OpenAICompletionsHandler
    from bfcl_eval.utils import load_dataset_entry

    handler = OpenAICompletionsHandler(
        model_name=MODEL.removesuffix("-FC"), temperature=0.001, registry_name=MODEL, is_fc_model=True
    )
    entries = data.load(args.category or ["all"])
    recorded = recorded_outputs(args.report, {convert.scenario_id(e.id): e.id for e in entries})
    if args.recorded_only:
        entries = [e for e in entries if e.id in recorded]
    tallies: dict[str, Tally] = defaultdict(Tally)
    disagreements: list[str] = []
    raised: Counter[str] = Counter()
    verdicts: dict[str, Counter[bool]] = defaultdict(Counter)  # BFCL's verdicts per kind of output
    by_category: dict[str, list[data.BfclEntry]] = defaultdict(list)
    for entry in entries:
        by_category[entry.category.name].append(entry)

    for name, group in by_category.items():
        judged = {e["id"]: e for e in load_dataset_entry(name, False, False)}
        sent = {e["id"]: e for e in load_dataset_entry(name, False, True)}
        tally = tallies[name]
        for entry in group:
            ours = convert.convert(entry)
            theirs = handler._compile_tools({}, sent[entry.id])["tools"]
            tally.conversion_total += 1
            if ours.tools == theirs and ours.messages == sent[entry.id]["question"][0]:
                tally.conversion_same += 1
            else:
                disagreements.append(f"{entry.id}: conversion differs from BFCL's")
            generated = [] if args.recorded_only else outputs_for(entry)
            for output in [*generated, *recorded.get(entry.id, [])]:
                try:
                    if entry.category.kind.has_answers:
                        result = eval_runner._evaluate_single_ast_entry(
                            handler, entry.id, output.bfcl, entry.answers, judged[entry.id], MODEL, name,
                            language=Language.PYTHON, return_format=ReturnFormat.PYTHON,
                        )
                    else:
                        result = eval_runner._evaluate_single_relevance_entry(
                            handler, entry.id, output.bfcl, judged[entry.id], MODEL, name
                        )
                except Exception as exc:  # BFCL's own code fails on this output: no verdict to compare
                    tally.bfcl_raised += 1
                    raised[f"{output.label.split(':')[0]}: {type(exc).__name__}"] += 1
                    continue
                findings = checker.judge(entry, output.calls)
                ours_valid = not [f for f in findings if f.severity == "violation"]
                tally.total += 1
                verdicts[output.label.split(":")[0]][bool(result["valid"])] += 1
                if ours_valid == result["valid"]:
                    tally.agree += 1
                else:
                    disagreements.append(_describe(entry, output, result, findings))

    overall = Tally()
    for name, tally in tallies.items():
        for field in ("agree", "total", "bfcl_raised", "conversion_same", "conversion_total"):
            setattr(overall, field, getattr(overall, field) + getattr(tally, field))
        print(_line(f"bfcl_agreement[{name}]", tally))
    print(_line("bfcl_agreement[overall]", overall))
    print(f"bfcl_conversion[overall]: {overall.conversion_same}/{overall.conversion_total} entries send "
          f"the same tools and messages as BFCL's handler "
          f"ratio={overall.conversion_same / max(overall.conversion_total, 1):.4f} target=1")
    print("BFCL's verdicts per kind of output (pass/fail): " + ", ".join(
        f"{kind} {v[True]}/{v[False]}" for kind, v in sorted(verdicts.items())))
    if raised:
        print(f"BFCL's own code raised (not compared): {dict(raised)}")
    print(f"{len(disagreements)} disagreement(s)")
    for text in disagreements[: args.show]:
        print("  " + text)
    converted = overall.conversion_same == overall.conversion_total
    ok = overall.agree / max(overall.total, 1) >= TARGET and converted
    return 0 if ok else 1


def _line(name: str, tally: Tally) -> str:
    raised = f", {tally.bfcl_raised} BFCL raised" if tally.bfcl_raised else ""
    return (f"{name}: {tally.agree}/{tally.total} outputs agree{raised}, conversion "
            f"{tally.conversion_same}/{tally.conversion_total} ratio={tally.agree / max(tally.total, 1):.4f} "
            f"target={TARGET}")


def _describe(entry: data.BfclEntry, output: Output, result: dict[str, Any], findings: list[Any]) -> str:
    ours = "; ".join(f"{f.check}: {f.message}" for f in findings) or "valid"
    theirs = "valid" if result["valid"] else f"{result.get('error_type')}: {str(result.get('error'))[:300]}"
    return f"{entry.id} [{output.label}] BFCL: {theirs} | ours: {ours[:300]}"


if __name__ == "__main__":
    sys.exit(main())
