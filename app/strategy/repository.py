"""All SQL of the strategy: the offers presented, their answers, the contact histories."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
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
    null,
    select,
    table,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import as_utc
from app.db.hot import Reader, rows_of
from app.db.statements import Query, Statement, any_of
from app.strategy.policy import Contact, History, Presented
from app.strategy.rates import Counts, Key
from app.strategy.report import Offer, success
from app.strategy.tables import OfferAnswer, OfferEvent

# The columns of other packages' tables the strategy reads: the call outcomes (the contact
# policy) and the clients' next state (their retention).
_CALLS = table(
    "call_outcome",
    column("outcome_id", Integer),
    column("client_id", String),
    column("action_code", String),
    column("result", String),
    column("recorded_at", DateTime(timezone=True)),
)
_NEXT = table(
    "client_outcome",
    column("client_id", String),
    column("lapse_12m", Double),
    column("purchase_6m", Double),
)
_OFFERS = OfferEvent.__table__


def _histories() -> Statement:
    """Clients' contacts, one query: the answers recorded on calls (no channel) and the
    offers presented (held-out ones are never presented), in the order they happened."""
    c, o = _CALLS.c, _OFFERS.c
    calls = select(
        c.client_id,
        c.action_code,
        c.result,
        null().label("channel"),
        c.recorded_at.label("at"),
        c.outcome_id.label("n"),
    ).where(any_of(c.client_id, "ids"))
    offers = select(o.client_id, o.action_code, null(), o.channel, o.offered_at, o.offer_id).where(
        any_of(o.client_id, "ids"), o.held_out.is_(False)
    )
    both = union_all(calls, offers).subquery()
    return Statement(select(both).order_by(both.c.at, both.c.n))


_HISTORIES = _histories()


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


def histories_read(client_ids: Sequence[str]) -> Query:
    """The read of each client's recorded answers and the offers presented to it, in one
    query (`histories_of`)."""
    return _HISTORIES(ids=sorted(set(client_ids)))


def histories_of(client_ids: Sequence[str], rows: Sequence[Any]) -> dict[str, History]:
    """Each client's history from the rows of `histories_read`, oldest first (every client
    named gets one, empty when it has none)."""
    ids = sorted(set(client_ids))
    answers: dict[str, list[Contact]] = {client_id: [] for client_id in ids}
    offers: dict[str, list[Presented]] = {client_id: [] for client_id in ids}
    for client_id, code, result, channel, at, _n in rows:
        day = as_utc(at).date() if isinstance(at, datetime) else _day(at)
        if result is None:
            offers[client_id].append(Presented(code, channel, day))
        else:
            answers[client_id].append(Contact(code, result, day))
    return {
        client_id: History(tuple(answers[client_id]), tuple(offers[client_id])) for client_id in ids
    }


async def histories(reader: Reader, client_ids: Sequence[str]) -> dict[str, History]:
    """Each client's recorded answers and the offers presented to it (`histories_read`): the
    hot path of classifying a stored client."""
    if not client_ids:
        return {}
    rows = await rows_of(reader, histories_read(client_ids))
    return histories_of(client_ids, rows)


def _day(text: str) -> date:
    """A time SQLite hands back as text from a union (no column type to convert it)."""
    return as_utc(datetime.fromisoformat(text)).date()


async def offer_of(
    session: AsyncSession, *, request_id: str, action_code: str
) -> OfferEvent | None:
    """The offer (or hold-out) of `action_code` by classification `request_id`."""
    found = await session.scalars(
        select(OfferEvent).where(
            OfferEvent.offer_request_id == request_id, OfferEvent.action_code == action_code
        )
    )
    return found.first()


async def add_offers(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Store offers (and hold-outs) not stored yet: a classification's action is one row,
    however often it is reported."""
    for values in rows:
        if await offer_of(
            session, request_id=values["offer_request_id"], action_code=values["action_code"]
        ):
            continue
        try:
            async with session.begin_nested():
                await session.execute(insert(OfferEvent).values(values))
        except IntegrityError:
            continue  # stored by a concurrent request meanwhile


async def offers_page(
    session: AsyncSession, *, client_id: str, before_id: int | None, limit: int
) -> list[OfferEvent]:
    """A client's offers presented, newest first."""
    query = (
        select(OfferEvent)
        .where(OfferEvent.client_id == client_id, OfferEvent.held_out.is_(False))
        .order_by(OfferEvent.offer_id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(OfferEvent.offer_id < before_id)
    return list(await session.scalars(query))


async def recorded_offers(session: AsyncSession, *, since: datetime | None) -> list[Offer]:
    """The offers presented and the hold-outs recorded (since a time), each with the
    client's recorded success (retained, or a prospect's purchase) when known."""
    o, n = OfferEvent, _NEXT.c
    query = (
        select(
            o.client_id,
            o.action_code,
            o.segment,
            o.period,
            o.held_out,
            o.clv,
            n.lapse_12m,
            n.purchase_6m,
        )
        .select_from(_OFFERS.outerjoin(_NEXT, o.client_id == n.client_id))
        .order_by(o.offer_id)
    )
    if since is not None:
        query = query.where(o.offered_at >= since)
    return [
        Offer(client_id, code, segment, period, bool(held), float(clv), success(lapse, buy))
        for client_id, code, segment, period, held, clv, lapse, buy in await session.execute(query)
    ]
