"""What `clientscore train` says while and after it works, on any output, and the search's budget.

The command runs in a process of its own with stdout and stderr sent to a file, as in a
logged job: a line per trial and the closing summary must be in the file.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from app.cli.training import summary
from app.training import boost
from app.training.datasets import prepare
from app.training.progress import Progress
from app.training.sources import load_table
from app.training.spec import load_spec
from app.training.tune import search, space_warnings
from app.training.tune_spec import Range
from tests.unit.test_training import _lapse_frame, _spec, _train

ROOT = Path(__file__).resolve().parents[2]
TUNE = {
    "trials": 4,
    "seed": 3,
    "space": {"num_leaves": {"low": 2, "high": 8}, "eta": {"low": 0.05, "high": 0.3, "log": True}},
}
FIXED = {"num_boost_round": 60, "min_data_in_leaf": 20}


def test_a_tuned_run_logged_to_a_file_shows_each_trial_and_the_summary(tmp_path: Path) -> None:
    _lapse_frame().to_csv(tmp_path / "rows.csv", index=False)
    spec = _spec(tmp_path, "rows.csv", params=FIXED, tune=TUNE, metrics={"capture_at": [50, 0.05]})
    log = tmp_path / "train.log"
    command = [
        *(sys.executable, "-c", "from app.cli.main import main; raise SystemExit(main())"),
        *("train", "--spec", str(spec), "--models-dir", str(tmp_path / "m"), "--no-report"),
    ]

    with log.open("w") as out:
        done = subprocess.run(command, cwd=ROOT, stdout=out, stderr=out, timeout=300)

    text = log.read_text()
    assert done.returncode == 0, text
    trials = re.findall(
        r"^  trial (\d): binary_logloss 0\.\d+, \d+ rounds, [\d.]+ s; best 0\.\d+", text, re.M
    )
    assert sorted(trials) == ["0", "1", "2", "3"]  # a pair side by side ends in either order
    assert re.search(r"refit on all training rows: round \d+/\d+ \(", text)
    assert "\r" not in text  # no live bar in a file
    assert re.search(r"search: 4 trials run, 0 pruned, 0 cut at the budget \(4 asked\)", text)
    assert "stopped by trials" in text
    assert re.search(r"chosen: learning_rate 0\.\d+, num_leaves \d$", text, re.M)
    assert re.search(r"3,200 train \(refit on all; 480 of them the validation rows", text)
    for figure in ("captured_top_50", "capture_top_5%", "auc", "top10_capture"):
        assert re.search(rf"^  {re.escape(figure)} +[\d.]+ +[\d.]+$", text, re.M), figure


def test_quiet_leaves_only_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli.main import main

    _lapse_frame().to_csv(tmp_path / "rows.csv", index=False)
    spec = _spec(tmp_path, "rows.csv", params=FIXED)
    command = ["train", "--spec", str(spec), "--models-dir", str(tmp_path / "m"), "--no-report"]

    assert main([*command, "--quiet", "--threads", "1"]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == ""
    assert "trained tiny" in quiet.out
    assert main([*command, "--threads", "0"]) == 2
    assert "--threads: give at least 1" in capsys.readouterr().err


def _rounds_for(seconds: float, path: Path) -> int:
    """The rounds one fit of `path`'s spec runs in about `seconds` on this machine, now."""
    spec = load_spec(path)
    data = prepare(spec, load_table(spec, spec_dir=path.parent, database_url=None))
    params = {**spec.lightgbm_params(), "metric": "binary_logloss", "num_threads": 1}
    started = time.monotonic()
    boost.refit(params, data, data.fit, rounds=300, poisson=False)
    return max(300, round(300 * seconds / (time.monotonic() - started)))


