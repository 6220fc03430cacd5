"""Value formulas of the action catalogue: arithmetic over a client's numbers.

A formula is written by an analyst in `ruleset.yaml`, e.g. `lapse_probability * clv *
save_rate - cost`: numbers, names, `+ - * /`, unary minus, parentheses, and `min(a, b)` /
`max(a, b)`. Names are the client's numbers (`FIELDS`), the action's `cost` and the action's
own parameters. It is checked when the ruleset is read (a name it does not know refuses the
ruleset) and compiled once; it evaluates on floats for one client and on NumPy arrays for a
batch, with the same arithmetic, so both paths give the same value.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any

import numpy as np

# The client's numbers a formula may use; a number not known for the client counts as 0.
FIELDS = (
    "clv",
    "lapse_probability",
    "purchase_probability",
    "expected_claim_frequency",
    "expected_loss_ratio",
    "annual_premium",
)
_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_FUNCTIONS = {"min": np.minimum, "max": np.maximum}


class FormulaError(ValueError):
    """A formula that does not parse or names something it may not."""


def _check(node: ast.AST, names: Set[str], used: set[str]) -> None:
    if isinstance(node, ast.Expression):
        _check(node.body, names, used)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, _OPERATORS):
        _check(node.left, names, used)
        _check(node.right, names, used)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        _check(node.operand, names, used)
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
        pass
    elif isinstance(node, ast.Name):
        if node.id not in names:
            known = ", ".join(sorted(names))
            raise FormulaError(f"unknown field '{node.id}' (known: {known})")
        used.add(node.id)
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and len(node.args) == 2
        and not node.keywords
    ):
        for arg in node.args:
            _check(arg, names, used)
    else:
        raise FormulaError(
            f"'{ast.unparse(node)}' is not allowed: use numbers, fields, + - * /, min, max"
        )


@dataclass(frozen=True, slots=True)
class Formula:
    """A checked, compiled value formula."""

    text: str
    fields: frozenset[str]  # the client's numbers it reads
    _code: Any

    @classmethod
    def parse(cls, text: str, constants: Set[str]) -> Formula:
        """Check `text` against the client's numbers and `constants` (the action's `cost`
        and parameters); raises `FormulaError` naming what is wrong."""
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise FormulaError(f"does not parse: {exc.msg}") from None
        used: set[str] = set()
        _check(tree, set(FIELDS) | set(constants), used)
        code = compile(tree, "<value formula>", "eval")
        return cls(text, frozenset(used & set(FIELDS)), code)

    def evaluate(self, numbers: Mapping[str, Any], constants: Mapping[str, float]) -> Any:
        """The value for one client (floats, None = not known) or a batch (arrays, NaN)."""
        scope: dict[str, Any] = {**_FUNCTIONS, **constants}
        for name in self.fields:
            scope[name] = _known(numbers[name])
        result: Any = eval(self._code, {"__builtins__": {}}, scope)
        return result


def _known(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return np.nan_to_num(value.astype(float), nan=0.0)
    return 0.0 if value is None or value != value else float(value)
