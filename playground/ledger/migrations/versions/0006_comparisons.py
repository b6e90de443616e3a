"""Comparisons: the runs of one Compare comparison share its id (``ledger_runs.comparison_id``) and keep their
pane (``comparison_pane``), so that the comparison reopens and is shared as a whole from its runs, never copied.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10

Frozen once released (see 0001_ledger.py): the columns are spelled out here, not imported from ``schema.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ledger_runs", sa.Column("comparison_id", sa.String(32)))
    op.add_column("ledger_runs", sa.Column("comparison_pane", sa.Integer))
    op.create_index("ix_ledger_runs_comparison", "ledger_runs", ["comparison_id", "comparison_pane"])


def downgrade() -> None:
    op.drop_index("ix_ledger_runs_comparison", "ledger_runs")
    with op.batch_alter_table("ledger_runs") as table:
        table.drop_column("comparison_pane")
        table.drop_column("comparison_id")
