"""The parameter search of `tune:`: Optuna's TPE sampler, judged on the training rows only.

Each trial's setting is judged as the spec's split says: by k-fold cross-validation on the
training rows (`split.cv_folds`), or by early stopping on the validation rows carved from
them. The test rows are never read here. The best setting and its number of rounds are then
refitted on all training rows (see `fit.fit`).
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from typing import Any, Literal

import optuna

from app.training import boost
from app.training.datasets import PreparedData
from app.training.spec import DatasetSpec
from app.training.tune_spec import Choices, Range


@dataclass(frozen=True, slots=True)
class Search:
    best_params: dict[str, Any]
    best: boost.Judged
    summary: dict[str, Any]  # for metadata.json and the report


def search(
    spec: DatasetSpec, data: PreparedData, params: dict[str, Any], *, progress: bool = False
) -> Search:
    """Run the search of `spec.tune` around the fixed `params`; the best setting found."""
    tune = spec.tune
    assert tune is not None, "search needs a spec with tune"
    space = tune.canonical_space()
    rounds, patience = spec.rounds()
    poisson = spec.task == "poisson"
    metric = boost.metric_of(params)
    direction: Literal["maximize", "minimize"] = (
        "maximize" if boost.higher_is_better(metric) else "minimize"
    )
    judged: dict[int, boost.Judged] = {}

    def objective(trial: optuna.Trial) -> float:
        setting = {**params, **{key: _suggest(trial, key, rng) for key, rng in space.items()}}
        _, result, _ = boost.judge(
            setting,
            data,
            cv_folds=spec.split.cv_folds,
            seed=spec.split.seed,
            rounds=rounds,
            patience=patience,
            poisson=poisson,
        )
        judged[trial.number] = result
        trial.set_user_attr("rounds", result.rounds)
        if progress:
            sys.stdout.write(
                f"  trial {trial.number}: {metric} {result.score:.6g}, {result.rounds} rounds\n"
            )
        return result.score

    optuna.logging.set_verbosity(logging.WARNING)
    study = optuna.create_study(
        direction=direction, sampler=optuna.samplers.TPESampler(seed=tune.seed)
    )
    started = time.monotonic()
    study.optimize(objective, n_trials=tune.trials, timeout=tune.timeout_seconds)
    seconds = time.monotonic() - started
    best = study.best_trial
    best_params = {key: best.params[key] for key in space}
    return Search(best_params, judged[best.number], _summary(study, judged, spec, seconds))


def _suggest(trial: optuna.Trial, key: str, space: Range | Choices) -> Any:
    if isinstance(space, Choices):
        return trial.suggest_categorical(key, space.choices)
    if space.whole():
        return trial.suggest_int(key, int(space.low), int(space.high), log=space.log)
    return trial.suggest_float(key, float(space.low), float(space.high), log=space.log)


def _summary(
    study: optuna.Study, judged: dict[int, boost.Judged], spec: DatasetSpec, seconds: float
) -> dict[str, Any]:
    tune = spec.tune
    assert tune is not None
    folds = spec.split.cv_folds
    trials = []
    best_so_far: float | None = None
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    for trial in study.trials:
        if trial.number not in judged:
            continue
        score = judged[trial.number].score
        if best_so_far is None or (score > best_so_far if maximize else score < best_so_far):
            best_so_far = score
        trials.append(
            {
                "number": trial.number,
                "score": score,
                "best_so_far": best_so_far,
                "rounds": judged[trial.number].rounds,
                "params": dict(trial.params),
            }
        )
    best = study.best_trial
    return {
        "sampler": "Optuna TPE",
        "seed": tune.seed,
        "judged_by": f"{folds}-fold cross-validation on the training rows"
        if folds
        else "early stopping on the validation rows",
        "metric": judged[best.number].metric,
        "direction": "higher is better" if maximize else "lower is better",
        "trials_asked": tune.trials,
        "timeout_seconds": tune.timeout_seconds,
        "trials_run": len(trials),
        "stopped_by": "trials" if len(trials) >= tune.trials else "time budget",
        "seconds": round(seconds, 1),
        "best_trial": best.number,
        "best_score": judged[best.number].score,
        "best_params": dict(best.params),
        "best_rounds": judged[best.number].rounds,
        "trials": trials,
    }
