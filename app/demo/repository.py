"""The demo book's repository: bulk load of a synthetic book into the profile store, COPY on
Postgres, batches on SQLite.

A batch job, not a request: it runs on a synchronous connection in one transaction, stages the
rows in temporary tables and adds only the clients not stored yet, so a second run with the
same book changes nothing. Rows are written in the form the API stores (same columns, same
fingerprint), so a later identical PUT of such a client is recognised as unchanged.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import repeat
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
from pyarrow import csv
from sqlalchemy import (
    Column,
    Connection,
    ForeignKeyConstraint,
    MetaData,
    Table,
    create_engine,
    insert,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from app.db.engine import add_sqlite_pragmas, ensure_sqlite_folder, is_sqlite, sync_url
from app.demo.synthetic import NULLABLE_BOOL, NULLABLE_INT, SyntheticBook
from app.profiles.mapping import PERSONAL_FIELDS, PROFILE_FIELDS, fingerprint
from app.profiles.tables import Client, ClientOutcome, ClientPersonal

OUTCOME_FIELDS = ("lapse_12m", "claim_count_next_year", "exposure", "purchase_6m")
_JSON_COLUMNS = frozenset({"products_held", "extra", "contact_consent"})
# Profile objects the synthetic book leaves empty: no extra facts, no recorded consent.
_EMPTY = ("extra", "contact_consent")
_TARGETS: dict[str, Table] = {
    "client": Client.__table__,  # type: ignore[dict-item]
    "client_personal": ClientPersonal.__table__,  # type: ignore[dict-item]
    "client_outcome": ClientOutcome.__table__,  # type: ignore[dict-item]
}
_TABLE_NAMES = {name: name for name in _TARGETS}
_STAGES = {name: f"book_{name}" for name in _TARGETS}
_ANY_CLIENT = "SELECT EXISTS (SELECT 1 FROM client)"
_STAGE_TABLES = {
    name: Table(stage, MetaData(), *(Column(c.name, c.type) for c in _TARGETS[name].columns))
    for name, stage in _STAGES.items()
}


@dataclass(frozen=True)
class BookLoad:
    clients: int
    stored: int
    already_stored: int
    seconds: float


@dataclass(frozen=True)
class _Batch:
    """Rows `start:stop` of the book with what only Python can compute: the fingerprints."""

    book: SyntheticBook
    start: int
    stop: int
    columns: dict[str, list[Any]]  # profile and personal fields as Python values
    fingerprints: list[str]
    has_personal: list[bool]
    observed_at: date
    now: datetime


def load_book(
    url: str, book: SyntheticBook, *, observed_at: date, batch_rows: int = 50_000
) -> BookLoad:
    """Store the clients of `book` that are not stored yet, with their personal data and
    outcomes (observed at `observed_at`). Clients already stored are left as they are."""
    started = time.perf_counter()
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                stored = _load_postgres(conn, book, observed_at=observed_at, batch_rows=batch_rows)
            else:
                _create_stages(conn, postgres=False)
                for batch in _batches(book, observed_at=observed_at, batch_rows=batch_rows):
                    _insert(conn, batch)
                stored = _merge(conn)
    finally:
        engine.dispose()
    return BookLoad(
        clients=len(book),
        stored=stored,
        already_stored=len(book) - stored,
        seconds=time.perf_counter() - started,
    )


def _load_postgres(
    conn: Connection, book: SyntheticBook, *, observed_at: date, batch_rows: int
) -> int:
    # Into an empty store the rows go straight to their tables, with the keys and indexes
    # dropped and made again at the end: set-based checks and sorted index builds instead
    # of work per row (PostgreSQL's advice for bulk loads; the
    # transaction makes it all or nothing). Otherwise they are staged and only the clients
    # not stored yet are moved over.
    direct = not conn.execute(text(_ANY_CLIENT)).scalar_one()
    foreign_keys = _foreign_keys_to_targets(conn)
    indexes = [index for table in _TARGETS.values() for index in table.indexes]
    primary_keys = [table.primary_key for table in _TARGETS.values()]
    if direct:
        for constraint in foreign_keys:
            conn.execute(DropConstraint(constraint))
        for key in primary_keys:
            conn.execute(DropConstraint(key))
        for index in indexes:
            conn.execute(DropIndex(index))
    else:
        _create_stages(conn, postgres=True)
    into = _TABLE_NAMES if direct else _STAGES
    # One batch is formatted in a thread while the previous one is copied: the server's
    # work and ours overlap.
    with ThreadPoolExecutor(max_workers=1) as pool:
        batches = _batches(book, observed_at=observed_at, batch_rows=batch_rows)
        pending = pool.submit(_csv_tables, next(batches, None))
        while (ready := pending.result()) is not None:
            pending = pool.submit(_csv_tables, next(batches, None))
            _copy(conn, ready, into)
    if not direct:
        return _merge(conn)
    for key in primary_keys:
        conn.execute(AddConstraint(key))
    for index in indexes:
        conn.execute(CreateIndex(index))
    for constraint in foreign_keys:
        conn.execute(AddConstraint(constraint))
    return len(book)


def _engine(url: str) -> Engine:
    engine = create_engine(sync_url(url))
    if is_sqlite(url):
        ensure_sqlite_folder(url)
        add_sqlite_pragmas(engine)
    return engine


def _batches(book: SyntheticBook, *, observed_at: date, batch_rows: int) -> Iterator[_Batch]:
    now = datetime.now(UTC)
    for start in range(0, len(book), batch_rows):
        stop = min(start + batch_rows, len(book))
        columns = book.python_columns(start, stop)
        profile = [columns[name] if name not in _EMPTY else repeat({}) for name in PROFILE_FIELDS]
        fingerprints, has_personal = [], []
        for values, person in zip(
            zip(*profile, strict=False),
            zip(*(columns[name] for name in PERSONAL_FIELDS), strict=True),
            strict=True,
        ):
            kept = dict(zip(PERSONAL_FIELDS, person, strict=True)) if any(person) else None
            # The fingerprint `mapping.to_row` computes for this profile sent to the API.
            fingerprints.append(fingerprint(dict(zip(PROFILE_FIELDS, values, strict=True)), kept))
            has_personal.append(kept is not None)
        yield _Batch(book, start, stop, columns, fingerprints, has_personal, observed_at, now)


def _rows(batch: _Batch) -> dict[str, list[dict[str, Any]]]:
    """The batch as rows of Python values, for the SQLite path."""
    ids = batch.book.profiles["client_id"][batch.start : batch.stop].tolist()
    stamps = {"version": 1, "created_at": batch.now, "updated_at": batch.now}
    clients, personal, outcomes = [], [], []
    outcome_columns = [
        batch.book.outcomes[name][batch.start : batch.stop].tolist() for name in OUTCOME_FIELDS
    ]
    for i, client_id in enumerate(ids):
        record = {name: batch.columns[name][i] for name in PROFILE_FIELDS if name not in _EMPTY}
        clients.append(
            {"client_id": client_id, **record, **{key: {} for key in _EMPTY}, **stamps}
            | {"fingerprint": batch.fingerprints[i]}
        )
        if batch.has_personal[i]:
            personal.append(
                {"client_id": client_id, **{n: batch.columns[n][i] for n in PERSONAL_FIELDS}}
            )
        outcome = {
            n: None if c[i] != c[i] else c[i]
            for n, c in zip(OUTCOME_FIELDS, outcome_columns, strict=True)
        }
        outcomes.append({"client_id": client_id, "observed_at": batch.observed_at, **outcome})
    return {"client": clients, "client_personal": personal, "client_outcome": outcomes}


def arrow_tables(batch: _Batch) -> dict[str, pa.Table]:
    """The batch as Arrow tables in the target tables' column order, for COPY."""
    rows = slice(batch.start, batch.stop)
    profiles, n = batch.book.profiles, batch.stop - batch.start
    stamp = batch.now.isoformat()
    client: dict[str, pa.Array] = {"client_id": _arrow(profiles["client_id"][rows])}
    for name in PROFILE_FIELDS:
        if name == "products_held":
            client[name] = pa.array(_json_lists(profiles[name][rows]), type=pa.string())
        elif name in _EMPTY:
            client[name] = pa.array(["{}"] * n, type=pa.string())
        else:
            client[name] = _arrow(profiles[name][rows], name)
    client |= {
        "fingerprint": pa.array(batch.fingerprints, type=pa.string()),
        "version": pa.array(np.ones(n, dtype=np.int64)),
        "created_at": pa.array([stamp] * n, type=pa.string()),
        "updated_at": pa.array([stamp] * n, type=pa.string()),
    }
    personal = {"client_id": client["client_id"]} | {
        name: _arrow(profiles[name][rows]) for name in PERSONAL_FIELDS
    }
    outcome = {
        "client_id": client["client_id"],
        "observed_at": pa.array([batch.observed_at.isoformat()] * n, type=pa.string()),
    } | {name: _arrow(batch.book.outcomes[name][rows]) for name in OUTCOME_FIELDS}
    return {
        "client": pa.table(client),
        "client_personal": pa.table(personal).filter(pa.array(batch.has_personal)),
        "client_outcome": pa.table(outcome),
    }


