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

from app.cli.table import blocks, table
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
    compare = action("compare", "versions side by side, of one model or of several", cmd_compare)
    compare.add_argument(
        "models",
        nargs="+",
        metavar="NAME[@VERSION]",
        help="one NAME: its newest versions; several: each NAME@VERSION, or NAME's champion "
        "(else its newest version)",
    )
    compare.add_argument(
        "--last", type=int, default=6, metavar="N", help="newest N versions of a single NAME"
    )
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
    rows = []
    for name in names:
        versions = repository.versions(name)
        champion = _champion(repository, name)
        newest = versions[-1] if versions else "-"
        if champion == "-" and versions:
            headline = f"{_headline(repository, name, newest)} (newest)".lstrip()
        else:
            headline = _headline(repository, name, champion)
        rows.append([name, champion, str(len(versions)), newest, headline])
    header = ["model", "champion", "versions", "newest", "headline"]
    for line in table(header, rows, right=[2], wrap=[1, 4]):
        _say(line)


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
    refs = [ref.partition("@") for ref in args.models]
    for name, _, _version in refs:
        _newest(repository, name)  # refuses a model without versions
    if len(refs) == 1 and not refs[0][2]:
        name = refs[0][0]
        picked = [(name, v) for v in repository.versions(name)[-args.last :]]
    else:
        picked = [(name, version or _default(repository, name)) for name, _, version in refs]
    shown = [repository.metadata(name, version) for name, version in picked]
    champions = {name: _champion(repository, name) for name, _ in picked}
    for line in compare_lines(shown, champions):
        _say(line)


def _default(repository: ModelRepository, name: str) -> str:
    champion = _champion(repository, name)
    return (
        champion if champion != "-" and not champion.startswith("(") else _newest(repository, name)
    )


def compare_lines(
    shown: list[ModelMetadata], champions: dict[str, str], width: int | None = None
) -> list[str]:
    """Rows of figures, one column per version; params only where they differ.

    Versions of several models are headed by their name. Columns that do not fit the terminal
    beside the labels go into a further block below, with the labels again.
    """
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
    head = [m.version + ("*" if m.version == champions.get(m.name) else "") for m in shown]
    names = [m.name for m in shown] if len({m.name for m in shown}) > 1 else []
    if names:
        rows.insert(0, ("version", list[object](head)))
        head = names
    label = max(len(label) for label, _ in rows)
    cells = [[_cell(v) for v in values] for _, values in rows]
    column = max(len(c) for c in [*head, *(c for row in cells for c in row)])
    per_block = blocks(label, column, width)
    lines: list[str] = []
    for start in range(0, len(shown), per_block):
        part = slice(start, start + per_block)
        header = ["", *head[part]]
        body = [[name, *row[part]] for (name, _), row in zip(rows, cells, strict=True)]
        right = list(range(1, len(header)))
        lines += ([""] if lines else []) + table(header, body, right=right, width=width)
    if any(m.version == champions.get(m.name) for m in shown):
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
