"""What a trained model version says about itself: `metadata.json` in its registry folder."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Task = Literal["binary", "poisson"]


class Clip(BaseModel):
    """Bounds a number is held within (inclusive); NaN stays NaN."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Clip:
        if self.min is None and self.max is None:
            raise ValueError("clip: give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("clip: min must not exceed max")
        return self


class Transform(BaseModel):
    """What is done to a numeric column before the model sees it: clip, then log or log1p.

    The log of a value <= 0 (log1p: <= -1) is missing (NaN), as LightGBM reads missing values.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    clip: Clip | None = None
    log: bool = False
    log1p: bool = False

    @model_validator(mode="after")
    def _something(self) -> Transform:
        if self.log and self.log1p:
            raise ValueError("give log or log1p, not both")
        if self.clip is None and not (self.log or self.log1p):
            raise ValueError("give clip, log or log1p")
        return self


class FeatureSpec(BaseModel):
    """One model input. Categorical levels are kept in the order their codes were assigned."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: Literal["numeric", "categorical"]
    levels: list[str] | None = None
    transform: Transform | None = Field(
        default=None, description="Applied to a numeric feature in training and scoring alike."
    )


class ScoreHistogram(BaseModel):
    """The model's scores on the held-out rows, the reference for drift (PSI) monitoring."""

    model_config = ConfigDict(extra="forbid")

    edges: list[float]
    counts: list[int]


class RowCounts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    train: int
    validation: int
    test: int


class ModelMetadata(BaseModel):
    """Everything needed to load, check, compare and monitor one model version."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    name: str = Field(description="Model name, e.g. lapse, claims, propensity.")
    version: str = Field(description="Folder name: UTC time of training and model hash prefix.")
    task: Task
    objective: str
    dataset: str = Field(description="Name of the dataset spec it was trained from.")
    target: str
    exposure: str | None = None
    features: list[FeatureSpec]
    params: dict[str, Any]
    num_trees: int
    rows: RowCounts
    metrics: dict[str, dict[str, Any]] = Field(
        description="Held-out figures for the model and for the trivial baseline (mean model)."
    )
    score_histogram: ScoreHistogram
    training_data_sha256: str
    model_sha256: str
    lightgbm_version: str
    created_at: datetime
    importance: dict[str, float] | None = Field(
        default=None, description="Share of the total split gain per feature, largest first."
    )
    dropped_rows: dict[str, int] | None = Field(
        default=None, description="Rows of the source left out before splitting, by cause."
    )
    training_seconds: float | None = Field(
        default=None, description="Wall time from reading the data to the written report."
    )
    rounds_found: dict[str, Any] | None = Field(
        default=None,
        description="How the number of trees was chosen: validation rows or cross-validation, "
        "and whether the model was refitted on all training rows.",
    )
    search: dict[str, Any] | None = Field(
        default=None, description="The parameter search of `tune:`: every trial and the best."
    )
    warnings: list[str] | None = Field(
        default=None, description="Conflicting settings and degenerate results found in training."
    )
    spec: dict[str, Any] | None = Field(
        default=None, description="The dataset spec it was trained from, as validated."
    )
