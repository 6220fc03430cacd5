"""browser sessions, sign-in attempts, and who recorded a call

Browser sessions become server-side records, so signing out (or revoking a key) ends them at
once; an OpenID Connect sign-in under way is a record its callback uses up. A call outcome
recorded by a person signed in through the identity provider keeps their subject and name;
its key id is then empty.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Frozen here so later model changes cannot alter history.
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("roles", JSON_DOCUMENT, nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=True),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("id_token", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recheck_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_web_session")),
    )
    op.create_table(
        "sign_in_attempt",
        sa.Column("state_sha256", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("next_page", sa.String(length=2000), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state_sha256", name=op.f("pk_sign_in_attempt")),
    )
    with op.batch_alter_table("call_outcome") as batch:
        batch.alter_column("key_id", existing_type=sa.String(length=32), nullable=True)
        batch.add_column(sa.Column("recorded_by_subject", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("recorded_by_name", sa.String(length=200), nullable=True))


def downgrade() -> None:
    # A key id is required again: a person's outcomes keep the mark "sso".
    call = sa.table("call_outcome", sa.column("key_id", sa.String))
    op.execute(call.update().where(call.c.key_id.is_(None)).values(key_id="sso"))
    with op.batch_alter_table("call_outcome") as batch:
        batch.drop_column("recorded_by_name")
        batch.drop_column("recorded_by_subject")
        batch.alter_column("key_id", existing_type=sa.String(length=32), nullable=False)
    op.drop_table("sign_in_attempt")
    op.drop_table("web_session")
