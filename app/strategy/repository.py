"""All SQL of the strategy: the answers it learns from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Double,
    Integer,
    String,
    cast,
    column,
    func,
    insert,
    select,
    table,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import JSON_DOCUMENT, as_utc
from app.db.driver import Reader, driver_rows, is_driver
from app.strategy.policy import Contact, History
from app.strategy.rates import Counts, Key
from app.strategy.report import Offer, offers_of, success
from app.strategy.tables import OfferAnswer

# The columns of other packages' tables the strategy reads: the call outcomes (the contact
# policy), the audit trail (the offers made) and the clients' next state (their retention).
_CALLS = table(
    "call_outcome",
    column("outcome_id", Integer),
    column("client_id", String),
    column("action_code", String),
    column("result", String),
    column("recorded_at", DateTime(timezone=True)),
)
_HISTORIES_SQL = (  # the twin of `histories`' query, for the driver
    "SELECT client_id, action_code, result, recorded_at FROM call_outcome"
    " WHERE client_id = ANY(%s) ORDER BY outcome_id"
)
_AUDIT = table(
    "classification_audit",
    column("audit_id", Integer),
    column("client_id", String),
    column("result", JSON_DOCUMENT),
    column("classified_at", DateTime(timezone=True)),
)
_NEXT = table(
    "client_outcome",
    column("client_id", String),
    column("lapse_12m", Double),
    column("purchase_6m", Double),
)


async def answered(session: AsyncSession, *, request_id: str, action_code: str) -> bool:
    """Whether the offer of `action_code` by classification `request_id` has its answer."""
    found = await session.scalar(
        select(OfferAnswer.outcome_id).where(
            OfferAnswer.offer_request_id == request_id, OfferAnswer.action_code == action_code
        )
    )
    return found is not None


async def add(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Store an offer's answer; False when the offer already has one (another request
    answered it meanwhile), leaving the transaction usable."""
    try:
        async with session.begin_nested():
            await session.execute(insert(OfferAnswer).values(values))
    except IntegrityError:
        return False
    return True


async def counts(session: AsyncSession) -> dict[Key, Counts]:
    """Answers and acceptances per action and segment."""
    rows = await session.execute(
        select(
            OfferAnswer.action_code,
            OfferAnswer.segment,
            func.count(),
            func.sum(cast(OfferAnswer.accepted, Integer)),
        ).group_by(OfferAnswer.action_code, OfferAnswer.segment)
    )
    return {(code, segment): Counts(int(n), int(a or 0)) for code, segment, n, a in rows}


async def histories(reader: Reader, client_ids: Sequence[str]) -> dict[str, History]:
    """The recorded call outcomes of each client, oldest first (every client named gets one,
    empty when it has none)."""
    ids = sorted(set(client_ids))
    found: dict[str, list[Contact]] = {client_id: [] for client_id in ids}
    if not ids:
        return {}
    c = _CALLS.c
    # The hot path of classifying a stored client: on PostgreSQL through the driver.
    rows = (
        await driver_rows(reader, _HISTORIES_SQL, (ids,))
        if is_driver(reader)
        else await reader.execute(
            select(c.client_id, c.action_code, c.result, c.recorded_at)
            .where(c.client_id.in_(ids))
            .order_by(c.outcome_id)
        )
    )
    for client_id, code, result, at in rows:
        found[client_id].append(Contact(code, result, as_utc(at).date()))
    return {client_id: History(tuple(contacts)) for client_id, contacts in found.items()}


async def recorded_offers(session: AsyncSession, *, since: datetime | None) -> list[Offer]:
    """The offers of the stored clients' recorded classifications (since a time), each with
    the client's recorded success (retained, or a prospect's purchase) when known."""
    a, n = _AUDIT.c, _NEXT.c
    query = (
        select(a.client_id, a.result, n.lapse_12m, n.purchase_6m)
        .select_from(_AUDIT.outerjoin(_NEXT, a.client_id == n.client_id))
        .where(a.client_id.is_not(None))
        .order_by(a.audit_id)
    )
    if since is not None:
        query = query.where(a.classified_at >= since)
    offers: list[Offer] = []
    for client_id, result, lapse, purchase in await session.execute(query):
        offers.extend(offers_of(client_id, result, success(lapse, purchase)))
    return offers
