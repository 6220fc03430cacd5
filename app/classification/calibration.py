"""Calibration: the CLV distribution of the current book, which percentiles rank against.

Scores the book chunk by chunk (no reasons: one predict call per model per chunk) and keeps
the CLV of the clients with a policy in force: prospects and former clients are not part of
the book an ABC grade ranks.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import numpy as np

from app.classification.batch import score
from app.classification.clv import quantile_grid
from app.errors import ServiceError
from app.rules.clv_grid import GRID_POINTS, BookCalibration
from app.rules.ruleset import Ruleset
from app.serving.predictor import Champions


def book_calibration(
    champions: Champions,
    ruleset: Ruleset,
    chunks: Iterable[dict[str, Any]],
    *,
    as_of: date,
    source: str,
) -> BookCalibration:
    """The quantile grid of the clients' CLV over every chunk of profile columns."""
    values = []
    for columns in chunks:
        scored = score(champions, ruleset, columns, as_of=as_of, explain=False, percentile=False)
        values.append(scored.clv.clv[scored.predictions.client])
    book = np.concatenate(values) if values else np.empty(0)
    if book.size == 0:
        raise ServiceError("the book holds no client with a policy in force to calibrate on")
    grid = quantile_grid(book, GRID_POINTS)
    return BookCalibration(
        source=source,
        clients=int(book.size),
        as_of=as_of,
        models=champions.versions(),
        clv_quantiles=[round(float(x), 2) for x in grid],
    )
