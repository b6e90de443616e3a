"""The run ledger (playground/ledger): every run of the service path recorded once, off the request path,
never the token; History's and Usage's reads; faults that never fail a run. Real runs (the real
InferenceClient against the fake router), on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image

from playground import hub, ledger, service
from playground.ledger import cost
from playground.ledger import Ledger, LedgerError, Owner
from playground.ledger.record import Converter
from playground.ledger.schema import VERSION_TABLE, media, metadata, run_media, runs
from playground.ledger.store import make_engine, migrate
from playground.reliability import RetryPolicy
from playground.service import RunRequest, Target
from playground.tasks import ASSETS, TASKS
from tests.conftest import TOKEN
from tests.fakes.server import HEAD_SHA
from tests.helpers import PROVIDER_FOR, example_inputs
from tests.postgres import PostgresServer

SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
QWEN = "Qwen/Qwen2.5-7B-Instruct"  # live on together, fireworks-ai, hf-inference
MODEL_FOR = {"chat-completion": "meta-llama/Llama-3.1-8B-Instruct", "text-generation": "HuggingFaceTB/SmolLM2-135M-Instruct"}
OWNER = "owner-key-0f3a9c"  # what the browser keeps: the database keeps only its hash
ME = Owner(OWNER)
FAST = RetryPolicy(base_s=0.01, cap_s=0.05)
JSON = {"content-type": "application/json"}


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def postgres():
    try:
        server = PostgresServer()
    except FileNotFoundError as err:
        if os.environ.get("CI"):
            raise  # CI installs it (tests/setup_system.sh): missing there is a failure, not a skip
        pytest.skip(str(err))
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """A fresh, empty database URL: a SQLite file, or a new database on the test PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
        return
    server = request.getfixturevalue("postgres")
    role = server.create_role()
    yield server.url(role)
    server.drop_role(role)


@pytest.fixture
def store(database):
    """The ledger the service path records into, for this test (then back to the session's). No router price
    table is cached (another test's pickers may have read one): chat costs are unknown here, priced in
    tests/test_ledger_cost.py."""
    hub.clear_cache()
    cost.forget()
    store = ledger.configure(database, probe_s=0.1, busy_timeout_s=0.3)
    yield store
    ledger.configure()


def classify(text: str = "I like you", owner: str = OWNER, **request) -> service.RunResult:
    return service.run(RunRequest("text-classification", SST2, {"text": text},
                                  target=request.pop("target", Target("hf-inference", token=TOKEN)), owner=owner, **request))


def task_run(task_id: str, owner: str = OWNER, **request) -> service.RunResult:
    task = TASKS[task_id]
    return service.run(RunRequest(task_id, MODEL_FOR.get(task_id, task.default_model), example_inputs(task),
                                  target=Target(PROVIDER_FOR.get(task_id, "hf-inference"), token=TOKEN), owner=owner,
                                  **request))


def history(store: Ledger, owner: Owner = ME, **filters) -> list[str]:
    """The ids History shows, newest first, once every queued run is written."""
    assert store.flush(30)
    return [r.id for r in store.list_runs(owner, limit=500, **filters).runs]


def not_recorded(result: service.RunResult) -> list[str]:
    return [n for n in result.notes if n.startswith("not recorded")]


def dump(database: str) -> bytes:
    """Every value of every ledger table, as text and bytes."""
    engine = make_engine(database)
    try:
        with engine.connect() as conn:
            rows = b"".join(repr(conn.execute(sa.select(table)).all()).encode() for table in metadata.sorted_tables)
            return rows + b"".join(bytes(data) for data in conn.execute(sa.select(media.c.data)).scalars())
    finally:
        engine.dispose()


