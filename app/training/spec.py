"""The dataset spec: a YAML file saying what a model learns from and how it is trained.

See docs/training.md for the format. Loading reports every mistake with the key that holds it.
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationError,
    model_validator,
)

from app.errors import ServiceError
from app.serving.metadata import FeatureSpec, Task, Transform
from app.training.params import canonical
from app.training.tune_spec import Tune, check_space
from app.yamltext import load_yaml

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

M = TypeVar("M", bound=BaseModel)
OBJECTIVES: dict[str, str] = {"binary": "binary", "poisson": "poisson"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _FileSource(_Strict):
    path: Path
    test: Path | None = Field(
        default=None, description="The test rows, in a file of the same kind and columns."
    )
    download: str | None = Field(
        default=None,
        description="Where to get the file (a URL, how to export it), said when it is missing.",
    )
    _origin: str = PrivateAttr(default="")

    @property
    def origin(self) -> str:
        """How `path` was made from the environment, for error messages; empty if written out."""
        return self._origin

    @property
    def missing(self) -> str:
        """What to add to "no file at ...": where the folder came from and where to get it."""
        notes = [note for note in (self._origin, download_note(self.download)) if note]
        return f" ({'; '.join(notes)})" if notes else ""


def download_note(download: object) -> str:
    """The spec's `source.download`, worded for an error message; empty without one."""
    return f"download it from {download}" if isinstance(download, str) and download else ""


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


DEFAULT_VALIDATION_FRACTION = 0.15
DEFAULT_TEST_FRACTION = 0.2


class _SplitBase(_Strict):
    validation_fraction: float | None = Field(
        default=None,
        ge=0,
        lt=1,
        description="Share of the training rows kept for early stopping (default 0.15); "
        "0 with cv_folds.",
    )
    validation_column: str | None = Field(
        default=None, description="The validation rows are the training rows where it equals"
    )
    validation_value: str | float | bool | None = Field(default=None, description="... this value.")
    cv_folds: int | None = Field(
        default=None, ge=2, le=20, description="Rounds (and tuning) by k-fold cross-validation."
    )
    refit: bool | None = Field(
        default=None,
        description="Refit on all training rows with the number of rounds found "
        "(default: yes with cv_folds or tune, else no).",
    )
    seed: int = Field(default=42, ge=0)

    @model_validator(mode="after")
    def _one_way_to_validate(self) -> _SplitBase:
        if (self.validation_column is None) != (self.validation_value is None):
            raise ValueError("validation_column and validation_value go together")
        if self.validation_column is not None and self.validation_fraction is not None:
            raise ValueError("give validation_fraction or validation_column, not both")
        if self.cv_folds is not None:
            if self.validation_column is not None or (self.validation_fraction or 0) > 0:
                raise ValueError("cv_folds uses every training row: set validation_fraction: 0")
            if self.refit is False:
                raise ValueError("cv_folds refits on all training rows: drop refit: false")
        elif self.validation_fraction == 0:
            raise ValueError(
                "validation_fraction 0 needs cv_folds (the number of rounds comes from "
                "cross-validation)"
            )
        return self

    def share(self) -> float:
        """The share of the training rows carved for validation (0 by column or with CV)."""
        if self.validation_column is not None or self.cv_folds is not None:
            return 0.0
        return (
            DEFAULT_VALIDATION_FRACTION
            if self.validation_fraction is None
            else self.validation_fraction
        )


class RandomSplit(_SplitBase):
    kind: Literal["random"]
    test_fraction: float | None = Field(default=None, gt=0, lt=1, description="Default 0.2.")


class ColumnSplit(_SplitBase):
    kind: Literal["column"]
    column: str
    test_value: str | float | bool


Split = Annotated[RandomSplit | ColumnSplit, Field(discriminator="kind")]


class FeatureGroups(_Strict):
    """`features: {numeric: rest}`: every column not otherwise named, or lists of names."""

    numeric: list[str] | Literal["rest"] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)


