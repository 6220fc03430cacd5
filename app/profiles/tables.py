"""The client profile tables: features in `client`, personal data apart in `client_personal`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import JSON_DOCUMENT, Base


class Client(Base):
    __tablename__ = "client"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    gender: Mapped[str | None] = mapped_column(String(8))
    occupation_class: Mapped[int | None] = mapped_column(SmallInteger)
    annual_income: Mapped[float | None] = mapped_column(Double)
    dependents: Mapped[int | None] = mapped_column(SmallInteger)
    province: Mapped[str | None] = mapped_column(String(32), index=True)
    city_tier: Mapped[int | None] = mapped_column(SmallInteger)
    industry: Mapped[str | None] = mapped_column(String(32), index=True)
    employees: Mapped[int | None] = mapped_column(Integer)
    annual_revenue: Mapped[float | None] = mapped_column(Double)
    ownership: Mapped[str | None] = mapped_column(String(16))
    first_policy_date: Mapped[date | None] = mapped_column(Date)
    products_held: Mapped[list[str]] = mapped_column(JSON_DOCUMENT)
    in_force_policies: Mapped[int] = mapped_column(Integer)
    annual_premium: Mapped[float] = mapped_column(Double)
    premium_paid_12m: Mapped[float] = mapped_column(Double)
    premium_discount_rate: Mapped[float | None] = mapped_column(Double)
    renewals: Mapped[int] = mapped_column(Integer)
    lapses: Mapped[int] = mapped_column(Integer)
    claim_count_3y: Mapped[int] = mapped_column(Integer)
    claim_amount_3y: Mapped[float] = mapped_column(Double)
    last_purchase_date: Mapped[date | None] = mapped_column(Date)
    last_interaction_date: Mapped[date | None] = mapped_column(Date)
    interactions_12m: Mapped[int] = mapped_column(Integer)
    complaints_12m: Mapped[int] = mapped_column(Integer)
    missed_payments_12m: Mapped[int] = mapped_column(Integer)
    app_logins_12m: Mapped[int] = mapped_column(Integer)
    referrals: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str | None] = mapped_column(String(16))
    campaign_target: Mapped[bool] = mapped_column(Boolean)
    renewal_intent: Mapped[bool | None] = mapped_column(Boolean)
    flood_zone: Mapped[bool | None] = mapped_column(Boolean)
    typhoon_zone: Mapped[bool | None] = mapped_column(Boolean)
    property_condition: Mapped[str | None] = mapped_column(String(8))
    property_value: Mapped[float | None] = mapped_column(Double)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON_DOCUMENT)
    # Channel -> "granted" or "refused"; a channel not named has no recorded choice.
    contact_consent: Mapped[dict[str, str]] = mapped_column(JSON_DOCUMENT, server_default="{}")
    # sha256 of the canonical profile: a write that changes nothing keeps the version.
    fingerprint: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ClientPersonal(Base):
    __tablename__ = "client_personal"
    # Names: a prefix on both databases (b-tree), a fuzzy match on PostgreSQL (trigrams).
    __table_args__ = (
        Index("ix_client_personal_name", "name"),
        Index(
            "ix_client_personal_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("client.client_id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(24), index=True)  # normalised
    national_id: Mapped[str | None] = mapped_column(String(18), index=True)


class ClientPolicy(Base):
    """A policy the client holds (or held): personal to the client, erased with it."""

    __tablename__ = "client_policy"

    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("client.client_id", ondelete="CASCADE"), primary_key=True
    )
    policy_number: Mapped[str] = mapped_column(String(32), primary_key=True)
    product: Mapped[str] = mapped_column(String(16))
    annual_premium: Mapped[float] = mapped_column(Double)
    start_date: Mapped[date] = mapped_column(Date)
    renewal_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))


class ClientClaim(Base):
    """An open claim of the client, erased with it."""

    __tablename__ = "client_claim"

    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("client.client_id", ondelete="CASCADE"), primary_key=True
    )
    claim_number: Mapped[str] = mapped_column(String(32), primary_key=True)
    policy_number: Mapped[str | None] = mapped_column(String(32))
    reported_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[float | None] = mapped_column(Double)
    status: Mapped[str] = mapped_column(String(16))


class ClientOutcome(Base):
    """What happened to a client after `observed_at`: the labels the models are trained on.

    Kept apart from the profile, which is the client as it stands; outcomes are known only
    later and only some apply (a lapse to a client, a first purchase to a prospect).
    """

    __tablename__ = "client_outcome"

    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("client.client_id", ondelete="CASCADE"), primary_key=True
    )
    observed_at: Mapped[date] = mapped_column(Date)
    lapse_12m: Mapped[float | None] = mapped_column(Double)
    claim_count_next_year: Mapped[float | None] = mapped_column(Double)
    exposure: Mapped[float | None] = mapped_column(Double)
    purchase_6m: Mapped[float | None] = mapped_column(Double)
