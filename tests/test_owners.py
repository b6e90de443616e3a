"""Owners (playground/owners.py): a signed anonymous key per browser, a signed claim of a checked token's Hub user,
and the runs each owner's handlers record and read."""

from __future__ import annotations

import inspect
import os
import stat
import time

import pytest

from playground import handlers, ledger, owners
from playground.tasks import TASKS
from tests.conftest import TOKEN
from tests.fakes.server import FAKE_USER

SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A data directory of its own (its own owner secret)."""
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PLAYGROUND_OWNER_SECRET", raising=False)
    return tmp_path


def test_the_secret_is_made_once_private_and_kept(data_dir):
    key = owners.new_key()
    path = data_dir / owners.SECRET_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    secret = path.read_text()
    owners._secrets_by_dir.clear()  # a restart: the secret is read back, so the browser's key still holds
    assert owners.owner_for(key).key and owners.owner_for(key) == owners.owner_for(key)
    assert path.read_text() == secret


def test_only_keys_this_server_issued_own_anything(data_dir):
    key = owners.new_key()
    ident, sig = key.split(".")
    mine = owners.owner_for(key)
    assert mine.key and mine.key != key and mine.key != ident  # the ledger gets a derived key, not the browser's
    for forged in (f"{ident}.{'0' * len(sig)}", f"{ident}x.{sig}", ident, "", None, "a.b.c", {"key": f"{ident}."}):
        assert owners.owner_for(forged).key == "", forged
    assert owners.owner_for({"key": key}) == mine  # the browser state holding it works as the key
    other = owners.owner_for(owners.new_key())
    assert other.key != mine.key


def test_a_key_from_another_secret_is_refused(data_dir, monkeypatch):
    key = owners.new_key()
    monkeypatch.setenv("PLAYGROUND_OWNER_SECRET", "another-server-" + "s" * 40)
    assert owners.owner_for(key).key == ""


def test_load_keeps_a_good_key_and_replaces_anything_else(data_dir):
    browser, session = owners.load(None)
    assert browser == session and owners.owner_for(browser).key
    again, _ = owners.load(browser)
    assert again["key"] == browser["key"]
    forged, _ = owners.load({"key": "someone-else.0123"})
    assert forged["key"] != "someone-else.0123" and owners.owner_for(forged).key


def test_the_hub_user_claim_is_signed_bound_to_the_key_and_expires(data_dir, monkeypatch):
    state = owners.claim({"key": owners.new_key()}, "alice")
    assert owners.hub_user_of(state) == "alice" and owners.owner_of(state).hub_user == "alice"
    assert owners.hub_user_of({**state, "hub_user": "bob"}) is None  # renamed: the proof no longer holds
    assert owners.hub_user_of({**state, "key": owners.new_key()}) is None  # moved to another key
    assert owners.load({**state, "hub_user": "bob"})[0] == {"key": state["key"]}  # load drops a forged claim
    later = time.time() + (owners.CLAIM_DAYS + 1) * 86400
    monkeypatch.setattr(owners.time, "time", lambda: later)
    assert owners.hub_user_of(state) is None


def test_a_checked_token_claims_its_user_and_no_token_drops_it(data_dir, fake):
    session = owners.load(None)[1]
    browser, state = owners.remember_hub_user(session, TOKEN)
    assert browser == state and owners.hub_user_of(state) == FAKE_USER and state["key"] == session["key"]
    _, dropped = owners.remember_hub_user(state, None)
    assert dropped == {"key": session["key"]}
    refused = "hf_invalid" + "x" * 24
    _, dropped = owners.remember_hub_user(state, refused)
    assert dropped == {"key": session["key"]}


def _send(task_id: str, owner_state, **values):
    """A tab's Run handler called as Gradio calls it (every input by name, the session's owner State)."""
    handler = handlers.handler_for(TASKS[task_id])
    values = {"owner": owner_state, **values}
    out = handler(*[values.get(n) for n in inspect.signature(handler).parameters])
    return list(out)[-1] if inspect.isgenerator(out) else out


def test_tab_runs_are_recorded_under_their_owner_and_api_runs_under_none(fake, data_dir):
    from playground import hub

    hub.clear_cache()  # the token is unchecked here: its runs are the browsers' alone (the Hub user's: below)
    store = ledger.current()
    alice, bob = owners.load(None)[1], owners.load(None)[1]
    _, status, _ = _send("text-classification", alice, token=TOKEN, provider="hf-inference", model=SST2,
                         text="alice was here")
    assert status.startswith("✅"), status
    _send("text-classification", bob, token=TOKEN, provider="hf-inference", model=SST2, text="bob was here")
    _send("text-classification", None, token=TOKEN, provider="hf-inference", model=SST2, text="an api caller")
    history = _send("chat-completion", alice, token=TOKEN, provider="together",
                    model="meta-llama/Llama-3.1-8B-Instruct", message={"text": "alice asks", "files": []})
    assert history[2].startswith("✅"), history[2]
    store.flush()
    mine = store.list_runs(owners.owner_of(alice), text="alice")
    assert {(r.source, r.task) for r in mine.runs} == {("tab", "text-classification"), ("chat", "chat-completion")}
    assert [r.id for r in store.list_runs(owners.owner_of(bob), text="alice").runs] == []
    assert store.list_runs(owners.owner_of(bob), text="bob").total == 1
    assert store.list_runs(owners.owner_of({"key": "forged.0"}), text="was here").total == 0
    assert store.list_runs(owners.owner_of(alice), text="api caller").total == 0


def test_a_run_with_a_checked_token_is_also_its_hub_users(fake, data_dir):
    """The token line's check (whoami, cached) names the user; a run sending that token is theirs too, seen from
    any browser that knows the user, and no request to the Hub is added to the run."""
    from playground import hub

    me, elsewhere = owners.load(None)[1], owners.load(None)[1]
    hub.check_token(TOKEN)  # what the token line does when the token is pasted
    _send("text-classification", me, token=TOKEN, provider="hf-inference", model=SST2, text="tester's own run")
    unchecked = "hf_" + "Unchecked" + "y" * 25
    assert owners.run_fields(me, "tab", unchecked)["hub_user"] is None  # never asks the Hub itself
    ledger.current().flush()
    assert ledger.current().list_runs(owners.owner_for(elsewhere, FAKE_USER), text="tester's").total == 1
    assert ledger.current().list_runs(owners.owner_of(elsewhere), text="tester's").total == 0


def as_user(name: str) -> str:
    """A fake token of Hub user ``name`` (the fake Hub's whoami names them), built at run time."""
    return f"hf_as_{name}_" + "z" * 30


def test_a_browser_that_showed_a_checked_token_sees_that_users_runs_and_no_one_elses(fake, data_dir):
    """The token line's check links the browser to the token's user on the server (no browser state written
    after load); its History then lists the user's runs from every browser, for LINK_DAYS."""
    from playground import hub
    from playground.ledger.schema import owner_users
    from playground.pages import history

    store = ledger.current()
    laptop, desktop, stranger = (owners.load(None)[1] for _ in range(3))
    alice, mallory = as_user("alice"), as_user("mallory")
    for token in (alice, mallory):
        hub.check_token(token)  # the token line's check (cached whoami)
    _send("text-classification", laptop, token=alice, provider="hf-inference", model=SST2, text="alice on her laptop")
    _send("text-classification", stranger, token=mallory, provider="hf-inference", model=SST2, text="mallory's run")
    store.flush()
    assert store.list_runs(owners.owner_of(desktop), text="alice").total == 0  # not linked yet
    owners.link_checked(alice, desktop)  # alice pastes her token on her desktop
    rows, _, total, _ = history.list_page(desktop)
    assert total == 1 and rows[0][1] == "text-classification"
    assert store.linked_users(owners.owner_of(desktop)) == ["alice"]
    assert "Hub user **alice**" in history.first_page(desktop, None, None, None, None, None)[2]
    # the laptop's run linked the laptop too; mallory's browser sees only mallory's run
    assert store.list_runs(owners.owner_of(laptop)).total == 1
    assert [r.hub_user for r in store.list_runs(owners.owner_of(stranger)).runs] == ["mallory"]
    owners.link_checked(as_user("nobody-checked"), stranger)  # a token the Hub never checked links nothing
    assert store.linked_users(owners.owner_of(stranger)) == ["mallory"]
    owners.link_checked(alice, {"key": "forged.0"})  # a key this server did not issue links nothing
    assert store.list_runs(owners.owner_for({"key": "forged.0"}), text="alice").total == 0
    # the link lasts LINK_DAYS from the last time the token was shown
    with store._connect() as conn, conn.begin():
        conn.execute(owner_users.update().values(linked_ms=int((time.time() - 8 * 86400) * 1000)))
    assert store.list_runs(owners.owner_of(desktop)).total == 0
    assert store.list_runs(owners.owner_of(laptop)).total == 1  # its own run, by its key


def test_a_token_checked_when_pasted_and_again_on_blur_links_its_browser_once(fake, data_dir):
    """The step after each token check links the browser to the token's user (``handlers.token_checked``): when the
    token is pasted, then on blur or Enter. The second finds the link just written and writes nothing (no write
    transaction, no statement changing the ledger). A link older than LINK_AGAIN_S is written again: it lasts
    LINK_DAYS from the token's last showing."""
    import threading

    import sqlalchemy as sa

    from playground import hub
    from playground.ledger.schema import owner_users
    from playground.ledger.store import LINK_AGAIN_S, owner_hash

    store = ledger.current()
    me, token = owners.load(None)[1], as_user("paula")
    hub.check_token(token)  # the token line's check (cached whoami)
    handlers.token_checked(token, me, "hf-inference", False)  # pasted
    assert store.linked_users(owners.owner_of(me)) == ["paula"]
    store.flush()
    mine = owner_users.c.owner == owner_hash(owners.owner_of(me).key)

    def linked_ms() -> int:
        with store._connect() as conn:
            return conn.execute(sa.select(owner_users.c.linked_ms).where(mine)).scalar()

    written: list[str] = []  # what this thread sends the database that could change it

    def watch(_conn, _cursor, statement, *_):
        if threading.current_thread() is here and statement.lstrip().upper().startswith(
                ("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE")):
            written.append(statement)

    here, first = threading.current_thread(), linked_ms()
    sa.event.listen(store._engine, "before_cursor_execute", watch)
    try:
        handlers.token_checked(token, me, "hf-inference", False)  # blur: the same browser, the same user
        assert written == [] and linked_ms() == first
        with store._connect() as conn, conn.begin():  # the token was last shown an hour ago
            conn.execute(owner_users.update().where(mine).values(linked_ms=first - LINK_AGAIN_S * 1000))
        written.clear()
        handlers.token_checked(token, me, "hf-inference", False)
        assert written and linked_ms() >= first  # written again, from now
    finally:
        sa.event.remove(store._engine, "before_cursor_execute", watch)


def test_50_concurrent_api_sessions_each_record_under_their_own_user(fake, client):
    """50 gradio_client sessions at once, each with its own checked token: each run is its user's alone."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    from playground import hub

    names = [f"user{i:02d}" for i in range(50)]
    for name in names:
        hub.check_token(as_user(name))

    # ssl_verify=False: plain HTTP on loopback (otherwise a TLS context per request); opened a few at a time
    with ThreadPoolExecutor(4) as few:
        sessions = list(few.map(lambda _: Client(client.src, verbose=False, ssl_verify=False,
                                                 httpx_kwargs={"timeout": 120}), names))
    assert len({s.session_hash for s in sessions}) == 50

    def one(session, name: str) -> str:
        _, status, _ = session.predict(text=f"written by {name}", token=as_user(name), provider="hf-inference",
                                       model=SST2, api_name="/text_classification")
        return status

    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(one, sessions, names))
    assert all(s.startswith("✅") for s in statuses), statuses
    store = ledger.current()
    assert store.flush(30)
    for name in names:
        runs = store.list_runs(ledger.Owner("", name), text="written by", limit=100).runs
        assert len(runs) == 1 and runs[0].hub_user == name and runs[0].source == "api", (name, runs)
        detail = store.get_run(ledger.Owner("", name), runs[0].id)
        assert detail.inputs["text"] == f"written by {name}"
