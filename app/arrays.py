"""The NumPy array types the vectorised code passes around, named once, and Python's rounding
over an array."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ObjectArray = npt.NDArray[np.object_]
IntArray = npt.NDArray[np.intp]


def rounded(values: FloatArray, digits: int = 6) -> FloatArray:
    """Python's `round(v, digits)` for each value, vectorised.

    NumPy's `round` scales, rounds to an integer and scales back, and the scaling can land on
    the wrong side of a tie: then it differs from Python's correctly rounded result in the last
    digit, and a tier threshold must see exactly the number the caller is shown. Values whose
    scaled form is that close to a tie, or too large to scale exactly, take Python's `round`.
    """
    values = np.asarray(values, dtype=np.float64)
    scale = 10.0**digits
    # A value too large to scale overflows to inf here; it is rounded by Python below.
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = values * scale
        out = np.rint(scaled) / scale
        near_tie = np.abs(np.abs(scaled - np.floor(scaled)) - 0.5) < 1e-6
        doubtful = np.flatnonzero(near_tie | (np.abs(scaled) > 2.0**52))
    for i in doubtful.tolist():
        value = float(values[i])
        out[i] = value if value != value else round(value, digits)
    return out
