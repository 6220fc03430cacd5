"""All SQL of call outcomes."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any, cast

from sqlalchemy import Select, String, Table, column, exists, insert, select, table, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.driver import Statement
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


# A client's outcomes, newest first, and its complaint records; on PostgreSQL's driver
# connection as these statements (the SQLAlchemy twins are `_page` and `_complaints`).
_OUTCOME = cast(Table, CallOutcome.__table__)
_SELECT = f"SELECT {', '.join(c.name for c in _OUTCOME.columns)} FROM call_outcome"
_PAGE_SQL = f"{_SELECT} WHERE client_id = %s AND outcome_id < %s ORDER BY outcome_id DESC LIMIT %s"
_COMPLAINTS_SQL = (
    f"{_SELECT} WHERE client_id = %s AND result = ANY(%s) ORDER BY outcome_id DESC LIMIT %s"
)
_NEWEST = 2**63 - 1  # past every outcome id


def _page(client_id: str, after: int, limit: int) -> Select[Any]:
    return (
        select(_OUTCOME)
        .where(_OUTCOME.c.client_id == client_id, _OUTCOME.c.outcome_id < after)
        .order_by(_OUTCOME.c.outcome_id.desc())
        .limit(limit)
    )


def _complaints(client_id: str, limit: int) -> Select[Any]:
    return (
        select(_OUTCOME)
        .where(_OUTCOME.c.client_id == client_id, _OUTCOME.c.result.in_(COMPLAINT))
        .order_by(_OUTCOME.c.outcome_id.desc())
        .limit(limit)
    )


def page_read(client_id: str, *, before_id: int | None, limit: int) -> Statement:
    """The read of a client's outcomes, newest first (before `before_id`)."""
    after = _NEWEST if before_id is None else before_id
    return Statement(_PAGE_SQL, (client_id, after, limit), partial(_page, client_id, after, limit))


def latest_and_complaints_read(client_id: str, *, latest: int, notes: int) -> Statement:
    """The read of a client's latest outcomes and its latest complaint records in one
    statement: the two reads one after the other (a row of both comes twice)."""
    return Statement(
        f"({_PAGE_SQL}) UNION ALL ({_COMPLAINTS_SQL})",
        (client_id, _NEWEST, latest, client_id, list(COMPLAINT), notes),
        lambda: union_all(
            _page(client_id, _NEWEST, latest).subquery().select(),
            _complaints(client_id, notes).subquery().select(),
        ),
    )


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
