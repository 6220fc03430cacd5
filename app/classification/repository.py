"""All SQL of classification: the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.classification.tables import ClassificationAudit
from app.db.hot import Writer
from app.db.statements import Query, Statement

# What an erased client's audit rows keep: the classes and actions, which say nothing about
# the person once unlinked; reasons and the company segment quote the client's own facts.
AUDIT_TABLE: Table = ClassificationAudit.__table__  # type: ignore[assignment]
KEPT_AFTER_ERASURE = ("value", "risk", "lifecycle", "strategy", "rules_fired", "versions")


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
_RECORD = Statement(  # inline: no new id asked back
    insert(AUDIT_TABLE)
    .inline()
    .values({name: bindparam(name, type_=AUDIT_TABLE.c[name].type) for name in _RECORD_COLUMNS})
)


async def record(writer: Writer, rows: Sequence[dict[str, Any]]) -> None:
    """Append audit rows (in the caller's transaction): a Core insert, never the ORM's bulk
    path, which would track each row for nothing (they are never read back), at several
    times the cost of the insert itself."""
    if rows:
        await writer.insert(_RECORD, rows)


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


def _classes() -> Statement:
    """The classes of a client's latest classifications (the desk's changes of class): three
    fields of each recorded result, not the whole document, newest first, in the order of
    the client's index on time, so that only those rows are read."""
    table = AUDIT_TABLE.c
    return Statement(
        select(
            table.classified_at,
            table.result[("value", "tier")].as_string().label("value_tier"),
            table.result[("risk", "tier")].as_string().label("risk_tier"),
            table.result[("lifecycle", "stage")].as_string().label("lifecycle_stage"),
        )
        .where(table.client_id == bindparam("client_id"))
        .order_by(table.classified_at.desc(), table.audit_id.desc())
        .limit(bindparam("limit", type_=Integer))
    )


_CLASSES = _classes()


def classes_read(client_id: str, limit: int) -> Query:
    """The read of the value tier, risk tier and lifecycle stage of a client's latest `limit`
    audit rows, with their times, newest first."""
    return _CLASSES(client_id=client_id, limit=limit)


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