def wait_for(predicate, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


# ------------------------------------------------------------------------------------------ the record


def test_every_task_is_recorded_once_with_what_reopening_needs(fake, store):
    results = {task_id: task_run(task_id, source="tab") for task_id in TASKS}
    assert all(r.ok and r.run_id and not not_recorded(r) for r in results.values())
    assert sorted(history(store)) == sorted(r.run_id for r in results.values())
    for task_id, result in results.items():
        run = store.get_run(ME, result.run_id)
        calls = [e for e in result.exchanges if not e.is_hub_lookup]
        assert (run.task, run.model, run.revision, run.commit_sha) == (task_id, result.model, "main", HEAD_SHA)
        assert (run.provider_asked, run.provider_served) == (result.provider_requested, result.provider_served)
        assert run.endpoint_host == calls[-1].host and run.source == "tab" and run.status == "ok"
        assert run.latency_ms == pytest.approx(result.latency_s * 1000)
        assert run.model_ref == f"{result.model}@{HEAD_SHA[:7]}"
        assert run.exchange["exchanges"][-1]["request"]["url"] == calls[-1].url
        assert run.versions["huggingface_hub"] and run.cost_usd is None and run.cost_basis.startswith("unknown: ")
        for spec in TASKS[task_id].inputs:  # files by content hash, the same bytes back
            if spec.kind in ("image", "audio"):
                ref = run.inputs[spec.name]
                assert ref["$media"] == hashlib.sha256(result.inputs[spec.name]).hexdigest()
                assert store.get_media(ME, ref["$media"]).data == result.inputs[spec.name]
    out = {t: store.get_run(ME, r.run_id).output for t, r in results.items()}
    assert out["text-classification"][0] == {"label": "POSITIVE", "score": pytest.approx(results["text-classification"].output[0].score)}
    assert out["chat-completion"]["choices"][0]["message"]["content"] == results["chat-completion"].output.choices[0].message.content
    assert out["feature-extraction"] == results["feature-extraction"].output.tolist()
    picture = store.get_media(ME, out["text-to-image"]["$media"])
    assert picture.content_type == "image/png" and Image.open(io.BytesIO(picture.data)).size == (64, 48)
    speech = store.get_media(ME, out["text-to-speech"]["$media"])
    assert speech.data == results["text-to-speech"].output
    masks = [m["mask"]["$media"] for m in out["image-segmentation"]]
    assert all(Image.open(io.BytesIO(store.get_media(ME, sha).data)).size == (480, 320) for sha in masks)


def test_a_file_used_by_many_runs_is_stored_once_and_removed_with_the_last(fake, store, database):
    first, second = task_run("image-classification"), task_run("image-classification")
    history(store)
    sha = store.get_run(ME, first.run_id).inputs["image"]["$media"]
    assert store.get_run(ME, second.run_id).inputs["image"]["$media"] == sha
    engine = make_engine(database)

    def files() -> int:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(media)).scalar_one()

    try:
        assert files() == 1
        assert store.delete_run(ME, first.run_id) and store.get_media(ME, sha) is not None
        assert store.delete_run(ME, second.run_id) and store.get_media(ME, sha) is None and files() == 0
    finally:
        engine.dispose()


def test_a_streamed_chat_with_failover_keeps_usage_retries_and_notes(fake, store):
    fake.script("/together/", [(500, JSON, {"error": "Internal Server Error"})] * 3)
    events = list(service.run_stream(RunRequest(
        "chat-completion", QWEN, {"messages": [{"role": "user", "content": "Capital of France?"}], "system": "Be brief."},
        {"max_tokens": 20}, target=Target("together", token=TOKEN, fallbacks=("fireworks-ai",), retry=FAST),
        source="chat", owner=OWNER, hub_user="tester")))
    result = events[-1]
    assert result.ok and result.provider_served == "fireworks-ai" and result.retries
    history(store)
    run = store.get_run(ME, result.run_id)
    assert run.output == result.output == "Paris is the capital of France."
    assert (run.prompt_tokens, run.completion_tokens, run.total_tokens) == (12, 7, 19)
    assert (run.provider_asked, run.provider_served, run.retries) == ("together", "fireworks-ai", result.retries)
    assert run.notes == result.notes and any("failed over from together" in n for n in run.notes)
    assert [a["provider"] for a in run.exchange["attempts"]] == ["together"] * 3 + ["fireworks-ai"]
    assert run.inputs["messages"][0] == {"role": "system", "content": "Be brief."}
    assert run.params == {"max_tokens": 20} and run.target["fallbacks"] == ["fireworks-ai"] and "token" not in run.target
    assert (run.source, run.hub_user) == ("chat", "tester")
    assert run.cost_usd is None and "19 tokens" in run.cost_basis  # never a made-up number


