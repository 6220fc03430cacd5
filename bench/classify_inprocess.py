"""In-process latency and batch throughput of classification, against bare LightGBM predictions.

Loads the champions in `models/` and the active ruleset in `rules/`, draws a synthetic book
and measures, in interleaved rounds (`--rounds`, at least 3): the lapse model's one-row
`Booster.predict`, then one client's classification without and with reasons
(`classify_profiles` with one validated profile: the scalar path), `--single` calls each
(p50 per round); then, on one chunk of `--chunk` clients per round, the lapse model's own
batch predict on the encoded rows and `classify_columns` (JSON-ready results included)
without and with reasons. Each round gives one ratio per case; the issue's targets are
checked on the median (bench/targets.py).

Single calls run on one thread (OMP_NUM_THREADS=1, as the service runs); batches use
`--batch-threads` (default 2, both cores: a batch job has the machine to itself).

    python -m bench.classify_inprocess [--rounds 5] [--single 1000] [--chunk 10000]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before LightGBM loads its OpenMP runtime

import argparse
import resource
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np

from app.classification.batch import classify_columns, classify_profiles
from app.demo.synthetic import generate_book
from app.profiles.schemas import ClientProfile
from app.rules.store import RulesetStore
from app.serving.features import encode, profile_features
from app.serving.registry import load_champions
from bench.targets import (
    BATCH,
    ONE_CLIENT,
    ONE_CLIENT_REASONS,
    Target,
    interleaved,
    machine,
    ratio_line,
)

TODAY = date.today()
BATCH_REASONS = Target("batch of 10,000 with reasons, vs the same", None)


def percentiles(samples: list[float]) -> tuple[float, float]:
    micros = np.array(samples) * 1e6
    return float(np.percentile(micros, 50)), float(np.percentile(micros, 99))


def timed(call: Callable[[int], object], count: int) -> list[float]:
    """Seconds of each `call(i)` for i in 0..count-1, one client per call."""
    times = []
    for i in range(count):
        started = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds, >= 3")
    parser.add_argument("--single", type=int, default=1_000, help="single calls per case/round")
    parser.add_argument("--chunk", type=int, default=10_000, help="clients per batch call")
    parser.add_argument("--batch-threads", type=int, default=2)
    args = parser.parse_args()
    if args.rounds < 3:
        parser.error("--rounds must be at least 3")

    champions = load_champions(Path("models"))
    ruleset = RulesetStore(Path("rules")).load_active()
    book = generate_book(max(args.chunk * args.rounds, args.single), 11, as_of=TODAY)
    profiles = [ClientProfile.model_validate(record) for record in book.records()]
    lapse = champions.model("lapse")
    matrix = encode(profile_features(book.profiles, TODAY), lapse.metadata.features)
    columns = dict(book.profiles)
    threads = args.batch_threads

    def classify(i: int, explain: bool) -> object:
        return classify_profiles(
            profiles[i : i + 1], champions=champions, ruleset=ruleset, as_of=TODAY, explain=explain
        )

    def chunk_of(r: int) -> tuple[int, int]:
        start = r * args.chunk % (len(profiles) - args.chunk + 1)
        return start, start + args.chunk

    def batch(r: int, explain: bool) -> float:
        start, stop = chunk_of(r)
        chunk = {name: values[start:stop] for name, values in columns.items()}
        started = time.perf_counter()
        classify_columns(
            chunk, champions=champions, ruleset=ruleset, as_of=TODAY, explain=explain,
            threads=threads,
        )  # fmt: skip
        return (stop - start) / (time.perf_counter() - started)

    def bare(r: int) -> float:
        start, stop = chunk_of(r)
        started = time.perf_counter()
        lapse.booster.predict(matrix[start:stop], num_threads=threads)
        return (stop - start) / (time.perf_counter() - started)

    for i in range(200):  # warm up caches and the rule engine
        classify(i, True)
    samples: dict[str, list[float]] = {"base": [], "plain": [], "explained": []}

    def p50_of(name: str, call: Callable[[int], object]) -> Callable[[int], float]:
        def measure(_round: int) -> float:
            times = timed(call, args.single)
            samples[name] += times
            return percentiles(times)[0]

        return measure

    single = interleaved(
        {
            "base": p50_of("base", lambda i: lapse.booster.predict(matrix[i : i + 1])),
            "plain": p50_of("plain", lambda i: classify(i, False)),
            "explained": p50_of("explained", lambda i: classify(i, True)),
        },
        args.rounds,
    )
    labels = {
        "base": "baseline: lapse Booster.predict, one row",
        "plain": "classify one client, explain=False",
        "explained": "classify one client, explain=True",
    }
    print(f"{machine()}; single calls on one thread, {args.rounds} rounds of {args.single:,}")
    print(f"{'single call (in-process, µs)':<46}{'p50':>10}{'p99':>10}")
    for name, label in labels.items():
        p50, p99 = percentiles(samples[name])
        print(f"{label:<46}{p50:>10.0f}{p99:>10.0f}")
    per_round = zip(single["plain"], single["explained"], single["base"], strict=True)
    ratios = [(p / b, e / b) for p, e, b in per_round]
    print(ratio_line(ONE_CLIENT, [r[0] for r in ratios]))
    print(ratio_line(ONE_CLIENT_REASONS, [r[1] for r in ratios]))

    batches = interleaved(
        {
            "bare": bare,
            "plain": lambda r: batch(r, False),
            "explained": lambda r: batch(r, True),
        },
        args.rounds,
    )
    title = f"batches of {args.chunk:,}, {threads} threads (median of {args.rounds} rounds)"
    print(f"\n{title:<60}{'clients/s':>10}")
    print(f"{'baseline: lapse Booster.predict':<60}{statistics.median(batches['bare']):>10.0f}")
    print(f"{'classify, explain=False':<60}{statistics.median(batches['plain']):>10.0f}")
    print(f"{'classify, explain=True':<60}{statistics.median(batches['explained']):>10.0f}")
    print(
        ratio_line(BATCH, [c / b for c, b in zip(batches["plain"], batches["bare"], strict=True)])
    )
    explained = [c / b for c, b in zip(batches["explained"], batches["bare"], strict=True)]
    print(ratio_line(BATCH_REASONS, explained))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process (book of {len(profiles):,} included): {rss:.0f} MB")


if __name__ == "__main__":
    main()
