"""A serving worker starts without the libraries only some routes use.

Sign-in by OIDC (Authlib, joserfc and with it `cryptography`, its HTTP client), the desk's
templates (Jinja), the book report's writer and run (Parquet, CSV, tqdm, matplotlib) and the
OpenAPI document's schemas of the hot routes are loaded when first used, not by every worker
(`clientscore serve`) at start. A fresh interpreter builds the app as a worker does and
reports what it imported (a worker marks scikit-learn absent: `None` in `sys.modules`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFERRED = (
    "authlib",
    "joserfc",
    "cryptography",
    "httpx2",
    "jinja2",
    "tqdm",
    "matplotlib",
    "sklearn",
    "pyarrow.parquet",
    "pyarrow.csv",
    "app.book.report",
    "app.book.run",
)
SCRIPT = f"""
import json, sys
import app.worker
app.worker.create_app()
names = {(*DEFERRED, "lightgbm")!r}
print(json.dumps(sorted(n for n in names if sys.modules.get(n) is not None)))
"""


def test_a_worker_builds_its_app_without_the_libraries_of_routes_it_has_not_served() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded = json.loads(done.stdout.splitlines()[-1])
    # The check sees what the worker loads: the models' library is loaded at start.
    assert loaded == ["lightgbm"]