def test_a_chat_stopped_midway_is_recorded_with_what_arrived(fake, store):
    """Stop (Gradio closes the handler's generator) still leaves a record: the reply so far, marked stopped."""
    events = service.run_stream(RunRequest(
        "chat-completion", QWEN, {"messages": [{"role": "user", "content": "Capital of France?"}]},
        target=Target("together", token=TOKEN), source="chat", owner=OWNER))
    first = next(events)
    assert isinstance(first, service.StreamDelta) and first.so_far
    events.close()
    (run_id,) = history(store)
    run = store.get_run(ME, run_id)
    assert (run.status, run.error_kind) == ("error", "stopped")
    assert run.output == first.so_far and run.exchange["exchanges"]


def test_failed_runs_are_recorded_with_their_error(fake, store):
    bad_input = service.run(RunRequest("text-classification", "not a model id!", {"text": "hi"}, owner=OWNER))
    refused = classify(target=Target("custom", token=TOKEN, endpoint_url=f"{fake.url}/models/errors/status-401"))
    history(store)
    first = store.get_run(ME, bad_input.run_id)
    assert (first.status, first.error_kind, first.error_title) == ("error", "input", bad_input.error.title)
    assert first.inputs == {"text": "hi"} and first.cost_usd == 0.0 and "no request reached" in first.cost_basis
    second = store.get_run(ME, refused.run_id)
    assert second.status == "error" and second.error["status"] == 401 and second.exchange["error"]["status"] == 401
    assert second.cost_usd is None and "dedicated endpoint" in second.cost_basis


def test_the_token_is_nowhere_in_the_database(fake, store, database, monkeypatch):
    neighbour = "NEIGHBOUR-OF-THE-TOKEN"  # stored next to where the token was: proves the dump below looks there
    env_token = "hf_" + "EnvironmentToken" + "y" * 18
    results = [
        classify(f"{neighbour} {TOKEN}", target=Target("hf-inference", token=TOKEN, bill_to="acme-corp")),
        classify(neighbour, target=Target("custom", token=TOKEN, endpoint_url=f"{fake.url}/models/errors/status-401")),
        list(service.run_stream(RunRequest("chat-completion", MODEL_FOR["chat-completion"],
                                           {"messages": [{"role": "user", "content": f"{neighbour} {TOKEN}"}]},
                                           target=Target("together", token=TOKEN), owner=OWNER)))[-1],
        task_run("image-classification"),
    ]
    monkeypatch.setenv("HF_TOKEN", env_token)  # a token from the environment, none typed
    results.append(classify(neighbour, target=Target("hf-inference")))
    assert {v for r in fake.received for k, v in r.headers.items() if k.lower() == "authorization"} >= {
        f"Bearer {TOKEN}", f"Bearer {env_token}"}  # both tokens really went out
    assert len(history(store)) == len(results) and store.lost == 0
    everything = dump(database)
    assert neighbour.encode() in everything
    assert TOKEN.encode() not in everything and env_token.encode() not in everything
    assert OWNER.encode() not in everything  # the owner key is a bearer secret too: only its hash is kept
    if database.startswith("sqlite"):  # and not in the file's bytes either (the database, its WAL)
        folder = Path(database.removeprefix("sqlite:///")).parent
        raw = b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())
        assert neighbour.encode() in raw and TOKEN.encode() not in raw and env_token.encode() not in raw


def test_a_burst_of_1000_runs_from_8_threads_is_recorded_completely(fake, store):
    def runs(worker: int) -> list[service.RunResult]:
        out = []
        for i in range(125):  # one in five calls the (fake) router; the others fail on their input at once
            if i % 5 == 0:
                out.append(classify(f"run {worker}-{i}"))
            else:
                out.append(service.run(RunRequest("text-classification", f"bad id {worker}-{i}", {"text": "x"}, owner=OWNER)))
        return out

    with ThreadPoolExecutor(8) as pool:
        results = [r for batch in pool.map(runs, range(8)) for r in batch]
    assert len(results) == 1000 and not any(not_recorded(r) for r in results)
    assert store.flush(60) and (store.written, store.lost) == (1000, 0)
    page = store.list_runs(ME, limit=1)
    assert page.total == 1000 and store.list_runs(ME, status="ok", limit=1).total == 200
    assert sorted(history(store, status="ok")) == sorted(r.run_id for r in results if r.ok)


