"""client outcomes: the training labels observed after a reference date

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "client_outcome",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("observed_at", sa.Date(), nullable=False),
        sa.Column("lapse_12m", sa.Double(), nullable=True),
        sa.Column("claim_count_next_year", sa.Double(), nullable=True),
        sa.Column("exposure", sa.Double(), nullable=True),
        sa.Column("purchase_6m", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.client_id"],
            name=op.f("fk_client_outcome_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_client_outcome")),
    )


def downgrade() -> None:
    op.drop_table("client_outcome")
