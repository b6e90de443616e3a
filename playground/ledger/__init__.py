"""The run ledger: every run recorded once, by the one service path; History, usage, cost, run cards and
share links are views of it, never copies.

    service._finish(result)  ->  ledger.record(result)    a queue put: no I/O on the request path
                                   writer thread           RunResult -> row (record.py) -> one transaction
                                   ledger_runs / ledger_media / ledger_run_media      (schema.py, Alembic)
    History, Usage  ->  current().list_runs / get_run / get_media / usage / delete_run / clear   (store.py)

Where: ``PLAYGROUND_DATABASE_URL`` (``postgresql://user:password@host/db`` for a team's replicas, or any
``sqlite:///path``), else ``ledger.sqlite3`` in ``PLAYGROUND_DATA_DIR``, else in the platform's user-data
directory (``platformdirs``; on Linux ``~/.local/share/hf-inference-playground``). ``configure()`` sets
them in code (app flags, tests). ``PLAYGROUND_RETENTION_DAYS`` removes older runs, ``PLAYGROUND_RETENTION_MB``
the oldest runs while the ledger holds more (files and records), and the media no run uses goes with them.

Never the token: the record keeps the target without its token, and every string of the record (inputs,
output, exchange, notes, error) is scrubbed of the run's tokens and of anything shaped like an HF token.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from pathlib import Path
from typing import Any

from .record import MEDIA_KEY, SOURCES, Media
from .store import (BatchRecord, BatchRow, Ledger, LedgerError, Owner, Run, RunPage, RunSummary, UsageRow, Vote,
                    describe, percentile)

__all__ = [
    "Ledger", "LedgerError", "Owner", "Run", "RunSummary", "RunPage", "UsageRow", "Vote", "Media", "SOURCES", "MEDIA_KEY",
    "BatchRecord", "BatchRow",
    "configure", "current", "record", "data_dir", "default_url", "describe", "percentile",
]

log = logging.getLogger(__name__)

APP_NAME = "hf-inference-playground"
DATABASE_FILE = "ledger.sqlite3"

_lock = threading.RLock()
_current: list[Ledger | None] = [None]
_configured = [False]


def data_dir() -> Path:
    """``PLAYGROUND_DATA_DIR``, else the platform's user-data directory for the playground."""
    chosen = os.environ.get("PLAYGROUND_DATA_DIR", "").strip()
    if chosen:
        return Path(chosen).expanduser()
    try:
        from platformdirs import user_data_dir
    except ImportError:  # the XDG convention platformdirs follows on Linux
        base = os.environ.get("XDG_DATA_HOME", "").strip() or "~/.local/share"
        return Path(base).expanduser() / APP_NAME
    return Path(user_data_dir(APP_NAME, appauthor=False))


def default_url() -> str:
    """``PLAYGROUND_DATABASE_URL``, else SQLite in ``data_dir()``."""
    return os.environ.get("PLAYGROUND_DATABASE_URL", "").strip() or f"sqlite:///{data_dir() / DATABASE_FILE}"


def _retention(name: str, unit: str) -> float | None:
    value = os.environ.get(name, "").strip()
    try:
        return float(value) if value else None
    except ValueError:
        log.warning("%s=%r is not a number of %s: runs are kept", name, value, unit)
        return None


def configure(url: str | None = None, *, data_dir: str | Path | None = None, retention_days: float | None = None,
              retention_mb: float | None = None, enabled: bool = True, **options: Any) -> Ledger | None:
    """Choose where runs are recorded (replacing the ledger in use, whose queued runs are written first).
    ``url`` wins over ``data_dir``; with neither, the environment decides (``default_url``). Retention: runs older
    than ``retention_days``, and the oldest beyond ``retention_mb`` of files and records, are removed (default:
    ``PLAYGROUND_RETENTION_DAYS``, ``PLAYGROUND_RETENTION_MB``; none: kept). ``enabled=False`` records nothing.
    ``options`` go to ``Ledger`` (busy_timeout_s, probe_s, queue_size...)."""
    if url is None and data_dir is not None:
        url = f"sqlite:///{Path(data_dir).expanduser() / DATABASE_FILE}"
    if retention_days is None:
        retention_days = _retention("PLAYGROUND_RETENTION_DAYS", "days")
    if retention_mb is None:
        retention_mb = _retention("PLAYGROUND_RETENTION_MB", "megabytes")
    ledger = Ledger(url or default_url(), retention_days=retention_days, retention_mb=retention_mb,
                    **options).start() if enabled else None
    with _lock:
        previous, _current[0] = _current[0], ledger
        if not _configured[0]:
            atexit.register(_close_at_exit)
        _configured[0] = True
    if previous is not None:
        previous.close()
    return ledger


def current() -> Ledger | None:
    """The ledger runs are recorded in (configured from the environment on first use); None when off."""
    if not _configured[0]:
        with _lock:
            if not _configured[0]:
                configure()
    return _current[0]


def record(result: Any) -> None:
    """The service path's one write (``service._finish``): queue the run, or add "not recorded: ..." to its
    notes. Never raises, never waits."""
    try:
        ledger = current()
        note = ledger.record(result) if ledger is not None else None
    except Exception as exc:  # the ledger must never fail a run
        log.exception("ledger: run not recorded")
        note = f"not recorded: {describe(exc)}"
    if note:
        result.notes.append(note)


def _close_at_exit() -> None:
    ledger = _current[0]
    if ledger is not None:
        ledger.close(timeout=5.0)
