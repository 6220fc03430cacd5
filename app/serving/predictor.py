"""Model outputs for a batch of profiles: features built once, one predict call per model.

Pure NumPy and LightGBM, no web framework: batches from the service, the CLI and the
calibration all call `predict`. One client takes a scalar twin instead (`row_features`,
`encode_row` and each model's single-row fast path, in `app/classification/single.py`),
because NumPy's per-call overhead dominates on one row; tests/unit/test_single_path.py,
test_row_paths.py and test_fast_predict.py keep the twin equal to this path. Each model
predicts only the rows it applies to (lapse for clients with a policy in force, purchase for
prospects who never held one; claims for everyone), as one vectorised call on that subset.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from app.arrays import BoolArray, FloatArray
from app.serving.features import Column, ProfileColumns, encode, profile_features
from app.serving.repository import LoadedModel

IntArray = npt.NDArray[np.intp]
MODELS = ("lapse", "claims", "propensity")


class ChampionSource(Protocol):
    def champion(self, name: str) -> LoadedModel: ...


@dataclass(frozen=True, slots=True)
class Champions:
    """The three models one request uses, taken from the registry once (immutable)."""

    lapse: LoadedModel
    claims: LoadedModel
    propensity: LoadedModel

    @classmethod
    def from_registry(cls, registry: ChampionSource) -> Champions:
        """Raises `Unavailable` (503) when a model has no loaded champion."""
        return cls(*(registry.champion(name) for name in MODELS))

    def versions(self) -> dict[str, str]:
        return {name: self.model(name).version for name in MODELS}

    def model(self, name: str) -> LoadedModel:
        loaded: LoadedModel = getattr(self, name)
        return loaded


@dataclass(frozen=True, slots=True)
class Explanation:
    """TreeSHAP of one model on the rows it ran on.

    `contributions` has one column per feature, in the model's feature order, and a last
    column with the expected raw score; each row sums to the raw score (log-odds for a
    probability, log-rate for a claim rate).
    """

    model: LoadedModel
    rows: IntArray  # positions in the batch
    contributions: FloatArray

    def row_of(self, position: int) -> int | None:
        """Where batch row `position` sits in `contributions`; None if the model skipped it."""
        rows = self.rows
        found = int(rows.searchsorted(position))  # the method: no dispatch through np.searchsorted
        return found if found < rows.size and rows[found] == position else None


@dataclass(frozen=True, slots=True)
class Predictions:
    """One entry per profile; NaN where a model does not apply to the row."""

    as_of: datetime.date
    features: dict[str, Column]
    client: BoolArray  # policies in force
    prospect: BoolArray  # never held a policy
    lapse_probability: FloatArray  # P(lapse within 12 months), clients only
    claim_frequency: FloatArray  # expected claims per year, every row
    purchase_probability: FloatArray  # P(first purchase within 6 months), prospects only
    explanations: dict[str, Explanation]  # by model name; empty unless asked for


def _predict(
    model: LoadedModel, features: dict[str, Column], rows: IntArray, explain: bool, threads: int
) -> tuple[FloatArray, Explanation | None]:
    specs = model.metadata.features
    whole = rows.size == next(iter(features.values())).size
    matrix = encode(features if whole else {s.name: features[s.name][rows] for s in specs}, specs)
    if matrix.shape[0] == 0:
        empty = np.empty((0, len(specs) + 1))
        return np.empty(0), Explanation(model, rows, empty) if explain else None
    scores = np.asarray(model.booster.predict(matrix, num_threads=threads), dtype=np.float64)
    if not explain:
        return scores, None
    contributions = np.asarray(
        model.booster.predict(matrix, pred_contrib=True, num_threads=threads), dtype=np.float64
    )
    return scores, Explanation(model, rows, contributions)


def applicable_rows(columns: ProfileColumns) -> tuple[BoolArray, BoolArray]:
    """(clients with a policy in force, prospects who never held one)."""
    in_force = np.asarray(columns["in_force_policies"], dtype=np.float64) > 0
    first = np.asarray(columns["first_policy_date"], dtype="datetime64[D]")
    return in_force, ~in_force & np.isnat(first)


def predict(
    champions: Champions,
    columns: ProfileColumns,
    *,
    as_of: datetime.date,
    explain: bool,
    threads: int = 1,
) -> Predictions:
    """Lapse, claim rate and purchase for every profile in `columns` (see `profile_features`).

    `threads`: LightGBM's threads per call. Always given: without it LightGBM takes every
    core, which for a service answering many small calls makes the slow ones much slower."""
    features = profile_features(columns, as_of)
    client, prospect = applicable_rows(columns)
    n = client.size
    out = {name: np.full(n, np.nan) for name in MODELS}
    explanations: dict[str, Explanation] = {}
    applies = {"lapse": client, "claims": np.ones(n, dtype=bool), "propensity": prospect}
    for name in MODELS:
        rows = np.flatnonzero(applies[name])
        scores, explanation = _predict(champions.model(name), features, rows, explain, threads)
        out[name][rows] = scores
        if explanation is not None:
            explanations[name] = explanation
    return Predictions(
        as_of=as_of,
        features=features,
        client=client,
        prospect=prospect,
        lapse_probability=out["lapse"],
        claim_frequency=out["claims"],
        purchase_probability=out["propensity"],
        explanations=explanations,
    )
