"""`clientscore train --spec FILE`: train a model version from a dataset spec."""

from __future__ import annotations

import argparse
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import ServiceError

if TYPE_CHECKING:
    from app.settings import Settings

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def register(commands: Any) -> None:
    """Add the `train` command to the `clientscore` sub-command parsers."""
    train = commands.add_parser(
        "train",
        help="train a model version from a dataset spec",
        description="Train a LightGBM model from a dataset spec (YAML, see docs/training.md), "
        "judge it on held-out rows against the mean model and write a new version folder.",
    )
    train.add_argument("--spec", required=True, type=Path, metavar="FILE", help="dataset spec")
    train.add_argument(
        "--models-dir", type=Path, metavar="DIR", help="registry folder (CLIENTSCORE_MODELS_DIR)"
    )
    train.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="folder of the data files, for specs whose path uses ${CLIENTSCORE_DATA_DIR}",
    )
    train.add_argument("--name", help="model name (default: the spec's name)")
    train.add_argument("--promote", action="store_true", help="make the new version the champion")
    train.add_argument(
        "--no-report", action="store_true", help="leave out report.html and its plots (faster)"
    )
    train.add_argument(
        "--quiet", action="store_true", help="no progress lines on stderr (the summary stays)"
    )
    _threads_option(train)
    train.set_defaults(func=cmd_train)
    score = commands.add_parser(
        "score",
        help="score a CSV or Parquet file with any model version",
        description="Add the prediction of a registry model version (and optionally its top "
        "reasons) to every row of a file, encoded as the version was trained.",
    )
    score.add_argument(
        "--model", required=True, metavar="NAME[@VERSION]", help="default: champion, else newest"
    )
    score.add_argument("file", type=Path, metavar="FILE", help="CSV (.csv, .csv.gz) or Parquet")
    score.add_argument("--out", required=True, type=Path, help=".parquet, .csv or .csv.gz")
    score.add_argument("--reasons", type=int, default=0, metavar="N", help="top N contributions")
    score.add_argument(
        "--models-dir", type=Path, metavar="DIR", help="registry folder (CLIENTSCORE_MODELS_DIR)"
    )
    _threads_option(score)
    score.set_defaults(func=cmd_score)


def _threads_option(parser: Any) -> None:
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="LightGBM threads (default: the cores this process may use less the load average, "
        "at most the spec's num_threads when training)",
    )


def threads(args: argparse.Namespace, most: int | None = None) -> int:
    """`--threads`, checked, or the fair share of the machine (at most `most`)."""
    from app.cpu import fair_share

    if args.threads is not None:
        if args.threads < 1:
            raise ServiceError("--threads: give at least 1")
        return int(args.threads)
    share = fair_share()
    return min(share, most) if most else share


def cmd_train(settings: Settings, args: argparse.Namespace) -> None:
    # Imported here so `clientscore serve` does not pay for LightGBM, sklearn and matplotlib.
    from app.training.fit import train
    from app.training.spec import DATA_DIR_VARIABLE, DatasetSpec, read_raw, validated

    if args.name is not None and not NAME.match(args.name):
        raise ServiceError("--name: lower-case letters, digits, '-' and '_', at most 64")
    environ = dict(os.environ)
    if args.data_dir is not None:
        if not args.data_dir.is_dir():
            raise ServiceError(f"--data-dir: no folder at {args.data_dir}")
        environ[DATA_DIR_VARIABLE] = str(args.data_dir.resolve())
    started = time.monotonic()
    raw = read_raw(args.spec)
    models_dir = args.models_dir or settings.models_dir
    if raw.get("task") == "retention":
        _train_retention(args, raw, models_dir, environ)
        return
    from app.training.progress import Progress

    spec = validated(DatasetSpec, args.spec, raw, environ)
    recorded = spec.lightgbm_params().get("num_threads")
    running = threads(args, recorded if isinstance(recorded, int) and recorded > 0 else None)
    progress = Progress.to_stderr(quiet=args.quiet)
    progress.line(f"training {spec.name} on {running} thread{'s' * (running > 1)}")
    trained = train(
        spec,
        spec_dir=args.spec.resolve().parent,
        models_dir=models_dir,
        name=args.name,
        database_url=settings.database_url_value(),
        progress=progress,
        threads=running,
        report=not args.no_report,
    )
    for line in summary(trained.metadata.model_dump(mode="json"), time.monotonic() - started):
        print(line, flush=True)
    print(f"  folder: {trained.folder}")
    if args.promote:
        _promote(models_dir, trained.metadata.name, trained.metadata.version)


