"""The decision tables compiled to Python and NumPy: zen-engine's outcome without zen per client.

`RulesEngine.evaluate` costs one zen-engine call per client (130-150 µs, docs/rules.md). The
tables use a small expression language (`expressions`), so a ruleset compiles to

- `CompiledRules.evaluate(facts)`: generated Python source, one `if`/`elif` chain per table
  (first hit, short-circuit);
- `CompiledRules.evaluate_columns(columns)`: every table on a batch with NumPy masks.

Both give the `RuleOutcome` of `RulesEngine.evaluate` (rows fired, actions, their order and
reasons, and `RuleEvaluationFailed` where zen fails); tests/unit/test_rules_compiled.py checks
both against zen. A ruleset using anything else is refused with `UnsupportedRule` naming
table, row and column; the ruleset then keeps zen for its tables.

Batch columns, name -> one value per client: float or int arrays are numbers, NaN is null;
bool arrays are booleans; object arrays hold the facts' own Python values (None, bool, str,
numbers, a list or tuple per client for `products_held`). `columns_from_facts` builds them.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.arrays import BoolArray, ObjectArray
from app.rules.compiler.columns import Batch, Coded, Column, IntArray
from app.rules.compiler.expressions import (
    CODE_GLOBALS,
    INT_RANGE,
    Call,
    Condition,
    Expression,
    Logic,
    Ref,
    Thresholds,
    Unsupported,
    compare_source,
    float_limit,
    join_source,
    parse_cell,
    parse_field,
    refs,
    reject,
    texts,
)
from app.rules.engine import STRATEGY
from app.rules.errors import RuleEvaluationFailed
from app.rules.facts import ClassificationFacts
from app.rules.graph import RULES_FIELD
from app.rules.jdm import TABLE_NAMES, Table
from app.rules.outcome import Action, RuleFired, RuleOutcome
from app.rules.parameters import ActionSpec

logger = logging.getLogger("clientscore.rules")
FACTS = frozenset(ClassificationFacts.model_fields) | set(ClassificationFacts.model_computed_fields)
UPSTREAM = frozenset(name for name in TABLE_NAMES if name != STRATEGY)  # dimension outputs
_PLAIN = frozenset({type(None), bool, str})  # taken by zen as they are
_TEXT = frozenset({str})
CACHE_LIMIT = 10_000  # distinct outcomes kept; a book has a few hundred
Binding = Mapping[str, tuple[str, bool]]  # name -> (its Python source, may be ERROR)


class UnsupportedRule(Unsupported):
    """A cell or input field outside the compiled subset, with the table, row and column."""

    def __init__(self, table: str, where: str, text: str, reason: str) -> None:
        super().__init__(f"tables/{table}.json: {where}: {text!r}: {reason}")
        self.table, self.where, self.text, self.reason = table, where, text, reason


@dataclass(frozen=True, slots=True)
class CompiledTable:
    name: str
    first_hit: bool
    fields: tuple[Expression, ...]  # per input column
    rows: tuple[tuple[tuple[int, Condition], ...], ...]  # per row: its non-empty cells
    outputs: tuple[Mapping[str, str | None], ...]  # per row: output field -> literal
    fired: tuple[RuleFired, ...]  # per row
    facts: frozenset[str]  # names read from the facts
    upstream: frozenset[str]  # names read from the dimension tables' outputs (strategy)
    checked: frozenset[str]  # facts zen takes into its context: each must be acceptable


def _parsed(table: str, where: str, text: str, parse: Any, numbers: Thresholds) -> Any:
    try:
        return parse(text, numbers)
    except Unsupported as exc:
        raise UnsupportedRule(table, where, text, str(exc)) from None


def compile_table(table: Table, numbers: Thresholds) -> CompiledTable:
    """One checked table; raises `UnsupportedRule` on the first cell or field it cannot read."""
    name, content = table.spec.name, table.node["content"]
    if table.reads is None:
        raise UnsupportedRule(name, "table", "$root", "reads the whole context")
    inputs, rows = content["inputs"], []
    fields = tuple(_parsed(name, "input column", c["field"], parse_field, numbers) for c in inputs)
    for position, row in enumerate(content["rules"], start=1):
        cells = []
        for k, column in enumerate(inputs):
            where = f"row {position} ({row['_id']}), {column['field']}"
            cell = _parsed(name, where, row.get(column["id"], ""), parse_cell, numbers)
            if cell is not None:
                cells.append((k, cell))
        rows.append(tuple(cells))
    columns = [c for c in content["outputs"] if not c["field"].startswith(RULES_FIELD)]
    names = frozenset().union(*(refs(field) for field in fields))
    upstream = names & UPSTREAM if name == STRATEGY else frozenset()
    return CompiledTable(
        name=name,
        first_hit=content["hitPolicy"] == "first",
        fields=fields,
        rows=tuple(rows),
        outputs=tuple(
            {c["field"]: json.loads(r[c["id"]]) for c in columns} for r in content["rules"]
        ),
        fired=tuple(table.rows[row["_id"]] for row in content["rules"]),
        facts=names - upstream,
        upstream=upstream,
        checked=(table.reads & FACTS) - upstream | (names - upstream),
    )


# --- one client: generated Python ------------------------------------------------------------


def _value_source(node: Expression, names: Binding) -> tuple[str, bool]:
    if isinstance(node, Ref):
        return names[node.name]
    if isinstance(node, Call):
        argument, _ = _value_source(node.argument, names)
        if node.function == "len":
            return f"_len({argument})", True
        return f"_contains({argument}, {node.needle!r})", True
    matches, raises = _condition_source(node, names)
    if raises == "False":
        return f"({matches})", False
    return f"(_ERROR if ({raises}) else ({matches}))", True


def _condition_source(node: Condition, names: Binding) -> tuple[str, str]:
    if isinstance(node, Logic):
        left, right = (_condition_source(side, names) for side in (node.left, node.right))
        matches, raises = join_source(node.op, left, right)
    else:
        subject, fallible = _value_source(node.subject, names)
        matches, raises = compare_source(node, subject, fallible)
    options = texts(node)
    if options is not None and len(options[1]) > 1:  # same answer, one test instead of many
        matches = f"({_value_source(options[0], names)[0]} in {options[1]!r})"
    return matches, raises


def _table_lines(table: CompiledTable, t: int, names: Binding, result: str) -> list[str]:
    lines, columns = [], {}
    for k in sorted({k for row in table.rows for k, _ in row}):
        source, fallible = _value_source(table.fields[k], names)
        if not isinstance(table.fields[k], Ref):  # computed once per client, not per cell
            lines.append(f"t{t}c{k} = {source}")
            source = f"t{t}c{k}"
        columns[k] = (source, fallible)
    tests = [
        [_condition_source(cell, {**names, "$": columns[k]})[0] for k, cell in row]
        for row in table.rows
    ]
    if table.first_hit:
        # The first row that holds ends the table. Flat `if`s in a loop run once, not an
        # if/elif chain: Python's compiler nests each elif one level deeper and gives up on a
        # table of a few thousand rows.
        lines += [f"{result} = -1", "for _ in _ONCE:"]
        for r, row in enumerate(tests):
            lines += [f"    if {_all(row)}:", f"        {result} = {r}", "        break"]
        return lines
    # Every row of a collect table is tested, so a cell shared by rows is tested once (cells
    # have no side effects) and rows with the same cells share one test.
    counts = Counter(test for row in tests for test in row)
    shared = {test: f"t{t}s{i}" for i, test in enumerate(x for x, n in counts.items() if n > 1)}
    lines += [f"{name} = {test}" for test, name in shared.items()]
    rows: dict[str, int] = {}
    for r, row in enumerate(tests):
        test = _all([shared.get(x, x) for x in row])
        rows[test] = rows.get(test, 0) | 1 << r
    lines.append(f"{result} = 0")
    for test, bits in rows.items():
        lines += [f"if {test}:", f"    {result} |= {bits}"]
    return lines


def _all(tests: Sequence[str]) -> str:
    return " and ".join(f"({test})" for test in tests) or "True"


def _load_lines(names: Iterable[str], checked: frozenset[str]) -> list[str]:
    """Each fact read once; those zen takes into its context checked as zen would."""
    limit, (low, high) = float_limit(), INT_RANGE
    lines = []
    for name in sorted(names):
        var, check = f"x_{name}", f"_reject({name!r}, x_{name})"
        lines.append(f"{var} = f.get({name!r})")
        if name in checked:
            lines += [
                f"c = {var}.__class__",
                f"if c is float:\n        if not {-limit!r} <= {var} <= {limit!r}: {check}",
                f"elif c is int:\n        if not {low} <= {var} <= {high}: {check}",
                f"elif c is tuple or c is list:\n        if not _TEXT.issuperset(map(type, {var})):"
                f" {check}",
                f"elif c not in _PLAIN: {check}",
            ]
    return lines


def _function(name: str, lines: list[str]) -> str:
    return f"def {name}(f):\n" + "".join(f"    {line}\n" for line in lines)


def _evaluate_source(tables: Sequence[CompiledTable]) -> str:
    """All tables in one function: returns (matched row per dimension, strategy rows bitmask)."""
    *dimensions, strategy = tables
    facts = frozenset().union(*(t.facts | t.checked for t in tables))
    names = {name: (f"x_{name}", False) for name in facts}
    lines = _load_lines(facts, frozenset().union(*(t.checked for t in tables)))
    for t, table in enumerate(dimensions):
        lines += _table_lines(table, t, names, f"r{t}")
        if table.name in strategy.upstream:
            lines.append(f"u_{table.name} = _OUT{t}[r{t}]")  # _OUT[-1] is None: no row
    upstream = {name: (f"u_{name}", False) for name in strategy.upstream}
    lines += _table_lines(strategy, len(dimensions), {**names, **upstream}, "m")
    lines.append(f"return ({''.join(f'r{t}, ' for t in range(len(dimensions)))}m)")
    return _function("evaluate", lines)


def _match_source(table: CompiledTable, t: int) -> str:
    names = table.facts | table.upstream | table.checked
    lines = _load_lines(names, table.checked)
    lines += _table_lines(table, t, {name: (f"x_{name}", False) for name in names}, "found")
    return _function(f"match_{table.name}", [*lines, "return found"])


# --- the outcome -----------------------------------------------------------------------------


class _Outcomes:
    """The `RuleOutcome` of each (dimension rows, strategy rows bitmask), built once.

    Outcomes are frozen, so clients with the same matched rows share one; building follows
    `RulesEngine._strategy`: each action once, the first row's reason, catalogue order.
    """

    def __init__(self, tables: Sequence[CompiledTable], actions: Sequence[ActionSpec]) -> None:
        self.dimensions, self.strategy = tables[:-1], tables[-1]
        catalogue = {spec.code: (priority, spec) for priority, spec in enumerate(actions)}
        self.actions = [_action(catalogue, row) for row in self.strategy.outputs]  # per row
        self.priority = {code: priority for code, (priority, _) in catalogue.items()}
        self.cache: dict[tuple[int, ...], RuleOutcome] = {}

    def get(self, key: tuple[int, ...]) -> RuleOutcome:
        outcome = self.cache.get(key)
        if outcome is None:
            outcome = self._build(key)
            if len(self.cache) < CACHE_LIMIT:
                self.cache[key] = outcome
        return outcome

    def _build(self, key: tuple[int, ...]) -> RuleOutcome:
        *rows, bits = key
        values: dict[str, Any] = {}
        fired: list[RuleFired] = []
        for table, row in zip(self.dimensions, rows, strict=True):
            if row < 0:
                raise RuleEvaluationFailed(f"table {table.name} matched no row for this client")
            values[table.name] = table.outputs[row].get(table.name)
            fired.append(table.fired[row])
        chosen: dict[str, Action] = {}
        for row in (r for r in range(len(self.strategy.rows)) if bits >> r & 1):
            chosen.setdefault(self.actions[row].code, self.actions[row])  # first row's reason
            fired.append(self.strategy.fired[row])
        actions = sorted(chosen.values(), key=lambda action: self.priority[action.code])
        return RuleOutcome(**values, actions=tuple(actions), rules_fired=tuple(fired))


def _action(catalogue: Mapping[str, tuple[int, ActionSpec]], row: Mapping[str, Any]) -> Action:
    spec = catalogue[str(row["action"])][1]
    return Action(spec.code, spec.zh, spec.en, str(row["reason_zh"]), str(row["reason_en"]))


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """Every table on a batch. `rows`: per first-hit table, each client's matched row, 0-based
    (-1: none); `outputs`: the table's output per client (None for null or no row);
    `strategy`: clients x strategy rows, True where the row matched."""

    rows: Mapping[str, IntArray]
    outputs: Mapping[str, ObjectArray]
    strategy: BoolArray
    _outcomes: _Outcomes

    def __len__(self) -> int:
        return int(self.strategy.shape[0])

    def outcome(self, i: int) -> RuleOutcome:
        """Client i's outcome, equal to `CompiledRules.evaluate` on its facts (and to zen's)."""
        bits = int.from_bytes(np.packbits(self.strategy[i], bitorder="little").tobytes(), "little")
        return self._outcomes.get((*(int(self.rows[t][i]) for t in self.rows), bits))

    def outcomes(self) -> list[RuleOutcome]:
        """Every client's outcome; each distinct combination of matched rows is built once."""
        codes, distinct = self.coded()
        return [distinct[code] for code in codes.tolist()]

    def coded(self) -> tuple[IntArray, list[RuleOutcome]]:
        """Each client's outcome as a code into the distinct outcomes of the batch."""
        rows = np.stack([self.rows[t] for t in self.rows], axis=1).astype(np.int64)
        packed = np.packbits(self.strategy, axis=1, bitorder="little")
        keys = np.ascontiguousarray(np.concatenate([rows.view(np.uint8), packed], axis=1))
        # Each row's bytes as one opaque value: np.unique sorts them in C, where a dict of
        # byte keys would take a Python step per client.
        opaque = keys.view(np.dtype((np.void, keys.shape[1]))).reshape(-1)
        _, first, inverse = np.unique(opaque, return_index=True, return_inverse=True)
        distinct = [self.outcome(int(i)) for i in first.tolist()]
        return inverse.reshape(-1).astype(np.intp), distinct


