"""HTTP throughput and latency of classification, against Seldon MLServer and bare FastAPI.

Starts every server itself, one at a time, one worker each, `OMP_NUM_THREADS=1`, and drives
each with wrk (16 connections, 20 s after a 5 s warm-up) in one run on one machine:

    (a)  clientscore POST /v1/classify, inline profile, explain=false
    (a') the same with reasons, explain=true
    (b)  clientscore POST /v1/classify by client_id with reasons (Postgres read, audit write)
    (e)  clientscore GET /v1/clients/{id}/classification, the same by the call-center's route
    (f)  clientscore's desk card GET /desk/clients/{id}, signed in as an agent
    (c)  MLServer 1.7 with its LightGBM runtime serving the lapse model alone (the peer)
    (d)  a bare FastAPI `async def` app returning Booster.predict (the framework's ceiling)

then prints requests/s, p50 and p99, the ratios against the targets, the clientscore
worker's RSS, and the in-process figures of `python -m bench.classify_inprocess`. The same
goes to bench/results/http-<time>.json. Exits 1 when a request failed. Installs wrk (apt)
and MLServer (bench/.venv-mlserver) first when they are missing.

    python -m bench.http_bench [--duration 20] [--warmup 5] [--connections 16]
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"  # for LightGBM here and every server started from here

import argparse
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from app.demo.synthetic import generate_book
from app.serving.repository import LoadedModel, ModelRepository
from bench import http_cases as cases
from bench.http_report import Measured, Memory, child_pids, print_table, record, rss_mb
from bench.http_report import write_record as write_json
from bench.peers import mlserver
from bench.peers.process import running_process
from bench.server import ROOT, free_port, load_demo_book, scratch_database, serving
from bench.wrk.runner import Load, ensure_wrk, run_wrk

RESULTS = ROOT / "bench" / "results"
DEMO_SEED = 7
INLINE_SEED = 11  # inline profiles come from another book than the stored one


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds measured per case")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per case")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--clients", type=int, default=20_000, help="stored demo book")
    parser.add_argument("--profiles", type=int, default=5_000, help="distinct inline bodies")
    parser.add_argument("--inprocess-args", default="", help="for bench.classify_inprocess")
    parser.add_argument("--skip-inprocess", action="store_true")
    return parser.parse_args()


class Bench:
    """One run: the load, the tools it drives, and the synthetic book the bodies come from."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.load = Load(args.connections, args.duration, args.warmup, args.threads)
        self.wrk = ensure_wrk()
        self.mlserver = mlserver.ensure_venv()
        self.book = generate_book(args.profiles, INLINE_SEED, as_of=date.today())
        self.prediction_gaps: dict[str, float] = {}

    def measure(self, case: cases.Case) -> Measured:
        print(f"measuring ({case.key}) {case.label} ...", flush=True)
        result = run_wrk(
            self.wrk,
            case.url,
            case.bodies,
            self.load,
            authorization=case.authorization,
            cookie=case.cookie,
        )
        return Measured(case.key, case.label, result)

    def clientscore(self) -> tuple[list[Measured], Memory]:
        """(a), (a'), (b), (e), (f) on one `clientscore serve` over a Postgres demo book; its
        RSS."""
        with scratch_database() as url:
            load_demo_book(url, clients=self.args.clients, seed=DEMO_SEED)
            with serving(url) as served:
                # With one worker uvicorn serves in its own process: that is the worker. (Its
                # one child is the model prober, app.serving.probe, which never serves.)
                if any(b"multiprocessing" in _cmdline(pid) for pid in child_pids(served.pid)):
                    raise SystemExit("clientscore serve --workers 1 forked: no single worker")
                ready_mb, _ = rss_mb(served.pid)
                ids = cases.stored_client_ids(served.base_url, served.token, self.args.clients)
                cookie = cases.desk_cookie(served.base_url, served.token)
                runs = cases.clientscore_cases(
                    served.base_url, served.token, cookie, self.book, ids, self.work
                )
                for case in runs:
                    if case.key == "f":
                        cases.check_card(case)
                    else:
                        cases.check_classifications(case, explain=case.key != "a")
                measured = [self.measure(case) for case in runs]
                after_mb, peak_mb = rss_mb(served.pid)
        return measured, Memory(served.pid, ready_mb, after_mb, peak_mb)

    def peers(self) -> list[Measured]:
        """(c) MLServer and (d) bare FastAPI, after checking they predict as Booster.predict."""
        lapse, model_file = _lapse_champion()
        rows = cases.lapse_rows(self.book, lapse, date.today())
        expected = np.asarray(lapse.booster.predict(rows[: cases.CHECKED_BODIES]))
        with mlserver.running_mlserver(
            self.mlserver, self.work, model_file=model_file, version=lapse.version
        ) as base_url:
            bodies = cases.mlserver_bodies(rows, self.work / "c.ndjson")
            peer = cases.Case("c", cases.LABELS["c"], f"{base_url}{mlserver.INFER_PATH}", bodies)
            self.prediction_gaps["c"] = cases.check_predictions(peer, expected)
            measured = [self.measure(peer)]
        with _bare_fastapi(model_file, self.work) as base_url:
            bodies = cases.bare_bodies(rows, self.work / "d.ndjson")
            bare = cases.Case("d", cases.LABELS["d"], f"{base_url}{cases.BARE_PATH}", bodies)
            self.prediction_gaps["d"] = cases.check_predictions(bare, expected)
            measured.append(self.measure(bare))
        return measured