def test_a_search_with_a_20_s_budget_ends_within_22_s(tmp_path: Path) -> None:
    frame = pd.concat([_lapse_frame(seed) for seed in range(3)], ignore_index=True)
    frame.to_csv(tmp_path / "big.csv", index=False)
    # Trials of about 6 s that never stop early (a tiny learning rate, all the patience), so
    # one is running when the budget is spent.
    params = {"learning_rate": 0.0005, "num_threads": 1, "min_data_in_leaf": 20}
    rounds = _rounds_for(6.0, _spec(tmp_path, "big.csv", params=params))
    params |= {"num_boost_round": rounds, "early_stopping_rounds": rounds}
    budget: dict[str, Any] = {"trials": 1000, "timeout_seconds": 20, "seed": 1}
    budget["space"] = {"num_leaves": {"low": 4, "high": 8}}
    spec = load_spec(_spec(tmp_path, "big.csv", params=params, tune=budget))
    data = prepare(spec, load_table(spec, spec_dir=tmp_path, database_url=None))
    log = io.StringIO()

    started = time.monotonic()
    found = search(
        spec, data, {**spec.lightgbm_params(), "metric": "binary_logloss"}, progress=Progress(log)
    )
    seconds = time.monotonic() - started

    assert seconds < 22, log.getvalue()
    assert found.summary["stopped_by"] == "time budget"
    assert found.summary["trials_cut_at_budget"] >= 1  # a pair runs side by side: 1 or 2
    assert found.summary["trials_run"] >= 1
    assert "stopped at the time budget, left out" in log.getvalue()


def test_a_space_that_cannot_reach_its_leaves_is_told_once(tmp_path: Path) -> None:
    space: dict[str, Any] = {"num_leaves": Range(low=4, high=31), "max_depth": Range(low=2, high=8)}
    assert space_warnings(space, {}) == [
        "tune.space: num_leaves up to 31 cannot be reached with max_depth below 5: "
        "such trials have at most 2**max_depth leaves"
    ]
    assert space_warnings({"num_leaves": Range(low=4, high=31)}, {"max_depth": 5}) == []

    _lapse_frame().to_csv(tmp_path / "rows.csv", index=False)
    tune = {
        **TUNE,
        "space": {"num_leaves": {"low": 2, "high": 31}, "max_depth": {"low": 2, "high": 6}},
    }
    meta = _train(_spec(tmp_path, "rows.csv", params=FIXED, tune=tune), tmp_path / "m").metadata
    assert meta.warnings is not None
    assert [w for w in meta.warnings if "num_leaves" in w] == [
        "tune.space: num_leaves up to 31 cannot be reached with max_depth below 5: "
        "such trials have at most 2**max_depth leaves"
    ]


def test_row_counts_say_what_they_count() -> None:
    base: dict[str, Any] = {
        "name": "t",
        "version": "v",
        "task": "binary",
        "num_trees": 3,
        "rows": {"train": 3200, "validation": 480, "test": 800},
        "metrics": {"model": {"auc": 0.7}, "baseline": {"auc": 0.5}},
    }
    plain = summary({**base, "rounds_found": {"refit_on_all_training_rows": False}}, 1.0)
    assert "3,200 train, 480 validation (early stopping), 800 test" in plain[1]
    cv = {"refit_on_all_training_rows": True, "judged_by": "3-fold cross-validation"}
    folds = summary({**base, "rows": {**base["rows"], "validation": 0}, "rounds_found": cv}, 1.0)
    assert "3,200 train (refit on all; rounds by 3-fold cross-validation)" in folds[1]


def test_trials_side_by_side_are_the_trials_one_after_another(tmp_path: Path) -> None:
    _lapse_frame().to_csv(tmp_path / "rows.csv", index=False)
    tune = {**TUNE, "trials": 10}  # from trial 7 on, pruned against trials 0..4
    spec = load_spec(_spec(tmp_path, "rows.csv", params=FIXED, tune=tune))
    data = prepare(spec, load_table(spec, spec_dir=tmp_path, database_url=None))
    params = {**spec.lightgbm_params(), "metric": "binary_logloss"}

    alone, paired = (search(spec, data, params, threads=n).summary for n in (1, 2))

    assert (alone["side_by_side"], paired["side_by_side"]) == (1, 2)
    # The same settings and rounds; the scores to the last digits (LightGBM sums a metric
    # over the rows on each thread, in an order that depends on their number).
    for one, two in zip(alone["trials"], paired["trials"], strict=True):
        assert (one["number"], one["params"], one["rounds"]) == (
            two["number"],
            two["params"],
            two["rounds"],
        )
        assert one["score"] == pytest.approx(two["score"], rel=1e-12)
    assert alone["trials_run"] + alone["trials_pruned"] == 10
    assert alone["trials_pruned"] == paired["trials_pruned"]
    assert alone["best_params"] == paired["best_params"]