class Metrics(_Strict):
    capture_at: list[Annotated[float, Field(gt=0)]] = Field(
        default_factory=list,
        description="Share of positives (claims) in the top k rows (k >= 1) or top share (< 1).",
    )

    @model_validator(mode="after")
    def _whole_or_share(self) -> Metrics:
        for k in self.capture_at:
            if k >= 1 and not float(k).is_integer():
                raise ValueError(f"capture_at: {k} is neither a whole row count nor a share < 1")
        return self


def _feature_form(value: Any) -> str:
    return "list" if isinstance(value, list) else "groups"


class DatasetSpec(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="The model's name.")
    task: Task = Field(description="binary or poisson; retention specs: app.training.retention")
    target: str
    exposure: str | None = None
    source: Source
    derive: Literal["profile"] | None = None
    features: Annotated[
        Annotated[list[FeatureSpec], Field(min_length=1), Tag("list")]
        | Annotated[FeatureGroups, Tag("groups")],
        Discriminator(_feature_form),
    ]
    drop: list[str] = Field(default_factory=list, description="Columns `rest` leaves out.")
    transforms: dict[str, Transform] = Field(default_factory=dict)
    filter: list[RowFilter] = Field(default_factory=list)
    split: Split = Field(default_factory=lambda: RandomSplit(kind="random"))
    params: dict[str, Any] = Field(default_factory=dict)
    tune: Tune | None = None
    metrics: Metrics = Field(default_factory=Metrics)

    @model_validator(mode="after")
    def _consistent(self) -> DatasetSpec:
        if self.exposure is not None and self.task != "poisson":
            raise ValueError("exposure applies to task poisson only")
        if isinstance(self.source, SyntheticSource | ProfilesSource) != (self.derive == "profile"):
            raise ValueError("derive: profile goes with source kind synthetic or profiles, only")
        outcomes = {self.target, self.exposure} - {None}
        if isinstance(self.features, list):
            _check_features(self.features, outcomes)
        else:
            _check_groups(self.features, outcomes)
        if self.drop and self.features_rest() is None:
            raise ValueError("drop: applies with features: {numeric: rest} only")
        _check_transforms(self)
        _check_params(self.params)
        if self.tune is not None:
            check_space(self.tune, self.params)
            if self.split.refit is False:
                raise ValueError("tune refits on all training rows: drop split.refit: false")
        if isinstance(self.source, CsvSource | ParquetSource) and self.source.test is not None:
            if isinstance(self.split, ColumnSplit):
                raise ValueError("source.test holds the test rows: split kind column cannot")
            if self.split.test_fraction is not None:
                raise ValueError("source.test holds the test rows: drop split.test_fraction")
        return self

    def features_rest(self) -> str | None:
        """'numeric' when the features are every column not otherwise named, else None."""
        if isinstance(self.features, FeatureGroups) and self.features.numeric == "rest":
            return "numeric"
        return None

    def feature_specs(self, columns: Sequence[str] = ()) -> list[FeatureSpec]:
        """The features, `rest` resolved against the data's `columns`, transforms attached."""
        if isinstance(self.features, list):
            named = list(self.features)
        else:
            numeric = self.features.numeric
            if numeric == "rest":
                taken = self.used_columns() | set(self.drop) | set(self.features.categorical)
                numeric = [c for c in columns if c not in taken]
            named = [FeatureSpec(name=n, type="numeric") for n in numeric]
            named += [FeatureSpec(name=n, type="categorical") for n in self.features.categorical]
        return [
            f.model_copy(update={"transform": self.transforms[f.name]})
            if f.name in self.transforms
            else f
            for f in named
        ]

    def used_columns(self) -> set[str]:
        """Columns the spec uses otherwise than as features: outcomes, split columns."""
        used = {self.target, self.exposure, self.split.validation_column}
        if isinstance(self.split, ColumnSplit):
            used.add(self.split.column)
        return {c for c in used if c is not None}

    def refits(self) -> bool:
        """Whether the saved model is refitted on all training rows with the rounds found."""
        if self.split.refit is not None:
            return self.split.refit
        return self.split.cv_folds is not None or self.tune is not None

    def lightgbm_params(self) -> dict[str, Any]:
        """LightGBM parameters: the defaults, then the spec's, then the task's objective."""
        params = {**DEFAULT_PARAMS, **canonical(self.params), "objective": OBJECTIVES[self.task]}
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


