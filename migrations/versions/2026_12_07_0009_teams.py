"""teams: a browser session's team, and the team of who recorded a call

A team lead sees the callbacks and the call outcomes of their team: the team comes from the
identity provider's token (a claim, `CLIENTSCORE_OIDC_TEAM_CLAIM`) and is kept with the
session and with each outcome recorded in it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 17:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("web_session", sa.Column("team", sa.String(length=100), nullable=True))
    op.add_column(
        "call_outcome", sa.Column("recorded_by_team", sa.String(length=100), nullable=True)
    )
    op.create_index("ix_call_outcome_team", "call_outcome", ["recorded_by_team", "outcome_id"])


def downgrade() -> None:
    op.drop_index("ix_call_outcome_team", table_name="call_outcome")
    op.drop_column("call_outcome", "recorded_by_team")
    op.drop_column("web_session", "team")