def test_two_replicas_migrate_and_write_the_same_database_at_once(fake, database):
    results = [classify(f"replica run {i}") for i in range(4)]
    replicas = [Ledger(database, busy_timeout_s=5.0) for _ in range(2)]
    try:
        with ThreadPoolExecutor(2) as pool:  # both open (and migrate) a fresh database together
            list(pool.map(lambda r: r.start() and [r.record(x) for x in results * 25], replicas))
        assert all(r.flush(30) and r.problem is None and (r.written, r.lost) == (100, 0) for r in replicas)
        assert replicas[0].list_runs(ME, limit=1).total == 200
    finally:
        for r in replicas:
            r.close()


def test_ledgers_of_one_process_migrate_their_databases_at_once(tmp_path):
    stores = [Ledger(f"sqlite:///{tmp_path / f'ledger{i}.sqlite3'}") for i in range(6)]
    try:
        with ThreadPoolExecutor(6) as pool:
            pages = list(pool.map(lambda s: s.list_runs(ME), stores))  # each read opens (and migrates) its own
        assert [p.total for p in pages] == [0] * 6
    finally:
        for s in stores:
            s.close()


def test_a_restart_keeps_every_run(fake, database):
    store = ledger.configure(database)
    try:
        kept = [classify("before the restart").run_id, task_run("image-classification").run_id]
        again = ledger.configure(database)  # the first one writes what it holds, then closes
        assert sorted(history(again)) == sorted(kept)
    finally:
        ledger.configure()
    assert store.problem is None


def test_a_run_the_database_refuses_does_not_sink_the_others(fake, store, monkeypatch):
    from playground.ledger import store as store_module

    first = classify("one")
    history(store)
    taken = first.run_id
    ids = iter([taken, "f" * 32])  # the first record of the two takes an id already used: refused
    monkeypatch.setattr(store_module.uuid, "uuid4", lambda: SimpleNamespace(hex=next(ids)))
    written = store.written
    store.record(first)
    store.record(first)  # both in one transaction (the writer gathers runs that come together)
    monkeypatch.undo()
    assert store.flush(30) and (store.written, store.lost, store.problem) == (written + 1, 1, None)
    assert sorted(history(store)) == sorted([taken, "f" * 32])
    # a value longer than its column is cut, not refused (PostgreSQL checks VARCHAR lengths)
    long = service.run(RunRequest("text-classification", SST2, {"text": "hi"}, revision="v" * 300, owner=OWNER))
    history(store)
    kept = store.get_run(ME, long.run_id).revision
    assert len(kept) == 256 and kept.endswith("…")


# ------------------------------------------------------------------------------------------ reads


def test_one_owner_never_sees_anothers_runs(fake, store, database):
    a = classify(owner="key-a")
    b = classify(owner="key-b", hub_user="tester")
    c = classify(owner="key-c", hub_user="tester")
    image = task_run("image-classification", owner="key-a")
    nobodys = classify(owner="")  # a plain API call: recorded, and browsable by no one
    assert history(store, Owner("key-a")) == [image.run_id, a.run_id]
    # key-b's run sent tester's checked token: key-b is linked to tester, and sees tester's runs from key-c too
    assert history(store, Owner("key-b")) == history(store, Owner("key-c")) == [c.run_id, b.run_id]
    assert history(store, Owner("key-b", hub_user="tester")) == [c.run_id, b.run_id]  # signed in: theirs too
    assert history(store, Owner("key-a")) == [image.run_id, a.run_id]  # and no one else's
    assert history(store, Owner("key-x")) == history(store, Owner("key-x", hub_user="someone")) == []
    assert nobodys.run_id and history(store, Owner("")) == history(store, Owner("", hub_user="someone")) == []
    sha = store.get_run(Owner("key-a"), image.run_id).inputs["image"]["$media"]
    assert store.get_run(Owner("key-b"), a.run_id) is None and store.get_media(Owner("key-b"), sha) is None
    assert not store.delete_run(Owner("key-b"), a.run_id) and store.get_run(Owner("key-a"), a.run_id)
    assert store.facets(Owner("key-b"))["task"] == ["text-classification"]
    assert store.clear(Owner("key-a")) == 2 and history(store, Owner("key-a")) == []
    assert history(store, Owner("key-b", hub_user="tester")) == [c.run_id, b.run_id]
    assert b"key-a" not in dump(database)


