"""client profiles and api keys

Revision ID: 0001
Revises:
Create Date: 2026-11-23 10:57:38.275155
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# JSONB on Postgres, JSON text elsewhere; frozen here so later model changes cannot alter history.
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scopes", JSON_DOCUMENT, nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_key")),
    )
    op.create_table(
        "client",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("birth_year", sa.SmallInteger(), nullable=True),
        sa.Column("gender", sa.String(length=8), nullable=True),
        sa.Column("occupation_class", sa.SmallInteger(), nullable=True),
        sa.Column("annual_income", sa.Double(), nullable=True),
        sa.Column("dependents", sa.SmallInteger(), nullable=True),
        sa.Column("province", sa.String(length=32), nullable=True),
        sa.Column("city_tier", sa.SmallInteger(), nullable=True),
        sa.Column("industry", sa.String(length=32), nullable=True),
        sa.Column("employees", sa.Integer(), nullable=True),
        sa.Column("annual_revenue", sa.Double(), nullable=True),
        sa.Column("ownership", sa.String(length=16), nullable=True),
        sa.Column("first_policy_date", sa.Date(), nullable=True),
        sa.Column("products_held", JSON_DOCUMENT, nullable=False),
        sa.Column("in_force_policies", sa.Integer(), nullable=False),
        sa.Column("annual_premium", sa.Double(), nullable=False),
        sa.Column("premium_paid_12m", sa.Double(), nullable=False),
        sa.Column("premium_discount_rate", sa.Double(), nullable=True),
        sa.Column("renewals", sa.Integer(), nullable=False),
        sa.Column("lapses", sa.Integer(), nullable=False),
        sa.Column("claim_count_3y", sa.Integer(), nullable=False),
        sa.Column("claim_amount_3y", sa.Double(), nullable=False),
        sa.Column("last_purchase_date", sa.Date(), nullable=True),
        sa.Column("last_interaction_date", sa.Date(), nullable=True),
        sa.Column("interactions_12m", sa.Integer(), nullable=False),
        sa.Column("complaints_12m", sa.Integer(), nullable=False),
        sa.Column("missed_payments_12m", sa.Integer(), nullable=False),
        sa.Column("app_logins_12m", sa.Integer(), nullable=False),
        sa.Column("referrals", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("campaign_target", sa.Boolean(), nullable=False),
        sa.Column("renewal_intent", sa.Boolean(), nullable=True),
        sa.Column("flood_zone", sa.Boolean(), nullable=True),
        sa.Column("typhoon_zone", sa.Boolean(), nullable=True),
        sa.Column("property_condition", sa.String(length=8), nullable=True),
        sa.Column("property_value", sa.Double(), nullable=True),
        sa.Column("extra", JSON_DOCUMENT, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_client")),
    )
    op.create_index(op.f("ix_client_industry"), "client", ["industry"], unique=False)
    op.create_index(op.f("ix_client_kind"), "client", ["kind"], unique=False)
    op.create_index(op.f("ix_client_province"), "client", ["province"], unique=False)

    op.create_table(
        "client_personal",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=24), nullable=True),
        sa.Column("national_id", sa.String(length=18), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.client_id"],
            name=op.f("fk_client_personal_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_client_personal")),
    )


def downgrade() -> None:
    op.drop_table("client_personal")
    op.drop_index(op.f("ix_client_province"), table_name="client")
    op.drop_index(op.f("ix_client_kind"), table_name="client")
    op.drop_index(op.f("ix_client_industry"), table_name="client")

    op.drop_table("client")
    op.drop_table("api_key")
