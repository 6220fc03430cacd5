"""Bulk import of client profiles from NDJSON or CSV, streamed and stored in batches.

Each batch is its own transaction: a load of millions of rows must not hold one transaction
open for minutes, and a re-run of the same file is idempotent, so a load cut short is finished
by sending the file again.
"""

from __future__ import annotations

import asyncio
import csv
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import NoneType, UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import orjson
from pydantic import ValidationError

from app.db.unit import SessionFactory, transaction
from app.errors import FieldError, UnsupportedMediaType, ValidationFailed
from app.profiles import repository
from app.profiles.identifiers import CLIENT_ID
from app.profiles.mapping import HOLDINGS, PERSONAL_FIELDS, Holdings, holdings_of, stamp, to_row
from app.profiles.schemas import ClientCreate, ImportLineError, ImportReport
from app.profiles.validation import field_name

NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl"})
CSV_TYPES = frozenset({"text/csv"})
LIST_SEPARATOR = "|"
_ID = re.compile(CLIENT_ID)
# CSV carries no policies or claims (one line per client, no lists of records): NDJSON does.
CSV_COLUMNS = frozenset(
    {
        "client_id",
        *PERSONAL_FIELDS,
        *(n for n in ClientCreate.model_fields if n != "personal" and n not in HOLDINGS),
    }
)


