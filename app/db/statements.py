"""The hot path's statements, each written once as a SQLAlchemy Core construct.

A `Statement` holds the construct, its values given as named bind parameters at each call
(`statement(client_id=...)` is a `Query`). SQLAlchemy runs it as it is (SQLite, and any
session); for psycopg on PostgreSQL it is compiled once, on first use, by SQLAlchemy's own
psycopg dialect into SQL text with named placeholders and the bind processing of each value
(`Compiled`), which psycopg runs as a prepared statement. So the SQL the two run is the same
text SQLAlchemy would send, and the rows have the same columns, under the same names.

A list of values in a condition (`any_of`) is one array parameter on PostgreSQL
(`= ANY(...)`), one JSON text on SQLite (`IN (SELECT value FROM json_each(...))`): one
prepared statement whatever the number of ids, where `IN` would need one per length.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ARRAY, ColumnElement, String, TypeDecorator, bindparam
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import NullType, TypeEngine

from app.db.engine import json_text

POSTGRES: Dialect = PGDialect_psycopg()  # type: ignore[no-untyped-call]


class IdList(TypeDecorator[Sequence[str]]):
    """A list of text ids as one parameter: an array on PostgreSQL, JSON text elsewhere."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(String()))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: Sequence[str] | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return list(value) if dialect.name == "postgresql" else json_text(list(value))


class AnyOf(ColumnElement[Any]):
    """`column` equals one of the ids of the list parameter `name` (an `IdList`)."""

    # No boolean type: SQLite would compare a boolean condition with 1, which keeps it from
    # the index.
    type: TypeEngine[Any] = NullType()
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any], name: str) -> None:
        self.column = column
        self.ids = bindparam(name, type_=IdList())


@compiles(AnyOf)
def _any_of(element: AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} = ANY({compiler.process(element.ids, **kw)})"


@compiles(AnyOf, "sqlite")
def _any_of_sqlite(element: AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = compiler.process(element.column, **kw), compiler.process(element.ids, **kw)
    return f"{column} IN (SELECT value FROM json_each({ids}))"


def any_of(column: ColumnElement[Any], name: str) -> AnyOf:
    """`column` is one of the ids given as `name` (a list of text ids)."""
    return AnyOf(column, name)


@dataclass(frozen=True, slots=True)
class Compiled:
    """A statement as psycopg runs it: SQL with `%(name)s` placeholders, the values fixed
    in the construct, and how each value is handed to psycopg (SQLAlchemy's bind
    processing for the psycopg dialect, e.g. a JSON document wrapped as `Jsonb`)."""

    sql: str
    fixed: Mapping[str, Any]
    processors: Mapping[str, Callable[[Any], Any]]
    names: frozenset[str]

    def params(self, values: Mapping[str, Any]) -> dict[str, Any]:
        params = {**self.fixed, **values}
        if params.keys() != self.names:
            raise ValueError(f"values for {sorted(self.names - set(self.fixed))} expected")
        for name, process in self.processors.items():
            params[name] = process(params[name])
        return params


def compile_for_psycopg(construct: Executable) -> Compiled:
    compiled = cast(ClauseElement, construct).compile(dialect=POSTGRES)
    binds = cast(SQLCompiler, compiled).binds
    processors = {}
    for name in compiled.params:
        process = binds[name].type.dialect_impl(POSTGRES).bind_processor(POSTGRES)
        if process is not None:
            processors[name] = process
    fixed = {name: value for name, value in compiled.params.items() if value is not None}
    return Compiled(str(compiled), fixed, processors, frozenset(compiled.params))


class Statement:
    """A statement written once (a SQLAlchemy Core construct with named bind parameters),
    compiled for psycopg on first use."""

    __slots__ = ("_psycopg", "construct")

    def __init__(self, construct: Executable) -> None:
        self.construct = construct
        self._psycopg: Compiled | None = None

    def __call__(self, **values: Any) -> Query:
        return Query(self, values)

    @property
    def psycopg(self) -> Compiled:
        if self._psycopg is None:
            self._psycopg = compile_for_psycopg(self.construct)
        return self._psycopg


@dataclass(frozen=True, slots=True)
class Query:
    """A statement with this call's values."""

    statement: Statement
    values: Mapping[str, Any]