def _check_groups(groups: FeatureGroups, outcomes: set[str | None]) -> None:
    numeric = [] if groups.numeric == "rest" else groups.numeric
    names = [*numeric, *groups.categorical]
    if not names and groups.numeric != "rest":
        raise ValueError("features: name some, or give numeric: rest")
    _check_features([FeatureSpec(name=n, type="numeric") for n in names], outcomes)


def _check_transforms(spec: DatasetSpec) -> None:
    if isinstance(spec.features, list):
        for i, feature in enumerate(spec.features):
            if feature.transform is not None:
                raise ValueError(f"features[{i}].transform: give it under `transforms`")
    categorical = {f.name for f in spec.feature_specs() if f.type == "categorical"}
    numeric = {f.name for f in spec.feature_specs() if f.type == "numeric"}
    outcomes = {spec.target, spec.exposure}
    for name, transform in spec.transforms.items():
        if name in categorical:
            raise ValueError(f"transforms.{name}: applies to numbers; {name} is categorical")
        if name in outcomes and (transform.log or transform.log1p):
            raise ValueError(f"transforms.{name}: the target and exposure take clip only")
        if name not in numeric | outcomes and spec.features_rest() is None:
            raise ValueError(f"transforms.{name}: not a feature, the target or the exposure")


def _check_params(params: dict[str, Any]) -> None:
    for key, value in params.items():
        if not isinstance(value, str | int | float | bool):
            raise ValueError(f"params.{key}: must be a number, string or boolean")
    canonical(params)
    for key in DEFAULT_ROUNDS:
        if key in params and (not isinstance(params[key], int) or params[key] < 1):
            raise ValueError(f"params.{key}: must be a whole number of at least 1")


def load_spec(path: Path, environ: Mapping[str, str] | None = None) -> DatasetSpec:
    """Read and validate a spec file; a `ServiceError` names each offending key.

    A file source's path may hold `${NAME}` or `${NAME:-default}`, replaced by the variable
    of `environ` (default: the process environment) as a shell would: the default stands in
    for an unset or empty variable, and an unset variable without one is an error.
    """
    return validated(DatasetSpec, path, read_raw(path), environ)


def read_raw(path: Path) -> dict[str, Any]:
    """A spec file's top-level mapping, unvalidated."""
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ServiceError(f"cannot read spec {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ServiceError(f"spec {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ServiceError(f"spec {path}: expected a mapping of keys at the top level")
    return raw


def validated(
    model: type[M], path: Path, raw: dict[str, Any], environ: Mapping[str, str] | None = None
) -> M:
    """`raw` as a `model` spec, its file paths expanded (see `load_spec`)."""
    source = raw.get("source")
    origin = ""
    for key in ("path", "test"):
        if isinstance(source, dict) and isinstance(source.get(key), str):
            try:
                expanded, note = expand_path(
                    source[key], os.environ if environ is None else environ
                )
            except ValueError as exc:
                note = download_note(source.get("download"))
                raise ServiceError(
                    f"spec {path}: source.{key}: {exc}" + (f"; {note}" if note else "")
                ) from exc
            origin = origin or note
            source = {**source, key: expanded}
            raw = {**raw, "source": source}
    try:
        spec = model.model_validate(raw)
    except ValidationError as exc:
        raise ServiceError(f"spec {path} is invalid:\n" + _describe(exc)) from exc
    file_source = getattr(spec, "source", None)
    if isinstance(file_source, _FileSource):
        file_source._origin = origin
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
    if len(loc) >= 2 and loc[0] in ("source", "split", "features"):
        loc = (loc[0], *loc[2:])
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
