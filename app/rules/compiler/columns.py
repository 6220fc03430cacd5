"""A batch of clients, column by column, as the compiled tables read it (see `compiled`).

Each input column becomes `Numbers` (a float array, NaN for null) or `Coded` (codes into the
column's distinct values, whatever their types). A comparison on a `Coded` column runs the
scalar code of `expressions` once per distinct value and gathers the answers, so both paths
share one definition of what a cell does; only numbers have their own NumPy twin here.

What a column's dtype means: float or int arrays are numbers, NaN is null; bool arrays are
booleans; 'U' arrays are texts; object arrays hold the facts' own Python values (None,
bool, str, numbers, a list or tuple per client for `products_held`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from app.arrays import BoolArray, FloatArray, ObjectArray
from app.rules.compiler.expressions import (
    ERROR,
    ORDER,
    Call,
    Compare,
    Condition,
    Expression,
    Logic,
    Number,
    Ref,
    compare_function,
    float_limit,
    reject,
    zen_contains,
    zen_len,
)

IntArray = npt.NDArray[np.intp]
_PLAIN = frozenset({type(None), bool, str})  # no two of these types compare equal
_NUMBERS = frozenset({type(None), int, float})
FEW = 256  # distinct objects in a column coded by identity
Row: TypeAlias = Sequence[tuple[int, Condition]]  # a table row: (input column, cell) pairs


@dataclass(frozen=True, slots=True)
class Numbers:
    """A batch column of numbers, NaN for null."""

    values: FloatArray


@dataclass(frozen=True, slots=True)
class Coded:
    """A batch column of any values, as codes into its distinct values."""

    codes: IntArray
    categories: list[Any]


Column: TypeAlias = Numbers | Coded
Masks: TypeAlias = tuple[BoolArray, BoolArray]  # (matches, raises) per client


def compare_masks(node: Compare, column: Column) -> Masks:
    """A comparison on a batch column, with the semantics of `compare_source`."""
    if isinstance(column, Coded):
        # Each distinct value once, by the scalar code itself, then gathered per client.
        outcomes = [compare_function(node)(value) for value in column.categories]
        table = np.array(outcomes, dtype=bool).reshape(-1, 2)
        return table[column.codes, 0], table[column.codes, 1]
    x, null = column.values, np.isnan(column.values)
    if node.op in ORDER:
        assert isinstance(node.operand, Number)
        bound = node.operand.at_least if node.op in ("<", ">=") else node.operand.above
        return (x >= bound if node.op in (">", ">=") else x < bound), null
    items = node.operand if isinstance(node.operand, tuple) else (node.operand,)
    equal = np.zeros(x.shape, dtype=bool)
    for item in items:
        if item is None:
            equal |= null
        elif isinstance(item, Number):
            equal |= (x >= item.at_least) & (x < item.above)
    return (~equal if node.op == "!=" else equal), np.zeros(x.shape, dtype=bool)


def join_masks(op: str, left: Masks, right: Masks) -> Masks:
    """Short-circuit `and` / `or`, as `join_source`."""
    (lt, le), (rt, re_) = left, right
    if op == "and":
        return lt & rt, le | (lt & re_)
    return lt | (~le & rt), le | (~lt & re_)


def call_column(node: Call, column: Column) -> Coded:
    if isinstance(column, Numbers):  # len() and contains() of a number or null raise
        return Coded(np.zeros(column.values.shape, dtype=np.intp), [ERROR])
    if node.function == "len":
        return Coded(column.codes, [zen_len(value) for value in column.categories])
    needle = node.needle or ""
    return Coded(column.codes, [zen_contains(value, needle) for value in column.categories])


def condition_column(masks: Masks) -> Coded:
    """A condition's value per client as a column: false, true or ERROR."""
    matches, raises = masks
    return Coded(np.where(raises, 2, matches.astype(np.intp)), [False, True, ERROR])


# --- converting the caller's arrays -------------------------------------------------------


def _numbers(name: str, x: npt.NDArray[np.float64], null: BoolArray) -> Numbers:
    bad = ~null & ~(np.abs(x) <= float_limit())  # NaN in an object column, inf: zen fails
    if bad.any():
        client = int(np.argmax(bad))
        reject(name, float(x[client]), client)
    return Numbers(np.where(null, np.nan, x))


def _keys(items: list[Any]) -> list[Any]:
    """Dict keys standing for the values as zen compares them.

    Python's `1 == 1.0 == True` would merge values zen tells apart, so values are their own
    keys only when there is no number beside a bool: when the distinct values are texts and
    None (a value equal to a text is a text), or when a scan of every item shows it.
    """
    try:
        distinct = set(map(type, dict.fromkeys(items)))
    except TypeError:  # lists, by content when they hold texts only
        keys = list(map(tuple, items)) if set(map(type, items)) == {list} else items
        return keys if keys is not items and _texts_only(keys) else _typed(items)
    if distinct <= {type(None), str}:
        return items
    classes = set(map(type, items))
    if classes <= _PLAIN or (classes <= _PLAIN | {tuple} and _texts_only(items)):
        return items
    return _typed(items)


def _texts_only(keys: list[Any]) -> bool:
    return all(isinstance(x, str) for key in set(keys) if type(key) is tuple for x in key)


def _typed(items: list[Any]) -> list[Any]:
    return [(type(v), tuple(v) if type(v) in (list, tuple) else v) for v in items]


