"""What a `clientscore serve` worker starts from: the app, without scikit-learn.

LightGBM imports scikit-learn, when it is installed, for its scikit-learn estimators; a
serving worker only loads Boosters from their text and predicts with them, and nothing else
the service runs needs it (training, which does, runs in its own command). Marking it absent
before LightGBM is first imported keeps it out of every worker's memory (about 15 MB of
resident memory with the models loaded) and start, for good: nothing in a worker can import it
later. Tests and commands import `app.main`, which imports LightGBM without scikit-learn too
(`app/serving/lean_lightgbm.py`) but lets training import it after.
"""

from __future__ import annotations

import sys

if "lightgbm" not in sys.modules:
    sys.modules.setdefault("sklearn", None)  # type: ignore[arg-type]

from app.main import create_app

__all__ = ["create_app"]
