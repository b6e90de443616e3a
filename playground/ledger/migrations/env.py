"""Alembic's environment for the ledger. ``playground.ledger`` runs the migrations itself when it opens a
database, inside one transaction it has begun and locked (see ``store.migrate``), by handing its connection
over in ``config.attributes["connection"]``. There is no alembic.ini: a new revision is written by hand as
the next file of ``versions/`` (see 0001_ledger.py), never generated from ``schema.py`` without review."""

from alembic import context

from playground.ledger.schema import VERSION_TABLE, metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE,
                  render_as_batch=connection.dialect.name == "sqlite")  # SQLite alters tables by copying them
with context.begin_transaction():  # the caller's transaction: nothing is committed here
    context.run_migrations()
