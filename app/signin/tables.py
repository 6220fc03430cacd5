"""Browser sessions and the sign-ins under way, kept server-side so they can be ended."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import JSON_DOCUMENT, Base


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "web_session"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # "oidc" or "key"
    subject: Mapped[str] = mapped_column(String(255))  # the token's `sub`, or the key id
    name: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON_DOCUMENT)
    key_id: Mapped[str | None] = mapped_column(String(16))
    csrf: Mapped[str] = mapped_column(String(64))
    id_token: Mapped[str | None] = mapped_column(Text)  # the hint for the provider's sign-out
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recheck_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    team: Mapped[str | None] = mapped_column(String(100))  # the token's team claim


class SignInAttempt(Base):
    """An OpenID Connect sign-in sent to the provider and not yet come back: taken (deleted)
    by its callback, so a `state` works once."""

    __tablename__ = "sign_in_attempt"

    state_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_page: Mapped[str] = mapped_column(String(2000))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
