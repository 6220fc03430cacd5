"""A synthetic book written as a Parquet file of profiles, to try or measure a book run.

Drawn in chunks of at most a million clients (each chunk its own seed), so a book of ten
million is written without holding it whole.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from app.book.columns import PROFILE_SCHEMA
from app.demo.synthetic import generate_book

CHUNK = 1_000_000


def profile_table(profiles: dict[str, np.ndarray[Any, Any]], first: int | None = None) -> pa.Table:
    """Synthetic profile columns in `PROFILE_SCHEMA`; with `first`, ids renumbered from it
    (a book drawn in chunks), else the book's own."""
    n = len(profiles["kind"])
    columns = []
    for field in PROFILE_SCHEMA:
        if field.name == "client_id" and first is not None:
            numbers = np.arange(first, first + n).astype(str)
            ids = np.char.add("S", np.char.zfill(numbers, 10)).astype(object)
            columns.append(pa.array(ids, pa.string()))
        elif field.name == "client_id":
            columns.append(pa.array(profiles["client_id"], pa.string()))
        elif field.name == "products_held":
            columns.append(pa.array([list(v) for v in profiles[field.name]], field.type))
        elif field.name not in profiles:  # contact consent: none recorded in the book
            columns.append(pa.nulls(n, field.type))
        else:
            values = profiles[field.name]
            array = pa.array(values, from_pandas=True)
            columns.append(array.cast(field.type))
    return pa.table(columns, schema=PROFILE_SCHEMA)


def write_book(
    path: Path, clients: int, *, seed: int, as_of: date, row_group: int = 100_000
) -> int:
    """Write `clients` synthetic profiles to `path`; returns the rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, PROFILE_SCHEMA, compression="zstd") as writer:
        for k, start in enumerate(range(0, clients, CHUNK)):
            n = min(CHUNK, clients - start)
            book = generate_book(n, seed + k, as_of=as_of)
            writer.write_table(profile_table(book.profiles, start + 1), row_group_size=row_group)
    return clients
