"""call outcomes, and the personal data lookups of the desk

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Frozen here so later model changes cannot alter history.
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
OUTCOME_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_outcome",
        sa.Column("outcome_id", OUTCOME_ID, autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("action_code", sa.String(length=64), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("offer_request_id", sa.String(length=64), nullable=False),
        sa.Column("model_versions", JSON_DOCUMENT, nullable=False),
        sa.Column("ruleset_version", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.client_id"],
            name=op.f("fk_call_outcome_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("outcome_id", name=op.f("pk_call_outcome")),
    )
    op.create_index("ix_call_outcome_client_outcome", "call_outcome", ["client_id", "outcome_id"])
    # The desk finds a caller by phone number or national id.
    op.create_index(op.f("ix_client_personal_phone"), "client_personal", ["phone"])
    op.create_index(op.f("ix_client_personal_national_id"), "client_personal", ["national_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_client_personal_national_id"), table_name="client_personal")
    op.drop_index(op.f("ix_client_personal_phone"), table_name="client_personal")
    op.drop_index("ix_call_outcome_client_outcome", table_name="call_outcome")
    op.drop_table("call_outcome")
