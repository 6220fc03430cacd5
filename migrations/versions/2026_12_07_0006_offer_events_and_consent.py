"""offer events and contact consent

Offers become events: an action is offered when it is presented to the client (a call the
desk records, an offer a channel system reports), never when the client is classified. The
offers the earlier rule inferred from the audit trail were never stored and are not made up
here. The calls already recorded are real contacts: each answer recorded on a call
(accepted, declined, call back) becomes the offer it answered, presented on the action's
channel when the call was recorded, and the actions its classification held out become
that offer's control group. The client's contact consent per channel joins the profile.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Frozen here so later model changes cannot alter history.
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
OFFER_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PRESENTED = ("accepted", "declined", "call_back")

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "client",
        sa.Column("contact_consent", JSON_DOCUMENT, nullable=False, server_default="{}"),
    )
    offers = op.create_table(
        "offer_event",
        sa.Column("offer_id", OFFER_ID, autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("offer_request_id", sa.String(length=64), nullable=False),
        sa.Column("action_code", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("held_out", sa.Boolean(), nullable=False),
        sa.Column("segment", sa.String(length=128), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("clv", sa.Double(), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.client_id"],
            name=op.f("fk_offer_event_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("offer_id", name=op.f("pk_offer_event")),
    )
    op.create_index(
        "ux_offer_event_offer", "offer_event", ["offer_request_id", "action_code"], unique=True
    )
    op.create_index("ix_offer_event_client", "offer_event", ["client_id", "offered_at"])
    op.create_index("ix_offer_event_action_period", "offer_event", ["action_code", "period"])
    op.bulk_insert(offers, _recorded_calls())


def _recorded_calls() -> list[dict[str, Any]]:
    """The offers the recorded calls answered, and their classifications' held-out actions."""
    conn = op.get_bind()
    calls = sa.table(
        "call_outcome",
        sa.column("outcome_id", sa.Integer),
        sa.column("client_id", sa.String),
        sa.column("action_code", sa.String),
        sa.column("result", sa.String),
        sa.column("key_id", sa.String),
        sa.column("offer_request_id", sa.String),
        sa.column("recorded_at", sa.DateTime(timezone=True)),
    )
    audit = sa.table(
        "classification_audit",
        sa.column("client_id", sa.String),
        sa.column("request_id", sa.String),
        sa.column("result", JSON_DOCUMENT),
    )
    c, a = calls.c, audit.c
    rows = conn.execute(
        sa.select(c.client_id, c.action_code, c.key_id, c.offer_request_id, c.recorded_at, a.result)
        .select_from(
            calls.join(audit, (a.request_id == c.offer_request_id) & (a.client_id == c.client_id))
        )
        .where(c.result.in_(PRESENTED))
        .order_by(c.outcome_id)
    )
    made: dict[tuple[str, str], dict[str, Any]] = {}
    for client_id, code, key_id, request_id, at, result in rows:
        arbitration = result.get("arbitration") if isinstance(result, dict) else None
        if not isinstance(arbitration, dict):
            continue  # classified before actions were arbitrated: no channel, no segment
        clv = float((result.get("value") or {}).get("clv") or 0.0)
        for entry in result.get("strategy") or []:
            held_out = bool(entry.get("held_out"))
            if entry.get("code") != code and not held_out:
                continue
            made.setdefault(
                (request_id, entry["code"]),
                {
                    "client_id": client_id,
                    "offer_request_id": request_id,
                    "action_code": entry["code"],
                    "channel": entry["channel"],
                    "held_out": held_out,
                    "segment": arbitration["segment"],
                    "period": arbitration["period"],
                    "clv": clv,
                    "offered_at": at,
                    "recorded_by": key_id,
                    "recorded_at": at,
                },
            )
    return list(made.values())


def downgrade() -> None:
    op.drop_index("ix_offer_event_action_period", table_name="offer_event")
    op.drop_index("ix_offer_event_client", table_name="offer_event")
    op.drop_index("ux_offer_event_offer", table_name="offer_event")
    op.drop_table("offer_event")
    op.drop_column("client", "contact_consent")
