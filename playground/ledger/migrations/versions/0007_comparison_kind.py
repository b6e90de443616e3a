"""Comparison kinds: a run of Compare's "all providers of this model" says so (``ledger_runs.comparison_kind =
'providers'``), so that the comparison reopens in the form it was run (one table row per provider, up to 8), not as
panes; the panes' own comparisons keep NULL.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Frozen once released (see 0001_ledger.py): the columns are spelled out here, not imported from ``schema.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ledger_runs", sa.Column("comparison_kind", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("ledger_runs") as table:
        table.drop_column("comparison_kind")
