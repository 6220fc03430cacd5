"""The NumPy array types the vectorised code passes around, named once, and Python's rounding
over an array."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ObjectArray = npt.NDArray[np.object_]
IntArray = npt.NDArray[np.intp]
# x * 10**d is exact in long double when its mantissa holds 53 + log2(10**d) bits.
_EXACT_DIGITS = 3 if np.finfo(np.longdouble).nmant >= 63 else -1


def rounded(values: FloatArray, digits: int = 6) -> FloatArray:
    """Python's `round(v, digits)` for each value, vectorised.

    NumPy's `round` scales, rounds to an integer and scales back, and the scaling can land on
    the wrong side of a tie: then it differs from Python's correctly rounded result in the last
    digit, and a tier threshold must see exactly the number the caller is shown. Values whose
    scaled form is that close to a tie, or too large to scale exactly, take Python's `round`;
    or, to at most 3 digits where NumPy's long double has a 64-bit mantissa (x86), the
    exact product in long double rounded half to even, which is what Python's `round` does.
    """
    values = np.asarray(values, dtype=np.float64)
    scale = 10.0**digits
    # A value too large to scale overflows to inf here; it is rounded by Python below.
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = values * scale
        out = np.rint(scaled) / scale
        near_tie = np.abs(np.abs(scaled - np.floor(scaled)) - 0.5) < 1e-6
        large = np.abs(scaled) > 2.0**52
        if digits <= _EXACT_DIGITS:
            ties = np.flatnonzero(near_tie & ~large)
            exact = values[ties].astype(np.longdouble) * np.longdouble(10**digits)
            out[ties] = np.rint(exact).astype(np.float64) / scale
            near_tie[ties] = False
        doubtful = np.flatnonzero(near_tie | large)
    for i in doubtful.tolist():
        value = float(values[i])
        out[i] = value if value != value else round(value, digits)
    return out
