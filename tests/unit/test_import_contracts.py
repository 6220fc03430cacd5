"""The import-linter contracts in pyproject.toml cover the whole `app` package, so a new
package or module cannot sit outside the layers unnoticed (lint-imports checks the rest)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[2]


def _contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}


def _children() -> set[str]:
    app = ROOT / "app"
    packages = {p.name for p in app.iterdir() if (p / "__init__.py").is_file()}
    modules = {p.stem for p in app.glob("*.py") if p.stem != "__init__"}
    return {f"app.{name}" for name in packages | modules}


def test_every_package_and_module_of_app_is_in_a_layer() -> None:
    (layers,) = [c for c in _contracts().values() if c["type"] == "layers"]
    named = {name.strip() for layer in layers["layers"] for name in layer.split("|")}

    assert _children() - named == set()
    assert named - _children() == set()


def test_the_book_is_held_to_the_domain_contracts() -> None:
    forbidden = [c for c in _contracts().values() if c["type"] == "forbidden"]

    for contract in forbidden:
        assert "app.book" in contract["source_modules"], contract["name"]
