"""Uplift of treated over control: a difference of two proportions with its interval.

The treated are clients offered an action, the control those held out of it (the same
eligible population, split by a hash that knows nothing of the client). The uplift is the
treated share retained (or buying) minus the control's, with a Wald interval on the
difference; with no client on either side it is not known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Uplift:
    treated: int
    treated_rate: float | None
    control: int
    control_rate: float | None
    estimate: float | None
    low: float | None
    high: float | None


def uplift(
    treated: int, treated_hits: int, control: int, control_hits: int, level: float = 0.95
) -> Uplift:
    if treated == 0 or control == 0:
        return Uplift(
            treated,
            treated_hits / treated if treated else None,
            control,
            control_hits / control if control else None,
            None,
            None,
            None,
        )
    p1, p0 = treated_hits / treated, control_hits / control
    # Agresti-Caffo: one success and one failure added to each side keeps the interval honest
    # when a side is small or all one answer.
    a1, a0 = (treated_hits + 1) / (treated + 2), (control_hits + 1) / (control + 2)
    se = math.sqrt(a1 * (1 - a1) / (treated + 2) + a0 * (1 - a0) / (control + 2))
    from scipy.stats import norm  # most of a second to import: only reports come here

    z = float(norm.ppf(0.5 + level / 2))
    centre = a1 - a0
    return Uplift(treated, p1, control, p0, p1 - p0, centre - z * se, centre + z * se)
