"""The cell and field language of the decision tables, parsed for evaluation without zen.

Only the subset of ZEN expressions the tables use is accepted; anything else raises
`Unsupported`, so a table is never evaluated differently from zen-engine (the caller then
keeps zen for that ruleset). Input fields: a fact name, `len(x)`, `contains(x, "text")`, or
comparisons joined by `and` or by `or`. Cells: empty, literals (`"a", "b"`, `0`, `true`,
`null`), `< 0.05` and the other orderings against a number or `params.name`, or comparisons
of `$` joined by `and` or by `or`.

What zen-engine 2.1.3 does, probed with `zen.evaluate_unary_expression` and decision tables
(tests/unit/test_rules_compiled.py keeps probing it):

- ordering (`<` ...) of anything but two numbers raises ("Unsupported type"): null, text,
  bool. A cell that raises does not match; neither does a row whose input field raises,
  unless the cell is empty (an empty cell never evaluates the field).
- `==` and `!=` never raise: different types are unequal (`false == 0` is false), numbers
  compare by value (`0 == 0.0`). `$ in [...]` raises when `$` is a list or an object.
- `or` and `and` short-circuit left to right, so `$ == null or $ >= 0.8` matches null, but an
  error on the left of `or` fails the cell. `a or b and c` does not follow the usual
  precedence and `(` does not parse in a cell: mixing both, and parentheses, are refused.
- numbers are decimals: a float becomes a decimal of about 15 significant digits
  (0.1 + 0.2 -> 0.3, 0.7999999999999999 -> 0.8, 1e-30 -> 0), so each comparison becomes a
  comparison with the float threshold where zen's answer flips, found by asking zen itself.
  A float beyond +-7.92e28, NaN or inf, or an int outside [-2**63, 2**64) in the context
  makes the whole evaluation fail.
- `len` of a text counts UTF-8 bytes; `len` and `contains` of null, a number or a bool raise.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Literal, TypeAlias

import zen

from app.rules.errors import RuleEvaluationFailed

INT_RANGE = (-(2**63), 2**64 - 1)  # what zen accepts from Python (i64 / u64)
NUMBER = frozenset({int, float})  # bool is not a number to zen
COLLECTION = frozenset({list, tuple, dict})


class Unsupported(ValueError):
    """An expression outside the subset compiled here: evaluate this ruleset with zen."""


class _Error:
    """The value of an input field whose evaluation raised in zen: no cell matches it."""

    def __repr__(self) -> str:
        return "ERROR"


ERROR: Any = _Error()


@dataclass(frozen=True, slots=True)
class Ref:
    name: str  # a fact, an upstream output, or "$": the cell's column value


@dataclass(frozen=True, slots=True)
class Call:
    function: Literal["len", "contains"]
    argument: Value
    needle: str | None = None


@dataclass(frozen=True, slots=True)
class Number:
    """A number literal or parameter, as the float thresholds where zen's answer flips."""

    text: str
    at_least: float  # smallest float x with x >= the number, in zen
    above: float  # smallest float x with x > the number, in zen


Constant: TypeAlias = bool | str | Number | None


@dataclass(frozen=True, slots=True)
class Compare:
    subject: Value
    op: Literal["==", "!=", "<", "<=", ">", ">=", "in"]
    operand: Constant | tuple[Constant, ...]


@dataclass(frozen=True, slots=True)
class Logic:
    op: Literal["and", "or"]
    left: Condition
    right: Condition


Value: TypeAlias = Ref | Call
Condition: TypeAlias = Compare | Logic
Expression: TypeAlias = Value | Condition


def refs(node: Expression) -> set[str]:
    """The names an expression reads ("$" for the cell's column)."""
    if isinstance(node, Ref):
        return {node.name}
    if isinstance(node, Call):
        return refs(node.argument)
    if isinstance(node, Logic):
        return refs(node.left) | refs(node.right)
    return refs(node.subject)


