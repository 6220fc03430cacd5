"""LightGBM, imported without scikit-learn.

LightGBM imports scikit-learn (and with it SciPy) when it is installed, for its scikit-learn
estimators: about a second of every process that loads a model (a command, a book run's
worker, a simulation). The service only builds `Booster`s and calls `lightgbm.train`, which
need neither, so scikit-learn is marked absent while LightGBM is first imported and unmarked
after: training, which uses scikit-learn itself, still imports it. Import LightGBM through
this module wherever it may be the first import of it (tests/integration/test_cli_imports.py
holds this for `clientscore models list`); `app/worker.py` keeps scikit-learn out for good.
"""

from __future__ import annotations

import sys

_hidden = "lightgbm" not in sys.modules and "sklearn" not in sys.modules
if _hidden:
    sys.modules["sklearn"] = None  # type: ignore[assignment]
try:
    import lightgbm
    from lightgbm.basic import _safe_call
    from lightgbm.libpath import _LIB  # the library object lightgbm.basic calls, set up by it
finally:
    if _hidden and "sklearn" in sys.modules and sys.modules["sklearn"] is None:
        del sys.modules["sklearn"]

__all__ = ["_LIB", "_safe_call", "lightgbm"]
