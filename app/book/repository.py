"""Reading the stored book for a run: partitions by client id ranges, each as Arrow columns.

Partitions are key ranges (after one client id, up to another), planned once at the start
of a run from every n-th client id, so a resumed run reads exactly the partitions it left.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.sql import Select

from app.book.columns import PROFILE_SCHEMA, consent_text
from app.db.engine import add_sqlite_pragmas, is_sqlite, sync_url
from app.profiles.tables import Client

_NAMES = tuple(field.name for field in PROFILE_SCHEMA)
_COLUMNS = tuple(getattr(Client, name) for name in _NAMES)


def engine_for(url: str) -> Engine:
    engine = create_engine(sync_url(url), hide_parameters=True)
    if is_sqlite(url):
        add_sqlite_pragmas(engine)
    return engine


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Client)).scalar_one())


def bounds(engine: Engine, rows: int) -> list[str]:
    """Every `rows`-th client id in id order: the last id of each full partition."""
    numbered = select(
        Client.client_id, func.row_number().over(order_by=Client.client_id).label("n")
    ).subquery()
    query = (
        select(numbered.c.client_id).where(numbered.c.n % rows == 0).order_by(numbered.c.client_id)
    )
    with engine.connect() as conn:
        return [str(value) for value in conn.execute(query).scalars()]


def _range(after: str | None, upto: str | None) -> Select[tuple[object, ...]]:
    query = select(*_COLUMNS).order_by(Client.client_id)
    if after is not None:
        query = query.where(Client.client_id > after)
    if upto is not None:
        query = query.where(Client.client_id <= upto)
    return query


def read_range(engine: Engine, after: str | None, upto: str | None) -> pa.Table:
    """The profiles with `after` < client id <= `upto` (None: no bound), in `PROFILE_SCHEMA`."""
    with engine.connect() as conn:
        rows: Sequence[tuple[object, ...]] = conn.execute(_range(after, upto)).all()
    values: list[Sequence[object]] = list(zip(*rows, strict=True)) if rows else [() for _ in _NAMES]
    consent = _NAMES.index("contact_consent")
    values[consent] = [consent_text(c) for c in values[consent]]  # type: ignore[arg-type]
    return pa.table(
        [pa.array(list(v), type=f.type) for v, f in zip(values, PROFILE_SCHEMA, strict=True)],
        schema=PROFILE_SCHEMA,
    )
