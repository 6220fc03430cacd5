"""The framework's ceiling: a minimal FastAPI app returning the lapse model's Booster.predict.

`async def`, a pydantic body, one NumPy row, one prediction: what any FastAPI model server
does at the least. Serve it with

    BARE_FASTAPI_MODEL=models/lapse/<version>/model.txt uvicorn bench.peers.bare_fastapi:app

and POST `{"features": [...]}` (the encoded feature row, null for missing) to /predict.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import lightgbm
import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

MODEL_ENV = "BARE_FASTAPI_MODEL"
_booster: dict[str, Any] = {}


class Row(BaseModel):
    features: list[float | None]


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    _booster["lapse"] = lightgbm.Booster(model_file=os.environ[MODEL_ENV])
    yield


app = FastAPI(lifespan=lifespan)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/predict")
async def predict(row: Row) -> dict[str, float]:
    # None becomes NaN, LightGBM's missing value, as in the service's own encoding.
    matrix = np.array([row.features], dtype=np.float64)
    return {"prediction": float(_booster["lapse"].predict(matrix)[0])}
