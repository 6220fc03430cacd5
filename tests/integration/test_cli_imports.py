"""The `clientscore` command loads a command's libraries only when that command runs.

Its parser is built from argparse alone, so `--help` and the database commands (which the
operators and the end-to-end tests run often) start without LightGBM, pandas, scikit-learn,
Dask or matplotlib. Each case runs in a fresh interpreter and reads `sys.modules` after it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("lightgbm", "pandas", "sklearn", "dask", "distributed", "matplotlib", "scipy", "pyarrow")
SCRIPT = f"""
import contextlib, io, json, sys
from app.cli.main import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        code = main(sys.argv[1:])
    except SystemExit as stop:
        code = stop.code
loaded = sorted({{name.split(".")[0] for name in sys.modules}} & set({HEAVY!r}))
print(json.dumps({{"code": code, "out": out.getvalue(), "loaded": loaded}}))
"""


def command(url: str, *args: str) -> tuple[int, str, list[str]]:
    """The exit code, the standard output and the heavy libraries loaded of one command."""
    env = {**os.environ, "CLIENTSCORE_DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(done.stdout.splitlines()[-1])
    return result["code"], result["out"], result["loaded"]


@pytest.mark.parametrize(
    ("args", "printed"),
    [
        (["--help"], "usage: clientscore"),
        (["keys", "create", "--name", "light", "--scopes", "admin"], "Store this key now"),
        (["keys", "list"], "key id"),
        (["migrate"], "up to date"),
    ],
)
def test_the_parser_and_the_key_commands_load_no_model_library(
    sqlite_url: str, args: list[str], printed: str
) -> None:
    code, out, loaded = command(sqlite_url, *args)
    assert code == 0
    assert printed in out
    assert loaded == []


def test_a_command_that_needs_the_models_still_loads_them(sqlite_url: str) -> None:
    """The check above is no accident of the script: `models list` imports LightGBM, and
    LightGBM comes without scikit-learn (app/serving/lean_lightgbm.py)."""
    code, out, loaded = command(sqlite_url, "models", "list", "--models-dir", str(ROOT / "models"))
    assert code == 0
    assert "lapse" in out
    assert "lightgbm" in loaded
    assert "sklearn" not in loaded
