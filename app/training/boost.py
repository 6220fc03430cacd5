"""LightGBM runs on chosen rows of the prepared data: early stopping, cross-validation, refit.

Poisson: the offset ln(exposure) + ln(training frequency) goes in as `init_score`, so the
trees learn each policy's rate relative to the book's. LightGBM skips its own
boost-from-average when an init score is given; the ln(frequency) part is then added to the
first tree's leaves (`finish`), so the saved model alone predicts annual claim rates.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.arrays import FloatArray
from app.errors import ServiceError
from app.serving.lean_lightgbm import lightgbm as lgb
from app.training.datasets import IntArray, PreparedData

EARLY_STOPPING_METRIC = {"binary": "binary_logloss", "poisson": "poisson"}
# LightGBM metrics where a larger value is better; every other one is a loss.
HIGHER_IS_BETTER = frozenset({"auc", "average_precision", "map", "ndcg", "auc_mu"})
# The line of model.txt's parameter block that records the threads a fit ran on.
THREADS_LINE = re.compile(r"^\[num_threads: -?\d+\]$", re.MULTILINE)
Callback = Callable[[Any], None]
# LightGBM's dataset parameters: a setting that changes one needs the rows binned again.
DATASET_PARAMS = frozenset(
    {
        "max_bin", "max_bin_by_feature", "min_data_in_bin", "bin_construct_sample_cnt",
        "data_random_seed", "is_enable_sparse", "enable_bundle", "use_missing",
        "zero_as_missing", "feature_pre_filter", "pre_partition", "two_round",
        "categorical_feature", "forcedbins_filename", "linear_tree", "max_cat_threshold",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Judged:
    """What the rows held back said of a parameter setting: its score and best round count."""

    metric: str
    score: float
    rounds: int


def metric_of(params: dict[str, Any]) -> str:
    metric = params["metric"]
    first = metric.split(",")[0] if isinstance(metric, str) else str(metric)
    return first.strip()


def higher_is_better(metric: str) -> bool:
    return metric in HIGHER_IS_BETTER


def base_rate(data: PreparedData, rows: IntArray) -> float:
    """The mean model: the training lapse rate, or the training claims per exposure year."""
    y = data.y[rows]
    if data.exposure is None:
        return float(y.mean())
    return float(y.sum() / data.exposure[rows].sum())


def offset(data: PreparedData, rate: float) -> FloatArray:
    if rate <= 0:
        raise ServiceError("target: the training rows hold no claims; a Poisson model needs some")
    exposure = data.exposure if data.exposure is not None else np.ones_like(data.y)
    out: FloatArray = np.log(exposure) + np.log(rate)
    return out


def dataset(
    data: PreparedData,
    rows: IntArray,
    init: FloatArray | None,
    params: dict[str, Any] | None = None,
) -> lgb.Dataset:
    categorical = [j for j, f in enumerate(data.features) if f.type == "categorical"]
    return lgb.Dataset(
        data.x[rows],
        data.y[rows],
        init_score=None if init is None else init[rows],
        feature_name=[f.name for f in data.features],
        categorical_feature=categorical or "auto",
        params=params or {"verbosity": -1},
        free_raw_data=params is None,  # kept for the trials a binned set serves
    )


def fit_sets(
    data: PreparedData,
    rows: tuple[IntArray, IntArray],
    init: FloatArray | None,
    params: dict[str, Any] | None = None,
) -> tuple[lgb.Dataset, lgb.Dataset]:
    """The training set of `rows[0]` and the validation set of `rows[1]` binned as it is."""
    train_rows, valid_rows = rows
    train_set = dataset(data, train_rows, init, params)
    valid_set = train_set.create_valid(
        data.x[valid_rows],
        data.y[valid_rows],
        init_score=None if init is None else init[valid_rows],
        params=params,
    )
    return train_set, valid_set


class Binned:
    """The rows of a search's folds binned once, for trial after trial, not once per trial.

    A dataset LightGBM has binned serves any booster whose parameters keep its dataset
    parameters; `feature_pre_filter` is off (in `params`, which every trial's setting must
    include) so that trials may differ in `min_data_in_leaf`. A pair of sets serves one fit at
    a time: a fold two trials want at once is binned twice.
    """

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = {**params, "feature_pre_filter": False, "verbosity": -1}
        self._free: dict[object, list[tuple[lgb.Dataset, lgb.Dataset]]] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_space(cls, params: dict[str, Any], searched: set[str]) -> Binned | None:
        """The binned folds of a search over `searched`; None when it searches a dataset
        parameter (each trial then bins its rows)."""
        return None if searched & DATASET_PARAMS else cls(params)

    @contextmanager
    def sets(
        self,
        fold: object,
        data: PreparedData,
        rows: tuple[IntArray, IntArray],
        init: FloatArray | None,
    ) -> Iterator[tuple[lgb.Dataset, lgb.Dataset]]:
        """The training and validation sets of `fold` (its `rows`), binned when none is free."""
        with self._lock:
            free = self._free.setdefault(fold, [])
            taken = free.pop() if free else None
        if taken is None:
            train_set, valid_set = fit_sets(data, rows, init, self.params)
            taken = train_set.construct(), valid_set.construct()
        try:
            yield taken
        finally:
            with self._lock:
                free.append(taken)


def run(params: dict[str, Any], train_set: lgb.Dataset, **kwargs: Any) -> lgb.Booster:
    """`lgb.train`, with LightGBM's refusal of a parameter value reported by key."""
    try:
        return lgb.train(params, train_set, **kwargs)
    except lgb.basic.LightGBMError as exc:
        raise ServiceError(f"params: LightGBM refused the parameters: {exc}") from exc


