"""The ledger's tables, as SQLAlchemy Core ``Table`` objects: what the queries are written against.

The database itself is created and upgraded by the Alembic migrations in ``migrations/versions``, never by
``metadata.create_all``; ``tests/test_ledger.py`` checks that the migrations at head build exactly these tables.

    ledger_runs         one narrow row per run: what History lists, filters, searches and Usage sums
    ledger_run_details  the rest of the run's record, as JSON: inputs, parameters, output, redacted exchange...
    ledger_media        every input or output file, once, keyed by the SHA-256 of its bytes
    ledger_run_media    which runs use which media (so media no run uses any more can be removed)
    ledger_votes        Compare's blind votes: the choice, and per letter the target and the run it showed
    ledger_owner_users  the Hub users a browser's owner key showed a checked token for: it sees their runs too
    ledger_snapshots    read-only snapshots of runs their owners published (share links), by an unguessable id
    (a run of Compare keeps its comparison's id and its pane, ``ledger_runs.comparison_id``, and whether the
    comparison was "all providers of this model", ``comparison_kind``: the comparison is read back, reopened and
    shared from its runs, in the form it was run)
    ledger_batches      a batch's definition (task, targets, column mapping) and its data file, so that it can
                        resume after a restart; its rows are runs (``ledger_runs.batch_id``), never copies
    ledger_decks        presentation decks: an ordered list of steps (task, target, inputs, parameters, speaker
                        notes, and the run whose result the step shows when it is not run live), and the
                        unguessable id of its read-only link once its owner shares it

The record is split in two so that History's scans read small rows: SQLite keeps a row's first kilobytes in
the table's own pages, so JSON beside the listed columns would make every filter read megabytes.

Names start with ``ledger_`` so a team's PostgreSQL database can hold them beside other tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

__all__ = ["metadata", "runs", "run_details", "media", "run_media", "owner_users", "snapshots", "batches", "votes", "decks",
           "VERSION_TABLE", "Json", "DETAILS"]

VERSION_TABLE = "ledger_alembic_version"

# JSON on SQLite, JSONB on PostgreSQL (smaller, and can be indexed later if a view needs it)
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

metadata = sa.MetaData()

runs = sa.Table(
    "ledger_runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),  # uuid4 hex, given when the run finishes
    sa.Column("created_ms", sa.BigInteger, nullable=False),  # when the run started, ms since the epoch (UTC)
    sa.Column("owner", sa.String(128), nullable=False),  # the browser's opaque owner key ("" for none)
    sa.Column("hub_user", sa.String(96)),  # the Hub user name, when the user signed in or the token said it
    sa.Column("source", sa.String(16), nullable=False),  # tab, chat, compare, batch, api
    sa.Column("task", sa.String(64), nullable=False),
    sa.Column("model", sa.String(1024), nullable=False),
    sa.Column("revision", sa.String(256), nullable=False),  # as asked
    sa.Column("commit_sha", sa.String(64)),  # the commit the revision resolved to (served or recorded)
    sa.Column("provider_asked", sa.String(128), nullable=False),
    sa.Column("provider_served", sa.String(1024)),
    sa.Column("endpoint_host", sa.String(255)),
    sa.Column("status", sa.String(8), nullable=False),  # "ok" | "error"
    sa.Column("error_kind", sa.String(32)),
    sa.Column("error_title", sa.Text),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("retries", sa.Integer, nullable=False),
    sa.Column("waited_s", sa.Float, nullable=False),
    sa.Column("truncated", sa.Boolean, nullable=False),
    sa.Column("prompt_tokens", sa.Integer),
    sa.Column("completion_tokens", sa.Integer),
    sa.Column("total_tokens", sa.Integer),
    sa.Column("cost_usd", sa.Float),  # NULL: unknown (cost_basis says why)
    sa.Column("cost_basis", sa.Text, nullable=False),
    sa.Column("search_text", sa.Text, nullable=False),  # lower-cased text of the run, for History's search
    sa.Column("batch_id", sa.String(32)),  # the batch the run is a row of (migration 0002), else NULL
    sa.Column("batch_row", sa.String(64)),  # its row (and target) in that batch: what a resumed batch skips
    sa.Column("comparison_id", sa.String(32)),  # the Compare comparison the run is a pane of (migration 0006)
    sa.Column("comparison_pane", sa.Integer),  # its pane (0, 1...): the comparison reopens from its runs
    sa.Column("comparison_kind", sa.String(16)),  # "providers": one run per provider of a model (migration 0007)
    sa.Index("ix_ledger_runs_owner_created", "owner", "created_ms"),
    sa.Index("ix_ledger_runs_hub_user_created", "hub_user", "created_ms"),
    sa.Index("ix_ledger_runs_created", "created_ms"),
    sa.Index("ix_ledger_runs_batch", "batch_id", "batch_row"),
    sa.Index("ix_ledger_runs_comparison", "comparison_id", "comparison_pane"),
)

run_details = sa.Table(
    "ledger_run_details",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("ledger_runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("inputs", Json, nullable=False),  # media as {"$media": sha256, ...}
    sa.Column("params", Json, nullable=False),
    sa.Column("target", Json, nullable=False),  # timeouts, fallbacks, endpoint URL, bill-to: never the token
    sa.Column("output", Json),  # as received; media by hash
    sa.Column("exchange", Json, nullable=False),  # RunResult.raw(): redacted exchanges, attempts, error
    sa.Column("error", Json),
    sa.Column("notes", Json, nullable=False),  # the status line's notes (failover, revision drift...)
    sa.Column("versions", Json, nullable=False),  # huggingface_hub, gradio, python: for the run card
)

media = sa.Table(
    "ledger_media",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("content_type", sa.String(128), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
)

run_media = sa.Table(
    "ledger_run_media",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("ledger_runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("sha256", sa.String(64), sa.ForeignKey("ledger_media.sha256"), primary_key=True),
    sa.Index("ix_ledger_run_media_sha256", "sha256"),
)

owner_users = sa.Table(
    "ledger_owner_users",
    metadata,
    sa.Column("owner", sa.String(128), primary_key=True),  # as in ledger_runs.owner: the key's hash
    sa.Column("hub_user", sa.String(96), primary_key=True),
    sa.Column("linked_ms", sa.BigInteger, nullable=False),  # last shown: the link lasts owners.CLAIM_DAYS from it
)

snapshots = sa.Table(
    "ledger_snapshots",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),  # random, unguessable: whoever has it may read the run
    sa.Column("run_id", sa.String(32), sa.ForeignKey("ledger_runs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Index("ix_ledger_snapshots_run_id", "run_id"),
)

batches = sa.Table(
    "ledger_batches",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("owner", sa.String(128), nullable=False),  # the owner key's SHA-256, as ledger_runs.owner
    sa.Column("hub_user", sa.String(96)),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # running, paused, cancelled, done (as last left)
    sa.Column("task", sa.String(64), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),  # data rows (requests: rows x targets)
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("spec", Json, nullable=False),  # targets, column mapping, expected column, parameters, concurrency
    sa.Column("data", sa.LargeBinary, nullable=False),  # the data file as uploaded (read again to resume)
    sa.Index("ix_ledger_batches_owner_created", "owner", "created_ms"),
)

votes = sa.Table(
    "ledger_votes",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),  # uuid4 hex
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("owner", sa.String(128), nullable=False),  # as ledger_runs.owner: the SHA-256 of the owner key
    sa.Column("hub_user", sa.String(96)),
    sa.Column("task", sa.String(64), nullable=False),
    sa.Column("choice", sa.String(16), nullable=False),  # a letter ("A"...), "tie" or "bad"
    # per letter: {"letter", "model", "provider", "endpoint_url", "revision", "run_id", "ok"}; the prompt and the
    # answers are read from the runs (ledger_runs), never copied here
    sa.Column("targets", Json, nullable=False),
    sa.Index("ix_ledger_votes_owner_created", "owner", "created_ms"),
    sa.Index("ix_ledger_votes_task", "task"),
)

decks = sa.Table(
    "ledger_decks",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),  # uuid4 hex
    sa.Column("owner", sa.String(128), nullable=False),  # the owner key's SHA-256, as ledger_runs.owner
    sa.Column("hub_user", sa.String(96)),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    # in order: {"run_id", "task", "model", "provider", "revision", "endpoint_url", "inputs", "params", "notes"};
    # the inputs as the run's record keeps them (files by hash), the result read from the run, never copied
    sa.Column("steps", Json, nullable=False),
    sa.Column("share_id", sa.String(32)),  # random, unguessable: whoever has it may read the deck's recorded results
    sa.Index("ix_ledger_decks_owner_updated", "owner", "updated_ms"),
    sa.Index("ix_ledger_decks_share_id", "share_id", unique=True),
)

DETAILS = tuple(c.name for c in run_details.columns if c.name != "run_id")  # a record's fields kept in details
