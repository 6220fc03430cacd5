"""Retention that rises with tenure: the shifted-beta-geometric (sBG) model of Fader & Hardie.

Each client has a constant chance `theta` of leaving at every renewal; across a segment's
clients `theta` follows a Beta(alpha, beta) distribution. The clients likely to leave leave
first, so the segment's retention rate rises with tenure: of the clients still there at the
start of period n, the share that renews at its end is

    r(n) = (beta + n - 1) / (alpha + beta + n - 1),   n = 1, 2, ...

and the share of a cohort surviving t periods is S(t) = r(1) x ... x r(t)
("How to project customer retention", Journal of Interactive Marketing 21(1), 2007).
Pure NumPy: CLV reads the curve of a client's segment; `app.training.retention` fits it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.arrays import FloatArray

# A fitted retention version's file in the model registry folder (beside no model.txt).
RETENTION_FILE = "retention.json"


@dataclass(frozen=True, slots=True)
class Sbg:
    """A segment's fitted sBG parameters (both > 0)."""

    alpha: float
    beta: float

    def __post_init__(self) -> None:
        if not (self.alpha > 0 and self.beta > 0):
            raise ValueError("sBG alpha and beta must be > 0")


def retention_rate(sbg: Sbg, period: FloatArray | float) -> FloatArray:
    """r(n): the share of the clients active in period n (>= 1) that renew at its end."""
    n = np.asarray(period, dtype=np.float64)
    rate: FloatArray = (sbg.beta + n - 1.0) / (sbg.alpha + sbg.beta + n - 1.0)
    return rate


def survival(sbg: Sbg, periods: int) -> FloatArray:
    """S(0), S(1), ..., S(periods): the share of a new cohort still there after t periods."""
    rates = retention_rate(sbg, np.arange(1, periods + 1, dtype=np.float64))
    out: FloatArray = np.concatenate([[1.0], np.cumprod(rates)])
    return out
