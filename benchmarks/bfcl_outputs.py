"""Model outputs for the BFCL agreement benchmark: possible answers and systematic mutations of them.

Each output exists in two shapes that say the same thing: BFCL's FC handler result (a list of
`{name: raw arguments}`, or the message text when there is no call) and our `ToolCall`s.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness.core.model import ToolCall
from harness.packs.bfcl.convert import sent_name
from harness.packs.bfcl.data import BfclEntry

NO_CALL_TEXT = "I cannot help with that using the functions I have."
Call = tuple[str, Any]  # (name as the model sends it, arguments before JSON encoding, or raw text)


@dataclass(frozen=True)
class Output:
    label: str
    bfcl: list[dict[str, str]] | str
    calls: list[ToolCall]


class Raw(str):
    """Arguments sent as this exact text rather than JSON-encoded (unparsable or odd JSON)."""


def output(label: str, calls: list[Call] | None) -> Output:
    if calls is None:
        return Output(label, NO_CALL_TEXT, [])
    texts = [(name, args if isinstance(args, Raw) else json.dumps(args)) for name, args in calls or []]
    ours = []
    for i, (name, text) in enumerate(texts):
        try:
            parsed, valid = json.loads(text), True
        except ValueError:
            parsed, valid = None, False
        ours.append(ToolCall(index=i, id=f"call_{i}", type="function", name=name, arguments_raw=text,
                             arguments=parsed, arguments_valid_json=valid))
    return Output(label, [{name: text} for name, text in texts], ours)


def outputs_for(entry: BfclEntry) -> Iterator[Output]:
    if not entry.category.kind.has_answers:
        yield from _relevance_outputs(entry)
        return
    assert entry.answers is not None
    first = [_call(a, 0) for a in entry.answers]
    yield output("answer", first)
    yield output("answer_last", [_call(a, -1) for a in entry.answers])
    yield output("omit_optional", [(n, {k: v for k, v in args.items() if k not in _optional(a)})
                                   for (n, args), a in zip(first, entry.answers, strict=True)])
    yield output("no_call", None)
    yield output("empty_tool_calls", [])
    yield output("unparsable", [(first[0][0], Raw('{"unterminated": '))] + first[1:])
    yield output("not_object", [(first[0][0], [1, 2])] + first[1:])
    yield output("wrong_name", [(first[0][0] + "_x", first[0][1])] + first[1:])
    dotted = _name(entry.answers[0])
    if "." in dotted:
        yield output("dotted_name", [(dotted, first[0][1])] + first[1:])
    yield output("extra_param", [(first[0][0], {**first[0][1], "zz_extra": 1})] + first[1:])
    yield output("duplicate_call", first + [first[0]])
    if len(first) > 1:
        yield output("reordered", list(reversed(first)))
        yield output("rotated", first[1:] + first[:1])
        yield output("drop_call", first[:-1])
    yield output("numbers_as_int", [(n, _numbers(args, to_int=True)) for n, args in first])
    yield output("numbers_as_float", [(n, _numbers(args, to_int=False)) for n, args in first])
    yield output("strings_upper", [(n, _strings(args, str.upper)) for n, args in first])
    spaced = [(n, _strings(args, lambda s: s.replace(" ", " - "))) for n, args in first]
    yield output("strings_spaced", spaced)
    yield output("strings_punct", [(n, _strings(args, lambda s: s + "!")) for n, args in first])
    for c, (name, args) in enumerate(first):
        doc = next(f for f in entry.functions if sent_name(f["name"]) == name)
        for param in doc["parameters"].get("required", []):
            if param in args:
                yield output(f"drop_required:{c}.{param}", _replace(first, c, _without(args, param)))
        for param in _options(entry.answers[c]):
            if param not in args:  # omitted in the answer: give it anyway, as a string and as a number
                yield output(f"give_omitted:{c}.{param}", _replace(first, c, {**args, param: "x"}))
                yield output(f"give_omitted:{c}.{param}", _replace(first, c, {**args, param: 1}))
        for param, value in args.items():
            yield output(f"wrong_type:{c}.{param}", _replace(first, c, {**args, param: _other_type(value)}))
            yield output(f"wrong_value:{c}.{param}", _replace(first, c, {**args, param: _other_value(value)}))
            for label, changed in _nested(value):
                yield output(f"{label}:{c}.{param}", _replace(first, c, {**args, param: changed}))
            for option in _options(entry.answers[c])[param][1:]:
                if option != "":
                    label = f"other_option:{c}.{param}"
                    yield output(label, _replace(first, c, {**args, param: option}))


def _relevance_outputs(entry: BfclEntry) -> Iterator[Output]:
    name = sent_name(entry.functions[0]["name"]) if entry.functions else "some_function"
    yield output("no_call", None)
    yield output("empty_tool_calls", [])
    yield output("call_no_args", [(name, {})])
    yield output("call_with_args", [(name, {"query": "x"})])
    yield output("two_calls", [(name, {}), (name, {"a": 1})])
    yield output("unparsable", [(name, Raw("{not json"))])
    yield output("empty_arguments", [(name, Raw(""))])
    yield output("not_object", [(name, "a string")])
    yield output("one_bad_of_two", [(name, {}), (name, Raw("{"))])


def _name(answer: dict[str, Any]) -> str:
    return next(iter(answer))


def _options(answer: dict[str, Any]) -> dict[str, list[Any]]:
    return answer[_name(answer)]  # type: ignore[no-any-return]


def _optional(answer: dict[str, Any]) -> set[str]:
    return {p for p, opts in _options(answer).items() if "" in opts}


def _call(answer: dict[str, Any], pick: int) -> Call:
    """The call whose every parameter takes its first (or last) possible answer; `""` means omitted."""
    args = {p: _value(opts[pick], pick) for p, opts in _options(answer).items() if opts and opts[pick] != ""}
    return sent_name(_name(answer)), args


def _value(option: Any, pick: int) -> Any:
    """A value a model would send for a possible answer: a possible dict (`{key: [options]}`, also inside
    a list) becomes a dict of chosen options, `""` meaning the key is left out."""
    if isinstance(option, dict) and option and all(isinstance(v, list) and v for v in option.values()):
        return {k: _value(v[pick], pick) for k, v in option.items() if v[pick] != ""}
    if isinstance(option, list):
        return [_value(v, pick) if isinstance(v, dict) else copy.deepcopy(v) for v in option]
    return copy.deepcopy(option)


def _replace(calls: list[Call], index: int, args: dict[str, Any]) -> list[Call]:
    return [(n, args if i == index else a) for i, (n, a) in enumerate(calls)]


def _without(args: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in args.items() if k != key}


def _other_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return 12345
    if isinstance(value, list):
        return {"items": value}
    if isinstance(value, dict):
        return [value]
    return "null"


def _other_value(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 7
    if isinstance(value, str):
        return value + "zq"
    if isinstance(value, list):
        return value[1:] if value else ["zq"]
    if isinstance(value, dict):
        return {**value, "zq": 1} if value else {"zq": 1}
    return 0


def _nested(value: Any) -> Iterator[tuple[str, Any]]:
    """Changes one level down: an item or a dict value of another type or value, a key dropped or added,
    booleans as integers."""
    if isinstance(value, bool):
        yield "bool_as_int", int(value)
    if isinstance(value, list) and value:
        yield "item_wrong_type", [_other_type(value[0]), *value[1:]]
        yield "item_wrong_value", [_other_value(value[0]), *value[1:]]
        yield "items_reversed", list(reversed(value))
        yield "item_added", [*value, value[0]]
    if isinstance(value, dict) and value:
        key = next(iter(value))
        yield "key_wrong_type", {**value, key: _other_type(value[key])}
        yield "key_wrong_value", {**value, key: _other_value(value[key])}
        yield "key_dropped", {k: v for k, v in value.items() if k != key}
        yield "key_added", {**value, "zq_key": "x"}
        yield "dict_in_list", [value]
    if isinstance(value, list) and value and isinstance(value[0], dict) and value[0]:
        inner = value[0]
        key = next(iter(inner))
        yield "list_dict_key_dropped", [{k: v for k, v in inner.items() if k != key}, *value[1:]]
        yield "list_dict_key_wrong", [{**inner, key: _other_value(inner[key])}, *value[1:]]
        yield "list_dict_not_dict", ["x", *value[1:]]


def _numbers(value: Any, *, to_int: bool) -> Any:
    """Integral floats as ints (`2.0` -> `2`), or ints as floats, at every depth."""
    if isinstance(value, bool):
        return value
    if to_int and isinstance(value, float) and value.is_integer():
        return int(value)
    if not to_int and isinstance(value, int):
        return float(value)
    if isinstance(value, list):
        return [_numbers(v, to_int=to_int) for v in value]
    if isinstance(value, dict):
        return {k: _numbers(v, to_int=to_int) for k, v in value.items()}
    return value


def _strings(value: Any, change: Any) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [_strings(v, change) for v in value]
    if isinstance(value, dict):
        return {k: _strings(v, change) for k, v in value.items()}
    return value



def recorded_outputs(reports: list[str], scenario_ids: dict[str, str]) -> dict[str, list[Output]]:
    """Real first replies from saved reports' BFCL runs (`--report`), by BFCL entry id.

    `scenario_ids` maps our scenario id to BFCL's entry id. BFCL's FC handler hands its checker each
    call as `{name: raw arguments}`, or the message text when there is no call: the same here, from
    the reply as the harness assembled it (body or stream). Runs without a reply (errors) are skipped.
    """
    from harness.results.store import read_report

    found: dict[str, list[Output]] = {}
    for path in reports:
        for run in read_report(path).runs:
            entry_id = scenario_ids.get(run.key.scenario)
            reply = run.turns[0].reply if run.turns else None
            if entry_id is None or reply is None:
                continue
            label = f"recorded:{run.key.model}/{run.key.mode}"
            calls = reply.tool_calls
            bfcl: list[dict[str, str]] | str = (
                [{c.name or "": c.arguments_raw or ""} for c in calls] if calls else reply.content or ""
            )
            found.setdefault(entry_id, []).append(Output(label, bfcl, list(calls)))
    return found