def early_stopped(
    params: dict[str, Any],
    data: PreparedData,
    train_rows: IntArray,
    valid_rows: IntArray,
    *,
    rounds: int,
    patience: int,
    poisson: bool,
    callbacks: list[Callback] | None = None,
    binned: tuple[Binned, object] | None = None,
) -> tuple[lgb.Booster, Judged, float]:
    """Boost on `train_rows`, stop when `valid_rows` stop improving: (booster, judged, rate).

    `callbacks` run after each round with LightGBM's callback environment (progress lines,
    pruning, the search's deadline); an exception other than LightGBM's own ends the fit.
    `binned` (the search's binned folds and which fold this is) gives the sets ready-made.
    """
    rate = base_rate(data, train_rows)
    init = offset(data, rate) if poisson else None
    stopping: list[Any] = [lgb.early_stopping(patience, first_metric_only=True, verbose=False)]

    def fit(train_set: lgb.Dataset, valid_set: lgb.Dataset) -> lgb.Booster:
        return run(
            params,
            train_set,
            num_boost_round=rounds,
            valid_sets=[valid_set],
            valid_names=["validation"],
            callbacks=[*stopping, *(callbacks or [])],
        )

    if binned is not None:
        folds, fold = binned
        with folds.sets(fold, data, (train_rows, valid_rows), init) as (train_set, valid_set):
            booster = fit(train_set, valid_set)
    else:
        booster = fit(*fit_sets(data, (train_rows, valid_rows), init))
    best = booster.best_iteration or booster.current_iteration()
    metric = metric_of(params)
    score = float(booster.best_score["validation"][metric])
    return booster, Judged(metric, score, best), rate