def test_history_filters_searches_and_pages(fake, store):
    liked = [classify(f"I like item {i}") for i in range(5)]
    chat = task_run("chat-completion")
    ner = task_run("token-classification")
    failed = classify("Failing on purpose", target=Target("custom", token=TOKEN, endpoint_url=f"{fake.url}/models/errors/status-503",
                                                          retry=RetryPolicy(attempts=1)))
    everything = history(store)
    assert len(everything) == 8
    assert history(store, task="text-classification") == [failed.run_id, *[r.run_id for r in reversed(liked)]]
    assert history(store, model=chat.model) == [chat.run_id]
    assert history(store, provider="together") == [chat.run_id]
    assert history(store, status="error") == [failed.run_id]
    assert history(store, text="ITEM 3 like") == [liked[3].run_id]  # every word, any case, any order
    assert history(store, text="paris") == [chat.run_id]  # the output is searched too
    assert history(store, text="sarah jessica") == [ner.run_id]
    assert history(store, text="100%") == history(store, text="item_") == []  # LIKE's wildcards are literal
    seen, cursor = [], None
    while True:
        page = store.list_runs(ME, limit=3, cursor=cursor)
        assert page.total == 8
        seen += [r.id for r in page.runs]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == everything
    now = datetime.now(timezone.utc)
    assert history(store, since=datetime(2000, 1, 1, tzinfo=timezone.utc), until=now.replace(year=now.year + 1)) == everything
    assert history(store, until=datetime(2000, 1, 1, tzinfo=timezone.utc)) == []
    facets = store.facets(ME)
    assert facets["provider"] == sorted({"hf-inference", "together", failed.provider_served})
    assert facets["source"] == ["api"]


def test_usage_totals_per_day_model_and_provider(fake, store):
    for text in ("a", "b", "c"):
        classify(text)
    task_run("chat-completion")
    classify("down", target=Target("custom", token=TOKEN, endpoint_url=f"{fake.url}/models/errors/status-503",
                                   retry=RetryPolicy(attempts=1)))
    history(store)
    runs_ = store.list_runs(ME, limit=100).runs
    by_provider = {u.provider: u for u in store.usage(ME, by=("provider",))}
    for provider, row in by_provider.items():
        mine = [r for r in runs_ if (r.provider_served or r.provider_asked) == provider]
        latencies = [r.latency_ms for r in mine]
        assert row.calls == len(mine) and row.errors == sum(not r.ok for r in mine)
        assert row.p50_ms == pytest.approx(np.percentile(latencies, 50))
        assert row.p95_ms == pytest.approx(np.percentile(latencies, 95))
        assert row.cost_unknown == len(mine) and row.cost_usd == 0  # unknown costs are counted, never summed
    assert by_provider["together"].total_tokens == 19 and by_provider["hf-inference"].calls == 3
    days = store.usage(ME, by=("day",))
    assert [(d.day, d.calls, d.errors) for d in days] == [(runs_[0].created.strftime("%Y-%m-%d"), 5, 1)]
    (grouped,) = [u for u in store.usage(ME) if u.model == SST2 and u.provider == "hf-inference"]
    assert grouped.calls == 3 and grouped.day == days[0].day
    assert store.usage(ME, since=datetime.now(timezone.utc).replace(year=2100)) == []
    with pytest.raises(ValueError, match="choose from"):
        store.usage(ME, by=("colour",))


