"""Compare's blind votes: one row per vote, pointing at the runs it judged.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

Frozen once released (see 0001_ledger.py): the table is spelled out here, not imported from ``schema.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ledger_votes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("hub_user", sa.String(96)),
        sa.Column("task", sa.String(64), nullable=False),
        sa.Column("choice", sa.String(16), nullable=False),
        sa.Column("targets", JSON, nullable=False),
    )
    op.create_index("ix_ledger_votes_owner_created", "ledger_votes", ["owner", "created_ms"])
    op.create_index("ix_ledger_votes_task", "ledger_votes", ["task"])


def downgrade() -> None:
    op.drop_table("ledger_votes")
