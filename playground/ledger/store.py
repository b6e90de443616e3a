"""The ledger's store: one SQLAlchemy Core engine (SQLite by default, PostgreSQL by URL), its migrations,
the background writer, and the reads every view of runs is built from.

Writing (``Ledger.record``) costs the run a queue put: a writer thread takes the queued runs in batches,
turns each into its row (``record.row_of``) and inserts them in one transaction. A database that is locked,
read-only, full, damaged or unreachable never fails a run:

- a batch that cannot be written is tried three times, then given up; the store remembers why
  (``Ledger.problem``, in words a person can act on);
- while it has a problem, ``record`` keeps no run and answers ``"not recorded: <why>"`` at once, which the
  service adds to the run's notes (its status line); runs given up on before the problem was known are
  counted in the next such note ("... (nor 3 earlier runs)");
- the writer probes the database every ``probe_s`` seconds (a write it rolls back) and clears the problem
  when the database works again.

Reads (History, Usage) run on the caller's thread and are always scoped to an ``Owner``.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite

from .. import capture
from .record import Media, Row, owner_hash, row_of
from .schema import (DETAILS, VERSION_TABLE, batches, decks, media, owner_users, run_details, run_media, runs, snapshots,
                     votes)

__all__ = ["Ledger", "LedgerError", "Owner", "RunSummary", "Run", "RunPage", "UsageRow", "Vote", "BatchRecord", "BatchRow",
           "Deck", "make_engine", "migrate", "describe"]

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
_MIGRATION_LOCK = 0x6C6564676572  # PostgreSQL advisory lock held while migrating ("ledger" in hex)
_MAX_PAGE = 500
_PROBE_SHA = "0" * 64
_ALEMBIC = threading.Lock()
LINK_DAYS = 7  # a browser sees a Hub user's runs for a week after it last showed a checked token of theirs
# A link written less than this ago is not written again: the token line checks a token when it is pasted and again
# on blur or Enter, one write is enough (a link then lasts LINK_DAYS from the token's last showing, to the hour).
LINK_AGAIN_S = 3600


class LedgerError(Exception):
    """The ledger cannot be used; the message says why, in words for the status line."""


# ------------------------------------------------------------------------------------------ faults

_REASONS = (  # a database driver's message -> what the status line says
    ("database is locked", "the database is locked by another program"),
    ("database table is locked", "the database is locked by another program"),
    ("lock timeout", "the database is locked by another program"),
    ("readonly database", "the database is read-only"),
    ("read-only transaction", "the database is read-only"),
    ("database or disk is full", "the database or its disk is full"),
    ("no space left on device", "the database's disk is full"),
    ("could not extend file", "the database's disk is full"),
    ("file is not a database", "the database file is damaged"),
    ("disk image is malformed", "the database file is damaged"),
    ("unable to open database file", "the database file cannot be opened"),
    ("can't create a connection", "the database server cannot be reached"),
    ("connection refused", "the database server cannot be reached"),
    ("network error", "the connection to the database server was lost"),
)


def describe(exc: BaseException) -> str:
    """Why the ledger failed, in a few words. Never the SQL's parameters (they hold the run's content)."""
    if isinstance(exc, LedgerError):
        return str(exc)
    detail = str(exc.orig) if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None else str(exc)
    low = detail.lower()
    for needle, reason in _REASONS:
        if needle in low:
            return reason
    return capture.redact_text(f"{type(exc).__name__}: {detail.splitlines()[0] if detail else ''}")[:160]


# ------------------------------------------------------------------------------------------ engine


def make_engine(url: str | sa.URL, busy_timeout_s: float = 5.0) -> sa.Engine:
    """An engine for the ledger's URL: ``sqlite:///path`` or ``postgresql://...`` (pure-Python pg8000)."""
    url = sa.make_url(url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+pg8000")
    if url.get_backend_name() == "postgresql":
        # a lock held elsewhere fails a statement after busy_timeout_s, as on SQLite, instead of waiting forever
        params = {"lock_timeout": str(int(busy_timeout_s * 1000))}
        return sa.create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4,
                                connect_args={"timeout": max(busy_timeout_s, 10.0), "startup_params": params})
    if url.get_backend_name() != "sqlite":
        raise LedgerError(f"the ledger speaks SQLite and PostgreSQL, not {url.get_backend_name()}")
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # runs are private
    engine = sa.create_engine(url, connect_args={"timeout": busy_timeout_s, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        # sqlite3 left alone emits BEGIN only before DML, so DDL and reads would run outside transactions:
        # SQLAlchemy's documented recipe turns that off and emits BEGIN itself (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        try:
            cursor.execute("PRAGMA journal_mode = WAL")  # readers (History) never block the writer
        except Exception as exc:  # a read-only file keeps the mode it has
            if "readonly" not in str(exc):
                raise
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA cache_size = -16000")  # 16 MB of pages (the default 2 MB rereads History's scans)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        # a writing transaction takes the write lock at once: waiting for it honours busy_timeout, where a
        # deferred transaction upgrading its lock midway would fail at once with "database is locked"
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("ledger_write") else "BEGIN")

    return engine


def _writing(conn: sa.Connection) -> sa.Connection:
    return conn.execution_options(ledger_write=True)


LOCKED = "the database is locked by another program"  # ``describe``'s word for a lock held elsewhere
MIGRATE_TRIES = 4  # a replica finding the upgrade locked by another tries again after 0.5, 1 and 2 s (each try waits busy_timeout_s)


def migrate(engine: sa.Engine) -> None:
    """Bring the database to the newest schema (Alembic, ``migrations/versions``), in one transaction.

    A database already at head is only read (a read-only file opens). Otherwise the upgrade holds a lock
    while it runs (PostgreSQL: an advisory lock; SQLite: the write lock), so replicas starting together
    upgrade once. A database written by a newer playground is refused, untouched."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()

    def current(conn: sa.Connection) -> tuple[str, ...]:
        heads = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_heads()
        for rev in heads:
            try:
                script.get_revision(rev)
            except Exception:
                raise LedgerError(f"the database was written by a newer playground (schema {rev}); "
                                  "upgrade the playground to use it") from None
        return heads

    with engine.connect() as conn, conn.begin():
        if current(conn) == (head,):
            return
    with _ALEMBIC, engine.connect() as conn:  # Alembic's ``context`` and ``op`` are one per process
        with _writing(conn).begin():
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            if current(conn) == (head,):  # another process upgraded it meanwhile
                return
            config.attributes["connection"] = conn
            command.upgrade(config, "head")


# ------------------------------------------------------------------------------------------ reads


@dataclass(frozen=True)
class Owner:
    """Who is looking: the browser's owner key and, when known, the Hub user name. Every read is scoped to
    the runs recorded under this key or this user; no read can be made without one."""

    key: str = field(repr=False)
    hub_user: str | None = None

    def clause(self, table: sa.Table = runs) -> sa.ColumnElement[bool]:
        """The rows of ``table`` (runs, batches or votes) recorded under this key, under ``hub_user``, and under the Hub
        users this key showed a checked token for in the last ``LINK_DAYS`` (``Ledger.link``)."""
        # no key sees no run by key: runs recorded without an owner (plain API calls) are nobody's to browse
        if not self.key:
            return table.c.hub_user == self.hub_user if self.hub_user else sa.false()
        mine = owner_hash(self.key)
        linked = sa.select(owner_users.c.hub_user).where(
            owner_users.c.owner == mine, owner_users.c.linked_ms >= _ms(time.time() - LINK_DAYS * 86400))
        users = table.c.hub_user.in_(linked)
        if self.hub_user:
            users = sa.or_(table.c.hub_user == self.hub_user, users)
        return sa.or_(table.c.owner == mine, users)


@dataclass(frozen=True)
class _RunReader(Owner):
    """The reader of one published run: it sees that run and its files, nothing else."""

    key: str = field(default="", repr=False)
    run_id: str = ""

    def clause(self, table: sa.Table = runs) -> sa.ColumnElement[bool]:
        return runs.c.id == self.run_id if table is runs else sa.false()


@dataclass(frozen=True)
class _DeckReader(Owner):
    """The reader of a shared deck: it sees the runs its steps show (those of the deck's owner), nothing else."""

    key: str = field(default="", repr=False)
    run_ids: tuple[str, ...] = ()
    deck_owner: str = field(default="", repr=False)  # the deck's owner column (a hash) and Hub user
    deck_user: str | None = None

    def clause(self, table: sa.Table = runs) -> sa.ColumnElement[bool]:
        if table is not runs or not self.run_ids:
            return sa.false()
        theirs = runs.c.owner == self.deck_owner if self.deck_owner else sa.false()
        if self.deck_owner:  # as the owner saw them: the runs of the Hub users its browser is linked to (``link``)
            linked = sa.select(owner_users.c.hub_user).where(
                owner_users.c.owner == self.deck_owner,
                owner_users.c.linked_ms >= _ms(time.time() - LINK_DAYS * 86400))
            theirs = sa.or_(theirs, runs.c.hub_user.in_(linked))
        if self.deck_user:
            theirs = sa.or_(theirs, runs.c.hub_user == self.deck_user)
        return sa.and_(runs.c.id.in_(self.run_ids), theirs)


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, timezone.utc)


def _ms(when: datetime | float) -> int:
    return int((when.timestamp() if isinstance(when, datetime) else when) * 1000)


@dataclass(frozen=True)
class RunSummary:
    """A History row."""

    id: str
    created: datetime  # when the run started (UTC)
    source: str
    task: str
    model: str
    revision: str
    commit_sha: str | None
    provider_asked: str
    provider_served: str | None
    status: str
    error_title: str | None
    latency_ms: float
    retries: int
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    cost_usd: float | None
    cost_basis: str
    hub_user: str | None
    comparison_id: str | None = None  # a pane of a Compare comparison: its id, and the pane (0, 1...)
    comparison_pane: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def model_ref(self) -> str:
        """``model@sha7`` when the commit is known."""
        return f"{self.model}@{self.commit_sha[:7]}" if self.commit_sha else self.model


@dataclass(frozen=True)
class Run(RunSummary):
    """The whole record of one run: what reopening, the run card and share links are made from."""

    endpoint_host: str | None = None
    error_kind: str | None = None
    waited_s: float = 0.0
    truncated: bool = False
    inputs: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    target: dict[str, Any] = field(default_factory=dict)
    output: Any = None
    exchange: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    comparison_kind: str | None = None  # "providers": a run of "all providers of this model" (None: a pane's)


_SUMMARY = [runs.c[f.name] for f in fields(RunSummary) if f.name != "created"] + [runs.c.created_ms]
_RUN = _SUMMARY + [runs.c[f.name] if f.name in runs.c else run_details.c[f.name]
                   for f in fields(Run) if f.name not in {g.name for g in fields(RunSummary)}]


def _summary(row: sa.Row, cls: type = RunSummary) -> Any:
    values = dict(row._mapping)
    values["created"] = _dt(values.pop("created_ms"))
    return cls(**values)


@dataclass(frozen=True)
class RunPage:
    runs: list[RunSummary]
    total: int  # runs matching the filters, all pages together
    next_cursor: str | None  # give it back as ``cursor`` for the next (older) page; None on the last page


@dataclass(frozen=True)
class UsageRow:
    """Totals of one group of runs (a day, a model, a provider, or a combination)."""

    day: str | None  # YYYY-MM-DD in the timezone asked for
    task: str | None
    model: str | None
    provider: str | None  # the provider that served (else the one asked)
    calls: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float  # the sum of the known estimates
    cost_unknown: int  # runs whose cost is unknown (not counted in cost_usd)
    p50_ms: float
    p95_ms: float


def percentile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile of sorted values, linearly interpolated (numpy's default)."""
    if not ordered:
        return math.nan
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass(frozen=True)
class Vote:
    """A blind vote of Compare: which letter won ("tie", "bad"), and per letter the target and its run's id."""

    id: str
    created: datetime
    task: str
    choice: str
    targets: list[dict[str, Any]]


GROUPS = ("day", "task", "model", "provider")


class _Totals:
    __slots__ = ("calls", "errors", "prompt", "completion", "total", "cost", "unknown", "latencies")

    def __init__(self) -> None:
        self.calls = self.errors = self.prompt = self.completion = self.total = self.unknown = 0
        self.cost = 0.0
        self.latencies: list[float] = []

    def add(self, status: str, latency: float, prompt: int | None, completion: int | None, total: int | None,
            cost: float | None) -> None:
        self.calls += 1
        self.errors += status != "ok"
        self.prompt += prompt or 0
        self.completion += completion or 0
        self.total += total or 0
        if cost is None:
            self.unknown += 1
        else:
            self.cost += cost
        self.latencies.append(latency)

    def row(self, key: tuple) -> UsageRow:
        latencies = sorted(self.latencies)
        return UsageRow(*key, calls=self.calls, errors=self.errors, prompt_tokens=self.prompt,
                        completion_tokens=self.completion, total_tokens=self.total, cost_usd=self.cost,
                        cost_unknown=self.unknown, p50_ms=percentile(latencies, 0.5),
                        p95_ms=percentile(latencies, 0.95))


@dataclass(frozen=True)
class BatchRecord:
    """A batch as kept to resume it: its definition and, with ``get_batch``, its data file."""

    id: str
    created: datetime
    updated: datetime
    state: str  # running, paused, cancelled, done: as it was last left
    task: str
    rows: int
    file_name: str
    spec: dict[str, Any]
    data: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class BatchRow:
    """The last run recorded for one row (and target) of a batch."""

    row: str  # ``batch_row``
    run_id: str
    created_ms: int
    model: str
    provider: str
    status: str
    error_kind: str | None
    error_title: str | None
    latency_ms: float
    retries: int
    cost_usd: float | None
    output: Any = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class Deck:
    """A presentation deck (``playground.decks``): its steps in order, and its share id once shared."""

    id: str
    created: datetime
    updated: datetime
    title: str
    steps: list[dict[str, Any]]
    share_id: str | None = None


# ------------------------------------------------------------------------------------------ the ledger


@dataclass
class _Queued:
    result: Any
    run_id: str
    started_ms: int
    notes: list[str]


_STOP = object()


class Ledger:
    """Every run, recorded once. ``record`` is the one write of the service path; the other methods are
    the reads and deletions the views of runs need."""

    def __init__(self, url: str, *, retention_days: float | None = None, retention_mb: float | None = None,
                 busy_timeout_s: float = 5.0,
                 probe_s: float = 5.0, queue_size: int = 10_000, batch: int = 200, gather_s: float = 0.05,
                 retries: int = 3):
        self.url = url
        self.retention_days = retention_days
        self.retention_mb = retention_mb
        self.busy_timeout_s = busy_timeout_s
        self.probe_s = probe_s
        self.batch = batch
        self.gather_s = gather_s
        self.retries = retries
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._pending = 0  # runs queued and not yet written or given up
        self._idle = threading.Condition()
        self._problem: str | None = None
        self._lost_unreported = 0
        self._engine: sa.Engine | None = None
        self._open_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._last_probe = 0.0
        self._last_upkeep = -math.inf  # at the first batch, then hourly
        self.written = 0  # runs written by this process (for tests and benchmarks)
        self.lost = 0  # runs given up on by this process

    def __repr__(self) -> str:
        return f"Ledger({sa.make_url(self.url).render_as_string(hide_password=True)!r})"

    # -------------------------------------------------------------------------------------- writing

    @property
    def problem(self) -> str | None:
        """Why runs are not being recorded now (None when they are)."""
        return self._problem

    def start(self) -> Ledger:
        """Start the writer, which opens (and migrates) the database at once, off the caller's thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="ledger-writer", daemon=True)
            self._thread.start()
        return self

    def record(self, result: Any) -> str | None:
        """Queue a finished run (cheap: no I/O). Sets ``result.run_id``; returns the note for its status
        line when the run will not be recorded."""
        problem = self._problem
        if problem is None:
            run_id = uuid.uuid4().hex
            item = _Queued(result, run_id, int((time.time() - result.latency_s) * 1000), list(result.notes))
            with self._idle:
                self._pending += 1
            try:
                self._queue.put_nowait(item)
                result.run_id = run_id
                self.start()
                return None
            except queue.Full:
                self._settle(1)
                problem = f"the ledger is {self._queue.maxsize} runs behind"
        with self._idle:
            self.lost += 1
            earlier, self._lost_unreported = self._lost_unreported, 0
        return f"not recorded: {problem}" + (f" (nor {earlier} earlier run{'s' * (earlier > 1)})" if earlier else "")

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every run queued so far is written (or given up on). False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued (up to ``timeout``), stop the writer, close the connections."""
        self.flush(timeout)
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)
        self._thread = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _settle(self, n: int) -> None:
        with self._idle:
            self._pending -= n
            self._idle.notify_all()

    def _loop(self) -> None:
        try:
            self._open()
        except Exception as exc:
            self._fail(exc, 0)
        while True:
            try:
                item = self._queue.get(timeout=self.probe_s)
            except queue.Empty:
                self._maintain()
                continue
            if item is _STOP:
                return
            batch = [item]
            until = time.monotonic() + self.gather_s  # runs in quick succession share one transaction
            while len(batch) < self.batch:
                try:
                    more = self._queue.get(timeout=max(0.0, until - time.monotonic()))
                except queue.Empty:
                    break
                if more is _STOP:
                    self._queue.put(_STOP)
                    break
                batch.append(more)
            try:
                self._maintain()
                self._write(batch)
            finally:
                self._settle(len(batch))

    def _maintain(self) -> None:
        now = time.monotonic()
        if self._problem is not None and now - self._last_probe >= self.probe_s:
            self._last_probe = now
            self._probe()
        if self._problem is None and now - self._last_upkeep >= 3600:
            self._last_upkeep = now
            try:
                self.upkeep()
            except Exception as exc:  # tried again within the hour
                log.warning("ledger: upkeep failed: %s", describe(exc))

    def _write(self, batch: list[_Queued]) -> None:
        rows = []
        from huggingface_hub import get_token

        machine = get_token() or ""  # read once a batch, not once a run (it reads the token file each time)
        for item in batch:
            try:
                rows.append(row_of(item.result, item.run_id, item.started_ms, item.notes, _secrets(item.result, machine)))
            except Exception:  # a value the converter cannot read: that run alone is lost, and logged
                log.exception("ledger: run %s could not be turned into a record", item.run_id)
                self._lose(1)
        if not rows:
            return
        if self._problem is not None:  # known broken: do not wait on it for every batch
            self._fail(LedgerError(self._problem), len(rows))
            return
        error = self._insert(rows, self.retries)
        if error is None:
            return
        if not self._probe():  # the database refuses writes
            self._fail(error, len(rows))
            return
        # the database takes writes, so a row is at fault: each alone, so that it does not sink the others
        refused = [row for row in rows if self._insert([row], 1) is not None] if len(rows) > 1 else rows
        if refused:
            log.error("ledger: %d run(s) refused by the database: %s", len(refused), describe(error))
            self._lose(len(refused))

    def _insert(self, rows: list[Row], tries: int) -> Exception | None:
        """Insert rows in one transaction, trying ``tries`` times; the last error, or None once written."""
        error: Exception | None = None
        for attempt in range(tries):
            try:
                with self._connect() as conn, _writing(conn).begin():
                    _insert_rows(conn, rows)
                self.written += len(rows)
                return None
            except Exception as exc:
                error = exc
                if isinstance(exc, LedgerError) or attempt == tries - 1:
                    break
                time.sleep(0.1 * 3**attempt)
        return error

    def _lose(self, n: int) -> None:
        with self._idle:
            self.lost += n

    def _fail(self, exc: BaseException, lost: int) -> None:
        reason = describe(exc)
        if self._problem != reason:
            log.warning("ledger: runs are not recorded: %s", reason)
        with self._idle:
            self._problem = reason
            self._last_probe = time.monotonic()
            self._lost_unreported += lost
            self.lost += lost
        if self._engine is not None:
            self._engine.dispose()  # the probe and the next writes start on fresh connections

    def _probe(self) -> bool:
        """A write the database must accept (then rolled back): clears the problem when it does."""
        try:
            with self._connect() as conn, _writing(conn).begin() as tx:
                conn.execute(media.insert().values(sha256=_PROBE_SHA, content_type="probe", size=0,
                                                   data=b"\0" * 16384, created_ms=0))  # a few new pages
                conn.execute(runs.update().where(runs.c.id == "").values(retries=0))  # the runs table's lock
                tx.rollback()
        except Exception as exc:
            self._problem = describe(exc)
            if self._engine is not None:
                self._engine.dispose()
            return False
        if self._problem is not None:
            log.warning("ledger: the database works again")
            self._problem = None
        return True

    # -------------------------------------------------------------------------------------- opening

    def _open(self) -> sa.Engine:
        with self._open_lock:
            if self._engine is None:
                engine = make_engine(self.url, self.busy_timeout_s)
                for attempt in range(MIGRATE_TRIES):
                    try:
                        migrate(engine)
                        break
                    except Exception as exc:
                        # another replica upgrading the same database holds its lock: wait for it, a few times
                        if attempt == MIGRATE_TRIES - 1 or describe(exc) != LOCKED:
                            engine.dispose()
                            raise
                        time.sleep(0.5 * 2**attempt)
                self._engine = engine
            return self._engine

    def _connect(self) -> sa.Connection:
        return self._open().connect()

    def _reading(self) -> sa.Connection:
        try:
            return self._connect()
        except LedgerError:
            raise
        except Exception as exc:
            raise LedgerError(describe(exc)) from exc

    # -------------------------------------------------------------------------------------- reads

    def list_runs(self, owner: Owner, *, task: str | None = None, model: str | None = None,
                  provider: str | None = None, status: str | None = None, source: str | None = None,
                  text: str | None = None, since: datetime | None = None, until: datetime | None = None,
                  limit: int = 50, cursor: str | None = None) -> RunPage:
        """History: the owner's runs, newest first, filtered; ``text`` matches every word (any case) in
        the run's inputs, output, model, provider and error. Pages by ``cursor`` (from ``next_cursor``)."""
        where = _filters(owner, task=task, model=model, provider=provider, status=status, source=source,
                         text=text, since=since, until=until)
        page = where
        if cursor:
            ms, _, last = cursor.partition(":")
            page = sa.and_(where, runs.c.created_ms <= int(ms),  # a range the (owner, created_ms) index serves
                           sa.or_(runs.c.created_ms < int(ms), runs.c.id < last))
        limit = max(1, min(limit, _MAX_PAGE))
        query = (sa.select(*_SUMMARY).where(page).order_by(runs.c.created_ms.desc(), runs.c.id.desc())
                 .limit(limit + 1))
        with self._reading() as conn:
            rows = conn.execute(query).all()
            total = conn.execute(sa.select(sa.func.count()).select_from(runs).where(where)).scalar_one()
        found = [_summary(r) for r in rows[:limit]]
        more = len(rows) > limit
        return RunPage(found, total, f"{_ms(found[-1].created)}:{found[-1].id}" if more else None)

    def get_run(self, owner: Owner, run_id: str) -> Run | None:
        """One run, whole (None when it is not this owner's, or does not exist)."""
        with self._reading() as conn:
            row = conn.execute(sa.select(*_RUN).join_from(runs, run_details, run_details.c.run_id == runs.c.id)
                               .where(runs.c.id == run_id, owner.clause())).first()
        return None if row is None else _summary(row, Run)

    def get_media(self, owner: Owner, sha256: str) -> Media | None:
        """A file one of the owner's runs uses (None otherwise)."""
        mine = (sa.select(run_media.c.sha256).join(runs, runs.c.id == run_media.c.run_id)
                .where(run_media.c.sha256 == sha256, owner.clause()).limit(1))
        with self._reading() as conn:
            row = conn.execute(sa.select(media.c.sha256, media.c.content_type, media.c.data)
                               .where(media.c.sha256 == sha256, media.c.sha256.in_(mine))).first()
        return None if row is None else Media(row.sha256, row.content_type, bytes(row.data))

    def link(self, owner: Owner, hub_user: str | None) -> bool:
        """The owner's browser showed a checked token of ``hub_user`` (the token line, or a run sending it): it
        sees that user's runs for ``LINK_DAYS`` from now. The caller has verified the user (``hub.checked_user``).
        A link written less than ``LINK_AGAIN_S`` ago is only read, not written again. False when there is nothing
        to link."""
        user = (hub_user or "").strip()
        if not owner.key or not user:
            return False
        mine, now = owner_hash(owner.key), _ms(time.time())
        with self._reading() as conn:
            last = conn.execute(sa.select(owner_users.c.linked_ms).where(owner_users.c.owner == mine,
                                                                         owner_users.c.hub_user == user)).scalar()
        if last is not None and now - last < LINK_AGAIN_S * 1000:
            return True  # linked a moment ago (the same token checked when pasted, then on blur): nothing to write
        with self._reading() as conn, _writing(conn).begin():
            _link(conn, [{"owner": mine, "hub_user": user, "linked_ms": now}])
        return True

    def publish(self, owner: Owner, run_id: str) -> str | None:
        """Publish a read-only snapshot of one of the owner's runs: the id of its link (the same one each time),
        or None when the run is not the owner's. Whoever has the id can read the run (``snapshot``)."""
        with self._reading() as conn, _writing(conn).begin():
            if conn.execute(sa.select(runs.c.id).where(runs.c.id == run_id, owner.clause())).first() is None:
                return None
            known = conn.execute(sa.select(snapshots.c.id).where(snapshots.c.run_id == run_id)).scalar()
            if known:
                return known
            snapshot_id = uuid.uuid4().hex  # 122 random bits
            conn.execute(snapshots.insert().values(id=snapshot_id, run_id=run_id, created_ms=_ms(time.time())))
        return snapshot_id

    def unpublish(self, owner: Owner, run_id: str) -> bool:
        """Withdraw the run's snapshot: its link opens nothing any more."""
        mine = sa.select(runs.c.id).where(runs.c.id == run_id, owner.clause())
        with self._reading() as conn, _writing(conn).begin():
            return conn.execute(snapshots.delete().where(snapshots.c.run_id.in_(mine))).rowcount > 0

    def snapshot(self, snapshot_id: str) -> tuple[Run, Owner] | None:
        """A published run (None when there is no such snapshot), and the reader that sees its files: an Owner
        scoped to this run alone."""
        with self._reading() as conn:
            run_id = conn.execute(sa.select(snapshots.c.run_id).where(snapshots.c.id == snapshot_id)).scalar()
            if run_id is None:
                return None
            row = conn.execute(sa.select(*_RUN).join_from(runs, run_details, run_details.c.run_id == runs.c.id)
                               .where(runs.c.id == run_id)).first()
        return None if row is None else (_summary(row, Run), _RunReader(run_id=run_id))

    # -------------------------------------------------------------------------------------- comparisons

    def comparison(self, owner: Owner, comparison_id: str) -> list[Run]:
        """The runs of one of the owner's comparisons, whole, pane by pane (empty when none is theirs); for the
        reader of a shared comparison (``shared_comparison``), its published runs."""
        if not comparison_id:
            return []
        query = (sa.select(*_RUN).join_from(runs, run_details, run_details.c.run_id == runs.c.id)
                 .where(runs.c.comparison_id == comparison_id, owner.clause())
                 .order_by(runs.c.comparison_pane, runs.c.created_ms))
        with self._reading() as conn:
            return [_summary(r, Run) for r in conn.execute(query).all()]

    def comparison_sizes(self, owner: Owner, comparison_ids: list[str]) -> dict[str, int]:
        """How many of the owner's runs each comparison has (History's "compare ×n")."""
        ids = sorted({c for c in comparison_ids if c})
        if not ids:
            return {}
        query = (sa.select(runs.c.comparison_id, sa.func.count()).where(runs.c.comparison_id.in_(ids), owner.clause())
                 .group_by(runs.c.comparison_id))
        with self._reading() as conn:
            return {c: n for c, n in conn.execute(query).all()}

    def publish_comparison(self, owner: Owner, comparison_id: str) -> str | None:
        """Publish every run of one of the owner's comparisons (``publish``): the snapshot id of its first pane,
        which opens the whole comparison (``shared_comparison``); None when the comparison is not the owner's."""
        ids = [r.id for r in self.comparison(owner, comparison_id)]
        published = [self.publish(owner, run_id) for run_id in ids]
        return published[0] if published else None

    def shared_comparison(self, snapshot_id: str) -> tuple[list[Run], Owner] | None:
        """A published comparison, from the snapshot of one of its runs: its published runs (those of the same
        owner, pane by pane), and their reader: an Owner that sees those runs and their files, nothing else. None
        when there is no such snapshot or its run is not a pane of a comparison."""
        if not snapshot_id:
            return None
        with self._reading() as conn:
            row = conn.execute(sa.select(runs.c.comparison_id, runs.c.owner, runs.c.hub_user)
                               .join_from(snapshots, runs, runs.c.id == snapshots.c.run_id)
                               .where(snapshots.c.id == snapshot_id)).first()
            if row is None or not row.comparison_id:
                return None
            same = runs.c.owner == row.owner if row.owner else runs.c.hub_user == row.hub_user
            ids = tuple(conn.execute(sa.select(runs.c.id).join_from(snapshots, runs, runs.c.id == snapshots.c.run_id)
                                     .where(runs.c.comparison_id == row.comparison_id, same)).scalars())
        reader = _DeckReader(run_ids=ids, deck_owner=row.owner, deck_user=row.hub_user)
        return self.comparison(reader, row.comparison_id), reader

    def linked_users(self, owner: Owner) -> list[str]:
        """The Hub users whose runs this owner sees besides its own (``link``), most recent first."""
        if not owner.key:
            return [owner.hub_user] if owner.hub_user else []
        query = (sa.select(owner_users.c.hub_user).where(
            owner_users.c.owner == owner_hash(owner.key), owner_users.c.linked_ms >= _ms(time.time() - LINK_DAYS * 86400))
            .order_by(owner_users.c.linked_ms.desc()))
        with self._reading() as conn:
            users = list(conn.execute(query).scalars())
        return list(dict.fromkeys([*([owner.hub_user] if owner.hub_user else []), *users]))

    def facets(self, owner: Owner) -> dict[str, list[str]]:
        """The values History's filters offer: this owner's tasks, models, providers and sources."""
        names = ("task", "model", "provider", "source")
        query = sa.select(runs.c.task, runs.c.model, runs.c.provider_served, runs.c.source).where(owner.clause())
        with self._reading() as conn:
            combinations = conn.execute(query.distinct()).all()
        return {name: sorted({c[i] for c in combinations if c[i]}) for i, name in enumerate(names)}

    def usage(self, owner: Owner, *, since: datetime | None = None, until: datetime | None = None,
              by: tuple[str, ...] = ("day", "model", "provider"), tz: tzinfo = timezone.utc) -> list[UsageRow]:
        """Usage & cost: calls, errors, tokens, cost and p50/p95 latency per group (``by`` a subset of
        ``GROUPS``; days in ``tz``), sorted by group. Percentiles are computed here, the same on every
        database."""
        unknown = set(by) - set(GROUPS)
        if unknown:
            raise ValueError(f"cannot group by {sorted(unknown)}; choose from {GROUPS}")
        query = sa.select(runs.c.created_ms, runs.c.task, runs.c.model,
                          sa.func.coalesce(runs.c.provider_served, runs.c.provider_asked), runs.c.status,
                          runs.c.latency_ms, runs.c.prompt_tokens, runs.c.completion_tokens, runs.c.total_tokens,
                          runs.c.cost_usd).where(_filters(owner, since=since, until=until))
        day_of: dict[int, str] = {}  # a 15-minute slot -> its day in tz (every UTC offset is a multiple of 15 min)
        groups: dict[tuple, _Totals] = {}
        with self._reading() as conn:
            rows = conn.execute(query).tuples()
            for created, task, model, provider, status, latency, prompt, completion, total, cost in rows:
                day = None
                if "day" in by:
                    slot = created // 900_000
                    day = day_of.get(slot) or day_of.setdefault(
                        slot, datetime.fromtimestamp(slot * 900, tz).strftime("%Y-%m-%d"))
                key = (day, task if "task" in by else None, model if "model" in by else None,
                       provider if "provider" in by else None)
                totals = groups.get(key) or groups.setdefault(key, _Totals())
                totals.add(status, latency, prompt, completion, total, cost)
        return [totals.row(key) for key, totals in sorted(groups.items(), key=lambda kv: tuple(k or "" for k in kv[0]))]

    # -------------------------------------------------------------------------------------- batches

    def save_batch(self, owner: Owner, batch: BatchRecord) -> None:
        """Keep a new batch's definition and data (``playground.batch``), under the owner."""
        values = dict(id=batch.id, owner=owner_hash(owner.key), hub_user=owner.hub_user, created_ms=_ms(batch.created),
                      updated_ms=_ms(batch.updated), state=batch.state, task=batch.task, rows=batch.rows,
                      file_name=batch.file_name[:255], spec=batch.spec, data=batch.data)
        with self._reading() as conn, _writing(conn).begin():
            conn.execute(batches.insert().values(**values))

    def set_batch_state(self, owner: Owner, batch_id: str, state: str) -> bool:
        with self._reading() as conn, _writing(conn).begin():
            done = conn.execute(batches.update().where(batches.c.id == batch_id, owner.clause(batches))
                                .values(state=state, updated_ms=_ms(time.time()))).rowcount
        return done > 0

    def get_batch(self, owner: Owner, batch_id: str) -> BatchRecord | None:
        """One of the owner's batches, with its data file (None when it is not theirs, or does not exist)."""
        with self._reading() as conn:
            row = conn.execute(sa.select(batches).where(batches.c.id == batch_id, owner.clause(batches))).first()
        return None if row is None else _batch(row, with_data=True)

    def list_batches(self, owner: Owner, limit: int = 20) -> list[BatchRecord]:
        """The owner's batches, newest first, without their data."""
        columns = [c for c in batches.c if c.name != "data"]
        with self._reading() as conn:
            rows = conn.execute(sa.select(*columns).where(owner.clause(batches))
                                .order_by(batches.c.created_ms.desc()).limit(max(1, min(limit, _MAX_PAGE)))).all()
        return [_batch(r) for r in rows]

    def batch_rows(self, owner: Owner, batch_id: str, outputs: bool = True) -> dict[str, BatchRow]:
        """The last run of every row of a batch that has one, by ``batch_row`` (runs still queued are written
        first). ``outputs=False`` leaves the outputs and errors out (counting what is done)."""
        self.flush(10.0)
        columns = [runs.c.batch_row, runs.c.id, runs.c.created_ms, runs.c.model,
                   sa.func.coalesce(runs.c.provider_served, runs.c.provider_asked), runs.c.status, runs.c.error_kind,
                   runs.c.error_title, runs.c.latency_ms, runs.c.retries, runs.c.cost_usd]
        query = sa.select(*columns)
        if outputs:
            query = sa.select(*columns, run_details.c.output, run_details.c.error).join_from(
                runs, run_details, run_details.c.run_id == runs.c.id)
        query = query.where(runs.c.batch_id == batch_id, owner.clause()).order_by(runs.c.created_ms, runs.c.id)
        found: dict[str, BatchRow] = {}
        with self._reading() as conn:
            for row in conn.execute(query).tuples():
                found[row[0]] = BatchRow(*row)  # in time order: the last one wins
        return found

    # -------------------------------------------------------------------------------------- votes

    def record_vote(self, owner: Owner, task: str, choice: str, targets: list[dict[str, Any]]) -> str:
        """Store a blind vote at once, on the caller's thread (a person waits for its reveal); returns its id.
        Raises LedgerError."""
        vote_id = uuid.uuid4().hex
        row = dict(id=vote_id, created_ms=_ms(time.time()), owner=owner_hash(owner.key), hub_user=owner.hub_user,
                   task=task, choice=choice, targets=targets)
        try:
            with self._reading() as conn, _writing(conn).begin():
                conn.execute(votes.insert().values(**row))
        except LedgerError:
            raise
        except Exception as exc:
            raise LedgerError(describe(exc)) from exc
        return vote_id

    def list_votes(self, owner: Owner, *, task: str | None = None) -> list[Vote]:
        """The owner's votes (of one task), oldest first."""
        where = [owner.clause(votes), *([votes.c.task == task] if task else [])]
        query = (sa.select(votes.c.id, votes.c.created_ms, votes.c.task, votes.c.choice, votes.c.targets)
                 .where(*where).order_by(votes.c.created_ms, votes.c.id))
        with self._reading() as conn:
            rows = conn.execute(query).all()
        return [Vote(r.id, _dt(r.created_ms), r.task, r.choice, list(r.targets)) for r in rows]
    # -------------------------------------------------------------------------------------- decks

    def save_deck(self, owner: Owner, title: str, steps: list[dict[str, Any]], deck_id: str | None = None) -> str | None:
        """Keep a deck under the owner: a new one (``deck_id`` None), or the owner's deck ``deck_id`` replaced.
        Returns its id (None when ``deck_id`` is not the owner's). Raises LedgerError."""
        now = _ms(time.time())
        values = dict(title=(title or "").strip()[:200] or "Untitled deck", steps=list(steps), updated_ms=now)
        try:
            with self._reading() as conn, _writing(conn).begin():
                if deck_id is None:
                    deck_id = uuid.uuid4().hex
                    conn.execute(decks.insert().values(id=deck_id, owner=owner_hash(owner.key), hub_user=owner.hub_user,
                                                       created_ms=now, **values))
                    return deck_id
                done = conn.execute(decks.update().where(decks.c.id == deck_id, owner.clause(decks))
                                    .values(**values)).rowcount
        except LedgerError:
            raise
        except Exception as exc:
            raise LedgerError(describe(exc)) from exc
        return deck_id if done else None

    def get_deck(self, owner: Owner, deck_id: str) -> Deck | None:
        """One of the owner's decks (None when it is not theirs, or does not exist)."""
        with self._reading() as conn:
            row = conn.execute(sa.select(decks).where(decks.c.id == deck_id, owner.clause(decks))).first()
        return None if row is None else _deck(row)

    def list_decks(self, owner: Owner, limit: int = 50) -> list[Deck]:
        """The owner's decks, the last changed first."""
        with self._reading() as conn:
            rows = conn.execute(sa.select(decks).where(owner.clause(decks)).order_by(decks.c.updated_ms.desc())
                                .limit(max(1, min(limit, _MAX_PAGE)))).all()
        return [_deck(r) for r in rows]

    def delete_deck(self, owner: Owner, deck_id: str) -> bool:
        with self._reading() as conn, _writing(conn).begin():
            return conn.execute(decks.delete().where(decks.c.id == deck_id, owner.clause(decks))).rowcount > 0

    def share_deck(self, owner: Owner, deck_id: str) -> str | None:
        """The id of the deck's read-only link (the same one each time), or None when the deck is not the
        owner's. Whoever has it reads the deck's recorded results (``shared_deck``)."""
        with self._reading() as conn, _writing(conn).begin():
            row = conn.execute(sa.select(decks.c.share_id).where(decks.c.id == deck_id, owner.clause(decks))).first()
            if row is None:
                return None
            if row.share_id:
                return row.share_id
            share_id = uuid.uuid4().hex  # 122 random bits
            conn.execute(decks.update().where(decks.c.id == deck_id).values(share_id=share_id))
        return share_id

    def unshare_deck(self, owner: Owner, deck_id: str) -> bool:
        """Withdraw the deck's link: it opens nothing any more."""
        with self._reading() as conn, _writing(conn).begin():
            return conn.execute(decks.update().where(decks.c.id == deck_id, owner.clause(decks),
                                                     decks.c.share_id.is_not(None)).values(share_id=None)).rowcount > 0

    def shared_deck(self, share_id: str) -> tuple[Deck, Owner] | None:
        """A shared deck (None when no deck has this link), and its reader: an Owner that sees the runs its steps
        show (the deck owner's) and their files, nothing else."""
        if not share_id:
            return None
        with self._reading() as conn:
            row = conn.execute(sa.select(decks).where(decks.c.share_id == share_id)).first()
        if row is None:
            return None
        deck = _deck(row)
        ids = tuple(dict.fromkeys(run_id for s in deck.steps  # a step's run, or a blind step's panes' runs
                                  for run_id in [s.get("run_id"), *(s.get("run_ids") or [])] if run_id))
        return deck, _DeckReader(run_ids=ids, deck_owner=row.owner, deck_user=row.hub_user)

    # -------------------------------------------------------------------------------------- deletions

    def delete_run(self, owner: Owner, run_id: str) -> bool:
        """Delete one of the owner's runs, and the media no run uses any more."""
        return self._delete(sa.and_(runs.c.id == run_id, owner.clause())) > 0

    def clear(self, owner: Owner) -> int:
        """Delete every run of the owner (those still queued too); returns how many."""
        self.flush(10.0)
        return self._delete(owner.clause())

    def prune(self, now: float | None = None) -> int:
        """Retention: delete runs older than ``retention_days``, then the oldest runs while the stored files
        (``ledger_media``) and records take more than ``retention_mb``; the media no run uses any more go with
        them. Returns how many runs were deleted."""
        deleted = 0
        if self.retention_days:
            cutoff = _ms((time.time() if now is None else now) - self.retention_days * 86400)
            deleted += self._delete(runs.c.created_ms < cutoff)
        if self.retention_mb:
            limit = self.retention_mb * 2**20
            while (size := self.stored_bytes()) > limit:
                # the oldest runs, about as many as the excess takes at the average run's size
                with self._reading() as conn:
                    count = conn.execute(sa.select(sa.func.count()).select_from(runs)).scalar_one()
                    if not count:
                        break
                    n = max(1, min(count, math.ceil((size - limit) / (size / count))))
                    oldest = conn.execute(sa.select(runs.c.created_ms).order_by(runs.c.created_ms, runs.c.id)
                                          .offset(n - 1).limit(1)).scalar_one()
                deleted += self._delete(runs.c.created_ms <= oldest)
        return deleted

    def stored_bytes(self) -> int:
        """What retention by size counts: the stored files' bytes and each run's record (its JSON's length)."""
        details = sum(sa.func.coalesce(sa.func.length(sa.cast(run_details.c[name], sa.Text)), 0) for name in DETAILS)
        with self._reading() as conn:
            files = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(media.c.size), 0))).scalar_one()
            records = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(details), 0))).scalar_one()
        return int(files) + int(records)

    def upkeep(self) -> None:
        """What the writer does at its first batch and then hourly: retention, then (SQLite) the statistics
        its query planner needs to know that the owner index is worth nothing on a one-person ledger, where a
        scan is several times faster. PostgreSQL's autovacuum keeps its own."""
        self.prune()
        if self._open().dialect.name == "sqlite":
            with self._connect() as conn, _writing(conn).begin():
                conn.exec_driver_sql("PRAGMA analysis_limit = 1000")  # statistics from a sample: milliseconds
                conn.exec_driver_sql("ANALYZE")

    def _delete(self, where: sa.ColumnElement[bool]) -> int:
        ids = sa.select(runs.c.id).where(where)
        with self._reading() as conn, _writing(conn).begin():
            conn.execute(snapshots.delete().where(snapshots.c.run_id.in_(ids)))
            conn.execute(run_media.delete().where(run_media.c.run_id.in_(ids)))
            conn.execute(run_details.delete().where(run_details.c.run_id.in_(ids)))
            deleted = conn.execute(runs.delete().where(where)).rowcount
            conn.execute(media.delete().where(~sa.exists().where(run_media.c.sha256 == media.c.sha256)))
        return deleted

    # -------------------------------------------------------------------------------------- benchmarks

    def write_rows(self, rows: list[Row]) -> None:
        """Insert ready-made rows at once, on this thread (benchmarks fill a ledger with it)."""
        with self._connect() as conn, _writing(conn).begin():
            _insert_rows(conn, rows)


