"""Presentation decks: ordered steps pointing at recorded runs, and their share ids.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09

Frozen once released (see 0001_ledger.py): the table is spelled out here, not imported from ``schema.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ledger_decks",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("hub_user", sa.String(96)),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("steps", JSON, nullable=False),
        sa.Column("share_id", sa.String(32)),
    )
    op.create_index("ix_ledger_decks_owner_updated", "ledger_decks", ["owner", "updated_ms"])
    op.create_index("ix_ledger_decks_share_id", "ledger_decks", ["share_id"], unique=True)


def downgrade() -> None:
    op.drop_table("ledger_decks")
