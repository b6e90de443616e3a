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
