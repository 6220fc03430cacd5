"""A served worker starts without scikit-learn and still loads and runs the champions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK = """
import sys
from pathlib import Path
import app.worker
from app.serving.registry import load_champions
assert sys.modules.get("sklearn") is None, "scikit-learn was imported"
champions = load_champions(Path("models"))
assert sorted(champions.versions()) == ["claims", "lapse", "propensity"], champions.versions()
print("ok")
"""


def test_a_worker_loads_and_serves_the_models_without_scikit_learn() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
