"""What a call outcome is over the wire."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from app.profiles.enums import ContactChannel

MAX_NOTE = 2000


class CallResult(StrEnum):
    accepted = "accepted"
    declined = "declined"
    call_back = "call_back"
    not_offered = "not_offered"
    complaint = "complaint"  # opens a complaint: no offer to the client until it is closed
    complaint_closed = "complaint_closed"


ANSWERS = frozenset({CallResult.accepted, CallResult.declined})  # an offer's final answer
# A complaint's state: recorded about the client, with or without an action offered.
COMPLAINTS = frozenset({CallResult.complaint, CallResult.complaint_closed})
CALLBACK_HORIZON = timedelta(days=365)  # a callback is asked for within a year
# What the client said to an action put to it on the call: the action was presented.
PRESENTED = frozenset({CallResult.accepted, CallResult.declined, CallResult.call_back})


class OutcomeCreate(BaseModel):
    """Body of `POST /v1/clients/{client_id}/outcomes`: the answer to one action offered, or
    a complaint's state."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action_code: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")] | None = (
        Field(
            default=None,
            description="An action of the classification that made the offer "
            "(`strategy[].code`). Required but for `complaint` and `complaint_closed`, which "
            "may be recorded without an action or an offer.",
        )
    )
    result: CallResult
    callback_at: AwareDatetime | None = Field(
        default=None,
        description="With `call_back` only: when the client asked to be called (RFC 3339 with "
        "an offset), ahead of now and at most a year ahead.",
    )
    note: Annotated[str, StringConstraints(max_length=MAX_NOTE)] | None = Field(
        default=None,
        description="Free text. Personal data: erased with the client, never logged or exported.",
    )
    offer_request_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None,
        description="The `request_id` of the classification that made the offer; the "
        "client's latest recorded classification when omitted.",
    )


class OfferVersions(BaseModel):
    models: dict[str, str]
    ruleset: str


class OutcomeRead(BaseModel):
    outcome_id: int
    client_id: str
    action_code: str | None = Field(description="Null for a complaint recorded without one.")
    result: CallResult
    callback_at: datetime | None = Field(default=None, description="When to call back.")
    note: str | None
    key_id: str | None = Field(
        description="The API key id of the agent or system that recorded it; null when a "
        "person signed in through the identity provider did."
    )
    recorded_by_subject: str | None = Field(
        default=None, description="The identity provider's subject of the person who recorded it."
    )
    recorded_by_name: str | None = Field(
        default=None, description="The name of the person who recorded it, from their sign-in."
    )
    offer_request_id: str | None = Field(
        description="The classification that made the offer; null for a complaint recorded "
        "without one."
    )
    versions: OfferVersions = Field(description="The models and ruleset that made the offer.")
    recorded_at: datetime


class OutcomePage(BaseModel):
    items: list[OutcomeRead]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page.")


OUTCOME_EXAMPLES = {
    "accepted": {
        "value": {
            "action_code": "retention_offer",
            "result": "accepted",
            "note": "Wants the renewal quote by e-mail.",
        }
    },
    "call_back": {
        "value": {
            "action_code": "retention_offer",
            "result": "call_back",
            "callback_at": "2026-12-09T18:30:00+08:00",
        }
    },
    "complaint": {
        "summary": "a complaint, without an offer",
        "value": {"result": "complaint", "note": "Claim CL-7 paid late."},
    },
}


class OfferCreate(BaseModel):
    """Body of `POST /v1/clients/{client_id}/offers`: one action presented to the client by a
    channel system (CRM, app, mail)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action_code: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")] = Field(
        description="An action of the classification that chose the offer (`strategy[].code`)."
    )
    channel: ContactChannel = Field(description="The channel the offer went out on.")
    offered_at: AwareDatetime | None = Field(
        default=None,
        description="When the client was presented the offer (RFC 3339 with an offset); now "
        "when omitted. Not before the classification that chose it, not in the future.",
    )
    offer_request_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None,
        description="The `request_id` of the classification that chose the offer; the "
        "client's latest recorded classification when omitted.",
    )


class OfferRead(BaseModel):
    offer_id: int
    client_id: str
    action_code: str
    channel: ContactChannel
    offer_request_id: str = Field(description="The classification that chose the offer.")
    segment: str = Field(description="The client's segment when the offer was chosen.")
    period: str = Field(description="The first day of the contact period of the offer.")
    offered_at: datetime
    recorded_by: str = Field(description="The API key id that recorded it.")
    recorded_at: datetime


class OfferPage(BaseModel):
    items: list[OfferRead]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page.")


OFFER_EXAMPLES = {
    "app": {
        "summary": "an offer shown in the mobile app",
        "value": {
            "action_code": "personalised_recommendation",
            "channel": "app",
            "offered_at": "2026-12-07T09:30:00+08:00",
        },
    }
}
