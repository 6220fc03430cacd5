"""The events the strategy learns from: offers presented (or held out) and their answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Double, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

ANSWER_ID = BigInteger().with_variant(Integer(), "sqlite")


class OfferAnswer(Base):
    """The final answer to one offer (the action of one classification), with the segment the
    client was in when offered. Erasing the client's outcome erases it (cascade)."""

    __tablename__ = "offer_answer"
    __table_args__ = (
        Index("ux_offer_answer_offer", "offer_request_id", "action_code", unique=True),
        Index("ix_offer_answer_action_segment", "action_code", "segment"),
    )

    outcome_id: Mapped[int] = mapped_column(
        ANSWER_ID, ForeignKey("call_outcome.outcome_id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[str] = mapped_column(String(64))
    offer_request_id: Mapped[str] = mapped_column(String(64))
    action_code: Mapped[str] = mapped_column(String(64))
    segment: Mapped[str] = mapped_column(String(128))
    period: Mapped[str] = mapped_column(String(10))
    accepted: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


OFFER_ID = BigInteger().with_variant(Integer(), "sqlite")


class OfferEvent(Base):
    """An action presented to a client, or held out of it (the control group), by the
    classification that chose it: recorded when the desk records a call or a channel system
    reports an offer, never when a client is classified. One row per classification and
    action; erased with the client (cascade)."""

    __tablename__ = "offer_event"
    __table_args__ = (
        Index("ux_offer_event_offer", "offer_request_id", "action_code", unique=True),
        Index("ix_offer_event_client", "client_id", "offered_at"),
        Index("ix_offer_event_action_period", "action_code", "period"),
    )

    offer_id: Mapped[int] = mapped_column(OFFER_ID, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("client.client_id", ondelete="CASCADE")
    )
    offer_request_id: Mapped[str] = mapped_column(String(64))
    action_code: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    held_out: Mapped[bool] = mapped_column(Boolean)
    segment: Mapped[str] = mapped_column(String(128))
    period: Mapped[str] = mapped_column(String(10))
    clv: Mapped[float] = mapped_column(Double)
    offered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