_TOKEN = re.compile(
    r"""\s*(?:(?P<number>-?\d+(?:\.\d+)?)(?![\w.])|(?P<text>"[^"\\]*"|'[^'\\]*')"""
    r"""|(?P<name>\$|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)|(?P<symbol>==|!=|<=|>=|<|>|\(|\)|\[|\]|,))"""
)
ORDER = ("<", "<=", ">", ">=")
_KEYWORDS = {"true": True, "false": False, "null": None}


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position, end = [], 0, len(text.rstrip())
    while position < end:
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise Unsupported(f"cannot read {text[position:].strip()!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, numbers: Thresholds, *, cell: bool) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.numbers = numbers
        self.cell = cell  # cells compare `$`; input fields compare facts

    def peek(self) -> str:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> str:
        """The next token; `expected`: its kind ("name") or the symbol itself ("[")."""
        kind, token = self.tokens[self.at] if self.at < len(self.tokens) else ("", "")
        if not kind or expected not in (None, kind, token):
            raise Unsupported(f"expected {expected or 'more'} at token {self.at + 1}")
        self.at += 1
        return token

    def end(self, node: Expression) -> Expression:
        if self.at != len(self.tokens):
            raise Unsupported(f"unexpected {self.peek()!r}")
        return node

    def constant(self) -> Constant:
        kind, token = self.tokens[self.at] if self.at < len(self.tokens) else ("", "")
        self.take()
        if kind == "number" or (kind == "name" and token.startswith("params.")):
            return self.numbers.number(token)
        if kind == "text":
            return token[1:-1]
        if token in _KEYWORDS:
            return _KEYWORDS[token]
        raise Unsupported(f"{token!r} is not a literal")

    def value(self) -> Value:
        name = self.take("name")
        if name in ("len", "contains") and self.peek() == "(":
            self.take()
            argument = self.value()
            needle = None
            if name == "contains":
                self.take(",")
                needle = self.constant()
                if not isinstance(needle, str):
                    raise Unsupported("contains() needs a quoted text")
            self.take(")")
            return Call(name, argument, needle)  # type: ignore[arg-type]
        if name in _KEYWORDS or name in ("and", "or", "in", "not") or "." in name:
            raise Unsupported(f"{name!r} cannot be compared here")
        if (name == "$") != self.cell:
            raise Unsupported("cells compare $, input fields compare facts")
        return Ref(name)

    def compare(self) -> Compare:
        subject, op = self.value(), self.take()
        if op == "in":
            self.take("[")
            items = [self.constant()]
            while self.peek() == ",":
                self.take()
                items.append(self.constant())
            self.take("]")
            return Compare(subject, "in", tuple(items))
        if op not in ("==", "!=", *ORDER):
            raise Unsupported(f"operator {op!r}")
        return _ordered(Compare(subject, op, self.constant()))  # type: ignore[arg-type]

    def condition(self) -> Condition:
        node: Condition = self.compare()
        joins = set()
        while self.peek() in ("and", "or"):
            op = self.take()
            joins.add(op)
            node = Logic(op, node, self.compare())  # type: ignore[arg-type]
        if len(joins) > 1:
            raise Unsupported("mixes and with or: zen does not use the usual precedence")
        return node

    def unary(self) -> Expression:
        """A cell without `$`: `< 0.05` is `$ < 0.05`, `"a", "b"` is `$ == "a" or $ == "b"`."""
        dollar = Ref("$")
        if self.peek() in ORDER:
            op = self.take()
            return self.end(_ordered(Compare(dollar, op, self.constant())))  # type: ignore[arg-type]
        node: Condition = Compare(dollar, "==", self.constant())
        while self.peek() == ",":
            self.take()
            node = Logic("or", node, Compare(dollar, "==", self.constant()))
        return self.end(node)


def _ordered(node: Compare) -> Compare:
    if node.op in ORDER and not isinstance(node.operand, Number):
        raise Unsupported(f"{node.op} needs a number: zen raises on any other type")
    return node


def parse_cell(text: str, numbers: Thresholds) -> Condition | None:
    """A cell as a condition on `$`; None for an empty cell, which matches anything."""
    if not text.strip():
        return None
    parser = _Parser(text, numbers, cell=True)
    if not any(token == "$" for _, token in parser.tokens):
        node = parser.unary()
    else:
        node = parser.end(parser.condition())
    assert isinstance(node, Compare | Logic)
    return node


def parse_field(text: str, numbers: Thresholds) -> Expression:
    """An input column's field: a value, or a condition (true or false) on facts."""
    parser = _Parser(text, numbers, cell=False)
    operators = {"and", "or", "in", "==", "!=", *ORDER}
    if any(token in operators for _, token in parser.tokens):
        return parser.end(parser.condition())
    return parser.end(parser.value())


# --- numbers: thresholds asked of zen ------------------------------------------------------


def _key(x: float) -> int:
    """Floats in order as integers: consecutive floats have consecutive keys."""
    (bits,) = struct.unpack("<Q", struct.pack("<d", x))
    return -(bits & (2**63 - 1)) if bits >> 63 else int(bits)


def _float(key: int) -> float:
    bits = (-key) | (1 << 63) if key < 0 else key
    (x,) = struct.unpack("<d", struct.pack("<Q", bits))
    return float(x)


@cache
def float_limit() -> float:
    """The largest float zen accepts (its decimals hold 96 bits); -limit is the smallest."""
    low, high = _key(7.9e28), _key(8.0e28)
    while high - low > 1:
        middle = (low + high) // 2
        try:
            zen.evaluate_expression("x", {"x": _float(middle)})
            low = middle
        except Exception:  # zen raises plain exceptions
            high = middle
    return _float(low)


def reject(name: str, value: Any, client: int | None = None) -> None:
    """Raise as `RulesEngine` does when zen-engine cannot take a value into its context."""
    try:
        accepted = acceptable(value)
    except TypeError as exc:
        raise TypeError(f"fact {name}: {exc}") from None
    if not accepted:
        who = "" if client is None else f"client {client}: "
        detail = f"{who}{name} = {value!r} is outside what zen-engine accepts"
        raise RuleEvaluationFailed(f"rules classify failed: {detail}")


def acceptable(value: Any) -> bool:
    """Raises TypeError for a NumPy scalar: the compiled code tells numbers by exact class."""
    cls = value.__class__
    if value is None or cls is bool or isinstance(value, str):
        return True
    if cls is float:
        return bool(-float_limit() <= value <= float_limit())  # NaN and inf are not
    if cls is int:
        return bool(INT_RANGE[0] <= value <= INT_RANGE[1])
    if cls is list or cls is tuple:
        return all(acceptable(item) for item in value)
    if cls is dict:
        return all(isinstance(k, str) and acceptable(v) for k, v in value.items())
    raise TypeError(f"{cls.__name__} is not a plain Python value")


class Thresholds:
    """Numbers of one ruleset (literals and `params.*`) as float thresholds, asked of zen."""

    def __init__(self, params: Mapping[str, float]) -> None:
        self.params = dict(params)
        self.known: dict[str, Number] = {}

    def number(self, text: str) -> Number:
        if text not in self.known:
            center = self._center(text)
            at_least, above = (self._flip(op, text, center) for op in (">=", ">"))
            self.known[text] = Number(text, at_least, above)
        return self.known[text]

    def _center(self, text: str) -> float:
        if not text.startswith("params."):
            center = float(text)
        elif (value := self.params.get(text.removeprefix("params."))) is None:
            raise Unsupported(f"{text} is not a parameter of this ruleset")
        else:
            center = value
        if isinstance(center, bool) or not abs(center) < 1e27:
            raise Unsupported(f"{text} is not a number zen compares exactly")
        return float(center)

    def _holds(self, op: str, text: str, x: float | int) -> bool:
        try:
            answer = zen.evaluate_unary_expression(f"{op} {text}", {"$": x, "params": self.params})
        except Exception as exc:  # zen raises plain exceptions
            raise Unsupported(f"zen cannot evaluate {op} {text}: {exc}") from None
        return answer is True

    def _flip(self, op: str, text: str, center: float) -> float:
        """The smallest float for which `$ op number` holds in zen (bisection on floats)."""
        span = abs(center) * 1e-9 + 1e-20
        low, high = _key(center - span), _key(center + span)
        if self._holds(op, text, _float(low)) or not self._holds(op, text, _float(high)):
            raise Unsupported(f"cannot place {op} {text} between floats")
        while high - low > 1:
            middle = (low + high) // 2
            if self._holds(op, text, _float(middle)):
                high = middle
            else:
                low = middle
        threshold = _float(high)
        # Python compares an int with that float exactly; zen compares the int exactly too.
        first = math.ceil(threshold)
        if not self._holds(op, text, first) or self._holds(op, text, first - 1):
            raise Unsupported(f"{op} {text} compares ints and floats differently")
        return threshold


# --- scalar code: each condition as Python source --------------------------------------------


def _equal(subject: str, operand: Constant) -> str:
    if operand is None or isinstance(operand, bool):
        return f"{subject} is {operand!r}"
    if isinstance(operand, str):
        return f"{subject} == {operand!r}"
    low, high = operand.at_least, operand.above
    return f"({subject}.__class__ in _NUMBER and {low!r} <= {subject} < {high!r})"


def _order(subject: str, op: str, number: Number) -> str:
    bound = number.at_least if op in ("<", ">=") else number.above
    relation = ">=" if op in (">", ">=") else "<"
    return f"{subject}.__class__ in _NUMBER and {subject} {relation} {bound!r}"


def compare_source(node: Compare, subject: str, fallible: bool) -> tuple[str, str]:
    """(matches, raises): Python sources of a comparison on the value in `subject`.

    `fallible`: the value may be ERROR (its input field raised), which fails every cell.
    """
    failed = f"{subject} is _ERROR" if fallible else "False"
    if node.op in ORDER:
        assert isinstance(node.operand, Number)
        return f"({_order(subject, node.op, node.operand)})", f"{subject}.__class__ not in _NUMBER"
    if node.op == "in":
        assert isinstance(node.operand, tuple)
        equal = " or ".join(f"({_equal(subject, item)})" for item in node.operand)
        return f"({equal})", f"{subject}.__class__ in _COLLECTION or {failed}"
    assert not isinstance(node.operand, tuple)
    equal = _equal(subject, node.operand)
    if node.op == "==":
        return f"({equal})", failed
    return f"(not ({equal})" + (f" and {subject} is not _ERROR)" if fallible else ")"), failed


def join_source(op: str, left: tuple[str, str], right: tuple[str, str]) -> tuple[str, str]:
    """Short-circuit `and` / `or` on (matches, raises) pairs, folding constant errors."""
    (lt, le), (rt, re_) = left, right
    if op == "and":
        raises = _any(le, f"({lt}) and ({re_})" if re_ != "False" else "False")
        return f"({lt}) and ({rt})", raises
    matches = f"({lt}) or ({rt})" if le == "False" else f"({lt}) or (not ({le}) and ({rt}))"
    return matches, _any(le, f"not ({lt}) and ({re_})" if re_ != "False" else "False")


def texts(node: Condition) -> tuple[Value, tuple[str, ...]] | None:
    """(subject, texts) when the condition is only `subject == "text"` joined by `or`.

    Code then tests `subject in ("a", "b")`: a tuple is searched by identity and `==`,
    never by hash, so this holds for any subject, lists and ERROR included.
    """
    if isinstance(node, Compare):
        items = node.operand if isinstance(node.operand, tuple) else (node.operand,)
        plain = node.op in ("==", "in") and all(isinstance(item, str) for item in items)
        return (node.subject, tuple(str(item) for item in items)) if plain else None
    if node.op != "or":
        return None
    left, right = texts(node.left), texts(node.right)
    if left is None or right is None or left[0] != right[0]:
        return None
    return left[0], left[1] + right[1]


def _any(first: str, second: str) -> str:
    parts = [p for p in (first, second) if p != "False"]
    return " or ".join(f"({p})" for p in parts) if parts else "False"


def zen_len(value: Any) -> Any:
    cls = value.__class__
    if cls is list or cls is tuple:
        return len(value)
    return len(value.encode()) if isinstance(value, str) else ERROR


def zen_contains(value: Any, needle: str) -> Any:
    if value.__class__ is list or value.__class__ is tuple or isinstance(value, str):
        return needle in value
    return ERROR


CODE_GLOBALS: dict[str, Any] = {
    "_NUMBER": NUMBER,
    "_COLLECTION": COLLECTION,
    "_ERROR": ERROR,
    "_len": zen_len,
    "_contains": zen_contains,
}


@lru_cache(maxsize=4096)  # bounded: each ruleset loaded adds its comparisons
def compare_function(node: Compare) -> Callable[[Any], tuple[bool, bool]]:
    """(matches, raises) of one comparison on any value: for a batch's coded columns."""
    matches, raises = compare_source(node, "s", fallible=True)
    source = f"lambda s: (bool({matches}), bool({raises}))"
    function: Callable[[Any], tuple[bool, bool]] = eval(source, dict(CODE_GLOBALS))
    return function