def _arrow(column: np.ndarray[Any, Any], name: str = "") -> pa.Array:
    if column.dtype == object:
        return pa.array(column, type=pa.string())
    array = pa.array(column, from_pandas=True)  # NaN and NaT become nulls
    if name in NULLABLE_INT:
        return array.cast(pa.int64())
    if name in NULLABLE_BOOL:
        return array.cast(pa.bool_())
    return array


def _json_lists(column: np.ndarray[Any, Any]) -> list[str]:
    texts: dict[tuple[str, ...], str] = {}
    return [texts.get(v) or texts.setdefault(v, orjson.dumps(list(v)).decode()) for v in column]


def _create_stages(conn: Connection, *, postgres: bool) -> None:
    for name, stage in _STAGES.items():
        if postgres:
            conn.execute(text(f"CREATE TEMP TABLE {stage} (LIKE {name}) ON COMMIT DROP"))
        else:
            conn.execute(text(f"DROP TABLE IF EXISTS temp.{stage}"))
            conn.execute(text(f"CREATE TEMP TABLE {stage} AS SELECT * FROM {name} WHERE 0"))


def _foreign_keys_to_targets(conn: Connection) -> list[ForeignKeyConstraint]:
    """Every foreign key in the database that points at the loaded tables, whichever table
    holds it (read from the database itself, so a table added later is never missed)."""
    schema = MetaData()
    schema.reflect(conn)
    return [
        constraint
        for table in schema.sorted_tables
        for constraint in table.foreign_key_constraints
        if constraint.referred_table.name in _TARGETS
    ]


