"""The dataset spec: a YAML file saying what a model learns from and how it is trained.

See docs/training.md for the format. Loading reports every mistake with the key that holds it.
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from app.errors import ServiceError
from app.serving.metadata import FeatureSpec, Task

# LightGBM settings a spec gets unless it says otherwise. Compact trees on purpose: the
# service explains every score with TreeSHAP, whose cost grows with trees x leaves.
DEFAULT_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05,
    "num_leaves": 15,
    "max_depth": 5,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    # Many-level categoricals (province, industry, postcode) otherwise fit noise in rare levels.
    "cat_smooth": 50.0,
    "min_data_per_group": 200,
    "seed": 42,
    # Reproducible models: same data and seed give the same model.txt. Col-wise histograms
    # are forced because LightGBM otherwise picks by timing the two, which can vary by run.
    "deterministic": True,
    "force_col_wise": True,
    "num_threads": 2,
    "verbosity": -1,
}
DEFAULT_ROUNDS = {"num_boost_round": 1000, "early_stopping_rounds": 50}

# The folder of the data files, for specs whose path starts with ${CLIENTSCORE_DATA_DIR...}.
DATA_DIR_VARIABLE = "CLIENTSCORE_DATA_DIR"
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}")
_HINTS = {DATA_DIR_VARIABLE: " or give `clientscore train --data-dir DIR`"}
_LABELS = {DATA_DIR_VARIABLE: f"{DATA_DIR_VARIABLE} (or --data-dir)"}

OBJECTIVES: dict[str, str] = {"binary": "binary", "poisson": "poisson"}
# Aliases LightGBM reads for what the spec sets in one place only.
RESERVED_PARAMS: dict[str, str] = {
    **dict.fromkeys(("objective", "objective_type", "app", "application", "loss"), "set by `task`"),
    **dict.fromkeys(
        (
            "num_iterations",
            "num_iteration",
            "n_iter",
            "num_tree",
            "num_trees",
            "num_round",
            "num_rounds",
            "nrounds",
            "n_estimators",
            "max_iter",
        ),
        "use params.num_boost_round",
    ),
    **dict.fromkeys(
        ("early_stopping_round", "early_stopping", "n_iter_no_change"),
        "use params.early_stopping_rounds",
    ),
    **dict.fromkeys(
        (
            "categorical_feature",
            "cat_feature",
            "categorical_column",
            "cat_column",
            "categorical_features",
            "init_score_file",
            "weight_column",
            "label_column",
        ),
        "set by `features`, `target` and `exposure`",
    ),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _FileSource(_Strict):
    path: Path
    _origin: str = PrivateAttr(default="")

    @property
    def origin(self) -> str:
        """How `path` was made from the environment, for error messages; empty if written out."""
        return self._origin


class CsvSource(_FileSource):
    kind: Literal["csv"]
    path: Path = Field(description="CSV file, optionally gzip-compressed (.gz).")


class ParquetSource(_FileSource):
    kind: Literal["parquet"]


class SyntheticSource(_Strict):
    kind: Literal["synthetic"]
    clients: int = Field(gt=0, le=20_000_000)
    seed: int = Field(ge=0)
    as_of: datetime.date


class ProfilesSource(_Strict):
    kind: Literal["profiles"]
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: CLIENTSCORE_DATABASE_URL."
    )


Source = Annotated[
    CsvSource | ParquetSource | SyntheticSource | ProfilesSource, Field(discriminator="kind")
]


class RowFilter(_Strict):
    """Keep rows whose `column` passes every condition given (bounds are inclusive)."""

    column: str
    equals: str | float | bool | None = None
    one_of: list[str | float] | None = None
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _some_condition(self) -> RowFilter:
        if self.equals is None and self.one_of is None and self.min is None and self.max is None:
            raise ValueError("give at least one of equals, one_of, min, max")
        return self


class _SplitBase(_Strict):
    validation_fraction: float = Field(
        default=0.15, gt=0, lt=1, description="Share of the training rows kept for early stopping."
    )
    seed: int = Field(default=42, ge=0)


class RandomSplit(_SplitBase):
    kind: Literal["random"]
    test_fraction: float = Field(default=0.2, gt=0, lt=1)


class ColumnSplit(_SplitBase):
    kind: Literal["column"]
    column: str
    test_value: str | float | bool


Split = Annotated[RandomSplit | ColumnSplit, Field(discriminator="kind")]


class DatasetSpec(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="The model's name.")
    task: Task
    target: str
    exposure: str | None = None
    source: Source
    derive: Literal["profile"] | None = None
    features: list[FeatureSpec] = Field(min_length=1)
    filter: list[RowFilter] = Field(default_factory=list)
    split: Split = Field(default_factory=lambda: RandomSplit(kind="random"))
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> DatasetSpec:
        if self.exposure is not None and self.task != "poisson":
            raise ValueError("exposure applies to task poisson only")
        if isinstance(self.source, SyntheticSource | ProfilesSource) != (self.derive == "profile"):
            raise ValueError("derive: profile goes with source kind synthetic or profiles, only")
        _check_features(self.features, {self.target, self.exposure} - {None})
        _check_params(self.params)
        return self

    def lightgbm_params(self) -> dict[str, Any]:
        """LightGBM parameters: the defaults, then the spec's, then the task's objective."""
        params = {**DEFAULT_PARAMS, **self.params, "objective": OBJECTIVES[self.task]}
        for key in DEFAULT_ROUNDS:
            params.pop(key, None)
        return params

    def rounds(self) -> tuple[int, int]:
        """(most boosting rounds, rounds without improvement before stopping)."""
        merged = {**DEFAULT_ROUNDS, **self.params}
        return int(merged["num_boost_round"]), int(merged["early_stopping_rounds"])


def _check_features(features: list[FeatureSpec], outcomes: set[str | None]) -> None:
    names = [f.name for f in features]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"features repeat: {', '.join(repeated)}")
    leaks = sorted(n for n in names if n in outcomes)
    if leaks:
        raise ValueError(f"features include the target or exposure: {', '.join(leaks)}")
    for f in features:
        if f.levels is not None and f.type != "categorical":
            raise ValueError(f"feature {f.name}: levels apply to categorical features only")
        if f.levels is not None and len(set(f.levels)) != len(f.levels):
            raise ValueError(f"feature {f.name}: levels repeat")


def _check_params(params: dict[str, Any]) -> None:
    for key, value in params.items():
        if key in RESERVED_PARAMS:
            raise ValueError(f"params.{key}: {RESERVED_PARAMS[key]}")
        if not isinstance(value, str | int | float | bool):
            raise ValueError(f"params.{key}: must be a number, string or boolean")
    for key in DEFAULT_ROUNDS:
        if key in params and (not isinstance(params[key], int) or params[key] < 1):
            raise ValueError(f"params.{key}: must be a whole number of at least 1")


def load_spec(path: Path, environ: Mapping[str, str] | None = None) -> DatasetSpec:
    """Read and validate a spec file; a `ServiceError` names each offending key.

    A file source's path may hold `${NAME}` or `${NAME:-default}`, replaced by the variable
    of `environ` (default: the process environment) as a shell would: the default stands in
    for an unset or empty variable, and an unset variable without one is an error.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ServiceError(f"cannot read spec {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ServiceError(f"spec {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ServiceError(f"spec {path}: expected a mapping of keys at the top level")
    source = raw.get("source")
    origin = ""
    if isinstance(source, dict) and isinstance(source.get("path"), str):
        try:
            expanded, origin = expand_path(
                source["path"], os.environ if environ is None else environ
            )
        except ValueError as exc:
            raise ServiceError(f"spec {path}: source.path: {exc}") from exc
        raw = {**raw, "source": {**source, "path": expanded}}
    try:
        spec = DatasetSpec.model_validate(raw)
    except ValidationError as exc:
        raise ServiceError(f"spec {path} is invalid:\n" + _describe(exc)) from exc
    if isinstance(spec.source, _FileSource):
        spec.source._origin = origin
    return spec


def expand_path(text: str, environ: Mapping[str, str]) -> tuple[str, str]:
    """`text` with its `${NAME}` and `${NAME:-default}` replaced, and how they were.

    A value taken from the environment that starts the path and is relative is read from the
    current directory, as a path typed in a shell would be; a default is part of the spec, so
    like every relative path in it, it is read from the spec's folder.
    """
    if "${" in _VARIABLE.sub("", text):
        raise ValueError(f"{text}: write a variable as ${{NAME}} or ${{NAME:-default}}")
    notes: list[str] = []

    def value(match: re.Match[str]) -> str:
        name, has_default, default = match.group(1), match.group(2), match.group(3)
        given = environ.get(name, "")
        hint = f"set the environment variable {name}{_HINTS.get(name, '')}"
        if given:
            if match.start() == 0 and not os.path.isabs(given):
                given = os.path.abspath(given)
            notes.append(f"{_LABELS.get(name, name)} is {given}")
            return given
        if has_default is None:
            raise ValueError(f"{text}: {name} is not set; {hint}")
        notes.append(
            f"{name} is not set, so the spec's default {default} was used; to read "
            f"another folder, {hint}"
        )
        return default

    return _VARIABLE.sub(value, text), "; ".join(notes)


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors(include_url=False):
        key = _key(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"  {key}: {message}" if key else f"  {message}")
    return "\n".join(lines)


def _key(loc: tuple[int | str, ...]) -> str:
    """A dotted key as the user wrote it, without pydantic's union tag (`source.csv.path`)."""
    if len(loc) > 2 and loc[0] in ("source", "split"):
        loc = (loc[0], *loc[2:])
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