def test_retention_removes_old_runs_and_the_media_no_run_uses(fake, database):
    store = ledger.configure(database, retention_days=1)
    try:
        street = RunRequest("image-classification", "google/vit-base-patch16-224", {"image": str(ASSETS / "street.png")},
                            target=Target("hf-inference", token=TOKEN), owner=OWNER)
        shapes = RunRequest("image-classification", "google/vit-base-patch16-224", {"image": str(ASSETS / "shapes.png")},
                            target=Target("hf-inference", token=TOKEN), owner=OWNER)
        old = [service.run(street).run_id, service.run(shapes).run_id]
        new = service.run(street).run_id
        history(store)
        engine = make_engine(database)
        with engine.begin() as conn:  # two of them were run three days ago
            conn.execute(runs.update().where(runs.c.id.in_(old)).values(created_ms=int((time.time() - 3 * 86400) * 1000)))
        assert store.prune() == 2 and history(store) == [new]
        with engine.connect() as conn:
            kept = set(conn.execute(sa.select(media.c.sha256)).scalars())
            linked = set(conn.execute(sa.select(run_media.c.sha256)).scalars())
        engine.dispose()
        assert kept == linked == {hashlib.sha256((ASSETS / "street.png").read_bytes()).hexdigest()}
    finally:
        ledger.configure()


# ------------------------------------------------------------------------------------------ faults


@pytest.mark.parametrize("fault", ["locked", "read-only", "full"])
def test_a_sqlite_database_that_fails_never_fails_a_run(fake, tmp_path, fault):
    path = tmp_path / "ledger.sqlite3"
    url = f"sqlite:///{path}"
    store = ledger.configure(url, probe_s=0.1, busy_timeout_s=0.2)
    first = classify("recorded")
    history(store)
    reason, undo = _break_sqlite(fault, path)
    try:
        store = ledger.configure(url if fault != "read-only" else f"sqlite:///file:{path}?mode=ro&uri=true",
                                 probe_s=0.1, busy_timeout_s=0.2)
        given_up = classify("queued before the fault was known " * 500)  # the writer tries it, then gives up
        assert given_up.ok and store.flush(30) and store.problem == reason
        noted = classify("after")
        assert noted.ok and noted.run_id is None
        assert not_recorded(noted) == [f"not recorded: {reason} (nor 1 earlier run)"]
        assert f"not recorded: {reason}" in noted.status_line()
        assert history(store) == [first.run_id]  # History still reads it
        undo()
        if fault == "read-only":
            store = ledger.configure(url, probe_s=0.1)
        assert wait_for(lambda: store.problem is None)  # the writer's probe sees it work again
        back = classify("recorded again")
        assert not not_recorded(back) and history(store) == [back.run_id, first.run_id]
    finally:
        undo()
        ledger.configure()


def _break_sqlite(fault: str, path: Path):
    if fault == "locked":
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
        return "the database is locked by another program", lambda: other.close()
    if fault == "read-only":
        return "the database is read-only", lambda: None
    from sqlalchemy import event, pool

    def full(dbapi_connection, _record):  # the database may not grow by a single page
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(pool.Pool, "connect", full)
    return "the database or its disk is full", lambda: event.contains(pool.Pool, "connect", full) and event.remove(
        pool.Pool, "connect", full)


def test_a_damaged_database_file_never_fails_a_run(fake, tmp_path):
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(b"this is not a database " * 500)
    try:
        store = ledger.configure(f"sqlite:///{path}", probe_s=0.1)
        assert wait_for(lambda: store.problem == "the database file is damaged")
        result = classify()
        assert result.ok and not_recorded(result) == ["not recorded: the database file is damaged"]
        with pytest.raises(LedgerError, match="damaged"):
            store.list_runs(ME)
    finally:
        ledger.configure()


def test_a_database_from_a_newer_playground_is_left_untouched(fake, database):
    store = ledger.configure(database)
    try:
        classify()
        history(store)
        engine = make_engine(database)
        with engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
        store = ledger.configure(database, probe_s=0.1)
        assert wait_for(lambda: store.problem is not None)
        result = classify()
        assert result.ok and "newer playground (schema 9999)" in not_recorded(result)[0]
        with engine.connect() as conn:
            assert conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one() == "9999"
        engine.dispose()
    finally:
        ledger.configure()


