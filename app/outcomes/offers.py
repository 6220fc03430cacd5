"""Offers as events: an action is offered when it is presented to the client.

The desk records the offers of a call with its answers (`service.record`); channel systems
report theirs (`record_offer`). Either way the offer is one row per classification and
action, and the actions that classification held out of the client become the offer's
control group, recorded beside it. Classifying a client records no offer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.classification import repository as audit
from app.classification.tables import ClassificationAudit
from app.db.base import as_utc
from app.db.unit import Session
from app.errors import Conflict, FieldError, NotFound, ServiceError, ValidationFailed
from app.outcomes.schemas import OfferCreate, OfferPage, OfferRead
from app.paging import decode_cursor, encode_cursor
from app.profiles import repository as profiles
from app.strategy import repository as strategy
from app.strategy.tables import OfferEvent

CLOCK_SKEW = timedelta(minutes=5)  # a channel system's clock a little ahead is not an error


def refused(field: str, rule: str, detail: str, title: str) -> ValidationFailed:
    return ValidationFailed(title, errors=[FieldError(field, rule, detail)])


async def classification_of(
    session: Session,
    *,
    client_id: str,
    request_id: str | None,
    never: type[ServiceError] = ValidationFailed,
) -> ClassificationAudit:
    """The client's recorded classification with `request_id` (its latest when None); 422
    naming the field when the client or the classification is not there (`never`: the
    error when the client was never classified; call outcomes answer 409 there)."""
    await known_client(session, client_id)
    found = await audit.offer(session, client_id=client_id, request_id=request_id)
    if found is not None:
        return found
    if request_id is not None:
        raise refused(
            "offer_request_id",
            "unknown_offer",
            "not the request id of a recorded classification of this client",
            "no classification of this client has that request id",
        )
    first = (
        f"client '{client_id}' has no recorded classification: classify it first "
        f"(GET /v1/clients/{client_id}/classification)"
    )
    if never is Conflict:
        raise Conflict(first)
    raise refused("offer_request_id", "never_classified", first, first)


async def known_client(session: Session, client_id: str) -> None:
    """422 naming the path's client id when no such client is stored."""
    if await profiles.get(session, client_id) is None:
        raise ValidationFailed(
            f"no client with id '{client_id}'",
            errors=[FieldError("client_id", "unknown_client", "no such client", "path")],
        )


def offered_actions(classification: ClassificationAudit, action_code: str) -> dict[str, Any]:
    """The strategy entry of `action_code`; 422 when the classification did not offer it."""
    strategy_ = {a["code"]: a for a in classification.result.get("strategy", [])}
    offered = [code for code, action in strategy_.items() if not action.get("held_out")]
    if action_code in strategy_ and action_code not in offered:
        raise refused(
            "action_code",
            "held_out",
            "the client is in this action's control group: it was not offered",
            f"action '{action_code}' was held out, not offered",
        )
    if action_code not in offered:
        raise refused(
            "action_code",
            "not_in_offer",
            f"use one of the actions offered: {', '.join(offered) or 'none'}",
            f"action '{action_code}' was not offered",
        )
    return dict(strategy_[action_code])


def event_rows(
    classification: ClassificationAudit,
    *,
    action_code: str,
    channel: str,
    offered_at: datetime,
    key_id: str,
    at: datetime,
) -> list[dict[str, Any]]:
    """The offer of `action_code` and the hold-outs of its classification, as rows."""
    result = classification.result
    arbitration = result.get("arbitration") or {}
    clv = float((result.get("value") or {}).get("clv") or 0.0)
    common = {
        "client_id": classification.client_id,
        "offer_request_id": classification.request_id,
        "segment": str(arbitration.get("segment", "")),
        "period": str(arbitration.get("period", "")),
        "clv": clv,
        "offered_at": offered_at,
        "recorded_by": key_id,
        "recorded_at": at,
    }
    rows = [{**common, "action_code": action_code, "channel": channel, "held_out": False}]
    rows.extend(
        {**common, "action_code": entry["code"], "channel": entry["channel"], "held_out": True}
        for entry in result.get("strategy", [])
        if entry.get("held_out")
    )
    return rows


def _read(row: OfferEvent) -> OfferRead:
    return OfferRead.model_validate(
        {
            "offer_id": row.offer_id,
            "client_id": row.client_id,
            "action_code": row.action_code,
            "channel": row.channel,
            "offer_request_id": row.offer_request_id,
            "segment": row.segment,
            "period": row.period,
            "offered_at": as_utc(row.offered_at),
            "recorded_by": row.recorded_by,
            "recorded_at": as_utc(row.recorded_at),
        }
    )


async def record_offer(
    session: Session, *, client_id: str, body: OfferCreate, key_id: str, at: datetime
) -> tuple[OfferRead, bool]:
    """Store an offer a channel system presented; (the offer, whether it is new). The same
    classification and action reported again is the offer already stored."""
    classification = await classification_of(
        session, client_id=client_id, request_id=body.offer_request_id
    )
    offered_actions(classification, body.action_code)
    offered_at = body.offered_at.astimezone(UTC) if body.offered_at else at
    if offered_at > at + CLOCK_SKEW:
        raise refused(
            "offered_at", "time_in_future", "must not be in the future", "offered_at is ahead"
        )
    if offered_at < as_utc(classification.classified_at):
        raise refused(
            "offered_at",
            "before_classification",
            "must not be before the classification that chose the offer "
            f"({as_utc(classification.classified_at).isoformat()})",
            "offered_at is before the classification",
        )
    found = await strategy.offer_of(
        session, request_id=classification.request_id, action_code=body.action_code
    )
    if found is not None:
        return _read(found), False
    await strategy.add_offers(
        session,
        event_rows(
            classification,
            action_code=body.action_code,
            channel=body.channel.value,
            offered_at=offered_at,
            key_id=key_id,
            at=at,
        ),
    )
    stored = await strategy.offer_of(
        session, request_id=classification.request_id, action_code=body.action_code
    )
    assert stored is not None
    return _read(stored), True


async def list_offers(
    session: Session, *, client_id: str, cursor: str | None, limit: int
) -> OfferPage:
    """A client's offers presented, newest first."""
    if await profiles.get(session, client_id) is None:
        raise NotFound(f"no client with id '{client_id}'")
    rows = await strategy.offers_page(
        session,
        client_id=client_id,
        before_id=decode_cursor(cursor, int) if cursor else None,
        limit=limit + 1,
    )
    items = [_read(row) for row in rows[:limit]]
    next_cursor = encode_cursor(items[-1].offer_id) if len(rows) > limit else None
    return OfferPage(items=items, next_cursor=next_cursor)
