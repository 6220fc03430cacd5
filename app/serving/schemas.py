"""What the model registry endpoints read and write."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.serving.metadata import RowCounts
from app.serving.repository import NAME_PATTERN

VERSION_EXAMPLE = "20261123T120000Z-1a2b3c4d"


class VersionRead(BaseModel):
    version: str
    created_at: datetime | None = None
    task: str | None = None
    num_trees: int | None = None
    rows: RowCounts | None = None
    metrics: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Held-out figures: `model` against `baseline` (the mean for everyone), "
        "and `observed`. The curves are in the version's report.html.",
    )
    error: str | None = Field(
        default=None, description="Why this version's metadata.json cannot be read."
    )


class ModelRead(BaseModel):
    name: str
    champion: str | None = Field(description="The version the registry folder names champion.")
    promoted_at: datetime | None = None
    history: list[str] = Field(description="Earlier champions, newest first.")
    served: str | None = Field(description="The version the worker that answered serves.")
    served_by: int = Field(description="Process id of the worker that answered.")
    error: str | None = Field(
        default=None,
        description="Why that worker does not serve the folder's champion; it keeps the one "
        "it served before.",
    )
    versions: list[VersionRead] = Field(description="Newest first.")


class ModelList(BaseModel):
    served_by: int = Field(description="Process id of the worker that answered.")
    models: list[ModelRead]


class ChampionChange(BaseModel):
    """Either `version` (promote it; also how to go back to any earlier version) or
    `rollback: true` (go back to the previous champion)."""

    model_config = ConfigDict(extra="forbid")

    version: str | None = Field(default=None, pattern=NAME_PATTERN, examples=[VERSION_EXAMPLE])
    rollback: bool = False