def test_a_postgresql_database_that_fails_never_fails_a_run(fake, postgres):
    role = postgres.create_role()
    url = postgres.url(role)
    try:
        store = ledger.configure(url, probe_s=0.1, busy_timeout_s=0.3)
        first = classify()
        history(store)
        # read-only: the server refuses every write
        postgres.admin(f"ALTER ROLE {role} SET default_transaction_read_only = on")
        store = ledger.configure(url, probe_s=0.1, busy_timeout_s=0.3)
        classify()
        assert store.flush(30) and store.problem == "the database is read-only"
        assert not_recorded(classify()) == ["not recorded: the database is read-only (nor 1 earlier run)"]
        postgres.admin(f"ALTER ROLE {role} SET default_transaction_read_only = off")
        assert wait_for(lambda: store.problem is None)
        # locked: another session holds the tables
        blocker = sa.create_engine(url).connect()
        blocker.execute(sa.text("LOCK TABLE ledger_runs, ledger_media IN ACCESS EXCLUSIVE MODE"))
        classify()
        assert store.flush(30) and store.problem == "the database is locked by another program"
        assert not_recorded(classify())[0].startswith("not recorded: the database is locked by another program")
        blocker.rollback()
        blocker.close()
        assert wait_for(lambda: store.problem is None)
        back = classify()
        assert not not_recorded(back) and history(store) == [back.run_id, first.run_id]
        # unreachable: no server at that address
        store = ledger.configure(url.replace(f":{postgres.port}/", ":1/"), probe_s=0.1)
        assert wait_for(lambda: store.problem == "the database server cannot be reached")
        assert classify().ok
    finally:
        ledger.configure()
        postgres.drop_role(role)


# ------------------------------------------------------------------------------------------ pieces


def test_migrations_build_exactly_the_schema(store, database):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    assert store.list_runs(ME).total == 0  # opened, and migrated, by the first read
    engine = make_engine(database)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE, "compare_type": True})
            assert compare_metadata(context, metadata) == []
            assert context.get_current_heads() == ("0007",)
        migrate(engine)  # at head: nothing to do
    finally:
        engine.dispose()


def test_a_comparisons_runs_are_read_pane_by_pane_and_shared_only_as_published(fake, store):
    """Migration 0006: a run keeps its comparison and its pane; the comparison is read back pane by pane, for its
    owner, and a published one (every pane's snapshot) by anyone, without the owner's other runs."""
    later, first = classify("b", comparison_id="c" * 32, comparison_pane=1), classify("a", comparison_id="c" * 32,
                                                                                      comparison_pane=0)
    alone = classify("not a pane")
    assert set(history(store)) == {later.run_id, first.run_id, alone.run_id}
    assert [r.id for r in store.comparison(ME, "c" * 32)] == [first.run_id, later.run_id]
    assert store.comparison(Owner("someone-else"), "c" * 32) == [] and store.comparison(ME, "") == []
    assert store.comparison_sizes(ME, ["c" * 32, None]) == {"c" * 32: 2}
    assert store.shared_comparison(store.publish(ME, alone.run_id)) is None  # not a pane of a comparison
    snapshot_id = store.publish_comparison(ME, "c" * 32)
    found, reader = store.shared_comparison(snapshot_id)
    assert [r.inputs["text"] for r in found] == ["a", "b"]
    assert store.get_run(reader, alone.run_id) is None  # the reader sees the comparison's runs alone


def test_a_comparison_of_every_provider_says_so_in_its_runs(fake, store):
    """Migration 0007: the runs of "all providers of this model" keep that kind, so it reopens as its table; a
    pane's run keeps none."""
    provider = classify("a", comparison_id="p" * 32, comparison_pane=0, comparison_kind="providers")
    pane = classify("b", comparison_id="q" * 32, comparison_pane=0)
    store.flush()
    assert [r.comparison_kind for r in store.comparison(ME, "p" * 32)] == ["providers"]
    assert store.get_run(ME, provider.run_id).comparison_kind == "providers"
    assert store.get_run(ME, pane.run_id).comparison_kind is None


