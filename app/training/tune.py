"""The parameter search of `tune:`: Optuna's TPE sampler, judged on the training rows only.

Each trial's setting is judged as the spec's split says: by k-fold cross-validation on the
training rows (`split.cv_folds`), or by early stopping on the validation rows carved from
them. The test rows are never read here. The best setting and its number of rounds are then
refitted on all training rows (see `fit.fit`).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import optuna

from app.training import boost
from app.training.datasets import PreparedData
from app.training.progress import Progress
from app.training.spec import DatasetSpec
from app.training.tune_spec import Choices, Range

PAIR = 2  # settings proposed at once, run side by side when the threads allow
STARTUP_TRIALS = 5  # trials run whole before any is pruned
REPORT_EVERY = 10  # rounds between two reports of a trial judged on the validation rows
OUT_OF_TIME = "time budget"  # user attribute `stopped` of a trial cut at the deadline


class OutOfTime(Exception):
    """Raised inside a running fit when the search's time budget is spent."""


@dataclass(frozen=True, slots=True)
class Search:
    best_params: dict[str, Any]
    best: boost.Judged
    summary: dict[str, Any]  # for metadata.json and the report
    warnings: list[str] = field(default_factory=list)  # about the space, told once


@dataclass
class _Watch:
    """The callbacks of one trial: pruning against the other trials, and the deadline."""

    trial: optuna.Trial
    deadline: float | None  # None until a trial has finished: the search keeps at least one
    by_folds: bool  # judged by cross-validation: pruned between folds only (`on_fold`)
    pruned_at: str = ""

    def on_round(self, env: Any) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise OutOfTime
        if self.by_folds:
            return
        done = env.iteration + 1
        if done % REPORT_EVERY == 0 and env.evaluation_result_list:
            self.trial.report(float(env.evaluation_result_list[0][2]), done)
            if self.trial.should_prune():
                self.pruned_at = f"round {done}"
                raise optuna.TrialPruned

    def on_fold(self, fold: int, mean: float) -> None:
        self.trial.report(mean, fold)
        if self.trial.should_prune():
            self.pruned_at = f"fold {fold + 1}"
            raise optuna.TrialPruned


