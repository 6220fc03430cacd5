"""Book runs made in the test's own process, for the report's tests: a run of a synthetic
book, and the same book again under a candidate that moves clients (expense ratio 0.40)."""

from __future__ import annotations

import concurrent.futures as cf
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from app.book.bundle import Bundle
from app.book.partition import Options, Outcome, classify_partition
from app.book.run import classify_book
from app.book.sources import FileSource
from app.book.synthetic import profile_table
from app.demo.synthetic import generate_book


@dataclass
class InProcess:
    """The run's partitions classified one at a time in the test's own process: what a worker
    process does, without the seconds of starting one."""

    bundle: Bundle
    slots: int = 1

    def submit(self, index: int, table: Any, options: Options) -> cf.Future[Outcome]:
        done: cf.Future[Outcome] = cf.Future()
        try:
            done.set_result(classify_partition(self.bundle, index, table, options))
        except Exception as exc:  # raised again by the run, as a worker's error is
            done.set_exception(exc)
        return done

    def close(self) -> None:
        pass


def book_file(folder: Path, clients: int) -> Path:
    path = folder / "profiles.parquet"
    book = generate_book(clients, 5, as_of=date.today())
    pq.write_table(profile_table(book.profiles), path, row_group_size=1000)
    return path


def classified(profiles: Path, out: Path, models: Path, rules: Path) -> Path:
    classify_book(
        FileSource.of([profiles]),
        out,
        pin=lambda versions: Bundle.pin(models, rules, versions=versions),
        as_of=date.today(),
        partition_rows=1000,
        workers=InProcess,
        progress=False,
    )
    return out


def two_runs(folder: Path, models: Path, rules: Path, clients: int = 2000) -> tuple[Path, Path]:
    """(the run under `rules`, the run of the same book under a dearer expense ratio)."""
    profiles = book_file(folder, clients)
    candidate = folder / "candidate"
    shutil.copytree(rules, candidate)
    ruleset = candidate / "ruleset.yaml"
    text = ruleset.read_text()
    assert "expense_ratio: 0.25" in text
    ruleset.write_text(text.replace("expense_ratio: 0.25", "expense_ratio: 0.40"))
    before = classified(profiles, folder / "before", models, rules)
    return before, classified(profiles, folder / "after", models, candidate)
