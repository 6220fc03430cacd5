"""`clientscore models ...`: list, inspect, promote and roll back model versions on disk.

The serving workers notice a changed champion within `CLIENTSCORE_MODEL_RELOAD_SECONDS`.
"""

from __future__ import annotations

import argparse
import getpass
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import ModelInvalid, NotFound, ServiceError

if TYPE_CHECKING:
    from app.serving.metadata import FeatureSpec, ModelMetadata
    from app.serving.repository import ModelRepository
    from app.settings import Settings

# The first of these the model section has is the one-figure summary in `models list`.
HEADLINE_METRICS = ("auc", "gini", "d2", "poisson_deviance", "log_loss")
Command = Callable[["Settings", argparse.Namespace], None]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `models list|show|promote|rollback` to the `clientscore` command."""
    models = commands.add_parser("models", help="list, inspect, promote and roll back models")
    actions = models.add_subparsers(dest="models_command", required=True)

    def action(name: str, summary: str, func: Command) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=summary)
        parser.add_argument(
            "--models-dir", type=Path, help="the registry folder (default: CLIENTSCORE_MODELS_DIR)"
        )
        parser.set_defaults(func=func)
        return parser

    action("list", "every model: champion, versions, newest, headline metric", cmd_list)
    show = action("show", "a version's metadata and metrics (default: the champion)", cmd_show)
    show.add_argument("name")
    show.add_argument("version", nargs="?")
    compare = action("compare", "the versions of one model side by side", cmd_compare)
    compare.add_argument("name")
    compare.add_argument("--last", type=int, default=6, metavar="N", help="newest N versions")
    promote = action("promote", "check a version, then make it the champion", cmd_promote)
    promote.add_argument("name")
    promote.add_argument("version")
    rollback = action("rollback", "go back to the previous champion", cmd_rollback)
    rollback.add_argument("name")


def cmd_list(settings: Settings, args: argparse.Namespace) -> None:
    repository = _repository(settings, args)
    names = repository.names()
    if not names:
        raise ServiceError(f"no models in {repository.root}")
    _say(f"{'model':<14}{'champion':<28}{'versions':>9}  {'newest':<28}headline")
    for name in names:
        versions = repository.versions(name)
        champion = _champion(repository, name)
        newest = versions[-1] if versions else "-"
        if champion == "-" and versions:
            headline = f"{_headline(repository, name, newest)} (newest)".lstrip()
        else:
            headline = _headline(repository, name, champion)
        _say(f"{name:<14}{champion:<28}{len(versions):>9}  {newest:<28}{headline}")


def cmd_show(settings: Settings, args: argparse.Namespace) -> None:
    repository = _repository(settings, args)
    try:
        champion = repository.champion(args.name)
    except ModelInvalid:
        champion = None  # `list` says the pointer is broken; a named version can still be shown
    version = args.version or champion or _newest(repository, args.name)
    metadata = repository.metadata(args.name, version)
    try:
        repository.load(args.name, version, expected=_schemas())
        check = "ok"
    except (ModelInvalid, NotFound) as exc:
        check = f"refused: {exc.detail}"
    role = " (champion)" if version == champion else ""
    if not args.version and champion is None:
        role = " (newest; no champion)"
    _say(f"{args.name} {version}{role}")
    for line in _summary(metadata, check):
        _say(line)
    for line in _metric_table(metadata.metrics):
        _say(line)


def cmd_compare(settings: Settings, args: argparse.Namespace) -> None:
    repository = _repository(settings, args)
    if args.last < 1:
        raise ServiceError("--last: give a count of at least 1")
    _newest(repository, args.name)  # refuses a model without versions
    champion = _champion(repository, args.name)
    versions = repository.versions(args.name)[-args.last :]
    shown = [repository.metadata(args.name, v) for v in versions]
    for line in compare_lines(shown, champion):
        _say(line)


def compare_lines(shown: list[ModelMetadata], champion: str) -> list[str]:
    """Rows of figures, one column per version (oldest first); params only where they differ."""
    rows: list[tuple[str, list[object]]] = [
        ("trees", [m.num_trees for m in shown]),
        (
            "rows train/valid/test",
            [f"{m.rows.train}/{m.rows.validation}/{m.rows.test}" for m in shown],
        ),
        ("tuned (trials)", [m.search["trials_run"] if m.search else "-" for m in shown]),
        ("training seconds", [m.training_seconds for m in shown]),
    ]
    metrics = [k for k in shown[-1].metrics.get("model", {}) if _numeric_everywhere(shown, k)]
    rows += [(k, [m.metrics["model"][k] for m in shown]) for k in metrics]
    keys = sorted({k for m in shown for k in m.params})
    for key in keys:
        values: list[object] = [m.params.get(key, "-") for m in shown]
        if len({repr(v) for v in values}) > 1:
            rows.append((f"params.{key}", values))
    rows.append(("warnings", [len(m.warnings or []) for m in shown]))
    width = max(len(label) for label, _ in rows) + 2
    head = [m.version + ("*" if m.version == champion else "") for m in shown]
    lines = [f"{'':<{width}}" + "".join(f"{h:>28}" for h in head)]
    lines += [
        f"{label:<{width}}" + "".join(f"{_cell(v):>28}" for v in values) for label, values in rows
    ]
    if any(h.endswith("*") for h in head):
        lines.append("* champion")
    return lines


def _numeric_everywhere(shown: list[ModelMetadata], key: str) -> bool:
    return all(isinstance(m.metrics.get("model", {}).get(key), int | float) for m in shown)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.5g}"
    return "-" if value is None else str(value)


def _newest(repository: ModelRepository, name: str) -> str:
    versions = repository.versions(name)
    if not versions:
        raise ServiceError(f"model '{name}' has no version")
    return versions[-1]


def cmd_promote(settings: Settings, args: argparse.Namespace) -> None:
    repository = _repository(settings, args)
    before = _champion(repository, args.name)
    repository.promote(args.name, args.version, expected=_schemas(), by=_operator())
    _say(
        f"{args.name}: champion is now {args.version} (was {before}); "
        f"serving workers switch within {settings.model_reload_seconds:g} s"
    )


def cmd_rollback(settings: Settings, args: argparse.Namespace) -> None:
    repository = _repository(settings, args)
    before = repository.champion(args.name)
    version = repository.rollback(args.name, expected=_schemas(), by=_operator())
    _say(
        f"{args.name}: rolled back to {version} (was {before}); "
        f"serving workers switch within {settings.model_reload_seconds:g} s"
    )


def _repository(settings: Settings, args: argparse.Namespace) -> ModelRepository:
    # Imported here, as in _schemas: LightGBM is for the commands that use it, not for all.
    from app.serving.repository import ModelRepository

    return ModelRepository(args.models_dir or settings.models_dir)


def _schemas() -> dict[str, tuple[FeatureSpec, ...]]:
    from app.serving.registry import service_schemas

    return service_schemas()


def _operator() -> str:
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no user name in some containers
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"


def _champion(repository: ModelRepository, name: str) -> str:
    """The champion for display: '-' when none, a note in brackets when the pointer is broken."""
    try:
        return repository.champion(name) or "-"
    except ModelInvalid:
        return "(champion.json is broken)"


def _headline(repository: ModelRepository, name: str, version: str) -> str:
    from app.classification.retention import RETENTION_FILE

    if version == "-" or version.startswith("("):
        return ""
    if (repository.root / name / version / RETENTION_FILE).is_file():
        return f"sBG retention curves ({RETENTION_FILE}, for the ruleset's clv.retention)"
    try:
        metrics = repository.metadata(name, version).metrics
    except (ModelInvalid, NotFound) as exc:
        return f"unreadable: {exc.detail}"
    model, baseline = metrics.get("model", {}), metrics.get("baseline", {})
    for metric in HEADLINE_METRICS:
        if isinstance(model.get(metric), int | float):
            against = baseline.get(metric)
            versus = f" (baseline {against:.3f})" if isinstance(against, int | float) else ""
            return f"{metric} {model[metric]:.3f}{versus}"
    return ""


def _summary(metadata: ModelMetadata, check: str) -> list[str]:
    rows = metadata.rows
    names = ", ".join(f.name for f in metadata.features)
    return [
        f"  task       {metadata.task} ({metadata.objective}), target {metadata.target}"
        + (f", exposure {metadata.exposure}" if metadata.exposure else ""),
        f"  dataset    {metadata.dataset}",
        f"  trained    {metadata.created_at:%Y-%m-%d %H:%M %Z} with LightGBM "
        f"{metadata.lightgbm_version}, {metadata.num_trees} trees",
        f"  rows       train {rows.train}, validation {rows.validation}, test {rows.test}",
        f"  features   {len(metadata.features)}: {names}",
        f"  model      sha256 {metadata.model_sha256}",
        f"  check      {check}",
    ]


def _metric_table(metrics: dict[str, dict[str, Any]]) -> list[str]:
    model, baseline = metrics.get("model", {}), metrics.get("baseline", {})
    if not model:
        return []
    lines = [f"  {'metric':<28}{'model':>12}{'baseline':>12}"]
    for metric, value in model.items():
        if isinstance(value, int | float):
            lines.append(f"  {metric:<28}{_figure(value):>12}{_figure(baseline.get(metric)):>12}")
    return lines


def _figure(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "-"


def _say(line: str) -> None:
    print(line)
