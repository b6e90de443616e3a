"""Batches: a run may be a row of a batch (``ledger_runs.batch_id``, ``batch_row``), and a batch's definition
and data file are kept (``ledger_batches``) so that it resumes after a restart without repeating a row.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("ledger_runs", sa.Column("batch_id", sa.String(32)))
    op.add_column("ledger_runs", sa.Column("batch_row", sa.String(64)))
    op.create_index("ix_ledger_runs_batch", "ledger_runs", ["batch_id", "batch_row"])
    op.create_table(
        "ledger_batches",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("hub_user", sa.String(96)),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("task", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_ledger_batches_owner_created", "ledger_batches", ["owner", "created_ms"])


def downgrade() -> None:
    op.drop_index("ix_ledger_batches_owner_created", "ledger_batches")
    op.drop_table("ledger_batches")
    op.drop_index("ix_ledger_runs_batch", "ledger_runs")
    with op.batch_alter_table("ledger_runs") as table:
        table.drop_column("batch_row")
        table.drop_column("batch_id")