def _csv_tables(batch: _Batch | None) -> dict[str, tuple[list[str], bytes]] | None:
    # The columns go to CSV in Arrow's C++ writer straight from the NumPy arrays: formatting
    # forty values per row in Python would cost more than everything else together.
    if batch is None:
        return None
    tables = {}
    for name, table in arrow_tables(batch).items():
        sink = io.BytesIO()
        csv.write_csv(table, sink, csv.WriteOptions(include_header=False))
        tables[name] = (table.column_names, sink.getvalue())
    return tables


def _copy(
    conn: Connection, tables: dict[str, tuple[list[str], bytes]], into: dict[str, str]
) -> None:
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    for name, (columns, data) in tables.items():
        if data:
            statement = f"COPY {into[name]} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
            with cursor.copy(statement) as copy:
                copy.write(data)


def _insert(conn: Connection, batch: _Batch) -> None:
    for name, rows in _rows(batch).items():
        if rows:
            conn.execute(insert(_STAGE_TABLES[name]), rows)


def _merge(conn: Connection) -> int:
    """Move the staged clients that are not stored yet into the store; returns how many."""
    conn.execute(text("DROP TABLE IF EXISTS book_new"))
    conn.execute(
        text(
            "CREATE TEMP TABLE book_new AS SELECT s.client_id FROM book_client s "
            "WHERE NOT EXISTS (SELECT 1 FROM client c WHERE c.client_id = s.client_id)"
        )
    )
    for name, stage in _STAGES.items():
        names = ", ".join(c.name for c in _TARGETS[name].columns)
        conn.execute(
            text(
                f"INSERT INTO {name} ({names}) SELECT {names} FROM {stage} "
                "WHERE client_id IN (SELECT client_id FROM book_new)"
            )
        )
    stored = conn.execute(text("SELECT count(*) FROM book_new")).scalar_one()
    conn.execute(text("DROP TABLE book_new"))
    return int(stored)