def _cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def _lapse_champion() -> tuple[LoadedModel, Path]:
    repository = ModelRepository(ROOT / "models")
    version = repository.champion("lapse")
    if version is None:
        raise SystemExit("models/lapse has no champion")
    model_file = ROOT / "models" / "lapse" / version / "model.txt"
    return repository.load("lapse", version), model_file


@contextmanager
def _bare_fastapi(model_file: Path, logs: Path) -> Iterator[str]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uvicorn", "bench.peers.bare_fastapi:app"]
    command += ["--port", str(port), "--workers", "1", "--log-level", "warning"]
    env = {**os.environ, "BARE_FASTAPI_MODEL": str(model_file)}
    with running_process(
        command, ready_url=f"{base_url}/healthz", env=env, log=logs / "bare.log", cwd=ROOT
    ):
        yield base_url


def _inprocess(args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.classify_inprocess", *shlex.split(args.inprocess_args)]
    print(f"\nin-process figures ({' '.join(command[1:])}):", flush=True)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    print(done.stdout, end="")
    if done.returncode != 0:
        print(done.stderr, end="", file=sys.stderr)
    return {"command": command[1:], "returncode": done.returncode, "output": done.stdout}


def main() -> None:
    args = _options()
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="clientscore-http-bench-") as folder:
        bench = Bench(args, Path(folder))
        measured, memory = bench.clientscore()
        measured += bench.peers()
    table = {m.key: m for m in measured}
    print_table(table, bench.load, memory)
    gaps = bench.prediction_gaps
    print(
        f"(c) and (d) against Booster.predict on the first {cases.CHECKED_BODIES} rows: "
        f"largest gap {max(gaps.values()):.1e}"
    )
    extra: dict[str, Any] = {
        "measured_at": started.isoformat(),
        "omp_num_threads": 1,
        "prediction_gap": gaps,
    }
    if not args.skip_inprocess:
        extra["inprocess"] = _inprocess(args)
    data = record(table, bench.load, memory, extra)
    path = write_json(RESULTS, started.strftime("%Y%m%dT%H%M%SZ"), data)
    print(f"\nwritten to {path.relative_to(ROOT)}")
    if any(m.errors for m in measured) or extra.get("inprocess", {}).get("returncode"):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
