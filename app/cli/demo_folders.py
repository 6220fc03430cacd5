"""The demo's own registry: scratch copies of the model and rules folders under `var/demo/`.

Promotions, rollbacks and ruleset activations made against the demo change the copies, never
the shipped folders, so a checkout stays clean however the demo is used.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from app.errors import ServiceError

DEMO_FOLDER = Path("var/demo")
KEY_FILE = "key"
# What activations add to a rules folder at run time: the copy starts from the ruleset alone.
_RUN_TIME_RULES = ("versions", "active.json", ".active.lock")


@dataclass(frozen=True)
class DemoFolders:
    models: Path
    rules: Path
    key: Path


def prepare(models: Path, rules: Path, root: Path = DEMO_FOLDER) -> DemoFolders:
    """Fresh copies of `models` and `rules` under `root` (a folder that already is the copy
    is kept as it is)."""
    folders = DemoFolders(models=root / "models", rules=root / "rules", key=root / KEY_FILE)
    _fresh_copy(models, folders.models, ignore=())
    _fresh_copy(rules, folders.rules, ignore=_RUN_TIME_RULES)
    return folders


def _fresh_copy(source: Path, target: Path, *, ignore: tuple[str, ...]) -> None:
    if not source.is_dir():
        raise ServiceError(
            f"{source} is not a folder: run the demo from the project's root folder, or set "
            "CLIENTSCORE_MODELS_DIR and CLIENTSCORE_RULES_DIR"
        )
    if target.exists() and target.resolve() == source.resolve():
        return
    staging = target.with_name(f".{target.name}.new")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging, ignore=shutil.ignore_patterns(*ignore))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def write_key(path: Path, token: str) -> None:
    """The demo key in a file only its owner can read, for scripts and the README's examples."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(token + "\n")
