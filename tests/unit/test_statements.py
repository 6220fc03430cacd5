"""The hot path's statements, written once: what psycopg is handed, and `any_of` on both
databases (tests/integration/test_hot_reads.py runs them against stored rows)."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing

import pytest
from sqlalchemy import Column, MetaData, String, Table, select
from sqlalchemy.dialects import sqlite

from app.classification import repository as audit
from app.db.statements import Statement, any_of
from app.outcomes import repository as outcomes
from app.profiles import repository as profiles
from app.signin import repository as signin
from app.strategy import repository as strategy

HOT = {
    "clients": profiles._CLIENTS,
    "client card": profiles._CLIENT_CARD,
    **{f"held {table.name}": s for table, s in profiles._HELD.items()},
    "histories": strategy._HISTORIES,
    "classes": audit._CLASSES,
    "audit insert": audit._RECORD,
    "outcomes page": outcomes._PAGE,
    "latest calls and complaints": outcomes._LATEST_AND_COMPLAINTS,
    "page session": signin._PAGE_SESSION,
}


@pytest.mark.parametrize("name", HOT)
def test_each_statement_is_one_sql_text_with_named_placeholders(name: str) -> None:
    compiled = HOT[name].psycopg
    placeholders = set(re.findall(r"%\((\w+)\)s", compiled.sql))
    assert placeholders == compiled.names
    assert "POSTCOMPILE" not in compiled.sql  # no text that changes with a call's values
    assert "RETURNING" not in compiled.sql


def test_a_value_missing_or_unknown_is_refused() -> None:
    compiled = profiles._CLIENT_CARD.psycopg
    assert compiled.params({"client_id": "C-1"}) == {"client_id": "C-1"}
    with pytest.raises(ValueError, match="client_id"):
        compiled.params({})
    with pytest.raises(ValueError, match="client_id"):
        compiled.params({"client_id": "C-1", "other": 1})


def test_a_list_of_ids_is_one_array_parameter_on_postgresql() -> None:
    compiled = strategy._HISTORIES.psycopg
    assert compiled.sql.count("= ANY(%(ids)s::VARCHAR[])") == 2
    assert compiled.params({"ids": ("B", "A")}) == {"ids": ["B", "A"]}


def test_a_list_of_ids_is_one_json_parameter_on_sqlite() -> None:
    table = Table("t", MetaData(), Column("client_id", String, primary_key=True))
    statement = Statement(select(table.c.client_id).where(any_of(table.c.client_id, "ids")))
    compiled = statement.construct.compile(dialect=sqlite.dialect())  # type: ignore[attr-defined]
    assert "IN (SELECT value FROM json_each(?))" in str(compiled)
    assert "= 1" not in str(compiled)  # a bare condition, which SQLite answers from the index
    (process,) = [
        b.type.dialect_impl(sqlite.dialect()).bind_processor(sqlite.dialect())
        for b in compiled.binds.values()
    ]
    assert process is not None
    with closing(sqlite3.connect(":memory:")) as conn:
        conn.execute("CREATE TABLE t (client_id TEXT PRIMARY KEY)")
        conn.executemany("INSERT INTO t VALUES (?)", [("A",), ("B",), ("C",)])
        found = conn.execute(str(compiled) + " ORDER BY 1", (process(["C", "A", "Z"]),)).fetchall()
        none = conn.execute(str(compiled), (process([]),)).fetchall()
    assert found == [("A",), ("C",)]
    assert none == []
