"""A book run measured against the models' own batch predict, in one run.

Writes a synthetic book as Parquet, then measures in interleaved rounds (`--rounds`, at
least 3): the claims model's bare `Booster.predict` on the book's encoded rows (the
baseline, all threads), `book classify` embedded on every core, Parquet in and out, and the
same with reasons on a smaller book; each round gives one ratio per case, and the issue's
targets are checked on the median (bench/targets.py). Then the same run on a two-worker
`LocalCluster` (its overhead over embedded, as a ratio); the report on 1,000,000 results;
a what-if on 1,000,000 clients read from Parquet (`--whatif-clients`); and, with
`--big N`, the peak RSS of classifying N clients.

    python -m bench.book_bench [--rounds 3] [--clients 500000] [--reasons 50000]
        [--whatif-clients 1000000] [--big 10000000]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import importlib
import multiprocessing
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from app.book.bundle import Bundle
from app.book.report import write_report
from app.book.run import Cluster, Embedded, classify_book
from app.book.sources import FileSource
from app.book.synthetic import write_book
from app.cpu import cores
from app.serving.features import encode, profile_features
from app.serving.registry import load_champions
from bench.targets import (
    BIG_BOOK_RSS,
    BOOK,
    BOOK_REASONS,
    figure_line,
    interleaved,
    machine,
    ratio_line,
)

TODAY = date.today()
MODELS, RULES = Path("models"), Path("rules")


def pin(versions: dict[str, Any] | None) -> Bundle:
    return Bundle.pin(MODELS, RULES, versions=versions)


def baseline(book: Path) -> Callable[[int], float]:
    """Rows/s of the claims model's own batch predict on the book's encoded rows (encoded
    once, outside the timing)."""
    from app.book.columns import profile_columns

    table = pq.read_table(book)
    model = load_champions(MODELS).claims
    matrix = encode(profile_features(profile_columns(table), TODAY), model.metadata.features)

    def measure(_round: int) -> float:
        started = time.perf_counter()
        model.booster.predict(matrix)
        return float(matrix.shape[0]) / (time.perf_counter() - started)

    return measure


def run(book: Path, out: Path, *, explain: bool = False, workers: Any = None) -> float:
    """Clients/s of a whole run (process start and model load included)."""
    shutil.rmtree(out, ignore_errors=True)
    summary = classify_book(
        FileSource.of([book]),
        out,
        pin=pin,
        as_of=TODAY,
        explain=explain,
        workers=workers or (lambda bundle: Embedded(bundle, cores())),  # every core
        progress=False,
    )
    return summary.classified / summary.seconds


def report_seconds(results: Path, work: Path, clients: int) -> float:
    """Seconds to write the report of `clients` results (the run's results repeated)."""
    table = pq.read_table(results)
    big = work / "big"
    big.mkdir()
    shutil.copy(results / "_run.json", big / "_run.json")
    copies = -(-clients // table.num_rows)
    for k in range(copies):
        part = table.slice(0, min(table.num_rows, clients - k * table.num_rows))
        ids = pa.array([f"{k}-{i}" for i in range(part.num_rows)])
        pq.write_table(part.set_column(0, "client_id", ids), big / f"part-{k:05d}.parquet")
    started = time.perf_counter()
    write_report(big, work / "report")
    return time.perf_counter() - started


def whatif_seconds(book: Path, clients: int) -> tuple[float, int]:
    """Seconds of a what-if (`rules whatif --book`) on `clients` profiles read from the
    Parquet book (repeated to that size): the active ruleset against one with a higher
    expense ratio, in this process as the command runs it. Also the clients that moved."""
    from app.book.whatif import simulate
    from app.rules.ruleset import Ruleset, read_ruleset_files
    from app.rules.store import RulesetStore

    files = read_ruleset_files(RULES)
    text = files["ruleset.yaml"].decode()
    files["ruleset.yaml"] = text.replace("expense_ratio: 0.25", "expense_ratio: 0.35").encode()
    candidate = Ruleset.from_files(files, cases="report")
    rows = pq.ParquetFile(book).metadata.num_rows
    source = FileSource.of([book] * -(-clients // rows))
    partitions = (table for _, table in source.partitions(100_000, frozenset()))
    active = RulesetStore(RULES).load_active()
    started = time.perf_counter()
    sim = simulate(load_champions(MODELS), active, candidate, partitions, as_of=TODAY)
    return time.perf_counter() - started, sim.moved


def big_run(work: Path, clients: int) -> tuple[float, float, float]:
    """A book of `clients` written by one fresh process and classified by another: clients/s
    and the peak RSS in MB of the run's driver and of its largest worker, the run alone."""
    spawn = multiprocessing.get_context("spawn")
    book = work / "big.parquet"
    with cf.ProcessPoolExecutor(1, mp_context=spawn) as writer:
        writer.submit(write_book, book, clients, seed=3, as_of=TODAY).result()
    with cf.ProcessPoolExecutor(1, mp_context=spawn) as runner:
        return runner.submit(_classify_measured, book, work / "big-out").result()


def _classify_measured(book: Path, out: Path) -> tuple[float, float, float]:
    rate = run(book, out)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return rate, own, workers


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return float(max(own, children)) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds, >= 3")
    parser.add_argument("--clients", type=int, default=500_000)
    parser.add_argument("--reasons", type=int, default=50_000)
    parser.add_argument("--report-clients", type=int, default=1_000_000)
    parser.add_argument("--whatif-clients", type=int, default=1_000_000)
    parser.add_argument("--big", type=int, default=0, help="also classify this many (RSS)")
    parser.add_argument("--big-only", action="store_true", help="only the --big run")
    args = parser.parse_args()
    if args.rounds < 3:
        parser.error("--rounds must be at least 3")
    work = Path(tempfile.mkdtemp(prefix="book-bench-"))
    if args.big_only:
        try:
            rate, driver, workers = big_run(work, args.big)
            print(f"{args.big:,} clients: {rate:,.0f} clients/s; {machine()}")
            print(
                f"  peak RSS of the run's driver {driver:,.0f} MB, largest worker {workers:,.0f} MB"
            )
            print(figure_line(BIG_BOOK_RSS, max(driver, workers)))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    try:
        book, small = work / "book.parquet", work / "small.parquet"
        write_book(book, args.clients, seed=1, as_of=TODAY)
        write_book(small, args.reasons, seed=2, as_of=TODAY)
        rounds = interleaved(
            {
                "base": baseline(book),
                "embedded": lambda _r: run(book, work / "out"),
                "reasons": lambda _r: run(small, work / "reasons", explain=True),
            },
            args.rounds,
        )
        base, embedded = statistics.median(rounds["base"]), statistics.median(rounds["embedded"])
        reasons = statistics.median(rounds["reasons"])
        distributed: Any = importlib.import_module("distributed")
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            clustered = run(book, work / "cluster", workers=lambda b: Cluster(b, cluster))
        report = report_seconds(work / "out", work, args.report_clients)
        whatif, moved = whatif_seconds(book, args.whatif_clients)
        print(
            f"book of {args.clients:,} clients, Parquet in and out, this machine's cores; "
            f"{machine()}; medians of {args.rounds} interleaved rounds"
        )
        print(f"  claims model's own batch predict     {base:>12,.0f} rows/s   (baseline)")
        print(f"  book classify, embedded             {embedded:>12,.0f} clients/s")
        print(f"  book classify --explain ({args.reasons:,})   {reasons:>12,.0f} clients/s")
        for target, name in ((BOOK, "embedded"), (BOOK_REASONS, "reasons")):
            ratios = [c / b for c, b in zip(rounds[name], rounds["base"], strict=True)]
            print(ratio_line(target, ratios))
        print(
            f"  LocalCluster, 2 workers             {clustered:>12,.0f} clients/s "
            f"(overhead {embedded / clustered:.2f} x embedded time)"
        )
        print(f"  report on {args.report_clients:,} results      {report:>12.1f} s")
        print(
            f"  what-if on {args.whatif_clients:,} clients (Parquet)  {whatif:>11.1f} s "
            f"({moved:,} moved)"
        )
        if args.big:
            rate, driver, workers = big_run(work, args.big)
            print(
                f"  {args.big:,} clients: {rate:,.0f} clients/s; peak RSS of the run's driver "
                f"{driver:,.0f} MB, of its largest worker {workers:,.0f} MB"
            )
            print(figure_line(BIG_BOOK_RSS, max(driver, workers)))
        else:
            print(f"  {BIG_BOOK_RSS.label}: not measured (--big 10000000)")
        print(f"  peak RSS of one process (driver or worker) {peak_rss_mb():,.0f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
