"""Where a run's profiles come from: the stored book, Parquet files or CSV files.

Each source cuts the book into numbered partitions the same way every time it is given the
same input and partition size, so a resumed run skips the partitions it finished (a
Parquet file's partitions are whole row groups and are not even read; a CSV file is read
through, as a stream has no index).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from app.book import repository
from app.book.columns import PROFILE_SCHEMA
from app.errors import ServiceError

Partitions = Iterator[tuple[int, pa.Table]]


class Source(Protocol):
    def describe(self) -> str: ...

    def total_rows(self) -> int | None: ...

    def partitions(self, rows: int, skip: frozenset[int]) -> Partitions: ...


@dataclass(frozen=True)
class DatabaseSource:
    url: str

    def describe(self) -> str:
        return self.describe_stored()

    @staticmethod
    def describe_stored() -> str:
        return "the stored book"

    def total_rows(self) -> int:
        engine = repository.engine_for(self.url)
        try:
            return repository.count(engine)
        finally:
            engine.dispose()

    def partitions(self, rows: int, skip: frozenset[int]) -> Partitions:
        engine = repository.engine_for(self.url)
        try:
            ends: list[str | None] = [*repository.bounds(engine, rows), None]
            after: str | None = None
            for index, upto in enumerate(ends):
                if index not in skip:
                    yield index, repository.read_range(engine, after, upto)
                after = upto
        finally:
            engine.dispose()


@dataclass(frozen=True)
class FileSource:
    paths: tuple[Path, ...]

    @classmethod
    def of(cls, paths: Sequence[Path]) -> FileSource:
        for path in paths:
            if not path.is_file():
                raise ServiceError(f"{path} is not a file")
            if path.suffix.lower() not in (".parquet", ".csv"):
                raise ServiceError(f"{path}: give .parquet or .csv files of profiles")
        return cls(tuple(paths))

    def describe(self) -> str:
        return ", ".join(str(path) for path in self.paths)

    def total_rows(self) -> int | None:
        if any(path.suffix.lower() == ".csv" for path in self.paths):
            return None
        return sum(int(self._parquet(path).metadata.num_rows) for path in self.paths)

    def partitions(self, rows: int, skip: frozenset[int]) -> Partitions:
        index = 0
        for path in self.paths:
            parts = self._csv(path, rows) if path.suffix.lower() == ".csv" else None
            if parts is None:
                for groups in _row_group_runs(self._parquet(path), rows):
                    if index not in skip:
                        yield index, self._parquet(path).read_row_groups(groups)
                    index += 1
                continue
            for table in parts:
                if index not in skip:
                    yield index, table
                index += 1

    @staticmethod
    def _parquet(path: Path) -> pq.ParquetFile:
        try:
            return pq.ParquetFile(path)
        except Exception as exc:
            raise ServiceError(f"{path} cannot be read as Parquet: {exc}") from None

    @staticmethod
    def _csv(path: Path, rows: int) -> Iterator[pa.Table]:
        types = {f.name: f.type for f in PROFILE_SCHEMA if f.name != "products_held"}
        try:
            reader = pcsv.open_csv(
                path,
                read_options=pcsv.ReadOptions(block_size=8 << 20),
                convert_options=pcsv.ConvertOptions(column_types=types, strings_can_be_null=True),
            )
            pending: list[pa.RecordBatch] = []
            held = 0
            for batch in reader:
                pending.append(batch)
                held += batch.num_rows
                while held >= rows:
                    table = pa.Table.from_batches(pending)
                    yield table.slice(0, rows)
                    rest = table.slice(rows)
                    pending, held = rest.to_batches(), rest.num_rows
            if held:
                yield pa.Table.from_batches(pending, schema=reader.schema)
        except pa.ArrowInvalid as exc:
            raise ServiceError(f"{path} cannot be read as CSV profiles: {exc}") from None


def _row_group_runs(file: pq.ParquetFile, rows: int) -> Iterator[list[int]]:
    """Consecutive row groups of about `rows` rows together (a bigger group alone)."""
    run: list[int] = []
    held = 0
    for group in range(file.num_row_groups):
        run.append(group)
        held += file.metadata.row_group(group).num_rows
        if held >= rows:
            yield run
            run, held = [], 0
    if run:
        yield run
