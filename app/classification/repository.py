"""All SQL of classification: the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.classification.tables import ClassificationAudit
from app.db.driver import Reader, Statement, driver_insert, driver_json, is_driver

# What an erased client's audit rows keep: the classes and actions, which say nothing about
# the person once unlinked; reasons and the company segment quote the client's own facts.
AUDIT_TABLE: Table = ClassificationAudit.__table__  # type: ignore[assignment]
KEPT_AFTER_ERASURE = ("value", "risk", "lifecycle", "strategy", "rules_fired", "versions")


async def record(writer: Reader, rows: Sequence[dict[str, Any]]) -> None:
    """Append audit rows (in the caller's transaction).

    On PostgreSQL's driver connection (the audit trail's writer) one multi-row insert,
    `_RECORD_INTO` being the twin of the Core insert; otherwise a Core insert on the
    table: the ORM's bulk path would track each row for nothing (they are never read back),
    at several times the cost of the insert itself."""
    if not rows:
        return
    if is_driver(writer):
        await driver_insert(writer, _RECORD_INTO, [_driver_row(row) for row in rows])
        return
    await writer.execute(insert(AUDIT_TABLE), list(rows))


_RECORD_COLUMNS = (
    "client_id",
    "client_version",
    "key_id",
    "request_id",
    "input_fingerprint",
    "versions",
    "result",
    "classified_at",
)
_RECORD_INTO = f"classification_audit ({', '.join(_RECORD_COLUMNS)})"
_JSON_COLUMNS = {"versions", "result"}


def _driver_row(row: dict[str, Any]) -> list[Any]:
    return [driver_json(row[c]) if c in _JSON_COLUMNS else row[c] for c in _RECORD_COLUMNS]


async def history(
    session: AsyncSession,
    *,
    client_id: str,
    since: datetime | None,
    until: datetime | None,
    before_id: int | None,
    limit: int,
) -> list[ClassificationAudit]:
    """A client's audit rows, newest first, within [since, until)."""
    query = (
        select(ClassificationAudit)
        .where(ClassificationAudit.client_id == client_id)
        .order_by(ClassificationAudit.audit_id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(ClassificationAudit.classified_at >= since)
    if until is not None:
        query = query.where(ClassificationAudit.classified_at < until)
    if before_id is not None:
        query = query.where(ClassificationAudit.audit_id < before_id)
    return list(await session.scalars(query))


# The classes of a client's latest classifications (the desk's changes of class): three
# fields of each recorded result, not the whole document. In the order of the client's index
# on time, so that only those rows are read; each result is opened once (jsonb_to_record),
# where a path per field would decompress it three times. The twin of `classes_read`'s query.
_CLASSES_SQL = (
    "SELECT a.classified_at, r.value ->> 'tier' AS value_tier, r.risk ->> 'tier' AS risk_tier,"
    " r.lifecycle ->> 'stage' AS lifecycle_stage FROM classification_audit a,"
    " jsonb_to_record(a.result) AS r(value jsonb, risk jsonb, lifecycle jsonb)"
    " WHERE a.client_id = %s ORDER BY a.classified_at DESC, a.audit_id DESC LIMIT %s"
)


def classes_read(client_id: str, limit: int) -> Statement:
    """The read of the value tier, risk tier and lifecycle stage of a client's latest `limit`
    audit rows, with their times, newest first (`_CLASSES_SQL` on the driver)."""
    table = AUDIT_TABLE.c
    return Statement(
        _CLASSES_SQL,
        (client_id, limit),
        lambda: (
            select(
                table.classified_at,
                table.result[("value", "tier")].as_string().label("value_tier"),
                table.result[("risk", "tier")].as_string().label("risk_tier"),
                table.result[("lifecycle", "stage")].as_string().label("lifecycle_stage"),
            )
            .where(table.client_id == client_id)
            .order_by(table.classified_at.desc(), table.audit_id.desc())
            .limit(limit)
        ),
    )


async def count(session: AsyncSession, *, client_id: str | None = None) -> int:
    query = select(func.count()).select_from(ClassificationAudit)
    if client_id is not None:
        query = query.where(ClassificationAudit.client_id == client_id)
    return int(await session.scalar(query) or 0)


async def erase(session: AsyncSession, client_id: str) -> int:
    """Unlink a client's audit rows and drop what in them describes the person.

    Called when the client is erased, before its row goes (the foreign key would unlink the
    rows too, but not scrub them). Returns how many rows were scrubbed.
    """
    rows = (
        await session.execute(
            select(ClassificationAudit.audit_id, ClassificationAudit.result).where(
                ClassificationAudit.client_id == client_id
            )
        )
    ).all()
    for audit_id, result in rows:
        kept = {key: result[key] for key in KEPT_AFTER_ERASURE if key in result}
        await session.execute(
            update(ClassificationAudit)
            .where(ClassificationAudit.audit_id == audit_id)
            .values(client_id=None, client_version=None, input_fingerprint=None, result=kept)
        )
    return len(rows)


async def offer(
    session: AsyncSession, *, client_id: str, request_id: str | None
) -> ClassificationAudit | None:
    """The recorded classification of a client with `request_id`, or its latest one."""
    query = select(ClassificationAudit).where(ClassificationAudit.client_id == client_id)
    if request_id is not None:
        query = query.where(ClassificationAudit.request_id == request_id)
    query = query.order_by(ClassificationAudit.audit_id.desc()).limit(1)
    return (await session.scalars(query)).first()
