"""Decision tables in GoRules JDM format: the contract each table meets, and its static checks.

Each table is one JDM graph, input node -> decision table node -> output node, so it opens
as is in the GoRules editor. zen-engine accepts a cell that does not compile and then
silently never matches it, so every cell is compiled here first, and every output cell must
be a literal from the table's allowed values: a typo is refused at load, not discovered later.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

import zen
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.errors import FieldError
from app.rules.graph import RULES_FIELD, single_graph, tag_rows
from app.rules.outcome import (
    AbcGrade,
    GroupScale,
    LifecycleStage,
    ProspectGrade,
    RiskTier,
    RuleFired,
    ValueTier,
)

HitPolicy = Literal["first", "collect"]
ANY_TEXT = None  # an output column that takes any non-empty string literal
ROW_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    hit_policy: HitPolicy
    outputs: Mapping[str, frozenset[str | None] | None]  # column field -> allowed literals
    catalogue_column: str | None = None  # its values must be action codes of the catalogue


def _values(literal: Any, *, nullable: bool = False) -> frozenset[str | None]:
    values: set[str | None] = set(get_args(literal))
    return frozenset(values | {None}) if nullable else frozenset(values)


TABLES: tuple[TableSpec, ...] = (
    TableSpec("value_tier", "first", {"value_tier": _values(ValueTier)}),
    TableSpec("abc_grade", "first", {"abc_grade": _values(AbcGrade)}),
    TableSpec("risk_tier", "first", {"risk_tier": _values(RiskTier)}),
    TableSpec("lifecycle_stage", "first", {"lifecycle_stage": _values(LifecycleStage)}),
    TableSpec("prospect_grade", "first", {"prospect_grade": _values(ProspectGrade, nullable=True)}),
    TableSpec("group_scale", "first", {"group_scale": _values(GroupScale, nullable=True)}),
    TableSpec(
        "strategy",
        "collect",
        {"action": ANY_TEXT, "reason_zh": ANY_TEXT, "reason_en": ANY_TEXT},
        catalogue_column="action",
    ),
)
TABLE_NAMES = tuple(spec.name for spec in TABLES)


class _Loose(BaseModel):
    # The editor stores layout and metadata we neither need nor police.
    model_config = ConfigDict(extra="allow")


class Column(_Loose):
    id: str = Field(min_length=1)
    name: str = ""
    field: str = Field(min_length=1)


class TableContent(_Loose):
    # JDM spelling. The last four let a table read or write elsewhere than the top level of
    # the request and response; the engine composes the tables and needs them plain.
    hitPolicy: HitPolicy
    passThrough: bool = False
    inputField: str | None = None
    outputPath: str | None = None
    executionMode: str = "single"
    inputs: list[Column]
    outputs: list[Column] = Field(min_length=1)
    rules: list[dict[str, str]]


class Node(_Loose):
    id: str = Field(min_length=1)
    type: str
    name: str = ""
    content: Any = None


class Edge(_Loose):
    sourceId: str
    targetId: str


class Graph(_Loose):
    nodes: list[Node]
    edges: list[Edge]


@dataclass(frozen=True, slots=True)
class Table:
    """A checked table, ready for the engine."""

    spec: TableSpec
    node: dict[str, Any]  # the decision table node, rows tagged with their ids (see graph)
    content: zen.ZenDecisionContent  # the table alone in a graph
    rows: Mapping[str, RuleFired]  # by _id: what the engine reports when the row matches
    reads: frozenset[str] | None  # the names its expressions use; None: the whole context


# Rows a table may have. Each worker compiles every table into Python: 10,000 rows take about
# 3 s and 360 MB to compile, 100,000 rows 44 s and 5 GB (README, "Rules").
MAX_TABLE_ROWS = 10_000


class _Problems:
    def __init__(self, where: str) -> None:
        self.where = where
        self.items: list[FieldError] = []

    def add(self, rule: str, detail: str, at: str = "") -> None:
        field = f"{self.where}: {at}" if at else self.where
        self.items.append(FieldError(field=field, rule=rule, detail=detail, location="ruleset"))


def zen_message(exc: Exception) -> str:
    """zen's error as one line: its JSON `source` when it has one, without a Rust backtrace."""
    lines = str(exc).strip().splitlines()
    if not lines:
        return type(exc).__name__
    try:
        parsed = json.loads(lines[0])
    except ValueError:
        return lines[0]
    if isinstance(parsed, dict) and "source" in parsed:
        return f"{parsed.get('type', 'error')}: {parsed['source']}"
    return lines[0]


def _literal(cell: str) -> tuple[bool, str | None]:
    """(is a literal, its value) for an output cell: a JSON string or null."""
    try:
        value = json.loads(cell)
    except ValueError:
        return False, None
    return (value is None or isinstance(value, str)), value


def _graph(text: bytes, problems: _Problems) -> Graph | None:
    try:
        raw = json.loads(text)
    except ValueError as exc:
        problems.add("invalid_json", f"not valid JSON: {exc}")
        return None
    try:
        return Graph.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            at = ".".join(str(p) for p in error["loc"])
            problems.add("invalid_graph", error["msg"], at)
        return None


def _table_node(graph: Graph, problems: _Problems) -> Node | None:
    by_type: dict[str, list[Node]] = {}
    for node in graph.nodes:
        by_type.setdefault(node.type, []).append(node)
    expected = {"inputNode", "decisionTableNode", "outputNode"}
    for kind in sorted(set(by_type) - expected):
        problems.add("invalid_graph", f"node type {kind} is not used here: one table per graph")
    for kind in sorted(expected):
        if len(by_type.get(kind, [])) != 1:
            problems.add("invalid_graph", f"needs exactly one {kind}")
    if problems.items:
        return None
    source, table, sink = (
        by_type[kind][0].id for kind in ("inputNode", "decisionTableNode", "outputNode")
    )
    links = {(e.sourceId, e.targetId) for e in graph.edges}
    if links != {(source, table), (table, sink)}:
        problems.add("invalid_graph", "edges must run input node -> table -> output node")
    return by_type["decisionTableNode"][0]