def _deck(row: sa.Row) -> Deck:
    return Deck(row.id, _dt(row.created_ms), _dt(row.updated_ms), row.title, list(row.steps or []), row.share_id)


def _batch(row: sa.Row, with_data: bool = False) -> BatchRecord:
    values = dict(row._mapping)
    return BatchRecord(values["id"], _dt(values["created_ms"]), _dt(values["updated_ms"]), values["state"],
                       values["task"], values["rows"], values["file_name"], values["spec"] or {},
                       bytes(values["data"]) if with_data else b"")


def _filters(owner: Owner, *, task=None, model=None, provider=None, status=None, source=None, text=None,
             since=None, until=None) -> sa.ColumnElement[bool]:
    clauses = [owner.clause()]
    for column, value in ((runs.c.task, task), (runs.c.model, model), (runs.c.provider_served, provider),
                          (runs.c.status, status), (runs.c.source, source)):
        if value:
            clauses.append(column == value)
    for word in (text or "").lower().split():
        clauses.append(runs.c.search_text.contains(word, autoescape=True))
    if since is not None:
        clauses.append(runs.c.created_ms >= _ms(since))
    if until is not None:
        clauses.append(runs.c.created_ms < _ms(until))
    return sa.and_(*clauses)


def _insert_ignoring_duplicates(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).on_conflict_do_nothing(), rows)


