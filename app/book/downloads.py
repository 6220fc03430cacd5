"""The report's full tables as files beside it, CSV and Parquet, for a spreadsheet or a
notebook: the codes as the results hold them (stable, to join on), money to the yuan."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from app.book.figures import Rows
from app.book.files import DOWNLOAD

FORMATS = ("csv", "parquet")
_KEEP_FRACTION = "_share"  # shares stay fractions; every other amount is whole

Table = tuple[Rows, Sequence[str]]  # the rows and their columns, in order


def _column(rows: Rows, name: str) -> pa.Array:
    values = [row.get(name) for row in rows]
    if not name.endswith(_KEEP_FRACTION) and any(isinstance(v, float) for v in values):
        values = [None if v is None else round(v) for v in values]
    return pa.array(values)


def as_table(rows: Rows, columns: Sequence[str]) -> pa.Table:
    return pa.table({name: _column(rows, name) for name in columns})


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    write(temp)
    os.replace(temp, path)


def _csv(table: pa.Table, path: Path) -> None:
    pacsv.write_csv(table, path)


def _parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path)


_WRITERS = {"csv": _csv, "parquet": _parquet}


def write_tables(tables: Mapping[str, Table], out: Path) -> list[str]:
    """`out/NAME.csv` and `out/NAME.parquet` per table; returns the file names."""
    written = []
    for name, (rows, columns) in tables.items():
        table = as_table(rows, columns)
        for suffix in FORMATS:
            path = out / f"{name}.{suffix}"
            assert DOWNLOAD.match(path.name), path.name
            _atomic(path, partial(_WRITERS[suffix], table))
            written.append(path.name)
    return written
