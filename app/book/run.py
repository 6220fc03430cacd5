"""A book run: partitions classified on this machine's cores or a Dask cluster, written as
Parquet results, resumable.

The output folder holds `part-NNNNN.parquet` per finished partition (written under a dot
name and renamed, so a file there is whole), `_rejected/` with the problems of rows set
aside, `_run.json` (what the run classifies: source, partition size, as-of date, versions)
and, once every partition is done, `_SUCCESS.json`. Running the same command again keeps
the finished partitions and classifies the rest with the versions the run started with.
At most two partitions per worker are in flight, so memory is bounded whatever the size.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from app.book.bundle import Bundle
from app.book.partition import Options, Outcome, classify_partition, install
from app.book.sources import Source
from app.cpu import fair_share, passive_waits
from app.errors import ServiceError
from app.pointers import exclusive_lock, replace_atomically
from app.strategy.arbitrate import DEFAULT_TOP_N

RUN_FILE = "_run.json"
DONE_FILE = "_SUCCESS.json"
REJECTED_DIR = "_rejected"
METADATA_KEY = b"clientscore"


@dataclass(frozen=True)
class Summary:
    rows: int  # in the results, this attempt's and earlier ones'
    classified: int  # by this attempt
    rejected: int
    partitions: int
    kept: int  # partitions finished by an earlier attempt
    seconds: float
    versions: dict[str, Any]


class Workers(Protocol):
    """Where partitions run: this machine's processes or a Dask cluster."""

    slots: int

    def submit(self, index: int, table: pa.Table, options: Options) -> cf.Future[Outcome]: ...

    def close(self) -> None: ...


class Embedded:
    """Worker processes on this machine, each holding the run's models."""

    def __init__(self, bundle: Bundle, processes: int | None = None) -> None:
        # Default: the cores the run may use less those the load keeps busy. Each process
        # predicts on one thread, and OpenMP's waits are passive (`app.cpu`).
        self.slots = processes or fair_share()
        passive_waits()  # the processes inherit it, before they load LightGBM
        self.pool = cf.ProcessPoolExecutor(
            self.slots,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=install,
            initargs=(bundle,),
        )

    def submit(self, index: int, table: pa.Table, options: Options) -> cf.Future[Outcome]:
        return self.pool.submit(classify_partition, None, index, table, options)

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


class Cluster:
    """A Dask cluster: the bundle is sent once to every worker, each partition to one."""

    def __init__(self, bundle: Bundle, address: str | Any) -> None:
        distributed: Any = importlib.import_module("distributed")  # untyped
        try:
            self.client: Any = distributed.Client(address, timeout="20s")
        except OSError as exc:
            raise ServiceError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        self.slots = max(1, sum(self.client.nthreads().values()))
        self.bundle = self.client.scatter(bundle, broadcast=True, hash=False)

    def submit(self, index: int, table: pa.Table, options: Options) -> cf.Future[Outcome]:
        data = self.client.scatter(table, hash=False)
        task = self.client.submit(classify_partition, self.bundle, index, data, options, pure=False)
        done: cf.Future[Outcome] = cf.Future()

        def finish(future: Any) -> None:
            try:
                done.set_result(future.result())
            except BaseException as exc:  # the task's own error, raised again below
                done.set_exception(exc)

        task.add_done_callback(finish)
        return done

    def close(self) -> None:
        self.client.close()


def _write(path: Path, table: pa.Table, metadata: dict[str, Any]) -> None:
    schema = table.schema.with_metadata({METADATA_KEY: json.dumps(metadata).encode()})
    temp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table.cast(schema), temp, compression="zstd")
    os.replace(temp, path)


def _part(out: Path, index: int) -> Path:
    return out / f"part-{index:05d}.parquet"


def _manifest(out: Path, wanted: dict[str, Any]) -> dict[str, Any]:
    """The run the folder holds: `wanted` for a new one, the earlier one when it is the
    same book, an error when the folder holds another run."""
    path = out / RUN_FILE
    if not path.is_file():
        if any(out.glob("part-*.parquet")):
            raise ServiceError(f"{out} holds results without {RUN_FILE}: choose an empty --out")
        replace_atomically(path, json.dumps(wanted, indent=2).encode() + b"\n")
        return wanted
    held: dict[str, Any] = json.loads(path.read_bytes())
    for key in ("source", "partition_rows", "explain"):
        if held.get(key) != wanted[key]:
            raise ServiceError(
                f"{out} holds a run with {key} {held.get(key)!r}, not {wanted[key]!r}: "
                "run the same command to resume it, or choose another --out"
            )
    return held