_LENGTHS = {c.name: c.type.length for c in runs.columns if isinstance(c.type, sa.String) and c.type.length}


def _fit(column: str, value: Any) -> Any:
    """A value cut to its column's length: PostgreSQL refuses a longer one (a 2,000-character model id...)."""
    limit = _LENGTHS.get(column)
    return value[: limit - 1] + "…" if limit and isinstance(value, str) and len(value) > limit else value


def _insert_rows(conn: sa.Connection, rows: list[Row]) -> None:
    """One transaction's worth of runs: their new media (each file once), the runs, and the links."""
    files = {sha: m for row in rows for sha, m in row.media.items()}
    if files:
        known = set(conn.execute(sa.select(media.c.sha256).where(media.c.sha256.in_(list(files)))).scalars())
        now = int(time.time() * 1000)
        new = [dict(sha256=m.sha256, content_type=m.content_type, size=len(m.data), data=m.data, created_ms=now)
               for sha, m in files.items() if sha not in known]
        if new:  # another replica may add the same file at the same moment
            _insert_ignoring_duplicates(conn, media, new)
    conn.execute(runs.insert(), [{k: _fit(k, v) for k, v in row.values.items() if k not in DETAILS} for row in rows])
    conn.execute(run_details.insert(), [{"run_id": row.values["id"], **{k: row.values[k] for k in DETAILS}}
                                        for row in rows])
    links = [{"run_id": row.values["id"], "sha256": sha} for row in rows for sha in row.media]
    if links:
        conn.execute(run_media.insert(), links)
    users = {(row.values["owner"], row.values["hub_user"]): row.values["created_ms"] for row in rows
             if row.values["owner"] and row.values["hub_user"]}
    if users:  # a run sending a checked token links its browser to the token's user
        _link(conn, [{"owner": o, "hub_user": _fit("hub_user", u), "linked_ms": ms} for (o, u), ms in users.items()])


def _link(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(owner_users)
    conn.execute(insert.on_conflict_do_update(index_elements=["owner", "hub_user"],
                                              set_={"linked_ms": insert.excluded.linked_ms}), rows)


def _secrets(result: Any, machine: str) -> tuple[str, ...]:
    """Every token the run may have sent (as ``service._secrets``): the typed one and the machine's (``machine``,
    ``huggingface_hub.get_token()``)."""
    target = getattr(result.request, "target", None)
    typed = (getattr(target, "token", None) or "").strip()
    return tuple(s for s in {typed, machine} if s)
