"""Which Hub users a browser's owner key has shown a checked token for (so that it sees their runs), and the
read-only snapshots of runs their owners published (share links).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_owner_users",
        sa.Column("owner", sa.String(128), primary_key=True),
        sa.Column("hub_user", sa.String(96), primary_key=True),
        sa.Column("linked_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "ledger_snapshots",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("ledger_runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_ledger_snapshots_run_id", "ledger_snapshots", ["run_id"])


def downgrade() -> None:
    op.drop_table("ledger_snapshots")
    op.drop_table("ledger_owner_users")
