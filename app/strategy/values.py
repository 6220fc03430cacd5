"""The catalogue's value formulas compiled twice, once per ruleset version: a Python function
of one client's numbers and a NumPy function of a batch's columns.

Both are generated from the formula's checked syntax tree (`app.rules.formula`) with the
action's constants written in, so no formula is interpreted per client. They do the same
IEEE arithmetic in the same order: `/` and `min`/`max` are spelled out so that a division by
zero gives NumPy's inf or NaN on both paths, and `min`/`max` keep the first argument on a
tie and NaN when either is NaN. A number not known for the client (None, NaN) counts as 0;
a value that comes out not finite counts as 0. Values are rounded to the fen as shown.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.arrays import FloatArray, rounded
from app.rules.formula import FIELDS
from app.rules.parameters import ActionSpec

NAN = float("nan")
_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*"}


def _div(a: float, b: float) -> float:
    if b != 0.0 or b != b:
        return a / b
    if a != a or a == 0.0:
        return NAN
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _min(a: float, b: float) -> float:
    return NAN if a != a or b != b else (b if b < a else a)


def _max(a: float, b: float) -> float:
    return NAN if a != a or b != b else (b if b > a else a)


def _vdiv(a: Any, b: Any) -> Any:
    return np.divide(a, b)


def _vmin(a: Any, b: Any) -> Any:
    return np.where(np.isnan(a) | np.isnan(b), NAN, np.where(b < a, b, a))


def _vmax(a: Any, b: Any) -> Any:
    return np.where(np.isnan(a) | np.isnan(b), NAN, np.where(b > a, b, a))


_SCALAR = {"_div": _div, "_min": _min, "_max": _max, "__builtins__": {}}
_VECTOR = {"_div": _vdiv, "_min": _vmin, "_max": _vmax, "__builtins__": {}}


def _source(node: ast.AST, constants: Mapping[str, float]) -> str:
    """Python source of a checked formula: fields read from `k`, constants as floats."""
    if isinstance(node, ast.Expression):
        return _source(node.body, constants)
    if isinstance(node, ast.BinOp):
        left, right = _source(node.left, constants), _source(node.right, constants)
        if isinstance(node.op, ast.Div):
            return f"_div({left}, {right})"
        return f"({left} {_SYMBOLS[type(node.op)]} {right})"
    if isinstance(node, ast.UnaryOp):
        operand = _source(node.operand, constants)
        return f"(-{operand})" if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return f"({float(node.value)!r})"
    if isinstance(node, ast.Name):
        if node.id in FIELDS:
            return f"k[{node.id!r}]"
        return f"({float(constants[node.id])!r})"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        a, b = (_source(arg, constants) for arg in node.args)
        return f"_{node.func.id}({a}, {b})"
    raise ValueError(f"not a checked formula: {ast.unparse(node)}")  # `Formula.parse` refuses it


Numbers = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Value:
    """An action's value formula, compiled for one client and for a batch."""

    text: str
    fields: frozenset[str]  # the client's numbers it reads
    one: Callable[[Numbers], float]
    many: Callable[[Numbers], Any]

    @classmethod
    def of(cls, spec: ActionSpec) -> Value:
        formula = spec.formula()  # checked: raises `FormulaError` naming what is wrong
        body = _source(ast.parse(spec.value.strip(), mode="eval"), spec.constants())
        code = compile(f"lambda k: {body}", f"<value of {spec.code}>", "eval")
        return cls(spec.value, formula.fields, eval(code, dict(_SCALAR)), eval(code, dict(_VECTOR)))

    def client(self, known: Numbers) -> float:
        """The value for one client; `known` from `known_numbers`."""
        value = self.one(known)
        return round(value if math.isfinite(value) else 0.0, 2)

    def batch(self, known: Numbers, n: int) -> FloatArray:
        """The values of a batch of `n` clients; `known` from `known_columns` (at least the
        formula's `fields`)."""
        with np.errstate(all="ignore"):
            values = np.broadcast_to(np.asarray(self.many(known), dtype=np.float64), (n,))
        return rounded(np.where(np.isfinite(values), values, 0.0), 2)


def known_number(value: float | None) -> float:
    """One number as the formulas read it: None and NaN as 0."""
    return 0.0 if value is None or value != value else float(value)


def known_numbers(numbers: Numbers) -> dict[str, float]:
    """One client's numbers as the formulas read them: None and NaN as 0."""
    return {name: known_number(numbers.get(name)) for name in FIELDS}


def known_columns(columns: Numbers) -> dict[str, FloatArray]:
    """A batch's numbers as the formulas read them: NaN as 0."""
    out: dict[str, FloatArray] = {}
    for name in FIELDS:
        values = np.asarray(columns[name], dtype=np.float64)
        out[name] = np.where(np.isnan(values), 0.0, values)
    return out
