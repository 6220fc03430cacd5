"""Score drift: the population stability index of recent scores against training.

Each model version carries the histogram of its scores on the held-out rows
(`metadata.score_histogram`, bins of equal training mass). A worker keeps the bins of the
last `size` scores it produced per model in a ring, and

    PSI = sum over bins of (recent share - reference share) * ln(recent share / reference share)

with shares floored at `FLOOR` so an empty bin counts as rare, not infinitely rare. Scores
outside the training range fall in the first or last bin. Rule of thumb used by the alert:
under 0.1 stable, 0.1-0.2 moderate shift, above 0.2 a shift worth a look.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from app.arrays import FloatArray
from app.serving.metadata import ScoreHistogram

FLOOR = 1e-4


def psi(recent: npt.NDArray[np.int64], reference: FloatArray) -> float:
    """PSI of bin counts `recent` against reference shares (same bins)."""
    total = recent.sum()
    if total == 0:
        return 0.0
    actual = np.maximum(recent / total, FLOOR)
    expected = np.maximum(reference, FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


class ScoreWindow:
    """The bins of one model version's last `size` scores."""

    def __init__(self, reference: ScoreHistogram, size: int) -> None:
        counts = np.asarray(reference.counts, dtype=np.float64)
        self.reference = counts / counts.sum()
        # Inner edges only: the outer bins take everything beyond the training range.
        self.inner_edges = np.asarray(reference.edges[1:-1], dtype=np.float64)
        self.ring = np.zeros(size, dtype=np.int16)
        self.counts = np.zeros(counts.size, dtype=np.int64)
        self.filled = 0
        self.position = 0

    @property
    def scores(self) -> int:
        return self.filled

    def add(self, scores: FloatArray) -> None:
        scores = scores[~np.isnan(scores)]
        size = self.ring.size
        if scores.size >= size:
            scores = scores[-size:]
            self.counts[:] = 0
            self.filled, self.position = 0, 0
        bins = np.searchsorted(self.inner_edges, scores, side="right").astype(np.int16)
        slots = (self.position + np.arange(bins.size)) % size
        # Until the ring is full the free slots come first; the rest hold older scores,
        # which give their count back before their slot is reused.
        reused = slots[size - self.filled :]
        if reused.size:
            self.counts -= np.bincount(self.ring[reused], minlength=self.counts.size)
        self.ring[slots] = bins
        self.counts += np.bincount(bins, minlength=self.counts.size)
        self.filled = min(size, self.filled + bins.size)
        self.position = (self.position + bins.size) % size

    def psi(self) -> float:
        return psi(self.counts, self.reference)