def _check_columns(content: TableContent, spec: TableSpec, problems: _Problems) -> None:
    if content.hitPolicy != spec.hit_policy:
        problems.add("hit_policy", f"hit policy must be {spec.hit_policy}, not {content.hitPolicy}")
    plain = (content.passThrough, content.inputField, content.outputPath, content.executionMode)
    if plain != (False, None, None, "single"):
        detail = "pass-through, input field, output path and loop mode are not supported"
        problems.add("table_options", detail)
    fields = [c.field for c in content.outputs]
    for name in sorted(set(spec.outputs) - set(fields)):
        problems.add("missing_output", f"output column {name} is missing")
    for name in sorted(set(fields) - set(spec.outputs)):
        problems.add("unknown_output", f"output column {name} is not part of this table")
    if any(c.id.startswith(RULES_FIELD) for c in [*content.inputs, *content.outputs]):
        problems.add("reserved_column", f"column ids starting {RULES_FIELD} are the engine's")
    for column in content.inputs:
        try:
            zen.compile_expression(column.field)
        except Exception as exc:  # zen raises plain exceptions
            at = f"input column {column.field}"
            problems.add("invalid_expression", f"not a valid expression: {zen_message(exc)}", at)


class _Catalogue(frozenset[str | None]):
    """The action codes of ruleset.yaml: too many to list in a message."""


def _check_output_cell(
    cell: str, allowed: Collection[str | None] | None, problems: _Problems, at: str
) -> None:
    is_literal, value = _literal(cell)
    if not is_literal:
        detail = f'must be a quoted value like "high" or null, not {cell}'
        problems.add("invalid_output", detail, at)
    elif allowed is None and not value:
        problems.add("invalid_output", "must be a non-empty text", at)
    elif isinstance(allowed, _Catalogue) and value not in allowed:
        problems.add("invalid_output", f"{cell} is not an action of ruleset.yaml", at)
    elif allowed is not None and value not in allowed:
        options = ", ".join(sorted(str(v) for v in allowed if v is not None))
        options += ", null" if None in allowed else ""
        problems.add("invalid_output", f"{cell} is not one of {options}", at)


def _check_rows(
    content: TableContent, spec: TableSpec, actions: Collection[str] | None, problems: _Problems
) -> None:
    seen: set[str] = set()
    allowed: dict[str, Collection[str | None] | None] = dict(spec.outputs)
    if spec.catalogue_column and actions is not None:
        allowed[spec.catalogue_column] = _Catalogue(actions)
    for position, row in enumerate(content.rules, start=1):
        rule_id = row.get("_id", "")
        where = f"row {position} ({rule_id or 'no _id'})"
        if not ROW_ID.match(rule_id) or rule_id in seen:
            detail = "every row needs its own _id of letters, digits and _ . : -"
            problems.add("row_id", detail, where)
        seen.add(rule_id)
        for column in content.inputs:
            cell = row.get(column.id, "").strip()
            try:
                if cell:
                    zen.compile_unary_expression(cell)
            except Exception as exc:
                detail = f"not a valid cell: {zen_message(exc)}"
                problems.add("invalid_expression", detail, f"{where}, {column.field}")
        for column in content.outputs:
            cell, at = row.get(column.id, "").strip(), f"{where}, {column.field}"
            _check_output_cell(cell, allowed.get(column.field), problems, at)


def _reads(content: TableContent) -> frozenset[str] | None:
    """Every name the table's expressions may read, so the engine passes only those."""
    texts = [c.field for c in content.inputs]
    texts += [row.get(c.id, "") for row in content.rules for c in content.inputs]
    if any("$root" in text for text in texts):
        return None
    return frozenset(name for text in texts for name in _NAME.findall(text))


def parse_table(
    spec: TableSpec, text: bytes, actions: Collection[str] | None
) -> Table | list[FieldError]:
    """The table, or every problem found in it (file, row and column named).

    `actions` are the catalogue's codes; None when ruleset.yaml is itself broken, so the
    strategy's rows are not all reported as unknown actions.
    """
    problems = _Problems(f"tables/{spec.name}.json")
    graph = _graph(text, problems)
    node = _table_node(graph, problems) if graph else None
    if node is None:
        return problems.items
    try:
        content = TableContent.model_validate(node.content)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            problems.add("invalid_table", error["msg"], ".".join(str(p) for p in error["loc"]))
        return problems.items
    if len(content.rules) > MAX_TABLE_ROWS:
        problems.add(
            "too_many_rows",
            f"the table has {len(content.rules):,} rows: at most {MAX_TABLE_ROWS:,} are allowed "
            "(merge rows with ranges or lists, or move the detail into a parameter)",
        )
        return problems.items
    _check_columns(content, spec, problems)
    _check_rows(content, spec, actions, problems)
    if problems.items:
        return problems.items
    tagged = tag_rows(node.model_dump(), spec.name)
    try:
        compiled = single_graph(tagged)
    except Exception as exc:
        problems.add("invalid_graph", f"zen-engine cannot read it: {zen_message(exc)}")
        return problems.items
    rows = {
        row["_id"]: RuleFired(spec.name, row["_id"], position, row.get("_description", ""))
        for position, row in enumerate(content.rules, start=1)
    }
    return Table(spec=spec, node=tagged, content=compiled, rows=rows, reads=_reads(content))
