"""Keyword expressions with pytest's `-k` grammar, so `-k "weather and not stream"` selects the same way
in `toolcall-harness run` as under pytest.

pytest has no public API for its expression parser, so this is a small one of our own for the `-k`
part of the grammar (`-m` call parameters such as `mark(x=1)` are not part of `-k`):

    expression: expr? EOF
    expr:       and_expr ('or' and_expr)*
    and_expr:   not_expr ('and' not_expr)*
    not_expr:   'not' not_expr | '(' expr ')' | ident
    ident:      (\\w|:|\\+|-|\\.|\\[|\\]|\\\\|/)+

`or`, `and` and `not` are keywords only in lower case; any other run of identifier characters is a
name, which the caller's matcher decides (the harness: a case-insensitive substring of a scenario's
id, family or tags). An empty expression matches everything, as `pytest -k ""` selects everything.
Errors name the 1-based column and use pytest's wording, so a user sees the message they know.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from harness.core.errors import ConfigError

Matcher = Callable[[str], bool]
_IDENT = re.compile(r"(?:\w|:|\+|-|\.|\[|\]|\\|/)+")
_KEYWORDS = {"or", "and", "not"}
_NAMES = {"(": "left parenthesis", ")": "right parenthesis", "or": "or", "and": "and", "not": "not",
          "=": "=", ",": ",", "string": "string literal", "ident": "identifier", "eof": "end of input"}


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", "or", "and", "not", "ident", "eof", or "=", "," and "string" (see `_tokens`)
    value: str
    column: int  # 1-based

    @property
    def described(self) -> str:
        return _NAMES[self.kind]


class KeywordSyntaxError(ConfigError):
    """A malformed keyword expression: where it went wrong and what was expected there."""

    def __init__(self, expression: str, column: int, message: str) -> None:
        self.expression, self.column, self.reason = expression, column, message
        super().__init__(f"-k {expression!r}: at column {column}: {message}")


def _tokens(text: str) -> Iterator[_Token]:
    """Tokens read lazily, as the parser asks for them: like pytest, the first error met while parsing
    is the one reported, even when the text has a bad character further on."""
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char in " \t":
            pos += 1
        elif char in "()=,":  # `=`, `,` and quoted strings only occur in call parameters, which are
            yield _Token(char, char, pos + 1)  # refused by the parser, as pytest's -k refuses them
            pos += 1
        elif char in "'\"":
            end = text.find(char, pos + 1)
            if end == -1:
                raise KeywordSyntaxError(text, pos + 1, f'closing quote "{char}" is missing')
            if (backslash := text.find("\\", pos, end)) != -1:
                message = 'escaping with "\\" not supported in marker expression'
                raise KeywordSyntaxError(text, backslash + 1, message)
            yield _Token("string", text[pos : end + 1], pos + 1)
            pos = end + 1
        elif match := _IDENT.match(text, pos):
            word = match.group(0)
            yield _Token(word if word in _KEYWORDS else "ident", word, pos + 1)
            pos = match.end()
        else:
            raise KeywordSyntaxError(text, pos + 1, f'unexpected character "{char}"')
    yield _Token("eof", "", len(text) + 1)


# A parsed expression is a tree of these: a name, or an operator over sub-expressions.
@dataclass(frozen=True)
class Name:
    value: str


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True)
class Everything:
    """The empty expression."""


Node = Name | Not | And | Or | Everything


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.current = next(self.tokens)
        self.calls: list[int] = []  # columns of `name(...)`: parsed as pytest does, then refused

    def accept(self, kind: str) -> _Token | None:
        token = self.current
        if token.kind != kind:
            return None
        if kind != "eof":
            self.current = next(self.tokens)
        return token

    def reject(self, *expected: str) -> KeywordSyntaxError:
        wanted = " OR ".join(_Token(k, "", 0).described for k in expected)
        got = self.current.described
        return KeywordSyntaxError(self.text, self.current.column, f"expected {wanted}; got {got}")

    def expression(self) -> Node:
        if self.accept("eof"):
            return Everything()
        node = self.expr()
        if not self.accept("eof"):
            raise self.reject("eof")
        if self.calls:
            message = "keyword expressions do not support call parameters"
            raise KeywordSyntaxError(self.text, self.calls[0], message)
        return node

    def expr(self) -> Node:
        node = self.and_expr()
        while self.accept("or"):
            node = Or(node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.not_expr()
        while self.accept("and"):
            node = And(node, self.not_expr())
        return node

    def not_expr(self) -> Node:
        if self.accept("not"):
            return Not(self.not_expr())
        if self.accept("("):
            node = self.expr()
            if not self.accept(")"):
                raise self.reject(")")
            return node
        ident = self.accept("ident")
        if ident is None:
            raise self.reject("not", "(", "ident")
        if (opening := self.accept("(")) is not None:
            self.calls.append(opening.column)
            self.parameter()
            while self.accept(","):
                self.parameter()
            if not self.accept(")"):
                raise self.reject(")")
        return Name(ident.value)

    def parameter(self) -> None:
        """`name=value` as pytest's `-m` grammar has it, so errors inside one read as pytest's do."""
        name = self.accept("ident")
        if name is None:
            raise self.reject("ident")
        if not name.value.isidentifier():
            raise KeywordSyntaxError(self.text, name.column, f"not a valid python identifier {name.value}")
        if keyword.iskeyword(name.value):
            message = f"unexpected reserved python keyword `{name.value}`"
            raise KeywordSyntaxError(self.text, name.column, message)
        if not self.accept("="):
            raise self.reject("=")
        if self.accept("string"):
            return
        value = self.accept("ident")
        if value is None:
            raise self.reject("ident")
        v = value.value
        if not (v.isdigit() or (v.startswith("-") and v[1:].isdigit()) or v in ("True", "False", "None")):
            raise KeywordSyntaxError(self.text, value.column, f'unexpected character/s "{v}"')


def parse(text: str) -> Node:
    """The tree of a keyword expression; raises `KeywordSyntaxError` (a `ConfigError`: exit 2)."""
    return _Parser(text).expression()


def evaluate(node: Node, matches: Matcher) -> bool:
    if isinstance(node, Name):
        return matches(node.value)
    if isinstance(node, Not):
        return not evaluate(node.operand, matches)
    if isinstance(node, And):
        return evaluate(node.left, matches) and evaluate(node.right, matches)
    if isinstance(node, Or):
        return evaluate(node.left, matches) or evaluate(node.right, matches)
    return True


def substring_matcher(words: list[str]) -> Matcher:
    """pytest's `-k` rule: a name matches when it occurs, ignoring case, in one of the words."""
    lowered = [w.lower() for w in words]
    return lambda name: any(name.lower() in w for w in lowered)
