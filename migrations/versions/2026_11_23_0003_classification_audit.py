"""classification audit: every classification of a stored client

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Frozen here so later model changes cannot alter history.
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
AUDIT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "classification_audit",
        sa.Column("audit_id", AUDIT_ID, autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("client_version", sa.Integer(), nullable=True),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("input_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("versions", JSON_DOCUMENT, nullable=False),
        sa.Column("result", JSON_DOCUMENT, nullable=False),
        sa.Column("classified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.client_id"],
            name=op.f("fk_classification_audit_client_id_client"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("audit_id", name=op.f("pk_classification_audit")),
    )
    op.create_index(
        "ix_classification_audit_client_time",
        "classification_audit",
        ["client_id", "classified_at"],
    )
    op.create_index(
        op.f("ix_classification_audit_request_id"), "classification_audit", ["request_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_classification_audit_request_id"), table_name="classification_audit")
    op.drop_index("ix_classification_audit_client_time", table_name="classification_audit")
    op.drop_table("classification_audit")