def _by_identity(items: list[Any]) -> tuple[IntArray, list[Any]] | None:
    """Codes by object, when the column holds few objects (True/False/None and enum texts
    are shared objects): each object's own type is seen, so nothing merges unseen, and equal
    texts are merged after. Sorting ids in NumPy is several times faster than hashing."""
    if len(set(map(id, items[:1000]))) > FEW:  # a list per client: not shared
        return None
    ids = np.fromiter(map(id, items), dtype=np.int64, count=len(items))
    _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    objects = [items[i] for i in first.tolist()]
    if len(objects) > FEW or not set(map(type, objects)) <= _PLAIN:
        return None
    merged: dict[Any, int] = {}  # None, bools and texts: none equals another type
    codes = np.array([merged.setdefault(v, len(merged)) for v in objects], dtype=np.intp)
    return codes[inverse.reshape(-1)], list(merged)


def _factorize(items: list[Any]) -> tuple[IntArray, list[Any]]:
    """Codes into the distinct values of an object column."""
    keys = _keys(items)
    try:
        first = dict(zip(keys, items, strict=True))
    except TypeError:  # objects or nested lists: each value its own code, still exact
        keys = [id(v) for v in items]
        first = dict(zip(keys, items, strict=True))
    index = {key: code for code, key in enumerate(first)}
    return np.fromiter(map(index.__getitem__, keys), np.intp, len(keys)), list(first.values())


def _objects(name: str, array: ObjectArray) -> Column:
    items = array.tolist()
    sample = next((v for v in items if v is not None), None)
    if type(sample) in (int, float) and set(map(type, items)) <= _NUMBERS:
        null = np.fromiter((v is None for v in items), dtype=bool, count=len(items))
        x = np.where(null, 0.0, array).astype(np.float64)
        if not (np.abs(x) > 2**53).any():  # else floats lose digits: keep the ints as they are
            return _numbers(name, x, null)
    codes, categories = _by_identity(items) or _factorize(items)
    for code, value in enumerate(categories):
        reject(name, value, int(np.argmax(codes == code)))
    return Coded(codes, categories)


def to_column(name: str, values: Any, size: int) -> Column:
    """One batch column as the masks read it (see the module for what each dtype means)."""
    array = np.asarray(values)
    if array.shape != (size,):
        raise ValueError(f"column {name} has shape {array.shape}, not one value per client")
    kind = array.dtype.kind
    if kind in "iu" and ((array > 2**53) | (array < -(2**53))).any():
        return _objects(name, array.astype(object))
    if kind in "iuf":
        x = array.astype(np.float64)
        return _numbers(name, x, np.isnan(x))
    if kind == "b":
        return Coded(array.astype(np.intp), [False, True])
    if kind == "U":
        categories, codes = np.unique(array, return_inverse=True)
        return Coded(codes.reshape(-1).astype(np.intp), [str(c) for c in categories])
    if kind == "O":
        return _objects(name, array)
    raise TypeError(f"column {name}: dtype {array.dtype} is not supported")


# --- the tables on a batch -----------------------------------------------------------------


class Batch:
    """A batch's columns, converted once; cells' masks under one binding of names."""

    def __init__(self, columns: Mapping[str, Any], checked: Iterable[str]) -> None:
        self.raw, self.facts = columns, dict[str, Column]()
        self.size = len(columns[min(columns)]) if columns else 0
        self.upstream: Mapping[str, Column] = {}
        self.values: dict[Expression, Column] = {}
        self.cells: dict[tuple[Expression, Condition], BoolArray] = {}
        for name in sorted(set(checked) & set(columns)):  # what zen would take in
            self.fact(name)

    def bind(self, upstream: Mapping[str, Column]) -> None:
        self.upstream, self.values, self.cells = upstream, {}, {}

    def fact(self, name: str) -> Column:
        if name not in self.facts:
            if name not in self.raw:
                raise ValueError(f"the batch has no column {name}")
            self.facts[name] = to_column(name, self.raw[name], self.size)
        return self.facts[name]

    def value(self, node: Expression, dollar: Column | None = None) -> Column:
        if isinstance(node, Ref):
            if node.name == "$" and dollar is not None:
                return dollar
            bound = self.upstream.get(node.name)
            return bound if bound is not None else self.fact(node.name)
        if isinstance(node, Call):
            return call_column(node, self.value(node.argument, dollar))
        return condition_column(self.masks(node, dollar))

    def masks(self, node: Condition, dollar: Column | None) -> Masks:
        if isinstance(node, Logic):
            left, right = (self.masks(side, dollar) for side in (node.left, node.right))
            return join_masks(node.op, left, right)
        return compare_masks(node, self.value(node.subject, dollar))

    def row(self, fields: Sequence[Expression], cells: Row) -> BoolArray:
        mask = np.ones(self.size, dtype=bool)
        for k, cell in cells:
            field = fields[k]
            if (field, cell) not in self.cells:  # cells repeat down a table: each once
                if field not in self.values:
                    self.values[field] = self.value(field)
                self.cells[field, cell] = self.masks(cell, self.values[field])[0]
            mask &= self.cells[field, cell]
        return mask

    def first_hit(self, fields: Sequence[Expression], rows: Sequence[Row]) -> IntArray:
        """Each client's first matching row, -1 for none."""
        found, undecided = np.full(self.size, -1, dtype=np.intp), np.ones(self.size, dtype=bool)
        for r, cells in enumerate(rows):
            hit = undecided & self.row(fields, cells)
            found[hit] = r
            undecided &= ~hit
            if not undecided.any():
                break
        return found

    def collect(self, fields: Sequence[Expression], rows: Sequence[Row]) -> BoolArray:
        """Clients x rows (a transposed view: each row's mask is written in one piece)."""
        matrix = np.zeros((len(rows), self.size), dtype=bool)
        for r, cells in enumerate(rows):
            matrix[r] = self.row(fields, cells)
        return matrix.T