def cross_validated(
    params: dict[str, Any],
    data: PreparedData,
    train_rows: IntArray,
    *,
    folds: int,
    seed: int,
    rounds: int,
    patience: int,
    poisson: bool,
    callbacks: list[Callback] | None = None,
    after_fold: Callable[[int, float], None] | None = None,
    lanes: Callable[[], int] | None = None,
    binned: Binned | None = None,
) -> Judged:
    """k-fold cross-validation on the training rows: mean best score, mean best round count.

    `after_fold(k, mean score of folds 0..k)` runs after each fold, in fold order (a search
    prunes there). `lanes()`, when given, says how many of the next folds may run at once,
    each on a thread of its own: the folds' results, and so the judgement and the pruning,
    are the same however many ran together. `binned`: the search's binned folds.
    """
    scores: list[float] = []
    best: list[int] = []
    from sklearn.model_selection import KFold  # at first use: scikit-learn costs a second to import

    splits = list(KFold(n_splits=folds, shuffle=True, random_state=seed).split(train_rows))

    def fold(k: int) -> Judged:
        inner, held = splits[k]
        _, judged, _ = early_stopped(
            params,
            data,
            train_rows[inner],
            train_rows[held],
            rounds=rounds,
            patience=patience,
            poisson=poisson,
            callbacks=callbacks,
            binned=None if binned is None else (binned, k),
        )
        return judged

    while len(scores) < folds:
        width = min(lanes() if lanes is not None else 1, folds - len(scores))
        batch = range(len(scores), len(scores) + width)
        if width == 1:
            done = [fold(batch[0])]
        else:
            with ThreadPoolExecutor(width) as pool:
                done = list(pool.map(fold, batch))
        for judged in done:
            scores.append(judged.score)
            best.append(judged.rounds)
            if after_fold is not None:
                after_fold(len(scores) - 1, float(np.mean(scores)))
    return Judged(metric_of(params), float(np.mean(scores)), max(1, round(float(np.mean(best)))))


def judge(
    params: dict[str, Any],
    data: PreparedData,
    *,
    cv_folds: int | None,
    seed: int,
    rounds: int,
    patience: int,
    poisson: bool,
    callbacks: list[Callback] | None = None,
    after_fold: Callable[[int, float], None] | None = None,
    lanes: Callable[[], int] | None = None,
    binned: Binned | None = None,
) -> tuple[lgb.Booster | None, Judged, float]:
    """A setting judged on the training rows: by k-fold cross-validation when `cv_folds` is
    given (no booster kept; `lanes` as in `cross_validated`), else by early stopping on the
    validation rows."""
    if cv_folds is not None:
        judged = cross_validated(
            params,
            data,
            data.fit,
            folds=cv_folds,
            seed=seed,
            rounds=rounds,
            patience=patience,
            poisson=poisson,
            callbacks=callbacks,
            after_fold=after_fold,
            lanes=lanes,
            binned=binned,
        )
        return None, judged, 0.0
    return early_stopped(
        params,
        data,
        data.fit,
        data.validation,
        rounds=rounds,
        patience=patience,
        poisson=poisson,
        callbacks=callbacks,
        binned=None if binned is None else (binned, "validation"),
    )


def refit(
    params: dict[str, Any],
    data: PreparedData,
    rows: IntArray,
    *,
    rounds: int,
    poisson: bool,
    callbacks: list[Callback] | None = None,
) -> tuple[lgb.Booster, float]:
    """Boost on `rows` for exactly `rounds` rounds: (booster, base rate of the rows)."""
    rate = base_rate(data, rows)
    init = offset(data, rate) if poisson else None
    booster = run(params, dataset(data, rows, init), num_boost_round=rounds, callbacks=callbacks)
    return booster, rate


def finish(
    booster: lgb.Booster, rounds: int, rate: float, *, poisson: bool, threads: int | None = None
) -> lgb.Booster:
    """The model as saved: its first `rounds` trees, the Poisson base rate folded in.

    `threads`: the `num_threads` its parameter block records, whatever the fit ran on. With
    `deterministic` and `force_col_wise` the trees do not depend on the thread count, so a
    version's bytes do not depend on the machine, or its load, that trained it.
    """
    text = booster.model_to_string(num_iteration=rounds)
    if threads is not None:
        text = THREADS_LINE.sub(f"[num_threads: {threads}]", text, count=1)
    saved = lgb.Booster(model_str=text)
    if poisson:
        first = saved.dump_model(num_iteration=1)["tree_info"][0]
        bias = float(np.log(rate))
        for leaf in range(int(first["num_leaves"])):
            saved.set_leaf_output(0, leaf, saved.get_leaf_output(0, leaf) + bias)
    return saved
