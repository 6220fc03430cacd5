"""Sampling helpers shared by the synthetic book's modules, all vectorised over clients."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from app.arrays import BoolArray, FloatArray

IntArray = npt.NDArray[np.int64]
# Working columns of the book while it is drawn: codes, latent values and masks by name.
Work = dict[str, npt.NDArray[Any]]

CURRENT, PROSPECT, FORMER = 0, 1, 2
STATUSES = ("current", "prospect", "former")


def vector(
    mapping: Mapping[str, float], keys: Sequence[str], default: float | None = None
) -> FloatArray:
    """Values of `mapping` in the order of `keys`; a key missing without a default is a bug."""
    if default is None:
        return np.array([mapping[k] for k in keys], dtype=np.float64)
    return np.array([mapping.get(k, default) for k in keys], dtype=np.float64)


def categorical(
    rng: np.random.Generator, weights: Sequence[float] | FloatArray, n: int
) -> IntArray:
    p = np.asarray(weights, dtype=np.float64)
    return np.asarray(rng.choice(len(p), size=n, p=p / p.sum()), dtype=np.int64)


def choose_rows(rng: np.random.Generator, weights: FloatArray) -> IntArray:
    """One category per row of an (n, k) weight matrix, by inverting each row's CDF."""
    cumulative = np.cumsum(weights, axis=1)
    threshold = rng.random(len(weights)) * cumulative[:, -1]
    chosen = (cumulative <= threshold[:, None]).sum(axis=1)
    # A zero-weight tail ties the cumulative sum; never land on it.
    return np.asarray(np.minimum(chosen, weights.shape[1] - 1), dtype=np.int64)


def sample_without_replacement(
    rng: np.random.Generator, weights: FloatArray, counts: IntArray
) -> BoolArray:
    """Mask of `counts[i]` distinct columns per row, drawn with probability ∝ weight.

    Efraimidis-Spirakis: the smallest Exp(1)/weight keys are a weighted sample without
    replacement, so all rows are drawn at once by a sort. Zero weights are never chosen.
    """
    draws = rng.standard_exponential(weights.shape).astype(np.float32)
    keys = np.full(weights.shape, np.inf, dtype=np.float32)
    positive = weights > 0
    keys[positive] = draws[positive] / weights[positive]
    rank = np.argsort(np.argsort(keys, axis=1), axis=1)
    return np.asarray((rank < counts[:, None]) & positive)


def neg_binomial(rng: np.random.Generator, mean: FloatArray, shape: float) -> IntArray:
    """Overdispersed counts: Poisson with a Gamma(shape, mean/shape) mean, variance μ + μ²/shape."""
    return rng.poisson(rng.gamma(shape, mean / shape)).astype(np.int64)


def sigmoid(x: FloatArray) -> FloatArray:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * x)), dtype=np.float64)


def bernoulli(rng: np.random.Generator, p: FloatArray) -> BoolArray:
    return np.asarray(rng.random(len(p)) < p)


def code_of(values: Sequence[str], names: Sequence[str]) -> list[int]:
    return [list(values).index(name) for name in names]
