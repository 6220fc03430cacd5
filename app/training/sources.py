"""Where training rows come from: a CSV or Parquet file, a synthetic book, or the stored book.

Each source gives a table: one NumPy column per name, numbers as float64 with NaN for
missing values and everything else as object arrays of str with None for missing values.
Profile sources (synthetic, profiles) are turned into feature columns by
`features.profile_features`, as of each row's reference date, plus the outcome columns.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from app.demo.synthetic import generate_book
from app.errors import ServiceError
from app.serving.features import PROFILE_INPUTS, Column, profile_features
from app.training import repository
from app.training.spec import (
    CsvSource,
    DatasetSpec,
    ParquetSource,
    SyntheticSource,
)

Table = dict[str, Column]
OUTCOMES = ("lapse_12m", "claim_count_next_year", "exposure", "purchase_6m")
# Marks the rows of `source.test` in the table read from two files: 1.0 for a test row.
TEST_FILE_COLUMN = "(source.test)"


def load_table(spec: DatasetSpec, *, spec_dir: Path, database_url: str | None) -> Table:
    """The spec's source as columns: the file's columns, or profile features and outcomes."""
    source = spec.source
    if isinstance(source, CsvSource | ParquetSource):
        return _read_file(source, spec_dir, _categorical_names(spec))
    if isinstance(source, SyntheticSource):
        book = generate_book(source.clients, source.seed, as_of=source.as_of)
        return {**profile_features(book.profiles, source.as_of), **book.outcomes}
    url = source.database_url or database_url
    if not url:
        raise ServiceError("source.database_url: give one, or set CLIENTSCORE_DATABASE_URL")
    return _read_profiles(url)


def _categorical_names(spec: DatasetSpec) -> set[str]:
    names = {f.name for f in spec.feature_specs() if f.type == "categorical"}
    for row_filter in spec.filter:
        if row_filter.equals is not None and isinstance(row_filter.equals, str):
            names.add(row_filter.column)
    return names


def _read_file(source: CsvSource | ParquetSource, spec_dir: Path, categorical: set[str]) -> Table:
    frame = _frame(source, "source.path", source.path, spec_dir, categorical)
    if source.test is not None:
        test = _frame(source, "source.test", source.test, spec_dir, categorical)
        if list(test.columns) != list(frame.columns):
            only_train = [str(c) for c in frame.columns if c not in test.columns]
            only_test = [str(c) for c in test.columns if c not in frame.columns]
            raise ServiceError(
                "source.test: its columns differ from source.path's: "
                f"only in source.path: {', '.join(only_train) or '-'}; "
                f"only in source.test: {', '.join(only_test) or '-'}"
                + ("" if only_train or only_test else "; same names in another order")
            )
        marker = np.concatenate([np.zeros(len(frame)), np.ones(len(test))])
        frame = pd.concat([frame, test], ignore_index=True)
        frame[TEST_FILE_COLUMN] = marker
    return frame_table(frame, categorical)


def _frame(
    source: CsvSource | ParquetSource, key: str, given: Path, spec_dir: Path, categorical: set[str]
) -> pd.DataFrame:
    path = given if given.is_absolute() else spec_dir / given
    if not path.is_file() and source.missing:
        raise ServiceError(f"{key}: no file at {path}{source.missing}")
    return read_frame(path, key, categorical, csv=isinstance(source, CsvSource))


def read_frame(path: Path, key: str, categorical: set[str], *, csv: bool) -> pd.DataFrame:
    """A CSV (optionally .gz) or Parquet file; a ServiceError under `key` if it cannot be read."""
    if not path.is_file():
        raise ServiceError(f"{key}: no file at {path}")
    try:
        if csv:
            # Categorical columns are read as text, so codes such as postcodes keep their
            # spelling instead of becoming floats.
            header = pd.read_csv(path, nrows=0).columns
            return pd.read_csv(path, dtype={c: str for c in categorical if c in header})
        return pd.read_parquet(path)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise ServiceError(f"{key}: cannot read {path}: {exc}") from exc


def frame_table(frame: pd.DataFrame, categorical: set[str]) -> Table:
    """A frame's columns as a table: numbers as float64, categorical columns as text."""
    return {str(name): _column(frame[name], str(name) in categorical) for name in frame.columns}


def _column(series: pd.Series[Any], categorical: bool) -> Column:
    if not categorical and (
        pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
    ):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    # Text and categorical columns: str or None. A number used as a category is spelt as a
    # CSV holds it (1, not 1.0), whichever file format it came from.
    values = np.empty(len(series), dtype=object)
    values[:] = [None if pd.isna(v) else as_text(v) if categorical else v for v in series.tolist()]
    return values


def as_text(value: Any) -> str:
    """A value as a categorical level: integral numbers without a decimal point (1, not 1.0)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_profiles(url: str) -> Table:
    """Clients with an outcome row, their features computed as of each `observed_at`."""
    names, rows = repository.labelled_clients(url, PROFILE_INPUTS, OUTCOMES)
    if not rows:
        raise ServiceError("source kind profiles: no client has an outcome row (client_outcome)")
    return _profile_table(names, rows)


def _profile_table(names: Sequence[str], rows: Sequence[Any]) -> Table:
    columns: dict[str, Column] = {}
    for name, values in zip(names, zip(*rows, strict=True), strict=True):
        array = np.empty(len(values), dtype=object)
        for i, value in enumerate(values):  # one by one: product lists must stay whole
            array[i] = value
        columns[name] = array
    observed: list[datetime.date] = list(columns["observed_at"])
    table = profile_features(columns, np.asarray(observed, dtype="datetime64[D]"))
    for name in OUTCOMES:
        table[name] = np.asarray(columns[name], dtype=np.float64)
    table["client_id"] = columns["client_id"]
    return table
