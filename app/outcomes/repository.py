"""All SQL of call outcomes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Integer,
    String,
    Table,
    bindparam,
    column,
    exists,
    insert,
    or_,
    select,
    table,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.statements import Query, Statement
from app.outcomes.tables import CallOutcome

# The client's name, for an agent's list of callbacks (the profiles' table, read only).
_PERSONAL = table("client_personal", column("client_id", String), column("name", String))
COMPLAINT = ("complaint", "complaint_closed")
# What follows a callback and ends it: another answer to the action (a new callback too).
AFTER_CALLBACK = ("accepted", "declined", "not_offered", "call_back")


async def add(session: AsyncSession, values: dict[str, Any]) -> int:
    """Store one outcome (in the caller's transaction); its new id."""
    outcome_id = await session.scalar(
        insert(CallOutcome).values(values).returning(CallOutcome.outcome_id)
    )
    assert outcome_id is not None
    return int(outcome_id)


_OUTCOME = cast(Table, CallOutcome.__table__)
_NEWEST = 2**63 - 1  # past every outcome id
_ID = _OUTCOME.c.outcome_id


def _newest(*where: Any, limit: str) -> Any:
    """A client's outcomes (`where`), newest first, the first `limit`."""
    return (
        select(_OUTCOME)
        .where(_OUTCOME.c.client_id == bindparam("client_id"), *where)
        .order_by(_ID.desc())
        .limit(bindparam(limit, type_=Integer))
    )


# A client's outcomes, newest first (before an id).
_PAGE = Statement(_newest(_ID < bindparam("before", type_=_ID.type), limit="limit"))  # noqa: SIM300
# A client's latest outcomes, then its latest complaint records (a row of both comes twice).
_LATEST_AND_COMPLAINTS = Statement(
    union_all(
        _newest(limit="latest").subquery().select(),
        _newest(or_(*(_OUTCOME.c.result == r for r in COMPLAINT)), limit="notes")
        .subquery()
        .select(),
    )
)


def page_read(client_id: str, *, before_id: int | None, limit: int) -> Query:
    """The read of a client's outcomes, newest first (before `before_id`)."""
    before = _NEWEST if before_id is None else before_id
    return _PAGE(client_id=client_id, before=before, limit=limit)


def latest_and_complaints_read(client_id: str, *, latest: int, notes: int) -> Query:
    """The read of a client's latest outcomes and its latest complaint records in one
    statement: the two reads one after the other (a row of both comes twice)."""
    return _LATEST_AND_COMPLAINTS(client_id=client_id, latest=latest, notes=notes)


async def due_callbacks(
    session: AsyncSession,
    *,
    subject: str | None,
    key_id: str | None,
    until: datetime,
    limit: int,
    team: str | None = None,
) -> list[tuple[CallOutcome, str | None]]:
    """Callbacks recorded by the subject (or, without one, the key) due by `until` with no
    later answer to their action, by the time asked for: a range of the callback index."""
    later = aliased(CallOutcome)
    answered = exists().where(
        later.client_id == CallOutcome.client_id,
        later.outcome_id > CallOutcome.outcome_id,
        later.action_code == CallOutcome.action_code,
        later.result.in_(AFTER_CALLBACK),
    )
    mine = (
        CallOutcome.recorded_by_team == team
        if team is not None
        else CallOutcome.recorded_by_subject == subject
        if subject is not None
        else CallOutcome.key_id == key_id
    )
    query = (
        select(CallOutcome, _PERSONAL.c.name)
        .outerjoin(_PERSONAL, _PERSONAL.c.client_id == CallOutcome.client_id)
        .where(
            CallOutcome.result == "call_back",
            CallOutcome.callback_at <= until,
            mine,
            ~answered,
        )
        .order_by(CallOutcome.callback_at, CallOutcome.outcome_id)
        .limit(limit)
    )
    return [(row, name) for row, name in await session.execute(query)]


async def team_outcomes(session: AsyncSession, *, team: str, limit: int) -> list[CallOutcome]:
    """The outcomes recorded by a team's people, newest first (the team index)."""
    query = (
        select(CallOutcome)
        .where(CallOutcome.recorded_by_team == team)
        .order_by(CallOutcome.outcome_id.desc())
        .limit(limit)
    )
    return list(await session.scalars(query))
