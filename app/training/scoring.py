"""Score a file with any registry version: `clientscore score --model NAME[@VERSION] FILE`.

The rows are encoded with the version's own feature schema (levels and transforms from its
metadata), so a file is scored exactly as the test rows were when the version was trained.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from app.errors import NotFound, ServiceError
from app.serving.features import encode
from app.serving.repository import LoadedModel, ModelRepository
from app.training.sources import frame_table, read_frame

PREDICTION = "prediction"


@dataclass(frozen=True, slots=True)
class Scored:
    model: LoadedModel
    rows: int
    out: Path


def resolve(repository: ModelRepository, reference: str) -> tuple[str, str]:
    """NAME@VERSION, or NAME alone: its champion, else its newest version."""
    name, _, version = reference.partition("@")
    if not version:
        version = repository.champion(name) or ""
    if not version:
        versions = repository.versions(name)
        if not versions:
            raise NotFound(f"--model: model '{name}' has no version")
        version = versions[-1]
    return name, version


def score_file(
    repository: ModelRepository,
    reference: str,
    source: Path,
    out: Path,
    *,
    reasons: int = 0,
    threads: int = 1,
) -> Scored:
    """Write `source`'s rows with the prediction (and the top `reasons` contributions) to `out`.

    `threads`: LightGBM's threads for the predictions (without it LightGBM takes every core).
    """
    if _kind(out, "--out") == "":
        raise ServiceError("--out: give a .parquet, .csv or .csv.gz file name")
    name, version = resolve(repository, reference)
    model = repository.load(name, version)
    features = model.metadata.features
    categorical = {f.name for f in features if f.type == "categorical"}
    frame = read_frame(source, "FILE", categorical, csv=_kind(source, "FILE") == "csv")
    missing = [f.name for f in features if f.name not in frame.columns]
    if missing:
        raise ServiceError(f"FILE: no column {', '.join(missing)}; {name} {version} needs it")
    if PREDICTION in frame.columns:
        raise ServiceError(f"FILE: has a column '{PREDICTION}' already; rename it")
    table = frame_table(frame[[f.name for f in features]], categorical)
    text = [f.name for f in features if f.type == "numeric" and table[f.name].dtype == object]
    if text:
        raise ServiceError(f"FILE: column {', '.join(text)} holds text; {name} reads numbers")
    matrix = encode(table, features)
    predicted = model.booster.predict(matrix, num_threads=threads)
    frame[PREDICTION] = np.asarray(predicted, dtype=np.float64)
    if reasons > 0:
        _add_reasons(frame, model, matrix, reasons, threads)
    _write(frame, out)
    return Scored(model=model, rows=len(frame), out=out)


def _add_reasons(
    frame: pd.DataFrame, model: LoadedModel, matrix: np.ndarray, n: int, threads: int
) -> None:
    """reason_k: the feature with the k-th largest |contribution| (raw score), and its value."""
    raw = model.booster.predict(matrix, pred_contrib=True, num_threads=threads)
    contributions = np.asarray(raw)[:, :-1]
    names = np.asarray([f.name for f in model.metadata.features], dtype=object)
    order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :n]
    for k in range(order.shape[1]):
        frame[f"reason_{k + 1}"] = names[order[:, k]]
        frame[f"reason_{k + 1}_contribution"] = np.take_along_axis(
            contributions, order[:, k : k + 1], axis=1
        )[:, 0]


def _kind(path: Path, key: str) -> str:
    suffixes = "".join(path.suffixes[-2:]).lower()
    if path.suffix.lower() == ".parquet":
        return "parquet"
    if path.suffix.lower() == ".csv" or suffixes.endswith(".csv.gz"):
        return "csv"
    if key == "FILE":
        raise ServiceError(f"FILE: {path.name} is neither .csv, .csv.gz nor .parquet")
    return ""


def _write(frame: pd.DataFrame, out: Path) -> None:
    try:
        if _kind(out, "--out") == "parquet":
            frame.to_parquet(out, index=False)
        else:
            frame.to_csv(out, index=False)
    except OSError as exc:
        raise ServiceError(f"--out: cannot write {out}: {exc.strerror or exc}") from exc