def _train_retention(
    args: argparse.Namespace, raw: dict[str, Any], models_dir: Path, environ: dict[str, str]
) -> None:
    from app.training.retention import RetentionSpec, summary, train_retention
    from app.training.spec import validated

    if args.promote or args.name:
        raise ServiceError("--promote, --name: a retention fit goes into the ruleset instead")
    spec = validated(RetentionSpec, args.spec, raw, environ)
    folder = train_retention(spec, spec_dir=args.spec.resolve().parent, models_dir=models_dir)
    for line in summary(folder):
        print(line)


def cmd_score(settings: Settings, args: argparse.Namespace) -> None:
    from app.serving.repository import ModelRepository
    from app.training.scoring import score_file

    if args.reasons < 0:
        raise ServiceError("--reasons: give a count of at least 0")
    repository = ModelRepository(args.models_dir or settings.models_dir)
    scored = score_file(
        repository, args.model, args.file, args.out, reasons=args.reasons, threads=threads(args)
    )
    meta = scored.model.metadata
    print(f"scored {scored.rows:,} rows with {meta.name} {meta.version} into {scored.out}")


def _promote(models_dir: Path, name: str, version: str) -> None:
    from app.serving.features import SERVICE_FEATURES
    from app.serving.repository import ModelRepository

    ModelRepository(models_dir).promote(
        name, version, expected=SERVICE_FEATURES, by="clientscore train --promote"
    )
    print(f"  promoted: {name} now serves {version}")


KEY_FIGURES = {
    "binary": ("auc", "log_loss", "brier", "top10_lift"),
    "poisson": ("poisson_deviance", "deviance_per_policy_x100", "d2", "gini"),
}


def summary(metadata: dict[str, Any], seconds: float) -> list[str]:
    """The closing lines: version, rows, the search, every test figure against the baseline."""
    model, baseline = metadata["metrics"]["model"], metadata["metrics"]["baseline"]
    lines = [
        f"trained {metadata['name']} {metadata['version']} in {seconds:.1f} s",
        f"  rows: {_rows(metadata)}; trees: {metadata['num_trees']}",
        *_search(metadata.get("search")),
        f"  {'test figure':<26}{'model':>12}{'mean model':>12}",
    ]
    keys = [k for k in KEY_FIGURES[metadata["task"]] if k in model]
    keys += [k for k, v in model.items() if k not in keys and isinstance(v, int | float)]
    for key in keys:
        lines.append(f"  {key:<26}{model[key]:>12.5g}{_figure(baseline.get(key)):>12}")
    top = list((metadata.get("importance") or {}).items())[:5]
    lines.append("  top features: " + ", ".join(f"{n} {s:.0%}" for n, s in top))
    lines += [f"  warning: {warning}" for warning in metadata.get("warnings") or []]
    return lines


def _figure(value: Any) -> str:
    return f"{value:.5g}" if isinstance(value, int | float) else "-"


def _rows(metadata: dict[str, Any]) -> str:
    """Row counts that say what they count: after a refit, train holds the validation rows."""
    rows = metadata["rows"]
    found = metadata.get("rounds_found") or {}
    test = f"{rows['test']:,} test (every figure below)"
    if not found.get("refit_on_all_training_rows"):
        return (
            f"{rows['train']:,} train, {rows['validation']:,} validation (early stopping), {test}"
        )
    if rows["validation"]:
        return (
            f"{rows['train']:,} train (refit on all; {rows['validation']:,} of them the "
            f"validation rows that chose the rounds), {test}"
        )
    return f"{rows['train']:,} train (refit on all; rounds by {found.get('judged_by')}), {test}"


def _search(search: dict[str, Any] | None) -> list[str]:
    if not search:
        return []
    budget = search.get("timeout_seconds")
    asked = f"{search['trials_asked']} asked" + (f", {budget:g} s budget" if budget else "")
    chosen = ", ".join(f"{k} {_figure(v)}" for k, v in search["best_params"].items())
    pruned = search.get("trials_pruned") or 0
    cut = search.get("trials_cut_at_budget") or 0
    return [
        f"  search: {search['trials_run']} trials run, {pruned} pruned, {cut} cut at the budget "
        f"({asked}); stopped by {search['stopped_by']} after {search['seconds']} s",
        f"  best: trial {search['best_trial']}, {search['metric']} {search['best_score']:.6g} "
        f"({search['judged_by']}), {search['best_rounds']} rounds",
        f"  chosen: {chosen}",
    ]