def _bare(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _is_scalar(annotation: Any) -> bool:
    union = get_origin(annotation) in (Union, UnionType)
    kinds = {_bare(a) for a in get_args(annotation)} if union else {_bare(annotation)}
    return kinds - {NoneType} <= {int, float, bool}


# CSV cells of number and flag fields are read as JSON (`5000`, `0.2`, `true`): the profile
# takes only JSON numbers and booleans there, and a cell that is neither is reported as such.
CSV_JSON_SCALARS = frozenset(
    name for name, info in ClientCreate.model_fields.items() if _is_scalar(info.annotation)
)

Problem = tuple[str | None, str, str]  # field, rule, detail
Row = tuple[dict[str, Any], dict[str, Any] | None, Holdings]
_NO_PERSONAL = dict.fromkeys(PERSONAL_FIELDS)
_SLICE = 250  # rows validated between two yields to the event loop (~5 ms)


class LineRejected(Exception):
    def __init__(self, client_id: str | None, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.client_id = client_id
        self.problems = problems


@dataclass
class _Tally:
    max_errors: int
    rows: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    errors: list[ImportLineError] = field(default_factory=list)
    truncated: bool = False

    def reject(self, line: int, rejected: LineRejected) -> None:
        self.rejected += 1
        for name, rule, detail in rejected.problems:
            if len(self.errors) >= self.max_errors:
                self.truncated = True
                return
            self.errors.append(
                ImportLineError(
                    line=line, client_id=rejected.client_id, field=name, rule=rule, detail=detail
                )
            )

    def report(self) -> ImportReport:
        return ImportReport(
            rows=self.rows,
            created=self.created,
            updated=self.updated,
            unchanged=self.rows - self.rejected - self.created - self.updated,
            rejected=self.rejected,
            errors=self.errors,
            errors_truncated=self.truncated,
        )


def ndjson_record(raw: bytes) -> dict[str, Any]:
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise LineRejected(None, [(None, "json_invalid", f"not valid JSON: {exc}")]) from None
    if not isinstance(record, dict):
        raise LineRejected(None, [(None, "object_type", "each line must be a JSON object")])
    return record


class CsvRecords:
    """Reads CSV lines against the header line; an empty cell means the field is not given."""

    def __init__(self, header: bytes) -> None:
        try:
            self.columns = next(csv.reader([header.decode("utf-8-sig")]))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ValidationFailed(f"the CSV header line cannot be read: {exc}") from None
        unknown = [name for name in self.columns if name not in CSV_COLUMNS]
        if unknown or "client_id" not in self.columns:
            problems = [FieldError(n, "unknown_column", "not a profile field") for n in unknown]
            if "client_id" not in self.columns:
                problems.append(FieldError("client_id", "missing", "the header needs client_id"))
            raise ValidationFailed("the CSV header names unknown columns", errors=problems)

    def __call__(self, raw: bytes) -> dict[str, Any]:
        try:
            cells = next(csv.reader([raw.decode()]))
        except (UnicodeDecodeError, csv.Error, StopIteration) as exc:
            raise LineRejected(None, [(None, "csv_invalid", f"not a CSV line: {exc}")]) from None
        if len(cells) != len(self.columns):
            detail = f"has {len(cells)} cells where the header names {len(self.columns)}"
            raise LineRejected(None, [(None, "csv_cell_count", detail)])
        record: dict[str, Any] = {}
        personal: dict[str, Any] = {}
        for name, cell in zip(self.columns, cells, strict=True):
            if cell == "":
                continue
            if name in PERSONAL_FIELDS:
                personal[name] = cell
            elif name == "products_held":
                record[name] = cell.split(LIST_SEPARATOR)
            elif name == "extra":
                record[name] = _json_cell(name, cell)
            elif name == "contact_consent":
                record[name] = _consent_cell(cell)
            elif name in CSV_JSON_SCALARS:
                record[name] = _scalar_cell(cell)
            else:
                record[name] = cell
        if personal:
            record["personal"] = personal
        return record


def _json_cell(name: str, cell: str) -> Any:
    try:
        return orjson.loads(cell)
    except orjson.JSONDecodeError:
        raise LineRejected(None, [(name, "json_invalid", "must be a JSON object")]) from None


def _consent_cell(cell: str) -> dict[str, str]:
    """`call:refused|sms:granted`: the channel and the client's choice, pairs separated by
    `|` (validation checks the channels and choices)."""
    consent: dict[str, str] = {}
    for pair in cell.split(LIST_SEPARATOR):
        channel, colon, choice = pair.partition(":")
        if not colon or channel.strip() in consent:
            detail = "write channel:choice pairs separated by |, each channel once"
            raise LineRejected(None, [("contact_consent", "consent_format", detail)])
        consent[channel.strip()] = choice.strip()
    return consent


def _scalar_cell(cell: str) -> Any:
    try:
        return orjson.loads(cell)
    except orjson.JSONDecodeError:
        return cell  # validation names the field and says what it should be


def _validate(record: dict[str, Any]) -> tuple[str, Row]:
    client_id = record.pop("client_id", None)
    if not isinstance(client_id, str) or not _ID.match(client_id):
        detail = "client_id is required: 1-64 letters, digits or . _ : - (not first)"
        raise LineRejected(None, [("client_id", "client_id_format", detail)])
    try:
        profile = ClientCreate.model_validate(record)
    except ValidationError as exc:
        problems: list[Problem] = [
            (field_name(e), e["type"], e["msg"])
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise LineRejected(client_id, problems) from None
    return client_id, (*to_row(client_id, profile), holdings_of(profile))


def _validate_into(
    lines: list[tuple[int, bytes | LineRejected]],
    decode: Callable[[bytes], dict[str, Any]],
    rows: dict[str, Row],
    rejected: list[tuple[int, LineRejected]],
) -> None:
    """Adds valid rows by client id (a later line wins over an earlier one) and rejected lines."""
    for number, raw in lines:
        try:
            if isinstance(raw, LineRejected):
                raise raw
            client_id, row = _validate(decode(raw))
        except LineRejected as exc:
            rejected.append((number, exc))
            continue
        rows.pop(client_id, None)
        rows[client_id] = row


async def _numbered_lines(
    stream: AsyncIterator[bytes], max_bytes: int
) -> AsyncIterator[tuple[int, bytes | LineRejected]]:
    """Physical lines with their 1-based numbers; blank lines are skipped, not counted as rows.

    Each byte is looked at once (a long line is collected in pieces, not re-scanned per chunk),
    and a line longer than `max_bytes` is dropped as it streams and stands as its rejection.
    """
    pieces: list[bytes] = []
    size = 0
    number = 0

    def finish() -> bytes | LineRejected | None:
        if size > max_bytes:
            detail = f"the line is over {max_bytes} bytes, the longest a record may be"
            return LineRejected(None, [(None, "line_too_long", detail)])
        line = b"".join(pieces)
        return line.rstrip(b"\r") if line.strip() else None

    async for chunk in stream:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            size += end - start
            if size <= max_bytes:
                pieces.append(chunk[start:end])
            number += 1
            if (line := finish()) is not None:
                yield number, line
            pieces, size, start = [], 0, end + 1
        size += len(chunk) - start
        if size <= max_bytes:
            pieces.append(chunk[start:])
        else:
            pieces = []
    if (line := finish()) is not None:
        yield number + 1, line


async def _csv_records(
    lines: AsyncIterator[tuple[int, bytes | LineRejected]], max_bytes: int
) -> AsyncIterator[tuple[int, bytes | LineRejected]]:
    """CSV records: a line whose quoted field is not closed on it is one record with the
    lines that follow until the quote closes (or the record reaches `max_bytes`), rejected
    as a whole under its first line's number, so no part of it is stored."""
    open_at: int | None = None
    last = 0
    size = 0
    async for number, raw in lines:
        if open_at is None:
            if isinstance(raw, LineRejected) or raw.count(b'"') % 2 == 0:
                yield number, raw
                continue
            open_at, last, size = number, number, len(raw)
            continue
        last = number
        size += len(raw) if isinstance(raw, bytes) else max_bytes
        closed = isinstance(raw, bytes) and raw.count(b'"') % 2 == 1
        if closed or size > max_bytes:
            yield open_at, _unterminated(open_at, last, closed=closed)
            open_at = None
    if open_at is not None:
        yield open_at, _unterminated(open_at, last, closed=False)


def _unterminated(first: int, last: int, *, closed: bool) -> LineRejected:
    where = f"lines {first}-{last}" if last > first else f"line {first}"
    end = "closes on" if closed else "is never closed; the record runs to"
    detail = (
        f"a quoted field opens on line {first} and {end} line {last}: each record must be on "
        f"one line; nothing of {where} is stored"
    )
    return LineRejected(None, [(None, "csv_unterminated_quote", detail)])


async def import_clients(
    session_factory: SessionFactory,
    *,
    stream: AsyncIterator[bytes],
    content_type: str,
    batch_rows: int,
    max_errors: int,
    max_line_bytes: int,
) -> ImportReport:
    """Validate and store every good row; report every bad one with its line number."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in NDJSON_TYPES | CSV_TYPES:
        accepted = ", ".join(sorted(NDJSON_TYPES | CSV_TYPES))
        raise UnsupportedMediaType(f"send the file as one of: {accepted}")
    tally = _Tally(max_errors=max_errors)
    decode: Callable[[bytes], dict[str, Any]] | None = (
        ndjson_record if media_type in NDJSON_TYPES else None
    )
    batch: list[tuple[int, bytes | LineRejected]] = []
    storing: asyncio.Task[None] | None = None
    lines = 0
    numbered = _numbered_lines(stream, max_line_bytes)
    if decode is None:
        numbered = _csv_records(numbered, max_line_bytes)
    try:
        async for number, raw in numbered:
            lines += 1
            if decode is None:
                if isinstance(raw, LineRejected):
                    raise ValidationFailed(f"the CSV header line is refused: {raw.problems[0][2]}")
                decode = CsvRecords(raw)
                continue
            batch.append((number, raw))
            if len(batch) >= batch_rows:
                storing = await _next_batch(session_factory, batch, decode, tally, storing)
                batch = []
        if batch and decode is not None:
            storing = await _next_batch(session_factory, batch, decode, tally, storing)
        elif tally.rows == 0:
            raise _nothing_to_import(csv_header=lines > 0)
        if storing is not None:
            await storing
    finally:
        if storing is not None and not storing.done():
            storing.cancel()
    return tally.report()


def _nothing_to_import(*, csv_header: bool) -> ValidationFailed:
    detail = (
        "the CSV body has its header line but no client rows"
        if csv_header
        else "the request body is empty: send the file's content (with curl: --data-binary "
        "@FILE, and check that FILE exists)"
    )
    return ValidationFailed(detail, errors=[FieldError("body", "not_empty", detail)])


async def _next_batch(
    session_factory: SessionFactory,
    batch: list[tuple[int, bytes | LineRejected]],
    decode: Callable[[bytes], dict[str, Any]],
    tally: _Tally,
    storing: asyncio.Task[None] | None,
) -> asyncio.Task[None]:
    """Validate this batch while the previous one is still being written, then queue it."""
    rows: dict[str, Row] = {}
    rejected: list[tuple[int, LineRejected]] = []
    # Validation is CPU work done in slices, yielding between them so the event loop keeps
    # answering other requests and the previous batch's write makes progress meanwhile.
    # (A worker thread was slower: the GIL hand-offs cost more than they overlapped.)
    for start in range(0, len(batch), _SLICE):
        _validate_into(batch[start : start + _SLICE], decode, rows, rejected)
        await asyncio.sleep(0)
    tally.rows += len(batch)
    for number, exc in rejected:
        tally.reject(number, exc)
    if storing is not None:
        await storing
    return asyncio.create_task(_store(session_factory, rows, tally))


async def _store(session_factory: SessionFactory, rows: dict[str, Row], tally: _Tally) -> None:
    now = datetime.now(UTC)
    values = []
    held: dict[str, Holdings] = {}
    for client_id, (row, personal, holdings) in rows.items():
        stamp(row, version=1, now=now, created_at=now)
        values.append(row | (personal or _NO_PERSONAL))
        if holdings.policies or holdings.claims:
            held[client_id] = holdings
    async with transaction(session_factory) as session:
        created, updated = await repository.upsert_many(session, values, held)
    tally.created += created
    tally.updated += updated
