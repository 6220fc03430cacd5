"""From a source table to the matrices a model is fitted and judged on.

Rows are filtered, rows without a target dropped (and counted), the held-out test rows set
aside, the validation rows for early stopping carved from the training rows only, the
categorical levels fixed from the training rows, and every feature encoded.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from app.arrays import BoolArray, FloatArray
from app.errors import ServiceError
from app.serving.features import PROFILE_LEVELS, Column, encode, transformed
from app.serving.metadata import FeatureSpec
from app.training.sources import TEST_FILE_COLUMN, Table, as_text
from app.training.spec import DEFAULT_TEST_FRACTION, ColumnSplit, DatasetSpec, RowFilter

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)  # arrays have no single truth value to compare by
class PreparedData:
    """Encoded rows and which part each belongs to; `dropped` counts rows left out, by cause."""

    features: list[FeatureSpec]
    x: FloatArray
    y: FloatArray
    exposure: FloatArray | None
    fit: IntArray
    validation: IntArray
    test: IntArray
    dropped: dict[str, int]

    def sha256(self) -> str:
        """A stable hash of what the model saw: encoded features, target and exposure."""
        digest = hashlib.sha256()
        for array in (self.x, self.y, self.exposure):
            if array is not None:
                digest.update(np.ascontiguousarray(array, dtype="<f8").tobytes())
        return digest.hexdigest()


def prepare(spec: DatasetSpec, table: Table) -> PreparedData:
    declared = spec.feature_specs([c for c in table if c != TEST_FILE_COLUMN])
    _check_columns(spec, table, declared)
    keep, dropped = _kept_rows(spec, table)
    rows = {name: values[keep] for name, values in table.items()}
    y = _target(spec, _clipped(spec, spec.target, rows[spec.target]))
    exposure = _clipped(spec, spec.exposure, rows[spec.exposure]) if spec.exposure else None
    test = _test_mask(spec, rows)
    fit, validation = _carve_validation(spec, rows, np.flatnonzero(~test))
    if len(fit) == 0 or not test.any():
        raise ServiceError(
            f"split: {int(test.sum())} test and {len(fit)} training rows; both must be non-empty"
        )
    if spec.split.cv_folds is None and len(validation) == 0:
        raise ServiceError("split: no validation rows among the training rows")
    train_rows = np.concatenate([fit, validation])
    features = [_with_levels(spec, f, rows[f.name][train_rows]) for f in declared]
    return PreparedData(
        features=features,
        x=encode(rows, features),
        y=y,
        exposure=None if exposure is None else np.asarray(exposure, dtype=np.float64),
        fit=fit,
        validation=validation,
        test=np.flatnonzero(test),
        dropped=dropped,
    )


def _clipped(spec: DatasetSpec, name: str, values: Column) -> Column:
    transform = spec.transforms.get(name)
    if transform is None:
        return values
    return transformed(_numbers(f"transforms.{name}", values), transform)


def _check_columns(spec: DatasetSpec, table: Table, features: list[FeatureSpec]) -> None:
    wanted = {
        "target": [spec.target],
        "exposure": [spec.exposure] if spec.exposure else [],
        "features": [f.name for f in features],
        "filter": [f.column for f in spec.filter],
        "split.column": [spec.split.column] if isinstance(spec.split, ColumnSplit) else [],
        "split.validation_column": [spec.split.validation_column]
        if spec.split.validation_column
        else [],
        "transforms": list(spec.transforms),
    }
    for key, names in wanted.items():
        missing = [name for name in names if name not in table]
        if missing:
            raise ServiceError(
                f"{key}: no column {', '.join(missing)} in the data; "
                f"it has: {', '.join(sorted(c for c in table if c != TEST_FILE_COLUMN))}"
            )
    if not features:
        raise ServiceError("features: numeric: rest leaves no column")
    if spec.features_rest():
        text = [f.name for f in features if f.type == "numeric" and table[f.name].dtype == object]
        if text:
            raise ServiceError(
                f"features: rest takes text column(s) {', '.join(text)}; "
                "name them under categorical or in drop"
            )
    used = {f.name for f in features} | {spec.target, spec.exposure}
    unused = sorted(set(spec.transforms) - used)
    if unused:
        raise ServiceError(f"transforms.{unused[0]}: not a feature, the target or the exposure")


def _kept_rows(spec: DatasetSpec, table: Table) -> tuple[BoolArray, dict[str, int]]:
    keep = np.ones(len(table[spec.target]), dtype=bool)
    for row_filter in spec.filter:
        keep &= _passes(row_filter, table[row_filter.column])
    dropped = {"filtered_out": int((~keep).sum())}
    target = _numbers("target", table[spec.target])
    missing = keep & np.isnan(target)
    dropped["missing_target"] = int(missing.sum())
    keep &= ~missing
    if spec.exposure:
        exposure = _numbers("exposure", table[spec.exposure])
        no_cover = keep & ~(exposure > 0)  # also NaN
        dropped["missing_or_zero_exposure"] = int(no_cover.sum())
        keep &= ~no_cover
    if not keep.any():
        raise ServiceError(f"no rows left to train on after dropping: {dropped}")
    return keep, dropped


def _numbers(key: str, values: Column) -> FloatArray:
    if values.dtype != np.float64:
        raise ServiceError(f"{key}: column must hold numbers")
    return np.asarray(values, dtype=np.float64)


def _passes(row_filter: RowFilter, values: Column) -> BoolArray:
    key = f"filter ({row_filter.column})"
    keep = np.ones(len(values), dtype=bool)
    if row_filter.equals is not None:
        keep &= _equal(values, row_filter.equals)
    if row_filter.one_of is not None:
        keep &= np.logical_or.reduce([_equal(values, v) for v in row_filter.one_of])
    if row_filter.min is not None:
        keep &= _numbers(key, values) >= row_filter.min
    if row_filter.max is not None:
        keep &= _numbers(key, values) <= row_filter.max
    return keep


def _equal(values: Column, wanted: str | float | bool) -> BoolArray:
    """Rows equal to `wanted`: as text in a text column (1 matches "1"), else as a number."""
    if values.dtype == object:
        return np.asarray(values == as_text(wanted), dtype=bool)
    try:
        number = float(wanted)
    except ValueError:
        return np.zeros(len(values), dtype=bool)
    return np.asarray(values == number, dtype=bool)


def _target(spec: DatasetSpec, values: Column) -> FloatArray:
    y = np.asarray(values, dtype=np.float64)
    if spec.task == "binary" and not np.isin(y, (0.0, 1.0)).all():
        found = sorted(set(np.unique(y[~np.isin(y, (0.0, 1.0))]).tolist()))[:5]
        raise ServiceError(f"target: {spec.target} must be 0 or 1 for task binary; found {found}")
    if spec.task == "poisson" and (y < 0).any():
        raise ServiceError(f"target: {spec.target} must be a count (>= 0) for task poisson")
    return y


def _test_mask(spec: DatasetSpec, rows: Table) -> BoolArray:
    split = spec.split
    n = len(rows[spec.target])
    if TEST_FILE_COLUMN in rows:
        return np.asarray(rows[TEST_FILE_COLUMN], dtype=bool)
    if isinstance(split, ColumnSplit):
        return _equal(rows[split.column], split.test_value)
    share = DEFAULT_TEST_FRACTION if split.test_fraction is None else split.test_fraction
    rng = np.random.default_rng(split.seed)
    test = np.zeros(n, dtype=bool)
    test[rng.permutation(n)[: round(n * share)]] = True
    return test


def _carve_validation(spec: DatasetSpec, rows: Table, train: IntArray) -> tuple[IntArray, IntArray]:
    """Validation rows drawn from the training rows only, seeded; both parts in row order.

    By column: the training rows where it holds the value. With cross-validation: none.
    """
    split = spec.split
    if split.validation_column is not None and split.validation_value is not None:
        chosen = _equal(rows[split.validation_column][train], split.validation_value)
        return train[~chosen], train[chosen]
    share = split.share()
    if share == 0:
        return train, train[:0]
    # Another stream than the test split's, so the two draws are not the same permutation.
    rng = np.random.default_rng([split.seed, 1])
    chosen = np.zeros(len(train), dtype=bool)
    chosen[rng.permutation(len(train))[: max(1, round(len(train) * share))]] = True
    return train[~chosen], train[chosen]


def _with_levels(spec: DatasetSpec, feature: FeatureSpec, train_values: Column) -> FeatureSpec:
    if feature.type == "numeric":
        if train_values.dtype == object:
            raise ServiceError(f"features: {feature.name} holds text; declare it categorical")
        return feature
    if train_values.dtype != object:
        raise ServiceError(f"features: {feature.name} holds numbers; declare it numeric")
    if feature.levels is not None:
        return feature
    if spec.derive == "profile" and feature.name in PROFILE_LEVELS:
        levels: Sequence[str] = PROFILE_LEVELS[feature.name]
    else:
        levels = _levels_by_frequency(train_values)
    return FeatureSpec(name=feature.name, type="categorical", levels=list(levels))


def _levels_by_frequency(values: Column) -> list[str]:
    """Distinct values, most frequent first, ties by name: code 0 is the commonest."""
    counts: Counter[Any] = Counter(v for v in values.tolist() if v is not None and v == v)
    return [str(v) for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))]
