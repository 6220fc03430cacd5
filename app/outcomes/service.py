"""Call outcome use cases: record the answer to an action offered, and list a client's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.db.base import as_utc
from app.db.hot import Core, rows_of
from app.db.statements import Query
from app.db.unit import Session
from app.errors import Conflict, NotFound, ValidationFailed
from app.outcomes import offers, repository
from app.outcomes.schemas import (
    ANSWERS,
    CALLBACK_HORIZON,
    COMPLAINTS,
    PRESENTED,
    CallResult,
    OutcomeCreate,
    OutcomePage,
    OutcomeRead,
)
from app.outcomes.tables import CallOutcome
from app.paging import decode_cursor, encode_cursor
from app.profiles import repository as profiles
from app.strategy import repository as strategy_answers

COMPLAINT_NOTES = 20  # the records of an open complaint the card shows
MAX_CALLBACKS = 200


async def _exists(session: Session, client_id: str) -> None:
    if await profiles.get(session, client_id) is None:
        raise NotFound(f"no client with id '{client_id}'")


def _read(row: Any) -> OutcomeRead:
    # `row`: a `CallOutcome`, or a row of `call_outcome` as its repository reads it.
    return OutcomeRead.model_validate(
        {
            "outcome_id": row.outcome_id,
            "client_id": row.client_id,
            "action_code": row.action_code,
            "result": row.result,
            "callback_at": as_utc(row.callback_at) if row.callback_at else None,
            "note": row.note,
            "key_id": row.key_id,
            "recorded_by_subject": row.recorded_by_subject,
            "recorded_by_name": row.recorded_by_name,
            "offer_request_id": row.offer_request_id,
            "versions": {"models": row.model_versions or {}, "ruleset": row.ruleset_version},
            "recorded_at": as_utc(row.recorded_at),
        }
    )


def _answered(action_code: str, request_id: str) -> ValidationFailed:
    return offers.refused(
        "action_code",
        "already_answered",
        f"the offer of '{action_code}' by classification {request_id} already has its answer",
        "this offer was already answered",
    )


async def record(
    session: Session,
    *,
    client_id: str,
    body: OutcomeCreate,
    key_id: str,
    at: datetime,
    person: tuple[str, str] | None = None,
    team: str | None = None,
) -> OutcomeRead:
    """Store the answer to an action of a recorded classification of the client. An answer
    given on the call (accepted, declined, call back) means the action was presented: its
    offer is recorded (once per classification and action) on the action's channel; an
    accepted or declined offer is also an answer the strategy learns from (once per offer).

    `person` (subject, name) is who recorded it when signed in through the identity
    provider: the outcome keeps them instead of a key id; `key_id` is then the caller's
    pseudonymous id the offer's `recorded_by` keeps.

    A complaint's state (`complaint`, `complaint_closed`) without an action is recorded
    without an offer: the client need not have been classified."""
    _check_callback(body, at)
    if body.action_code is None:
        return await _complaint(
            session, client_id=client_id, body=body, key_id=key_id, at=at, person=person,
            team=team,
        )  # fmt: skip
    offer = await offers.classification_of(
        session, client_id=client_id, request_id=body.offer_request_id, never=Conflict
    )
    entry = offers.offered_actions(offer, body.action_code)
    values = {
        "client_id": client_id,
        "action_code": body.action_code,
        "result": body.result.value,
        "callback_at": body.callback_at,
        "note": body.note or None,
        "key_id": None if person else key_id,
        "recorded_by_subject": person[0] if person else None,
        "recorded_by_name": person[1] if person else None,
        "recorded_by_team": team,
        "offer_request_id": offer.request_id,
        "model_versions": offer.versions.get("models", {}),
        "ruleset_version": offer.versions.get("ruleset", ""),
        "recorded_at": at,
    }
    answer = body.result in ANSWERS
    if answer and await strategy_answers.answered(
        session, request_id=offer.request_id, action_code=body.action_code
    ):
        raise _answered(body.action_code, offer.request_id)
    if body.result in PRESENTED:
        await strategy_answers.add_offers(
            session,
            offers.event_rows(
                offer,
                action_code=body.action_code,
                channel=str(entry["channel"]),
                offered_at=at,
                key_id=key_id,
                at=at,
            ),
        )
    outcome_id = await repository.add(session, values)
    arbitration = offer.result.get("arbitration")
    if answer and arbitration is not None:
        stored = await strategy_answers.add(
            session,
            {
                "outcome_id": outcome_id,
                "client_id": client_id,
                "offer_request_id": offer.request_id,
                "action_code": body.action_code,
                "segment": arbitration["segment"],
                "period": arbitration["period"],
                "accepted": body.result == CallResult.accepted,
                "answered_at": at,
            },
        )
        if not stored:  # answered by a concurrent request: this one stores nothing
            raise _answered(body.action_code, offer.request_id)
    return _read(CallOutcome(outcome_id=outcome_id, **values))


def _check_callback(body: OutcomeCreate, at: datetime) -> None:
    """A callback time goes with a call back only, ahead of now and within a year."""
    when = body.callback_at
    if when is None:
        return
    if body.result != CallResult.call_back:
        rule, detail = "call_back_only", "give a callback time with the result call_back only"
    elif when <= at:
        rule, detail = "time_in_past", "must be ahead of now"
    elif when > at + CALLBACK_HORIZON:
        rule, detail = "too_far_ahead", "must be at most a year ahead"
    else:
        return
    raise offers.refused("callback_at", rule, detail, f"callback_at: {detail}")


async def _complaint(
    session: Session,
    *,
    client_id: str,
    body: OutcomeCreate,
    key_id: str,
    at: datetime,
    person: tuple[str, str] | None,
    team: str | None,
) -> OutcomeRead:
    """A complaint opened, noted or closed, about the client rather than an offer."""
    if body.result not in COMPLAINTS:
        raise offers.refused(
            "action_code",
            "missing",
            "an answer to an offer names its action; only complaint and complaint_closed "
            "are recorded without one",
            "action_code is required",
        )
    if body.offer_request_id is not None:
        raise offers.refused(
            "offer_request_id",
            "needs_action",
            "an offer is named with its action (action_code)",
            "offer_request_id without action_code",
        )
    await offers.known_client(session, client_id)
    values: dict[str, Any] = {
        "client_id": client_id,
        "action_code": None,
        "result": body.result.value,
        "callback_at": None,
        "note": body.note or None,
        "key_id": None if person else key_id,
        "recorded_by_subject": person[0] if person else None,
        "recorded_by_name": person[1] if person else None,
        "recorded_by_team": team,
        "offer_request_id": None,
        "model_versions": {},
        "ruleset_version": "",
        "recorded_at": at,
    }
    outcome_id = await repository.add(session, values)
    return _read(CallOutcome(outcome_id=outcome_id, **values))


async def list_outcomes(
    session: Session, *, client_id: str, cursor: str | None, limit: int
) -> OutcomePage:
    """A client's recorded outcomes, newest first."""
    await _exists(session, client_id)
    before_id = decode_cursor(cursor, int) if cursor else None
    read = repository.page_read(client_id, before_id=before_id, limit=limit + 1)
    rows = await rows_of(Core(session), read)
    items = [_read(row) for row in rows[:limit]]
    next_cursor = encode_cursor(items[-1].outcome_id) if len(rows) > limit else None
    return OutcomePage(items=items, next_cursor=next_cursor)