# --- the API ---------------------------------------------------------------------------------


class CompiledRules:
    """A ruleset's tables as generated Python and NumPy masks. Build with `from_tables`."""

    def __init__(self, tables: Sequence[CompiledTable], actions: Sequence[ActionSpec]) -> None:
        self.tables = {table.name: table for table in tables}
        self._outcomes = _Outcomes(tables, actions)
        namespace: dict[str, Any] = {
            **CODE_GLOBALS,
            "_reject": reject,
            "_PLAIN": _PLAIN,
            "_TEXT": _TEXT,
            "_ONCE": (None,),
        }
        for t, table in enumerate(tables):
            namespace[f"_OUT{t}"] = (*(row.get(table.name) for row in table.outputs), None)
        sources = [_evaluate_source(tables), *(_match_source(t, i) for i, t in enumerate(tables))]
        self.source = "\n".join(sources)  # what runs, for a reader
        # Straight-line generated code: no call per cell, as closures would make.
        exec(compile(self.source, "<compiled rules>", "exec"), namespace)
        self._evaluate = namespace["evaluate"]
        self._match = {t.name: namespace[f"match_{t.name}"] for t in tables}

    @classmethod
    def from_tables(
        cls, tables: Mapping[str, Table], actions: Sequence[ActionSpec], params: Mapping[str, float]
    ) -> CompiledRules:
        """The arguments of `RulesEngine`; raises `UnsupportedRule`."""
        numbers = Thresholds(params)
        return cls([compile_table(tables[name], numbers) for name in TABLE_NAMES], actions)

    def evaluate(self, facts: Mapping[str, Any]) -> RuleOutcome:
        """All tables on one client: `facts.model_dump()` (python or json mode) or the context
        `RulesEngine.context` builds. A missing fact is null, as in zen."""
        return self._outcomes.get(self._evaluate(facts))

    def evaluate_facts(self, facts: ClassificationFacts) -> RuleOutcome:
        """`evaluate` on the model itself, without the cost of `model_dump`."""
        return self.evaluate({**facts.__dict__, "renewal_rate": facts.renewal_rate})

    def match(self, table: str, values: Mapping[str, Any]) -> tuple[int, ...]:
        """The 0-based rows of one table matching `values` (facts, and for the strategy the
        dimensions' outputs), as `RulesEngine.dimension` / `.actions` would find them."""
        found: int = self._match[table](values)
        if self.tables[table].first_hit:
            return () if found < 0 else (found,)
        return tuple(r for r in range(len(self.tables[table].rows)) if found >> r & 1)

    def evaluate_columns(self, columns: Mapping[str, Any]) -> BatchOutcome:
        """All tables on a batch of clients given column by column (see the module)."""
        *dimensions, strategy = self.tables.values()
        batch = Batch(columns, frozenset().union(*(t.checked for t in self.tables.values())))
        rows = {t.name: batch.first_hit(t.fields, t.rows) for t in dimensions}
        upstream: dict[str, Column] = {}
        outputs = {}
        for table in dimensions:
            found = rows[table.name]
            values = [*(row.get(table.name) for row in table.outputs), None]  # [-1]: no row
            upstream[table.name] = Coded(np.where(found < 0, len(values) - 1, found), values)
            outputs[table.name] = np.array(values, dtype=object)[found]
        batch.bind(upstream)  # the strategy reads the dimensions' outputs
        matched = batch.collect(strategy.fields, strategy.rows)
        return BatchOutcome(rows, outputs, matched, self._outcomes)

    def match_columns(self, table: str, columns: Mapping[str, Any]) -> BoolArray:
        """Clients x rows of one table, True where the row matched (only the first one for a
        first-hit table); the strategy reads the dimensions' outputs from `columns`."""
        compiled = self.tables[table]
        batch = Batch(columns, compiled.checked)
        if not compiled.first_hit:
            return batch.collect(compiled.fields, compiled.rows)
        found = batch.first_hit(compiled.fields, compiled.rows)
        matrix: BoolArray = found[:, None] == np.arange(len(compiled.rows))[None, :]
        return matrix

    def columns_from_facts(
        self, facts: Sequence[Mapping[str, Any]], *, upstream: bool = False
    ) -> dict[str, ObjectArray]:
        """Object columns of the facts the tables read, from one mapping per client; with
        `upstream`, the dimensions' outputs the strategy reads too (for `match_columns`)."""
        tables = self.tables.values()
        names = frozenset().union(*(t.facts | t.checked for t in tables))
        if upstream:
            names |= frozenset().union(*(t.upstream for t in tables))
        count = len(facts)
        return {n: np.fromiter((f.get(n) for f in facts), object, count) for n in sorted(names)}


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell compiled alone, as its table would run it: to test or explain a cell."""

    condition: Condition | None  # None: empty, matches anything
    match: Callable[[Any], bool]  # on one value of its column

    def match_column(self, values: Any) -> BoolArray:
        """On a batch column (see `columns` for what each dtype means)."""
        batch = Batch({"$": values}, ())
        if self.condition is None:
            return np.ones(batch.size, dtype=bool)
        return batch.masks(self.condition, batch.fact("$"))[0]


def compile_cell(text: str, params: Mapping[str, float] | None = None) -> Cell:
    """Raises `Unsupported` for a cell outside the compiled subset."""
    condition = parse_cell(text, Thresholds(params or {}))
    matches = "True"
    if condition is not None:
        matches, _ = _condition_source(condition, {"$": ("s", True)})
    match: Callable[[Any], bool] = eval(f"lambda s: bool({matches})", dict(CODE_GLOBALS))
    return Cell(condition, match)
