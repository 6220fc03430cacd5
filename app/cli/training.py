"""`clientscore train --spec FILE`: train a model version from a dataset spec."""

from __future__ import annotations

import argparse
import os
import re
import sys
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
    score.set_defaults(func=cmd_score)


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
    spec = validated(DatasetSpec, args.spec, raw, environ)
    trained = train(
        spec,
        spec_dir=args.spec.resolve().parent,
        models_dir=models_dir,
        name=args.name,
        database_url=settings.database_url_value(),
        progress=sys.stdout.isatty(),
        report=not args.no_report,
    )
    for line in summary(trained.metadata.model_dump(mode="json"), time.monotonic() - started):
        print(line)
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
    scored = score_file(repository, args.model, args.file, args.out, reasons=args.reasons)
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
    """A few lines for the terminal: version, rows, trees, main figures against the baseline."""
    rows = metadata["rows"]
    model, baseline = metadata["metrics"]["model"], metadata["metrics"]["baseline"]
    lines = [
        f"trained {metadata['name']} {metadata['version']} in {seconds:.1f} s",
        f"  rows: {rows['train']:,} train, {rows['validation']:,} validation, "
        f"{rows['test']:,} test; trees: {metadata['num_trees']}",
        f"  {'test figure':<26}{'model':>12}{'mean model':>12}",
    ]
    for key in KEY_FIGURES[metadata["task"]]:
        lines.append(f"  {key:<26}{model[key]:>12.5g}{baseline[key]:>12.5g}")
    top = list((metadata.get("importance") or {}).items())[:5]
    lines.append("  top features: " + ", ".join(f"{n} {s:.0%}" for n, s in top))
    lines += [f"  warning: {warning}" for warning in metadata.get("warnings") or []]
    return lines
