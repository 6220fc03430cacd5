"""One client's score and TreeSHAP through LightGBM's single-row fast path.

`Booster.predict` spends 40-80 µs per call before a tree is walked (argument checks, a
predictor built from a parameter string, a result size asked of the library): most of the cost
of scoring one client with the service's models. The C API's fast path does that set-up once,
into a `FastConfig` handle (LGBM_BoosterPredictForMatSingleRowFastInit), and then each call only
reads one row and walks the trees (LGBM_BoosterPredictForMatSingleRowFast). The results are the
ones `Booster.predict` gives, bit for bit: both run the same predictor code on the same row.

Batches stay with `Booster.predict`: it predicts many rows in one call and on several threads.

Thread safety: a `FastConfig` handle and the row and result buffers kept beside it must not be
used by two threads at once, so each handle has a lock. Threads sharing one `FastPredictor`
therefore take turns; give each thread its own `FastPredictor` if they should not.

The booster must stay as it was loaded while a `FastPredictor` uses it (no `set_leaf_output`,
`model_from_string` or further training): the handles point into it.
"""

from __future__ import annotations

import ctypes
import struct
import threading
import weakref
from collections.abc import Sequence

import numpy as np

from app.arrays import FloatArray
from app.serving.lean_lightgbm import _LIB, _safe_call
from app.serving.lean_lightgbm import lightgbm as lgb

# From LightGBM's c_api.h.
_PREDICT_NORMAL = 0
_PREDICT_CONTRIB = 3
_DTYPE_FLOAT64 = 1

# A function object of our own for the per-row call, with its argument types declared once:
# setting `argtypes` on `_LIB`'s shared attribute would change it for lightgbm itself.
_FastPredictFunction = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p
)
_predict_single_row = _FastPredictFunction(("LGBM_BoosterPredictForMatSingleRowFast", _LIB))


def _free(handle: ctypes.c_void_p, booster: lgb.Booster) -> None:
    """Free a FastConfig; `booster` is only held so it outlives the handle that points into it."""
    del booster
    _safe_call(_LIB.LGBM_FastConfigFree(handle))


class _FastConfig:
    """One FastConfig handle of one booster and one kind of output, with its buffers."""

    def __init__(self, booster: lgb.Booster, num_features: int, predict_type: int) -> None:
        self._row = np.zeros(num_features, dtype=np.float64)
        self._out = np.zeros(_output_size(booster, predict_type), dtype=np.float64)
        self._out_len = ctypes.c_int64(0)
        self._lock = threading.Lock()
        # Native float64s, as the buffer holds them (a float or int each; NaN stays NaN).
        self._pack = struct.Struct(f"={num_features}d").pack_into
        self._row_memory = self._row.data
        self._handle = _init_handle(booster, num_features, predict_type)
        weakref.finalize(self, _free, self._handle, booster)
        # The addresses are fixed for the life of the buffers, so they are taken once.
        self._args = (
            self._handle.value,
            self._row.ctypes.data,
            ctypes.addressof(self._out_len),
            self._out.ctypes.data,
        )

    def run(self, row: FloatArray) -> FloatArray:
        """The output for `row`, written into this handle's buffer: copy it before unlocking."""
        if row.shape != self._row.shape:
            raise ValueError(f"expected a row of shape {self._row.shape}, got {row.shape}")
        self._row[:] = row
        _safe_call(_predict_single_row(*self._args))
        return self._out

    def run_values(self, values: Sequence[float]) -> FloatArray:
        """`run` on the row's values as Python floats, packed straight into the row buffer
        (the float64 `np.array(values)` would hold): no array in between."""
        if len(values) != self._row.size:
            raise ValueError(f"expected a row of shape {self._row.shape}, got ({len(values)},)")
        self._pack(self._row_memory, 0, *values)
        _safe_call(_predict_single_row(*self._args))
        return self._out

    def predict(self, row: FloatArray) -> float:
        with self._lock:
            return float(self.run(row)[0])

    def contributions(self, row: FloatArray) -> FloatArray:
        with self._lock:
            return self.run(row).copy()

    def predict_values(self, values: Sequence[float]) -> float:
        with self._lock:
            return float(self.run_values(values)[0])

    def contributions_of_values(self, values: Sequence[float]) -> FloatArray:
        with self._lock:
            return self.run_values(values).copy()


def _init_handle(booster: lgb.Booster, num_features: int, predict_type: int) -> ctypes.c_void_p:
    handle = ctypes.c_void_p()
    _safe_call(
        _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
            booster._handle,
            ctypes.c_int(predict_type),
            ctypes.c_int(0),
            ctypes.c_int(_num_iteration(booster)),
            ctypes.c_int(_DTYPE_FLOAT64),
            ctypes.c_int32(num_features),
            # No parameters, as `Booster.predict` without keywords: in particular no
            # num_threads, which FastInit would set for the whole process.
            ctypes.c_char_p(b""),
            ctypes.byref(handle),
        )
    )
    return handle


def _num_iteration(booster: lgb.Booster) -> int:
    """The trees `Booster.predict` uses by default: up to the best iteration, if one is known."""
    best = int(booster.best_iteration)
    return best if best > 0 else -1


def _output_size(booster: lgb.Booster, predict_type: int) -> int:
    size = ctypes.c_int64(0)
    _safe_call(
        _LIB.LGBM_BoosterCalcNumPredict(
            booster._handle,
            ctypes.c_int(1),
            ctypes.c_int(predict_type),
            ctypes.c_int(0),
            ctypes.c_int(_num_iteration(booster)),
            ctypes.byref(size),
        )
    )
    return size.value


class FastPredictor:
    """`Booster.predict` for one row at a time, without its per-call set-up.

    `predict_row(row)` equals `booster.predict(row[None, :])[0]` (a probability or an annual
    rate, as the model's objective makes it) and `contrib_row(row)` equals
    `booster.predict(row[None, :], pred_contrib=True)[0]`: one TreeSHAP value per feature and the
    expected raw score last. `row` is one client's encoded features, float64, NaN for missing.
    Models with one output per row only (binary, regression, Poisson), not multiclass.
    """

    def __init__(self, booster: lgb.Booster) -> None:
        if booster.num_model_per_iteration() != 1:
            raise ValueError("FastPredictor handles one output per row, not multiclass models")
        self.booster = booster
        self.num_features = int(booster.num_feature())
        # Both handles are made now, so the first explained request does not pay for it.
        self._normal = _FastConfig(booster, self.num_features, _PREDICT_NORMAL)
        self._contrib = _FastConfig(booster, self.num_features, _PREDICT_CONTRIB)

    def predict_row(self, row: FloatArray) -> float:
        return self._normal.predict(row)

    def contrib_row(self, row: FloatArray) -> FloatArray:
        """TreeSHAP of `row`: `num_features + 1` values summing to the raw score."""
        return self._contrib.contributions(row)

    def predict_values(self, values: Sequence[float]) -> float:
        """`predict_row(np.array(values, dtype=np.float64))`, without making the array: the
        row's values (floats, NaN for missing) go straight into the handle's buffer."""
        return self._normal.predict_values(values)

    def contrib_values(self, values: Sequence[float]) -> FloatArray:
        """`contrib_row(np.array(values, dtype=np.float64))`, without making the array."""
        return self._contrib.contributions_of_values(values)
