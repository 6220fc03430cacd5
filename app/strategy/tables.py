"""The answers the strategy learns from: one row per offer answered (accepted or declined)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String
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
