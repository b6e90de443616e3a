"""The run ledger: runs (narrow rows, and their details as JSON), media by content hash, and which runs use
which media.

Revision ID: 0001
Revises:
Create Date: 2026-11-30

A migration is frozen once released: it spells its tables out instead of importing ``schema.py``, so a later
change of the schema is a new migration, and a database of any age upgrades step by step without losing a run.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ledger_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("hub_user", sa.String(96)),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("task", sa.String(64), nullable=False),
        sa.Column("model", sa.String(1024), nullable=False),
        sa.Column("revision", sa.String(256), nullable=False),
        sa.Column("commit_sha", sa.String(64)),
        sa.Column("provider_asked", sa.String(128), nullable=False),
        sa.Column("provider_served", sa.String(1024)),
        sa.Column("endpoint_host", sa.String(255)),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("error_kind", sa.String(32)),
        sa.Column("error_title", sa.Text),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("retries", sa.Integer, nullable=False),
        sa.Column("waited_s", sa.Float, nullable=False),
        sa.Column("truncated", sa.Boolean, nullable=False),
        sa.Column("prompt_tokens", sa.Integer),
        sa.Column("completion_tokens", sa.Integer),
        sa.Column("total_tokens", sa.Integer),
        sa.Column("cost_usd", sa.Float),
        sa.Column("cost_basis", sa.Text, nullable=False),
        sa.Column("search_text", sa.Text, nullable=False),
    )
    op.create_index("ix_ledger_runs_owner_created", "ledger_runs", ["owner", "created_ms"])
    op.create_index("ix_ledger_runs_hub_user_created", "ledger_runs", ["hub_user", "created_ms"])
    op.create_index("ix_ledger_runs_created", "ledger_runs", ["created_ms"])
    op.create_table(
        "ledger_run_details",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("ledger_runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("inputs", JSON, nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("target", JSON, nullable=False),
        sa.Column("output", JSON),
        sa.Column("exchange", JSON, nullable=False),
        sa.Column("error", JSON),
        sa.Column("notes", JSON, nullable=False),
        sa.Column("versions", JSON, nullable=False),
    )
    op.create_table(
        "ledger_media",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("content_type", sa.String(128), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "ledger_run_media",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("ledger_runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("sha256", sa.String(64), sa.ForeignKey("ledger_media.sha256"), primary_key=True),
    )
    op.create_index("ix_ledger_run_media_sha256", "ledger_run_media", ["sha256"])


def downgrade() -> None:
    op.drop_table("ledger_run_media")
    op.drop_table("ledger_media")
    op.drop_table("ledger_run_details")
    op.drop_table("ledger_runs")
