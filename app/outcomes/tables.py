"""Call outcomes. The note is personal data: erased with the client, never logged or exported."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import JSON_DOCUMENT, Base

# SQLite numbers rows itself only for an INTEGER primary key.
OUTCOME_ID = BigInteger().with_variant(Integer(), "sqlite")


class CallOutcome(Base):
    """One action offered on a call and the client's answer, with the classification (its
    request id, model and ruleset versions) that made the offer."""

    __tablename__ = "call_outcome"
    __table_args__ = (
        Index("ix_call_outcome_client_outcome", "client_id", "outcome_id"),
        Index("ix_call_outcome_callback", "result", "callback_at"),
        Index("ix_call_outcome_team", "recorded_by_team", "outcome_id"),
    )

    outcome_id: Mapped[int] = mapped_column(OUTCOME_ID, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("client.client_id", ondelete="CASCADE")
    )
    action_code: Mapped[str | None] = mapped_column(String(64))  # None: a complaint's state
    result: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str | None] = mapped_column(String(32))  # None: a person recorded it
    recorded_by_subject: Mapped[str | None] = mapped_column(String(255))
    recorded_by_name: Mapped[str | None] = mapped_column(String(200))
    offer_request_id: Mapped[str | None] = mapped_column(String(64))  # None: no offer
    callback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recorded_by_team: Mapped[str | None] = mapped_column(String(100))
    model_versions: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)
    ruleset_version: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
