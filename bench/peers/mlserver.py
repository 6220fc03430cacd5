"""Seldon MLServer 1.7 with its LightGBM runtime serving the lapse model: the peer.

It is installed into its own venv, bench/.venv-mlserver (its FastAPI and uvloop pins clash
with the service's), and configured at its best for one core: inference in the server
process (`parallel_workers: 0`), no access log, no metrics, no gzip. It reads the champion's
model.txt itself.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from bench.peers.process import running_process
from bench.server import ROOT, free_port

VENV = ROOT / "bench" / ".venv-mlserver"
REQUIREMENTS = Path(__file__).with_name("mlserver-requirements.txt")
MODEL_NAME = "lapse"
INFER_PATH = f"/v2/models/{MODEL_NAME}/infer"


def ensure_venv() -> Path:
    """The `mlserver` command of bench/.venv-mlserver, (re)installed when the pins changed."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    stamp = VENV / f".installed-{digest}"
    command = VENV / "bin" / "mlserver"
    if stamp.exists() and command.exists():
        return command
    print(f"installing MLServer into {VENV.relative_to(ROOT)} ...", flush=True)
    # A venv made from the venv's interpreter is based on the same Python (3.11).
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    for extra in (["--upgrade", "pip"], ["-r", str(REQUIREMENTS)]):
        done = subprocess.run([*pip, *extra], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"installing MLServer failed:\n{done.stdout}\n{done.stderr}")
    stamp.touch()
    return command


def write_settings(folder: Path, *, model_file: Path, version: str, http_port: int) -> None:
    """settings.json (server) and lapse/model-settings.json (the model) in `folder`."""
    server = {
        "http_port": http_port,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
        "host": "127.0.0.1",
        # Inference in the server process: with one core, worker processes only add hops.
        "parallel_workers": 0,
        # debug also turns on uvicorn's access log, one line written per request.
        "debug": False,
        # Its Prometheus middleware and gzip cost it about 15% of its requests/s on one core;
        # the peer is measured at its fastest.
        "metrics_endpoint": None,
        "gzip_enabled": False,
        "load_models_at_startup": True,
    }
    model = {
        "name": MODEL_NAME,
        "implementation": "mlserver_lightgbm.LightGBMModel",
        # The runtime opens the file with lgb.Booster(model_file=...): model.txt as it is.
        "parameters": {"uri": str(model_file.resolve()), "version": version},
    }
    (folder / "settings.json").write_bytes(orjson.dumps(server, option=orjson.OPT_INDENT_2))
    model_dir = folder / MODEL_NAME
    model_dir.mkdir(exist_ok=True)
    (model_dir / "model-settings.json").write_bytes(orjson.dumps(model, option=orjson.OPT_INDENT_2))


@contextmanager
def running_mlserver(
    command: Path, folder: Path, *, model_file: Path, version: str
) -> Iterator[str]:
    """Serves the lapse model with MLServer; yields its base URL."""
    port = free_port()
    write_settings(folder, model_file=model_file, version=version, http_port=port)
    base_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with running_process(
        [str(command), "start", str(folder)],
        ready_url=f"{base_url}/v2/models/{MODEL_NAME}/ready",
        env=env,
        log=folder / "mlserver.log",
        cwd=folder,
    ):
        yield base_url


def infer_body(row: list[float | None]) -> dict[str, object]:
    """A V2 inference request for one encoded feature row (null: missing, read as NaN)."""
    tensor = {"name": "features", "shape": [1, len(row)], "datatype": "FP64", "data": row}
    return {"inputs": [tensor]}


def prediction(response: dict[str, object]) -> float:
    outputs = response["outputs"]
    assert isinstance(outputs, list)
    data = outputs[0]["data"]
    return float(data[0])