def _finished(out: Path) -> dict[int, int]:
    """Rows of each finished partition."""
    done = {}
    for path in out.glob("part-*.parquet"):
        done[int(path.stem.split("-")[1])] = pq.ParquetFile(path).metadata.num_rows
    return done


def classify_book(
    source: Source,
    out: Path,
    *,
    pin: Any,
    as_of: date,
    explain: bool = False,
    partition_rows: int = 100_000,
    workers: Any = None,
    progress: bool | None = None,
    top_n: int = DEFAULT_TOP_N,
) -> Summary:
    """Classify `source` into `out`. `pin(versions | None)` gives the run's `Bundle` (the
    versions of an earlier attempt when resuming); `workers(bundle)` the `Workers`
    (default: this machine's cores)."""
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(out / ".run.lock"):
        first = _manifest(
            out,
            {
                "source": source.describe(),
                "partition_rows": partition_rows,
                "explain": explain,
                "as_of": as_of.isoformat(),
                "started_at": datetime.now(UTC).isoformat(),
                "versions": None,
            },
        )
        bundle: Bundle = pin(first["versions"])
        if first["versions"] is None:
            first = {**first, "versions": bundle.versions()}
            replace_atomically(out / RUN_FILE, json.dumps(first, indent=2).encode() + b"\n")
        options = Options(date.fromisoformat(first["as_of"]), explain, date.today(), top_n)
        done = _finished(out)
        pool: Workers = workers(bundle) if workers else Embedded(bundle)
        try:
            rows, rejected = _run(source, out, pool, options, first, done, progress)
        finally:
            pool.close()
        summary = Summary(
            rows=rows + sum(done.values()),
            classified=rows,
            rejected=rejected + _rejected_rows(out, done),
            partitions=len(_finished(out)),
            kept=len(done),
            seconds=time.perf_counter() - started,
            versions=first["versions"],
        )
        replace_atomically(
            out / DONE_FILE,
            json.dumps(
                {**summary.__dict__, "finished_at": datetime.now(UTC).isoformat()}, indent=2
            ).encode()
            + b"\n",
        )
        return summary


def _rejected_rows(out: Path, done: dict[int, int]) -> int:
    total = 0
    for index in done:
        path = out / REJECTED_DIR / f"part-{index:05d}.parquet"
        if path.is_file():
            total += len(set(pq.read_table(path, columns=["client_id"])["client_id"].to_pylist()))
    return total


def _bar(total: int | None, initial: int, progress: bool | None) -> tqdm[Any]:
    shown = sys.stderr.isatty() if progress is None else progress
    return tqdm(
        total=total,
        initial=initial,
        unit=" clients",
        unit_scale=True,
        disable=not shown,
        smoothing=0.1,
    )


def _run(
    source: Source,
    out: Path,
    pool: Workers,
    options: Options,
    run: dict[str, Any],
    done: dict[int, int],
    progress: bool | None,
) -> tuple[int, int]:
    metadata = {"versions": run["versions"], "as_of": run["as_of"], "explain": run["explain"]}
    rows = rejected = 0
    window = 2 * pool.slots
    partitions: Iterator[tuple[int, pa.Table]] = source.partitions(
        run["partition_rows"], frozenset(done)
    )
    with _bar(source.total_rows(), sum(done.values()), progress) as bar:
        pending: set[cf.Future[Outcome]] = set()
        exhausted = False
        while pending or not exhausted:
            while not exhausted and len(pending) < window:
                item = next(partitions, None)
                if item is None:
                    exhausted = True
                else:
                    pending.add(pool.submit(*item, options))
            if not pending:
                break
            finished, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                outcome = future.result()
                if outcome.rejected.num_rows:
                    (out / REJECTED_DIR).mkdir(exist_ok=True)
                    _write(
                        out / REJECTED_DIR / f"part-{outcome.index:05d}.parquet",
                        outcome.rejected,
                        metadata,
                    )
                _write(_part(out, outcome.index), outcome.results, metadata)
                rows += outcome.results.num_rows
                set_aside = len(set(outcome.rejected["client_id"].to_pylist()))
                rejected += set_aside
                bar.update(outcome.results.num_rows + set_aside)
    return rows, rejected
