"""`clientscore book ...`: classify the whole book into Parquet results, report on them."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import ServiceError

if TYPE_CHECKING:
    from app.book.bundle import Bundle
    from app.book.sources import Source
    from app.settings import Settings
    from app.strategy.rates import Rates

DEFAULT_OUT = Path("var/book/results")


def register(commands: Any) -> None:
    book = commands.add_parser("book", help="classify the whole book; report on the results")
    book_commands = book.add_subparsers(dest="book_command", required=True)
    classify = book_commands.add_parser(
        "classify",
        help="classify the stored book (or Parquet/CSV files of profiles) into Parquet results",
    )
    classify.add_argument(
        "files", nargs="*", type=Path, help="Parquet or CSV files of profiles (default: the store)"
    )
    classify.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default {DEFAULT_OUT}")
    classify.add_argument("--explain", action="store_true", help="add the top reasons (slower)")
    classify.add_argument("--partition-rows", type=int, default=100_000)
    classify.add_argument(
        "--workers",
        type=int,
        help="processes (default: the free cores: those the process may use less the load average)",
    )
    classify.add_argument(
        "--scheduler", help="a Dask scheduler, tcp://HOST:8786 (default: this machine only)"
    )
    classify.add_argument("--as-of", type=date.fromisoformat, help="default: today")
    classify.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, help="default: on a terminal"
    )
    classify.set_defaults(func=cmd_book_classify)
    report = book_commands.add_parser("report", help="write the portfolio report of results")
    report.add_argument("results", type=Path, help="the folder `book classify` wrote")
    report.add_argument("--out", type=Path, required=True, help="the report's folder")
    report.add_argument(
        "--lang", choices=("zh", "en"), default="zh", help="report.html's language (default zh)"
    )
    report.add_argument(
        "--previous",
        type=Path,
        help="the previous run's results to compare with (default: the run the report "
        "in --out was last made from, if it is another run and still there)",
    )
    report.set_defaults(func=cmd_book_report)


def cmd_book_classify(settings: Settings, args: argparse.Namespace) -> None:
    from app.book.bundle import Bundle
    from app.book.run import Cluster, Embedded, classify_book
    from app.book.sources import DatabaseSource, FileSource

    if not 1_000 <= args.partition_rows <= 2_000_000:
        raise ServiceError("--partition-rows must be between 1,000 and 2,000,000")
    if args.workers is not None and not 1 <= args.workers <= 512:
        raise ServiceError("--workers must be between 1 and 512")
    if args.scheduler and args.workers:
        raise ServiceError("--workers is for this machine; a Dask cluster has its own workers")
    as_of = args.as_of or date.today()
    if as_of > date.today():
        raise ServiceError(f"--as-of {as_of} is in the future")
    source: Source = (
        FileSource.of(args.files) if args.files else DatabaseSource(settings.database_url_value())
    )

    rates = learned_rates(settings, stored=not args.files)

    def pin(versions: dict[str, Any] | None) -> Bundle:
        bundle = Bundle.pin(settings.models_dir, settings.rules_dir, versions=versions)
        return bundle.with_rates(rates)

    def workers(bundle: Bundle) -> Any:
        if args.scheduler:
            return Cluster(bundle, args.scheduler)
        return Embedded(bundle, args.workers)

    summary = classify_book(
        source,
        args.out,
        pin=pin,
        as_of=as_of,
        explain=args.explain,
        partition_rows=args.partition_rows,
        workers=workers,
        progress=args.progress,
        top_n=settings.strategy_top_n,
    )
    rate = summary.classified / summary.seconds if summary.seconds else 0.0
    kept = f", {summary.kept} partitions kept from before" if summary.kept else ""
    aside = (
        f", {summary.rejected:,} set aside (see {args.out}/_rejected)" if summary.rejected else ""
    )
    print(
        f"classified {summary.rows:,} clients in {summary.partitions} partitions{kept}{aside} "
        f"in {summary.seconds:.1f} s ({rate:,.0f} clients/s); results in {args.out}",
        file=sys.stderr,
    )


def learned_rates(settings: Settings, *, stored: bool) -> Rates:
    """The acceptance rates a run ranks with: the recorded answers as they are when it starts,
    read when it classifies the stored book or a database is configured; else the starting
    rates. A file run whose configured database cannot be read says so and goes on."""
    from app.db.engine import create_engine_for, create_sessionmaker
    from app.db.unit import transaction
    from app.strategy import repository
    from app.strategy.rates import NO_ANSWERS, Rates

    if not stored and "database_url" not in settings.model_fields_set:
        return NO_ANSWERS

    async def read() -> Rates:
        engine = create_engine_for(settings)
        try:
            async with transaction(create_sessionmaker(engine)) as session:
                return Rates(await repository.counts(session))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(read())
    except Exception as exc:
        if stored:
            raise
        print(f"could not read the learned acceptance ({exc}): the starting rates", file=sys.stderr)
        return NO_ANSWERS


def cmd_book_report(settings: Settings, args: argparse.Namespace) -> None:
    from app.book.report import MADE_FROM, write_report  # matplotlib when a report is drawn

    started = time.perf_counter()
    path = write_report(
        args.results, args.out, lang=args.lang, previous=args.previous,
        rules_dir=settings.rules_dir,
    )  # fmt: skip
    compared = json.loads((args.out / MADE_FROM).read_bytes()).get("previous")
    against = f", compared with {compared}" if compared else ", no previous run to compare with"
    took = time.perf_counter() - started
    print(f"report written to {path} in {took:.1f} s{against}", file=sys.stderr)