def search(
    spec: DatasetSpec,
    data: PreparedData,
    params: dict[str, Any],
    *,
    progress: Progress | None = None,
    threads: int | None = None,
) -> Search:
    """Run the search of `spec.tune` around the fixed `params`; the best setting found.

    The sampler proposes settings in pairs, each pair seeing the results of the pairs before
    it: with 2 or more `threads` (default: `params`' num_threads) the two run side by side on
    half the threads each, and once one has ended (often pruned after a fold) the other runs
    its next cross-validation folds two at a time, on the same threads each; on one thread
    they run one after the other. The trials are the same either way, so a search bounded
    by `trials` is reproducible on any machine.

    Trials that cannot win are pruned: by cross-validation, after a fold whose running mean
    is worse than the median of the earlier trials after as many folds; on the validation
    rows, every few rounds likewise. A trial still running when `timeout_seconds` is spent
    is stopped there and left out, so the search ends within a few rounds of its budget;
    only the first pair is let finish, so that a search always has a setting to give.
    """
    tune = spec.tune
    assert tune is not None, "search needs a spec with tune"
    progress = progress or Progress.silent()
    space = tune.canonical_space()
    rounds, patience = spec.rounds()
    poisson = spec.task == "poisson"
    metric = boost.metric_of(params)
    direction: Literal["maximize", "minimize"] = (
        "maximize" if boost.higher_is_better(metric) else "minimize"
    )
    folds = spec.split.cv_folds
    judged: dict[int, boost.Judged] = {}
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + tune.timeout_seconds if tune.timeout_seconds else None

    threads = threads or int(params.get("num_threads") or 1)
    side_by_side = threads >= PAIR
    each = {"num_threads": max(1, threads // PAIR)} if side_by_side else {}
    binned = boost.Binned.for_space(params, set(space))
    if binned is not None:  # every setting keeps the binned sets' dataset parameters
        params = binned.params

    def objective(trial: optuna.Trial, setting: dict[str, Any], alone: threading.Event) -> float:
        watch = _Watch(trial, deadline if judged else None, by_folds=bool(folds))

        def lanes() -> int:  # two folds at once when the trial beside this one has ended
            return PAIR if alone.is_set() and side_by_side else 1

        begun = time.monotonic()
        try:
            _, result, _ = boost.judge(
                setting,
                data,
                cv_folds=folds,
                seed=spec.split.seed,
                rounds=rounds,
                patience=patience,
                poisson=poisson,
                callbacks=[watch.on_round],
                after_fold=watch.on_fold,
                lanes=lanes,
                binned=binned,
            )
        except OutOfTime:
            trial.set_user_attr("stopped", OUT_OF_TIME)
            progress.line(f"  trial {trial.number}: stopped at the time budget, left out")
            raise optuna.TrialPruned from None
        except optuna.TrialPruned:
            seconds = time.monotonic() - begun
            progress.line(
                f"  trial {trial.number}: pruned at {watch.pruned_at} ({seconds:.1f} s), "
                "worse than the median of the earlier trials"
            )
            _tick(trial.study)
            raise
        with lock:
            judged[trial.number] = result
            best = _best(judged, direction)
        trial.set_user_attr("rounds", result.rounds)
        progress.line(
            f"  trial {trial.number}: {metric} {result.score:.6g}, {result.rounds} rounds, "
            f"{time.monotonic() - begun:.1f} s; best {best.score:.6g}"
            f" ({progress.elapsed():.0f} s in all)"
        )
        _tick(trial.study)
        return result.score

    def _tick(study: optuna.Study) -> None:
        done = sum(t.state.is_finished() for t in study.trials) + 1
        progress.bar(done, tune.trials, time.monotonic() - started, tune.timeout_seconds)

    optuna.logging.set_verbosity(logging.WARNING)
    study = optuna.create_study(
        direction=direction,
        sampler=optuna.samplers.TPESampler(seed=tune.seed),
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=STARTUP_TRIALS, n_warmup_steps=0 if folds else patience
        ),
    )
    warnings = space_warnings(tune.space, params)
    for warning in warnings:
        progress.line(f"  warning: {warning}")

    def run(
        trial: optuna.Trial, setting: dict[str, Any], alone: threading.Event, ends: threading.Event
    ) -> float | None:
        """One trial of a pair: `alone` is set when the other has ended; this one sets `ends`."""
        try:
            return objective(trial, setting, alone)
        except optuna.TrialPruned:
            return None
        finally:
            ends.set()

    pool = ThreadPoolExecutor(PAIR) if side_by_side else None
    try:
        while len(study.trials) < tune.trials:
            if deadline is not None and judged and time.monotonic() >= deadline:
                break
            pair = [study.ask() for _ in range(min(PAIR, tune.trials - len(study.trials)))]
            settings = [
                {**params, **each, **{k: _suggest(t, k, r) for k, r in space.items()}} for t in pair
            ]
            ended = [threading.Event() for _ in pair]
            alone = ended[::-1] if len(pair) == PAIR else [_set_event()]
            if pool is None:
                values = [run(*a) for a in zip(pair, settings, alone, ended, strict=True)]
            else:
                values = list(pool.map(run, pair, settings, alone, ended))
            for trial, value in zip(pair, values, strict=True):
                pruned = optuna.trial.TrialState.PRUNED
                study.tell(trial, value, state=None if value is not None else pruned)
            if any(t.user_attrs.get("stopped") == OUT_OF_TIME for t in pair):
                break
    finally:
        if pool is not None:
            pool.shutdown()
        progress.end_bar()
    seconds = time.monotonic() - started
    best_number = min(judged, key=lambda n: _rank(judged[n].score, direction))
    best_trial = study.trials[best_number]
    best_params = {key: best_trial.params[key] for key in space}
    summary = _summary(study, judged, best_number, spec, seconds)
    summary["side_by_side"] = PAIR if side_by_side else 1
    return Search(best_params, judged[best_number], summary, warnings)


def _set_event() -> threading.Event:
    """For the last trial of an odd number: it runs alone from its first fold."""
    event = threading.Event()
    event.set()
    return event


def _rank(score: float, direction: str) -> float:
    return -score if direction == "maximize" else score


def _best(judged: dict[int, boost.Judged], direction: str) -> boost.Judged:
    return min(judged.values(), key=lambda j: _rank(j.score, direction))


def space_warnings(space: dict[str, Range | Choices], params: dict[str, Any]) -> list[str]:
    """Settings of the space that undo each other, told once for the space (not per trial)."""
    leaves, depth = space.get("num_leaves"), space.get("max_depth")
    high = leaves.high if isinstance(leaves, Range) else params.get("num_leaves")
    low_depth = depth.low if isinstance(depth, Range) else params.get("max_depth")
    if not isinstance(high, int | float) or not isinstance(low_depth, int | float):
        return []
    if low_depth <= 0 or high <= 2**low_depth or (leaves is None and depth is None):
        return []
    reach = int(math.log2(high - 1)) + 1
    return [
        f"tune.space: num_leaves up to {high:g} cannot be reached with max_depth below "
        f"{reach}: such trials have at most 2**max_depth leaves"
    ]


def _suggest(trial: optuna.Trial, key: str, space: Range | Choices) -> Any:
    if isinstance(space, Choices):
        return trial.suggest_categorical(key, space.choices)
    if space.whole():
        return trial.suggest_int(key, int(space.low), int(space.high), log=space.log)
    return trial.suggest_float(key, float(space.low), float(space.high), log=space.log)


def _summary(
    study: optuna.Study,
    judged: dict[int, boost.Judged],
    best_number: int,
    spec: DatasetSpec,
    seconds: float,
) -> dict[str, Any]:
    tune = spec.tune
    assert tune is not None
    folds = spec.split.cv_folds
    trials = []
    best_so_far: float | None = None
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    pruned = cut = 0
    for trial in study.trials:
        if trial.number not in judged:
            cut += trial.user_attrs.get("stopped") == OUT_OF_TIME
            pruned += trial.state == optuna.trial.TrialState.PRUNED
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
    best = study.trials[best_number]
    pruned -= cut
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
        "trials_pruned": pruned,
        "trials_cut_at_budget": cut,
        "stopped_by": "trials" if len(trials) + pruned >= tune.trials else OUT_OF_TIME,
        "seconds": round(seconds, 1),
        "best_trial": best.number,
        "best_score": judged[best.number].score,
        "best_params": dict(best.params),
        "best_rounds": judged[best.number].rounds,
        "trials": trials,
    }
