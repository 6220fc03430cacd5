"""offer answers: what the strategy learns acceptance rates from

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

ANSWER_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "offer_answer",
        sa.Column("outcome_id", ANSWER_ID, nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("offer_request_id", sa.String(length=64), nullable=False),
        sa.Column("action_code", sa.String(length=64), nullable=False),
        sa.Column("segment", sa.String(length=128), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["outcome_id"],
            ["call_outcome.outcome_id"],
            name=op.f("fk_offer_answer_outcome_id_call_outcome"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("outcome_id", name=op.f("pk_offer_answer")),
    )
    op.create_index(
        "ux_offer_answer_offer", "offer_answer", ["offer_request_id", "action_code"], unique=True
    )
    op.create_index("ix_offer_answer_action_segment", "offer_answer", ["action_code", "segment"])


def downgrade() -> None:
    op.drop_index("ix_offer_answer_action_segment", table_name="offer_answer")
    op.drop_index("ux_offer_answer_offer", table_name="offer_answer")
    op.drop_table("offer_answer")
