"""Soak: mixed traffic at 80% of its measured peak against 2 workers on Postgres.

Stores a synthetic book in a scratch Postgres database, starts `clientscore serve --workers 2`,
measures the peak rate of a mix of requests (closed loop, 32 connections, `--peak-seconds`),
then sends the same mix at `--fraction` of that rate (open loop, `--seconds`) and samples
every worker's RSS every 10 s. Both phases use the same light generator (`bench.loadgen`:
pre-encoded HTTP/1.1 on keep-alive connections, latency from each request's due time). The
mix, by weight:

    5  POST /v1/classify, an inline profile (no database)
    2  GET  /v1/clients/{id}/classification (a read and an audit write)
    1  POST /v1/classify:batch, 20 inline profiles
    2  PATCH /v1/clients/{id} without If-Match (a profile write)

Prints the offered and served rates, the requests shed (503 `overloaded`: a worker had its
bound of requests in hand), the errors (any other answer but 2xx, or no answer), the requests
the generator could not send, p50/p99 per kind and overall of the requests served, the
generator's own CPU per request, and the RSS series; writes them to
bench/results/soak-<time>.json. `--fraction 2` sends twice the peak: the workers shed what
they cannot serve, and the p99 of what they serve shows whether shedding keeps it short.
Exits 1 on any error, on any request the generator could not send, or when a worker's RSS
over the last minute is not within 5% of its second minute.

    python -m bench.soak [--seconds 600] [--peak-seconds 30] [--fraction 0.8] [--clients 20000]
        [--rate R (req/s, instead of the fraction of the peak)]
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"

import argparse
import asyncio
import random
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from app.demo.synthetic import generate_book
from app.settings import Settings
from bench import proc_cpu
from bench.http_cases import stored_client_ids
from bench.http_report import child_pids, rss_mb
from bench.loadgen import Generator, Request, closed_loop, encode, new_event_loop, open_loop
from bench.server import ROOT, load_demo_book, scratch_database, serving
from bench.soak_report import SAMPLE_SECONDS, Phase, print_report, record, steady

RESULTS = ROOT / "bench" / "results"
MIX = (("inline", 5), ("by_id", 2), ("batch", 1), ("write", 2))
BATCH_ITEMS = 20
BATCHES = 200  # different batch bodies
CONNECTIONS = 32  # closed-loop connections for the peak
# Open connections at most during the soak; a request due when all are busy is not sent and
# is counted as such. At twice the peak the shed answer within milliseconds, so this is far
# above what the service keeps busy (its bound is 64 requests per worker).
MAX_CONNECTIONS = 1000


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=600, help="length of the soak")
    parser.add_argument("--peak-seconds", type=int, default=30, help="length of the peak run")
    parser.add_argument("--fraction", type=float, default=0.8, help="of the peak rate")
    parser.add_argument("--clients", type=int, default=20_000, help="stored demo book")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="req/s to send instead of a fraction of the peak"
    )
    return parser.parse_args()


class Mix:
    """The requests of the mix, encoded before the run, from a synthetic book and the stored
    client ids; `next()` picks a kind by weight and one of its requests."""

    def __init__(self, ids: list[str], seed: int, *, host: str, token: str) -> None:
        self.random = random.Random(seed)
        book = generate_book(2_000, seed, as_of=date.today())
        profiles = [
            {k: v for k, v in orjson.loads(orjson.dumps(r)).items() if k != "personal"}
            for r in book.records()
        ]
        auth = {"Authorization": f"Bearer {token}"}
        as_json = {**auth, "Content-Type": "application/json"}
        as_patch = {**auth, "Content-Type": "application/merge-patch+json"}

        def post(kind: str, path: str, body: Any) -> Request:
            return Request(kind, encode("POST", path, host=host, headers=as_json, body=body))

        def batch() -> bytes:
            items = [{"profile": self.random.choice(profiles)} for _ in range(BATCH_ITEMS)]
            return orjson.dumps({"items": items})

        def patch(client_id: str) -> bytes:
            body = orjson.dumps({"interactions_12m": self.random.randint(0, 40)})
            return encode(
                "PATCH", f"/v1/clients/{client_id}", host=host, headers=as_patch, body=body
            )

        self.requests = {
            "inline": [
                post("inline", "/v1/classify", orjson.dumps({"profile": p, "explain": False}))
                for p in profiles
            ],
            "by_id": [
                Request(
                    "by_id",
                    encode("GET", f"/v1/clients/{i}/classification", host=host, headers=auth),
                )
                for i in ids
            ],
            "batch": [post("batch", "/v1/classify:batch", batch()) for _ in range(BATCHES)],
            "write": [Request("write", patch(i)) for i in ids],
        }
        self.kinds = [kind for kind, weight in MIX for _ in range(weight)]

    def next(self) -> Request:
        return self.random.choice(self.requests[self.random.choice(self.kinds)])


async def _sample_rss(workers: list[int], rss: dict[int, list[float]]) -> None:
    while True:
        for pid in workers:
            rss[pid].append(rss_mb(pid)[0])
        await asyncio.sleep(SAMPLE_SECONDS)


async def measure(
    args: argparse.Namespace, mix: Mix, address: tuple[str, int], server_pid: int
) -> tuple[Phase, Phase, dict[int, list[float]]]:
    """The peak (closed loop), then the soak at `--fraction` of it (open loop) with the RSS
    of every worker sampled every 10 s."""
    print(f"measuring the peak for {args.peak_seconds} s ...", flush=True)
    workers = child_pids(server_pid)
    generator = Generator(*address, max_connections=CONNECTIONS)
    start = proc_cpu.mark(workers)
    run = await closed_loop(generator, mix.next, connections=CONNECTIONS, seconds=args.peak_seconds)
    cpu = proc_cpu.spent(start, proc_cpu.mark(workers), run.seconds)
    peak = Phase(generator.tally, run, rate=0.0, cpu=cpu)
    if generator.tally.error_counts():
        raise SystemExit(f"errors while measuring the peak: {generator.tally.summary()}")
    top = peak.served_rate  # what shed while measuring it (a bound below 32) does not count
    rate = args.rate or top * args.fraction
    print(f"peak {top:.0f} req/s; soaking at {rate:.0f} req/s for {args.seconds} s", flush=True)
    rss: dict[int, list[float]] = {pid: [] for pid in workers}
    sampler = asyncio.create_task(_sample_rss(workers, rss))
    generator = Generator(*address, max_connections=MAX_CONNECTIONS)
    start = proc_cpu.mark(workers)
    run = await open_loop(generator, mix.next, rate=rate, seconds=args.seconds)
    cpu = proc_cpu.spent(start, proc_cpu.mark(workers), run.seconds)
    sampler.cancel()
    return peak, Phase(generator.tally, run, rate=rate, cpu=cpu), rss


def run(args: argparse.Namespace) -> int:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    with scratch_database() as url:
        print(f"storing a {args.clients:,}-client book ...", flush=True)
        load_demo_book(url, clients=args.clients, seed=7)
        with serving(url, workers=2) as served:
            ids = stored_client_ids(served.base_url, served.token, args.clients)
            split = urlsplit(served.base_url)
            assert split.hostname is not None
            assert split.port is not None
            mix = Mix(ids, seed=11, host=split.netloc, token=served.token)
            with asyncio.Runner(loop_factory=new_event_loop) as runner:
                peak, soak, rss = runner.run(
                    measure(args, mix, (split.hostname, split.port), served.pid)
                )
    bound = Settings().max_requests_in_flight  # the servers' environment is this process's
    result = record(
        stamp, args, peak, soak, rss, mix=dict(MIX), connections=CONNECTIONS, max_in_flight=bound
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"soak-{stamp}.json"
    path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print_report(result, max_connections=MAX_CONNECTIONS)
    print(f"written to {path.relative_to(ROOT)}")
    fine = not soak.tally.error_counts() and not soak.tally.unsent and steady(result)
    return 0 if fine else 1


def main() -> None:
    raise SystemExit(run(_options()))


if __name__ == "__main__":
    main()
