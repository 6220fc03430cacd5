"""The audit trail: every classification of a stored client, as it was answered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import JSON_DOCUMENT, Base

# SQLite numbers rows itself only for an INTEGER primary key.
AUDIT_ID = BigInteger().with_variant(Integer(), "sqlite")


class ClassificationAudit(Base):
    """One classification of a stored client. `result` is the response item without
    `client_id`, `request_id` and `classified_at`, which are columns here. Erasing the
    client unlinks its rows and drops what describes the person (see `repository.erase`)."""

    __tablename__ = "classification_audit"
    __table_args__ = (Index("ix_classification_audit_client_time", "client_id", "classified_at"),)

    audit_id: Mapped[int] = mapped_column(AUDIT_ID, primary_key=True, autoincrement=True)
    client_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("client.client_id", ondelete="SET NULL")
    )
    client_version: Mapped[int | None] = mapped_column(Integer)
    key_id: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    input_fingerprint: Mapped[str | None] = mapped_column(String(64))
    versions: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)
    result: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)
    classified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