@dataclass(frozen=True, slots=True)
class Callback:
    """A callback an agent owes: the client, its name, the action, when it is due."""

    client_id: str
    name: str | None
    action_code: str
    due: datetime
    note: str | None
    recorded_by: str = ""  # who asked for it: the person's name, or the key id


@dataclass(frozen=True, slots=True)
class OutcomeRecorded:
    """A call outcome as a team lead sees it."""

    client_id: str
    action_code: str | None
    result: str
    note: str | None
    recorded_at: datetime
    recorded_by: str


def calls_read(client_id: str, limit: int) -> Query:
    """The read of a client's latest outcomes and complaint records (`calls_of`), for a
    client just read (the desk's card): its existence is not checked again."""
    return repository.latest_and_complaints_read(client_id, latest=limit, notes=COMPLAINT_NOTES)


def calls_of(rows: Sequence[Any], limit: int) -> tuple[list[OutcomeRead], list[OutcomeRead]]:
    """From the rows of `calls_read`: the latest `limit` outcomes, newest first, and the
    records of the open complaint, oldest first (`open_complaint_of`)."""
    newest = sorted({row.outcome_id: row for row in rows}.values(), key=_newest_first)
    complaints = [row for row in newest if row.result in COMPLAINTS][:COMPLAINT_NOTES]
    return [_read(row) for row in newest[:limit]], open_complaint_of(complaints)


def _newest_first(row: Any) -> int:
    return -int(row.outcome_id)


def open_complaint_of(rows: Sequence[Any]) -> list[OutcomeRead]:
    """The client's open complaint from its complaint records (newest first), oldest record
    first (its opening, then its notes), or nothing when the last record closed it."""
    records = []
    for row in rows:  # newest first
        if row.result == CallResult.complaint_closed:
            break
        records.append(_read(row))
    return records[::-1]


async def due_callbacks(
    session: Session,
    *,
    subject: str | None,
    key_id: str | None,
    until: datetime,
    team: str | None = None,
) -> list[Callback]:
    """The callbacks the agent (a person's subject, or a key) recorded, or with `team` those
    the team's people recorded, that are not done (no later answer to the action) and due by
    `until`, the longest overdue first."""
    rows = await repository.due_callbacks(
        session, subject=subject, key_id=key_id, until=until, limit=MAX_CALLBACKS, team=team
    )
    return [
        Callback(
            row.client_id,
            name,
            row.action_code or "",
            as_utc(row.callback_at),
            row.note,
            row.recorded_by_name or row.key_id or "",
        )
        for row, name in rows
        if row.callback_at is not None
    ]


async def team_outcomes(session: Session, *, team: str, limit: int) -> list[OutcomeRecorded]:
    """What a team's people recorded on their calls, newest first."""
    return [
        OutcomeRecorded(
            row.client_id,
            row.action_code,
            row.result,
            row.note,
            as_utc(row.recorded_at),
            row.recorded_by_name or row.key_id or "",
        )
        for row in await repository.team_outcomes(session, team=team, limit=limit)
    ]
