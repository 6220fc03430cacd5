"""In-process classification latency and batch throughput, against bare LightGBM predictions.

Loads the champions in `models/` and the active ruleset in `rules/`, draws a synthetic book
and measures, in one run: one client's classification (p50, p99) without and with reasons
(`classify_profiles` with one validated profile: the scalar path), and batch throughput
(clients/s) without and with reasons: `classify_columns` on the book's columns in chunks of
`--chunk` clients, JSON-ready results included. The baseline is the lapse model's bare
`Booster.predict` on the same encoded rows, one row and whole chunks.

Single calls run on one thread (OMP_NUM_THREADS=1, as the service runs); batches use
`--batch-threads` (default 2, both cores: a batch job has the machine to itself).

    python -m bench.classify_inprocess [--single 2000] [--batch 100000] [--chunk 10000]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before LightGBM loads its OpenMP runtime

import argparse
import resource
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

TODAY = date.today()


def percentiles(samples: list[float]) -> tuple[float, float]:
    micros = np.array(samples) * 1e6
    return float(np.percentile(micros, 50)), float(np.percentile(micros, 99))


def single_calls(call: Callable[[int], object], count: int) -> tuple[float, float]:
    """p50 and p99 in µs of `call(i)` for i in 0..count-1, one client per call."""
    times = []
    for i in range(count):
        started = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - started)
    return percentiles(times)


def throughput(work: Callable[[int, int], object], total: int, chunk: int) -> float:
    started = time.perf_counter()
    for start in range(0, total, chunk):
        work(start, min(start + chunk, total))
    return total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=2_000, help="single calls per case")
    parser.add_argument("--batch", type=int, default=100_000, help="clients per batch case")
    parser.add_argument("--batch-explained", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=10_000, help="clients per batch call")
    parser.add_argument("--batch-threads", type=int, default=2)
    args = parser.parse_args()

    champions = load_champions(Path("models"))
    ruleset = RulesetStore(Path("rules")).load_active()
    book = generate_book(max(args.batch, args.single), 11, as_of=TODAY)
    profiles = [ClientProfile.model_validate(record) for record in book.records()]
    lapse = champions.model("lapse")
    matrix = encode(profile_features(book.profiles, TODAY), lapse.metadata.features)

    columns = dict(book.profiles)

    def classify(start: int, stop: int, explain: bool) -> object:
        return classify_profiles(
            profiles[start:stop], champions=champions, ruleset=ruleset, as_of=TODAY, explain=explain
        )

    def classify_batch(start: int, stop: int, explain: bool) -> object:
        chunk = {name: values[start:stop] for name, values in columns.items()}
        return classify_columns(
            chunk,
            champions=champions,
            ruleset=ruleset,
            as_of=TODAY,
            explain=explain,
            threads=args.batch_threads,
        )

    for i in range(200):  # warm up caches and the rule engine
        classify(i, i + 1, True)
    rows: list[tuple[str, float, float]] = []
    base = single_calls(lambda i: lapse.booster.predict(matrix[i : i + 1]), args.single)
    rows.append(("baseline: lapse Booster.predict, one row", *base))
    plain = single_calls(lambda i: classify(i, i + 1, False), args.single)
    rows.append(("classify one client, explain=False", *plain))
    explained = single_calls(lambda i: classify(i, i + 1, True), args.single)
    rows.append(("classify one client, explain=True", *explained))

    print(f"{'single call (in-process, µs)':<46}{'p50':>10}{'p99':>10}{'p50 / baseline':>16}")
    for label, p50, p99 in rows:
        print(f"{label:<46}{p50:>10.0f}{p99:>10.0f}{p50 / base[0]:>16.1f}")

    threads = args.batch_threads
    bare = throughput(
        lambda a, b: lapse.booster.predict(matrix[a:b], num_threads=threads), args.batch, args.chunk
    )
    batch = throughput(lambda a, b: classify_batch(a, b, False), args.batch, args.chunk)
    batch_explained = throughput(
        lambda a, b: classify_batch(a, b, True), args.batch_explained, args.chunk
    )
    title = f"batches of {args.chunk:,}, {args.batch_threads} threads"
    print(f"\n{title:<46}{'clients/s':>10}{'vs baseline':>16}")
    print(f"{'baseline: lapse Booster.predict':<46}{bare:>10.0f}{1.0:>16.3f}")
    print(f"{f'classify {args.batch:,}, explain=False':<46}{batch:>10.0f}{batch / bare:>16.3f}")
    label = f"classify {args.batch_explained:,}, explain=True"
    print(f"{label:<46}{batch_explained:>10.0f}{batch_explained / bare:>16.3f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process (book of {len(profiles):,} included): {rss:.0f} MB")


if __name__ == "__main__":
    main()
