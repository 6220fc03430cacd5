"""policies and open claims, callbacks, complaints without an offer, and finding the caller

A client's policies and open claims get tables of their own, erased with the client. A call
back keeps the time the client asked to be called at. A complaint is recorded without an
offer, so a call outcome's action and offer may be empty. The desk finds a caller by a phone
number in any usual form (stored numbers are normalised here: spaces and dashes dropped, the
+86 or 0086 of a mainland number too), and by name: a prefix on
both databases, a fuzzy match on PostgreSQL (pg_trgm).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (app.profiles.identifiers.normalise_phone is its twin for new numbers).
_BARE = "replace(replace(phone, ' ', ''), '-', '')"
NORMALISED_PHONE = (
    f"CASE WHEN {_BARE} LIKE '+861%' AND length({_BARE}) = 14 THEN substr({_BARE}, 4)"
    f" WHEN {_BARE} LIKE '00861%' AND length({_BARE}) = 15 THEN substr({_BARE}, 5)"
    f" ELSE {_BARE} END"
)


def _client_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["client_id"],
        ["client.client_id"],
        name=op.f(f"fk_{table}_client_id_client"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "client_policy",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("policy_number", sa.String(length=32), nullable=False),
        sa.Column("product", sa.String(length=16), nullable=False),
        sa.Column("annual_premium", sa.Double(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("renewal_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        _client_fk("client_policy"),
        sa.PrimaryKeyConstraint("client_id", "policy_number", name=op.f("pk_client_policy")),
    )
    op.create_table(
        "client_claim",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("claim_number", sa.String(length=32), nullable=False),
        sa.Column("policy_number", sa.String(length=32), nullable=True),
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Double(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        _client_fk("client_claim"),
        sa.PrimaryKeyConstraint("client_id", "claim_number", name=op.f("pk_client_claim")),
    )
    with op.batch_alter_table("call_outcome") as batch:
        batch.alter_column("action_code", existing_type=sa.String(length=64), nullable=True)
        batch.alter_column("offer_request_id", existing_type=sa.String(length=64), nullable=True)
        batch.add_column(sa.Column("callback_at", sa.DateTime(timezone=True), nullable=True))
    # An agent's own callbacks, by the time asked for.
    op.create_index("ix_call_outcome_callback", "call_outcome", ["result", "callback_at"])
    op.execute(f"UPDATE client_personal SET phone = {NORMALISED_PHONE} WHERE phone IS NOT NULL")
    op.create_index("ix_client_personal_name", "client_personal", ["name"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_client_personal_name_trgm",
            "client_personal",
            ["name"],
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_client_personal_name_trgm", table_name="client_personal")
    op.drop_index("ix_client_personal_name", table_name="client_personal")
    op.drop_index("ix_call_outcome_callback", table_name="call_outcome")
    # Complaints recorded without an offer have no action or offer to keep: they go.
    call = sa.table("call_outcome", sa.column("action_code", sa.String))
    op.execute(call.delete().where(call.c.action_code.is_(None)))
    with op.batch_alter_table("call_outcome") as batch:
        batch.drop_column("callback_at")
        batch.alter_column("offer_request_id", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("action_code", existing_type=sa.String(length=64), nullable=False)
    op.drop_table("client_claim")
    op.drop_table("client_policy")
