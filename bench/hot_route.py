"""In-process cost of one inline `POST /v1/classify`: through the edge's bypass, and through
FastAPI's router.

Starts the app (its lifespan: champions, ruleset, a new embedded database, auth off), then sends
the same inline-profile bodies straight to the ASGI app, in interleaved rounds: with the
edge's hot routes (the bypass), and with none (every request through FastAPI's router). Prints
µs per request (the median of each round, then the median of the rounds and their spread)
and the load average.

    python -m bench.hot_route [--rounds 5] [--bodies 1000] [--explain]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before LightGBM loads its OpenMP runtime

import argparse
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from fastapi.testclient import TestClient
from starlette.types import Message

from app.db.migrate import upgrade
from app.demo.synthetic import generate_book
from app.main import create_app
from app.settings import Settings
from bench.targets import interleaved, machine


def _edge(app: Any) -> Any:
    """The edge layer in the app's built middleware stack."""
    layer = app.middleware_stack
    while type(layer).__name__ != "Edge":
        layer = layer.app
    return layer


async def _send_all(app: Any, bodies: list[bytes]) -> list[float]:
    times = []
    for body in bodies:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/classify",
            "raw_path": b"/v1/classify",
            "root_path": "",
            "query_string": b"",
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000),
        }
        status = 0

        async def receive(body: bytes = body) -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        started = time.perf_counter()
        await app(scope, receive, send)
        times.append(time.perf_counter() - started)
        assert status == 200, status
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds, >= 3")
    parser.add_argument("--bodies", type=int, default=1_000, help="requests per case and round")
    parser.add_argument("--explain", action="store_true", help="ask for the reasons")
    args = parser.parse_args()
    book = generate_book(args.bodies, 11, as_of=date.today())
    records = ({k: v for k, v in r.items() if k != "personal"} for r in book.records())
    bodies = [orjson.dumps({"profile": r, "explain": args.explain}) for r in records]
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        settings = Settings.model_validate({"database_url": url, "auth_disabled": True})
        app = create_app(settings)
        with TestClient(app) as client:
            client.post("/v1/classify", content=bodies[0])  # builds the middleware stack
            edge, hot = _edge(app), _edge(app).hot
            empty = type(hot)()

            def case(routes: Any) -> Any:
                def run(_round: int) -> float:
                    edge.hot = routes
                    assert client.portal is not None  # the client is started
                    times = client.portal.call(_send_all, app, bodies)
                    return float(statistics.median(times)) * 1e6

                return run

            case(hot)(0)  # warm up
            figures = interleaved({"bypass": case(hot), "router": case(empty)}, args.rounds)
    rounds = f"{args.rounds} rounds of {args.bodies:,} inline bodies"
    print(f"{machine()}; {rounds}, explain={args.explain}")
    for name, values in figures.items():
        spread = f"{min(values):.0f}-{max(values):.0f}"
        print(f"{name:<8} {statistics.median(values):>8.0f} µs per request (rounds {spread})")


if __name__ == "__main__":
    main()