def test_the_converter_keeps_outputs_as_received_media_by_hash_and_no_secret():
    convert = Converter((TOKEN,))
    png = (ASSETS / "shapes.png").read_bytes()
    data_url = f"data:image/png;base64,{base64.b64encode(png).decode()}"
    big = np.arange(5000, dtype=np.float32)
    value = convert({"image": data_url, "vector": np.array([0.5, 1.5]), "big": big, "n": np.float32(2.5),
                     "nan": float("nan"), "audio": b"fLaC" + b"\0" * 10, "picture": Image.new("RGB", (3, 2)),
                     "text": f"my token is {TOKEN} and hf_{'A' * 20}", "nul": "a\x00b"})
    sha = hashlib.sha256(png).hexdigest()
    assert value["image"] == {"$media": sha, "type": "image/png", "bytes": len(png), "encoding": "data-url"}
    assert value["vector"] == [0.5, 1.5] and value["n"] == 2.5 and value["nan"] == "nan"
    assert np.load(io.BytesIO(convert.media[value["big"]["$media"]].data)).tolist() == big.tolist()
    assert value["big"]["shape"] == [5000] and value["audio"]["type"] == "audio/flac"
    assert Image.open(io.BytesIO(convert.media[value["picture"]["$media"]].data)).size == (3, 2)
    assert value["text"] == "my token is [redacted] and [redacted]" and value["nul"] == "a\ufffdb"


def test_where_runs_are_kept(monkeypatch, tmp_path, ledger_dir):
    import platformdirs

    assert ledger.current().url == f"sqlite:///{ledger_dir / 'ledger.sqlite3'}"  # the tests' own directory
    monkeypatch.delenv("PLAYGROUND_DATA_DIR")
    assert ledger.data_dir() == Path(platformdirs.user_data_dir("hf-inference-playground", appauthor=False))
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path))
    assert ledger.default_url() == f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    monkeypatch.setenv("PLAYGROUND_DATABASE_URL", "postgresql://team:s3cret@db.internal/runs")
    assert ledger.default_url() == "postgresql://team:s3cret@db.internal/runs"
    assert make_engine(ledger.default_url()).dialect.driver == "pg8000"  # pure Python; nothing is connected yet
    assert "s3cret" not in repr(Ledger(ledger.default_url()))


def test_recording_is_off_the_request_path(fake, store):
    """The run returns before its record is written: the writer is held, the run is not."""
    hold = threading.Event()
    original = store._write
    store._write = lambda batch: hold.wait(10) and original(batch)
    try:
        result = classify()
        assert result.ok and result.run_id and not store.flush(0.2)
    finally:
        hold.set()
    assert history(store) == [result.run_id]


def test_retention_by_size_removes_the_oldest_runs_and_their_media(fake, database):
    store = ledger.configure(database)
    try:
        old = service.run(RunRequest("image-classification", "google/vit-base-patch16-224",
                                     {"image": str(ASSETS / "shapes.png")}, target=Target("hf-inference", token=TOKEN),
                                     owner=OWNER))
        newer = [classify(f"kept {i}") for i in range(3)]
        history(store)
        size = store.stored_bytes()
        assert size > (ASSETS / "shapes.png").stat().st_size
        store.retention_mb = (size - (ASSETS / "shapes.png").stat().st_size / 2) / 2**20  # the image must go
        assert store.prune() == 1 and history(store) == [r.run_id for r in reversed(newer)]
        assert store.stored_bytes() <= store.retention_mb * 2**20
        engine = make_engine(database)
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(media)).scalar_one() == 0
        engine.dispose()
        assert old.run_id not in history(store)
    finally:
        ledger.configure()


def test_the_tabs_status_line_says_not_recorded_and_the_result_is_shown(fake, tmp_path):
    """The page's view of a fault: the tab's Run handler renders the result, and its status line ends with why
    the run was not recorded."""
    import inspect as _inspect

    from playground import handlers, owners

    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(b"this is not a database " * 500)
    try:
        store = ledger.configure(f"sqlite:///{path}", probe_s=0.1)
        assert wait_for(lambda: store.problem == "the database file is damaged")
        handler = handlers.handler_for(TASKS["text-classification"])
        values = {"owner": owners.load(None)[1], "token": TOKEN, "provider": "hf-inference", "model": SST2,
                  "text": "still works"}
        rendered, status, _ = handler(*[values.get(n) for n in _inspect.signature(handler).parameters])
        assert status.startswith("✅") and status.endswith("not recorded: the database file is damaged"), status
        assert rendered and "POSITIVE" in rendered
    finally:
        ledger.configure()
