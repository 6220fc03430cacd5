"""`calibration.json`: the current book's CLV distribution, which book percentiles rank against.

ABC grades and value tiers are relative to the insurer's own book (docs/domain.md), so a ruleset
carries a quantile grid of the book's CLV, written by `clientscore rules calibrate`. The grid
is part of the ruleset's files: calibrating gives a new ruleset version.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.arrays import FloatArray

CALIBRATION_FILE = "calibration.json"
GRID_POINTS = 1001


class BookCalibration(BaseModel):
    """Quantiles of CLV over the clients with a policy in force, as of `as_of`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(description="What was scored: the stored book or a synthetic one.")
    clients: Annotated[int, Field(ge=1)]
    as_of: date
    models: dict[str, str] = Field(description="The model versions that scored the book.")
    clv_quantiles: list[Annotated[float, Field(allow_inf_nan=False)]] = Field(
        min_length=2, max_length=100_001, description="Evenly spaced quantiles 0..1, yuan."
    )

    @model_validator(mode="after")
    def _ascending(self) -> BookCalibration:
        if any(b < a for a, b in zip(self.clv_quantiles, self.clv_quantiles[1:], strict=False)):
            raise ValueError("clv_quantiles must not decrease")
        return self

    def grid(self) -> FloatArray:
        grid: FloatArray = np.asarray(self.clv_quantiles, dtype=np.float64)
        grid.flags.writeable = False
        return grid
