"""The desk's card: under load against the by-id classification, alone, and in a browser.

One `clientscore serve` (one worker, `OMP_NUM_THREADS=1`) on a scratch Postgres database
holding the demo book, served and signed in to as `make bench` does (bench/http_bench.py):

1. (b) `POST /v1/classify` by client id and (f) the card `GET /desk/clients/{id}`, the
   cases of `make bench`, driven by wrk in interleaved rounds (b, f, b, f, ...): f/b of each
   round, the median and its spread against the target;
2. the card alone: `--sequential` cards of different clients, one after the other with no
   other load: the p50 against its target, and the p90;
3. the card in Debian's Chromium (Playwright): navigation to the load event (the Navigation
   Timing entry's `loadEventEnd`) of `--browser` cards, after one to fill the cache.

    python -m bench.desk_bench [--rounds 3] [--duration 20] [--warmup 5] [--connections 16]
        [--clients 20000] [--sequential 300] [--browser 30]

The figures go to bench/results/desk-<time>.json.
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"  # for LightGBM in the server started from here

import argparse
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from app.demo.synthetic import generate_book
from bench import http_cases as cases
from bench.http_bench import DEMO_SEED, INLINE_SEED, RESULTS
from bench.http_report import CARD_RATE
from bench.server import ROOT, load_demo_book, scratch_database, serving
from bench.targets import Target, interleaved, machine, ratio_line
from bench.wrk.runner import Load, ensure_wrk, run_wrk
from tests.e2e.browser import CHROMIUM

CARD_TARGET = Target("desk card (f) / by-id classification (b), req/s", CARD_RATE)
CARD_P50 = Target("desk card alone, p50", 30.0, at_most=True, unit=" ms")


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of b and f")
    parser.add_argument("--duration", type=int, default=20, help="seconds measured per case")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per case")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--clients", type=int, default=20_000, help="stored demo book")
    parser.add_argument("--sequential", type=int, default=300, help="cards alone, in turn")
    parser.add_argument("--browser", type=int, default=30, help="cards opened in Chromium")
    return parser.parse_args()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def under_load(
    base_url: str, token: str, cookie: str, ids: list[str], args: argparse.Namespace, work: Path
) -> dict[str, Any]:
    """b and f in interleaved rounds: each round's requests/s and p50, and f/b."""
    book = generate_book(10, INLINE_SEED, as_of=date.today())  # (b) and (f) send stored ids
    runs = {c.key: c for c in cases.clientscore_cases(base_url, token, cookie, book, ids, work)}
    cases.check_classifications(runs["b"], explain=True)
    cases.check_card(runs["f"])
    load = Load(args.connections, args.duration, args.warmup)
    wrk = ensure_wrk()
    measured: dict[str, list[dict[str, float]]] = {"b": [], "f": []}

    def case(key: str) -> Any:
        def run(round_: int) -> float:
            print(f"round {round_ + 1}: ({key}) ... {machine()}", flush=True)
            run = runs[key]
            result = run_wrk(wrk, run.url, run.bodies, load, authorization=run.authorization,
                             cookie=run.cookie)  # fmt: skip
            if result.http_errors or result.socket_errors:
                raise SystemExit(f"({key}) had errors: {result}")
            measured[key].append(
                {"requests_per_s": result.requests_per_s, "p50_ms": result.p50_us / 1000}
            )
            return result.requests_per_s

        return run

    rates = interleaved({"b": case("b"), "f": case("f")}, args.rounds)
    ratios = [f / b for b, f in zip(rates["b"], rates["f"], strict=True)]
    print(ratio_line(CARD_TARGET, ratios))
    for key, rounds in measured.items():
        shown = ", ".join(
            f"{r['requests_per_s']:.0f} req/s p50 {r['p50_ms']:.1f} ms" for r in rounds
        )
        print(f"  ({key}) {shown}")
    return {"rounds": measured, "f_over_b": ratios, "median": statistics.median(ratios)}


def alone(base_url: str, cookie: str, ids: list[str], count: int) -> dict[str, float]:
    """`count` cards of different clients, one after the other: p50 and p90 in ms."""
    times = []
    with httpx.Client(base_url=base_url, headers={"Cookie": cookie}, timeout=30) as http:
        for client_id in ids[:count]:
            started = time.perf_counter()
            http.get(f"/desk/clients/{client_id}").raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    figures = {"p50_ms": statistics.median(times), "p90_ms": _percentile(times, 0.9)}
    print(f"  {CARD_P50.label:<52}{figures['p50_ms']:>8.1f} ms (p90 {figures['p90_ms']:.1f} ms, "
          f"{count} cards)  target {CARD_P50.text():<11}"
          f"{'met' if CARD_P50.met(figures['p50_ms']) else 'MISSED'}")  # fmt: skip
    return figures


def in_browser(base_url: str, cookie: str, ids: list[str], count: int) -> dict[str, float] | None:
    """Navigation to the load event of `count` cards in Chromium, after a first one."""
    if not CHROMIUM.exists():
        print(f"  no Chromium at {CHROMIUM} (apt-get install chromium): browser figure skipped")
        return None
    from playwright.sync_api import sync_playwright

    name, _, value = cookie.partition("=")
    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 720})
            context.add_cookies([{"name": name, "value": value, "url": base_url}])
            page = context.new_page()
            for client_id in ids[: count + 1]:
                page.goto(f"{base_url}/desk/clients/{client_id}", wait_until="load")
                times.append(float(page.evaluate(
                    "performance.getEntriesByType('navigation')[0].loadEventEnd"
                )))  # fmt: skip
        finally:
            browser.close()
    times = times[1:]  # the first one fills the cache with the stylesheet and the script
    figures = {"p50_ms": statistics.median(times), "p90_ms": _percentile(times, 0.9)}
    print(f"  desk card in Chromium, navigation to load event, p50 {figures['p50_ms']:>6.1f} ms "
          f"(p90 {figures['p90_ms']:.1f} ms, {count} cards)")  # fmt: skip
    return figures


def main() -> None:
    args = _options()
    started = datetime.now(UTC)
    print(f"desk bench: {machine()}", flush=True)
    record: dict[str, Any] = {"measured_at": started.isoformat(), "before": machine()}
    with (
        tempfile.TemporaryDirectory(prefix="clientscore-desk-bench-") as folder,
        scratch_database() as url,
    ):
        load_demo_book(url, clients=args.clients, seed=DEMO_SEED)
        with serving(url) as served:
            ids = cases.stored_client_ids(served.base_url, served.token, args.clients)
            cookie = cases.desk_cookie(served.base_url, served.token)
            print("the card alone:", flush=True)
            record["alone"] = alone(served.base_url, cookie, ids[1000:], args.sequential)
            record["browser"] = in_browser(served.base_url, cookie, ids[2000:], args.browser)
            print("under load:", flush=True)
            record["under_load"] = under_load(
                served.base_url, served.token, cookie, ids, args, Path(folder)
            )
    record["after"] = machine()
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"desk-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_bytes(orjson.dumps(record, option=orjson.OPT_INDENT_2))
    print(f"\nwritten to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
