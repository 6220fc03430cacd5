"""Soak: mixed traffic at 80% of its measured peak against 2 workers on Postgres.

Stores a synthetic book in a scratch Postgres database, starts `clientscore serve --workers 2`,
measures the peak rate of a mix of requests (closed loop, `--peak-seconds`), then sends the
same mix at `--fraction` of that rate (open loop, `--seconds`) and samples every worker's RSS
every 10 s. The mix, by weight:

    5  POST /v1/classify, an inline profile (no database)
    2  GET  /v1/clients/{id}/classification (a read and an audit write)
    1  POST /v1/classify:batch, 20 inline profiles
    2  PATCH /v1/clients/{id} without If-Match (a profile write)

Prints the requests shed (503 `overloaded`: a worker had its bound of requests in hand),
errors (any other answer but 2xx, or no answer), p50/p99 per kind and overall of the requests
served, and the RSS series; writes them to bench/results/soak-<time>.json. `--fraction 2`
sends twice the peak: the workers shed what they cannot serve, and the p99 of what they
serve shows whether shedding keeps it short. Exits 1 on any error, or when a
worker's RSS over the last minute is not within 5% of its second minute.

    python -m bench.soak [--seconds 600] [--peak-seconds 30] [--fraction 0.8] [--clients 20000]
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"

import argparse
import asyncio
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
import numpy as np
import orjson

from app.demo.synthetic import generate_book
from bench.http_cases import stored_client_ids
from bench.http_report import child_pids, rss_mb
from bench.server import ROOT, load_demo_book, scratch_database, serving

RESULTS = ROOT / "bench" / "results"
MIX = (("inline", 5), ("by_id", 2), ("batch", 1), ("write", 2))
BATCH_ITEMS = 20
SAMPLE_SECONDS = 10
CONCURRENCY = 32  # closed-loop clients for the peak; the cap on requests in flight after


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=600, help="length of the soak")
    parser.add_argument("--peak-seconds", type=int, default=30, help="length of the peak run")
    parser.add_argument("--fraction", type=float, default=0.8, help="of the peak rate")
    parser.add_argument("--clients", type=int, default=20_000, help="stored demo book")
    return parser.parse_args()


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    done: int = 0
    shed: int = 0  # answered 503 `overloaded` at once: the worker had its bound in hand

    def summary(self) -> dict[str, Any]:
        every = [x for values in self.latencies.values() for x in values]
        kinds = {kind: _percentiles(values) for kind, values in sorted(self.latencies.items())}
        return {
            "requests": self.done,
            "shed": self.shed,
            "errors": dict(self.errors),
            "all": _percentiles(every),
            "kinds": kinds,
        }


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    ms = np.asarray(values) * 1000
    return {
        "count": len(values),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
    }


class Mix:
    """Builds the requests of the mix from a synthetic book and the stored client ids."""

    def __init__(self, ids: list[str], seed: int) -> None:
        book = generate_book(2_000, seed, as_of=date.today())
        self.profiles = [
            {k: v for k, v in orjson.loads(orjson.dumps(r)).items() if k != "personal"}
            for r in book.records()
        ]
        self.ids = ids
        self.kinds = [kind for kind, weight in MIX for _ in range(weight)]
        self.random = random.Random(seed)

    def next(self) -> tuple[str, str, str, Any]:
        kind = self.random.choice(self.kinds)
        pick = self.random.choice
        if kind == "inline":
            return kind, "POST", "/v1/classify", {"profile": pick(self.profiles), "explain": False}
        if kind == "by_id":
            return kind, "GET", f"/v1/clients/{pick(self.ids)}/classification", None
        if kind == "batch":
            items = [{"profile": pick(self.profiles)} for _ in range(BATCH_ITEMS)]
            return kind, "POST", "/v1/classify:batch", {"items": items}
        patch = {"interactions_12m": self.random.randint(0, 40)}
        return kind, "PATCH", f"/v1/clients/{pick(self.ids)}", patch


async def _send(http: httpx.AsyncClient, mix: Mix, tally: Tally) -> None:
    kind, method, path, body = mix.next()
    headers = {"Content-Type": "application/merge-patch+json"} if kind == "write" else {}
    started = time.perf_counter()
    try:
        response = await http.request(method, path, json=body, headers=headers)
    except httpx.HTTPError as exc:
        tally.errors[f"{kind}: {type(exc).__name__}"] += 1
        return
    tally.done += 1
    if response.status_code == 503 and b'"overloaded"' in response.content:
        tally.shed += 1
        return
    if not response.is_success:
        tally.errors[f"{kind}: {response.status_code}"] += 1
        return
    tally.latencies[kind].append(time.perf_counter() - started)


async def peak(http: httpx.AsyncClient, mix: Mix, seconds: float) -> float:
    """Requests per second of the mix with CONCURRENCY clients sending back to back."""
    tally = Tally()
    stop = time.monotonic() + seconds

    async def client() -> None:
        while time.monotonic() < stop:
            await _send(http, mix, tally)

    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    if tally.errors:
        raise SystemExit(f"errors while measuring the peak: {dict(tally.errors)}")
    return tally.done / seconds


async def soak(
    http: httpx.AsyncClient, mix: Mix, rate: float, seconds: float, server_pid: int
) -> tuple[Tally, dict[int, list[float]]]:
    """Sends at `rate` per second for `seconds`, sampling each worker's RSS every 10 s."""
    tally = Tally()
    workers = child_pids(server_pid)
    rss: dict[int, list[float]] = {pid: [] for pid in workers}
    in_flight = asyncio.Semaphore(max(CONCURRENCY * 4, int(rate)))
    tasks: set[asyncio.Task[None]] = set()
    start = time.monotonic()
    next_sample = start

    async def one() -> None:
        async with in_flight:
            await _send(http, mix, tally)

    sent = 0
    while (now := time.monotonic()) - start < seconds:
        if now >= next_sample:
            for pid in workers:
                rss[pid].append(rss_mb(pid)[0])
            next_sample += SAMPLE_SECONDS
        due = int((now - start) * rate)
        for _ in range(due - sent):
            task = asyncio.create_task(one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        sent = max(sent, due)
        await asyncio.sleep(0.002)
    await asyncio.gather(*tasks)
    return tally, rss


def flat(series: list[float]) -> tuple[float, float, bool]:
    """Mean RSS of the second minute and of the last one, and whether they are within 5%."""
    per_minute = 60 // SAMPLE_SECONDS
    second = series[per_minute : 2 * per_minute]
    last = series[-per_minute:]
    if not second or len(series) < 3 * per_minute:
        return 0.0, 0.0, True
    a, b = float(np.mean(second)), float(np.mean(last))
    return a, b, abs(b - a) <= 0.05 * a


async def run(args: argparse.Namespace) -> int:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    with scratch_database() as url:
        print(f"storing a {args.clients:,}-client book ...", flush=True)
        load_demo_book(url, clients=args.clients, seed=7)
        with serving(url, workers=2) as served:
            ids = stored_client_ids(served.base_url, served.token, args.clients)
            mix = Mix(ids, seed=11)
            # Idle connections are let go before the server's 5 s keep-alive ends, so none is
            # reused just as the server closes it.
            limits = httpx.Limits(max_connections=CONCURRENCY * 8, keepalive_expiry=2.0)
            headers = {"Authorization": f"Bearer {served.token}"}
            async with httpx.AsyncClient(
                base_url=served.base_url, headers=headers, limits=limits, timeout=30
            ) as http:
                print(f"measuring the peak for {args.peak_seconds} s ...", flush=True)
                top = await peak(http, mix, args.peak_seconds)
                rate = top * args.fraction
                print(f"peak {top:.0f} req/s; soaking at {rate:.0f} req/s for {args.seconds} s")
                tally, rss = await soak(http, mix, rate, args.seconds, served.pid)
    summary = tally.summary()
    memory = {str(pid): {"rss_mb": s, "flat": flat(s)} for pid, s in rss.items()}
    record = {
        "when": stamp,
        "seconds": args.seconds,
        "clients": args.clients,
        "workers": 2,
        "peak_rps": top,
        "rate_rps": rate,
        "mix": dict(MIX),
        **summary,
        "rss_every_10s": memory,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"soak-{stamp}.json"
    path.write_bytes(orjson.dumps(record, option=orjson.OPT_INDENT_2))
    print(
        f"requests {summary['requests']:,}, shed {tally.shed:,} (503 overloaded), errors "
        f"{sum(tally.errors.values())}"
    )
    overall = summary["all"]
    print(f"p50 {overall.get('p50_ms', 0):.1f} ms, p99 {overall.get('p99_ms', 0):.1f} ms")
    for kind, figures in summary["kinds"].items():
        print(f"  {kind:7} {figures}")
    for pid, entry in memory.items():
        second, last, ok = entry["flat"]
        series = ", ".join(f"{x:.0f}" for x in entry["rss_mb"])
        verdict = "flat" if ok else "NOT FLAT"
        print(f"worker {pid} RSS MB every 10 s: {series}")
        print(f"  2nd minute {second:.0f} MB, last minute {last:.0f} MB: {verdict}")
    print(f"written to {path.relative_to(ROOT)}")
    steady = all(entry["flat"][2] for entry in memory.values())
    return 0 if not tally.errors and steady else 1


def main() -> None:
    raise SystemExit(asyncio.run(run(_options())))


if __name__ == "__main__":
    main()
