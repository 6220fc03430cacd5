"""One partition of the book classified: the task a worker process or Dask worker runs.

Arrow in, Arrow out: the partition's profiles are conformed and checked column by column,
classified by `classify_to_columns` with the run's pinned models and ruleset, arbitrated with the
run's snapshot of the learned acceptance rates, and returned as the result table with the
problems of the rows set aside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow as pa

from app.book.bundle import Bundle, load
from app.book.columns import profile_columns, result_table
from app.book.validation import conform, split_valid
from app.classification.batch import classify_to_columns
from app.strategy.arbitrate import DEFAULT_TOP_N, Arbiter


@dataclass(frozen=True)
class Options:
    as_of: date  # the date the book is classified as of
    explain: bool
    today: date  # dates after it are refused
    top_n: int = DEFAULT_TOP_N  # how many actions each client's strategy lists


@dataclass(frozen=True)
class Outcome:
    index: int
    results: pa.Table
    rejected: pa.Table


_INSTALLED: list[Bundle] = []  # a process pool's bundle, given once when the process starts


def install(bundle: Bundle) -> None:
    """Process-pool initializer: keep the run's bundle and build its models now."""
    _INSTALLED[:] = [bundle]
    load(bundle)


def classify_partition(
    bundle: Bundle | None, index: int, table: pa.Table, options: Options
) -> Outcome:
    """Partition `index` of a run; `bundle` None: the one `install` was given."""
    pinned = bundle or _INSTALLED[0]
    loaded = load(pinned)
    profiles, rejected = split_valid(conform(table, f"partition {index}"), options.today)
    scored, classified = classify_to_columns(
        profile_columns(profiles),
        champions=loaded.champions,
        ruleset=loaded.ruleset,
        as_of=options.as_of,
        explain=options.explain,
    )
    results = result_table(
        profiles,
        classified,
        versions=pinned.versions(),
        # No contact history in a book run, so no contact policy; the run's learned rates.
        arbiter=Arbiter.of(loaded.ruleset, options.as_of, pinned.rates, top_n=options.top_n),
        reasons=scored if options.explain else None,
    )
    return Outcome(index, results, rejected)
