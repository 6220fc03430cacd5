"""What a trained model version says about itself: `metadata.json` in its registry folder."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Task = Literal["binary", "poisson"]


class FeatureSpec(BaseModel):
    """One model input. Categorical levels are kept in the order their codes were assigned."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: Literal["numeric", "categorical"]
    levels: list[str] | None = None


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
    training_seconds: float | None = None
    spec: dict[str, Any] | None = Field(
        default=None, description="The dataset spec it was trained from, as validated."
    )
