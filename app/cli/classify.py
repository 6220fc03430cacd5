"""`clientscore classify FILE`: classify a file of profiles with the champions and active ruleset.

The same core as the HTTP endpoints, without a server: profiles are read from NDJSON, CSV (the
import format) or Parquet, classified in batches, and written as NDJSON, one line per input
row: its result, or the problems that kept it from being classified.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from app.errors import ServiceError

if TYPE_CHECKING:
    from app.classification.classifier import PinnedModels
    from app.profiles.importer import LineRejected
    from app.profiles.schemas import ClientProfile
    from app.settings import Settings

    Numbered = tuple[int, dict[str, Any] | LineRejected]


def register(commands: Any) -> None:
    classify = commands.add_parser(
        "classify", help="classify a file of profiles (NDJSON, CSV or Parquet) into NDJSON"
    )
    classify.add_argument("file", type=Path)
    classify.add_argument("--output", type=Path, help="NDJSON results (default: stdout)")
    classify.add_argument("--explain", action="store_true", help="add the reasons (slower)")
    classify.add_argument("--batch-size", type=int, default=1_000)
    classify.set_defaults(func=cmd_classify)


def cmd_classify(settings: Settings, args: argparse.Namespace) -> None:
    if not args.file.is_file():
        raise ServiceError(f"{args.file} is not a file")
    if not 1 <= args.batch_size <= 100_000:
        raise ServiceError("--batch-size must be between 1 and 100,000")
    # Imported here: the models' libraries are for the commands that use them.
    from app.classification.classifier import Classifier

    pinned = Classifier.from_folders(settings.models_dir, settings.rules_dir).pin()
    started, counts = time.perf_counter(), [0, 0]
    output: IO[bytes] = args.output.open("wb") if args.output else sys.stdout.buffer
    try:
        batch: list[Numbered] = []
        for numbered in _read(args.file):
            batch.append(numbered)
            if len(batch) == args.batch_size:
                _write(output, batch, pinned, args.explain, counts)
                batch = []
        _write(output, batch, pinned, args.explain, counts)
    finally:
        if args.output:
            output.close()
    seconds = time.perf_counter() - started
    print(
        f"classified {counts[0]:,} profiles, rejected {counts[1]:,}, in {seconds:.1f} s",
        file=sys.stderr,
    )


def _write(
    output: IO[bytes],
    batch: list[Numbered],
    pinned: PinnedModels,
    explain: bool,
    counts: list[int],
) -> None:
    import orjson

    from app.classification.results import Subject  # with the classifier, when used
    from app.profiles.importer import LineRejected

    valid: list[tuple[int, str | None, ClientProfile]] = []
    lines: dict[int, dict[str, Any]] = {}
    for line, record in batch:
        checked = _profile(record)
        if isinstance(checked, LineRejected):
            problems = [{"field": f, "rule": r, "detail": d} for f, r, d in checked.problems]
            lines[line] = {"line": line, "client_id": checked.client_id, "problems": problems}
        else:
            valid.append((line, *checked))
    results = pinned.classify_profiles(
        [profile for _, _, profile in valid],
        as_of=date.today(),
        explain=explain,
        # A line's client id places it in (or out of) each action's control group.
        subjects=[Subject(client_id) for _, client_id, _ in valid],
    )
    for (line, client_id, _), result in zip(valid, results, strict=True):
        lines[line] = {"line": line, "client_id": client_id, **result}
    for line in sorted(lines):
        output.write(orjson.dumps(lines[line]) + b"\n")
    counts[0] += len(valid)
    counts[1] += len(batch) - len(valid)


def _profile(
    record: dict[str, Any] | LineRejected,
) -> tuple[str | None, ClientProfile] | LineRejected:
    from pydantic import ValidationError

    from app.profiles.importer import LineRejected
    from app.profiles.schemas import ClientProfile
    from app.profiles.validation import field_name

    if isinstance(record, LineRejected):
        return record
    client_id = record.pop("client_id", None)
    client_id = str(client_id) if client_id is not None else None
    try:
        return client_id, ClientProfile.model_validate(record)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        return LineRejected(client_id, [(field_name(e), e["type"], e["msg"]) for e in errors])


def _read(path: Path) -> Iterator[Numbered]:
    from app.profiles.importer import CsvRecords, LineRejected, ndjson_record

    suffix = path.suffix.lower()
    if suffix == ".parquet":
        yield from _parquet(path)
        return
    if suffix not in {".ndjson", ".jsonl", ".csv"}:
        raise ServiceError(f"{path}: use a .ndjson, .jsonl, .csv or .parquet file")
    with path.open("rb") as lines:
        decode: Any = ndjson_record
        if suffix == ".csv":
            header = next(lines, b"")
            decode = CsvRecords(header.rstrip(b"\r\n"))
        for line, raw in enumerate(lines, start=2 if suffix == ".csv" else 1):
            if raw.strip():
                try:
                    yield line, decode(raw.rstrip(b"\r\n"))
                except LineRejected as rejected:
                    yield line, rejected


def _parquet(path: Path) -> Iterator[Numbered]:
    import pyarrow.parquet as pq

    try:
        rows = pq.read_table(path).to_pylist()
    except Exception as exc:
        raise ServiceError(f"{path} cannot be read as Parquet: {exc}") from None
    for row, record in enumerate(rows, start=1):
        yield row, {name: _plain(v) for name, v in record.items() if not _missing(v)}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _plain(value: Any) -> Any:
    return value.date() if isinstance(value, datetime) else value
