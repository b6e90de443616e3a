"""Share links and snapshots (playground/share_links.py, History's buttons, the page's ?share= and ?snapshot=),
and the check that no link and no export holds a secret: the token, the browser's owner key, or what the ledger
derives from it. Real runs through the tabs' handlers against the fake router."""

from __future__ import annotations

import base64
import inspect
import json
import zlib
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest

from playground import handlers, ledger, owners, run_cards, share_links
from playground.ledger.record import owner_hash
from playground.pages import history
from playground.tasks import ASSETS, GROUPS, TASKS
from tests.conftest import TOKEN

SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
VIT = "google/vit-base-patch16-224"
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
LAYOUT = [(t, 3 + len(TASKS[t].inputs) + len(TASKS[t].params) + 3) for t in TASKS]


def send(task_id: str, owner_state, **values):
    handler = handlers.handler_for(TASKS[task_id])
    values = {"owner": owner_state, "token": TOKEN, **values}
    out = handler(*[values.get(n) for n in inspect.signature(handler).parameters])
    return list(out)[-1] if inspect.isgenerator(out) else out


@pytest.fixture
def runs(fake):
    """A fresh owner's runs: a text, an image and a chat; their ids by task. (The Hub's answers are forgotten first:
    a check of TOKEN cached by an earlier test would make these runs its Hub user's too, and link the owner to that
    user, whose runs from other tests it would then list.)"""
    from playground import hub

    hub.clear_cache()
    me = owners.load(None)[1]
    send("text-classification", me, provider="hf-inference", model=SST2, text="Share me, please", top_k=2)
    send("image-classification", me, provider="hf-inference", model=VIT, image=str(ASSETS / "street.png"))
    send("chat-completion", me, provider="together", model=LLAMA, system="Be brief.",
         message={"text": "Who wrote Hamlet?", "files": []}, temperature=0.2)
    ledger.current().flush()
    ids = {r.task: r.id for r in ledger.current().list_runs(owners.owner_of(me)).runs}
    return me, ids


def opened(query: str, owner_state=None) -> tuple[list, str]:
    """The page's load step for a link: (the run's task tab's values, the provider shown)."""
    params = {k: v[0] for k, v in parse_qs(urlsplit(query).query).items()}
    out = run_cards.linked_run_handler(LAYOUT)(owner_state or owners.load(None)[1], SimpleNamespace(query_params=params))
    flat, provider = out[5 + len(GROUPS):], out[1 + len(GROUPS)]  # (after it: endpoint, bill-to, chosen)
    return flat, provider


def tab(flat: list, task_id: str) -> list:
    start = sum(n for t, n in LAYOUT[: list(TASKS).index(task_id)])
    return flat[start: start + dict(LAYOUT)[task_id]]


def secrets_of(owner_state) -> list[str]:
    derived = owners.owner_of(owner_state).key
    return [TOKEN, owner_state["key"], owner_state["key"].split(".")[0], derived, owner_hash(derived)]


def decoded(link: str) -> str:
    value = parse_qs(urlsplit(link).query)["share"][0]
    return zlib.decompress(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))).decode()


def test_a_share_link_opens_the_run_s_request_for_anyone(runs):
    me, ids = runs
    link = history.share_link(me, ids["text-classification"])
    assert link.startswith("./?share=")
    body = json.loads(decoded(link))
    assert (body["task"], body["model"], body["provider"], body["inputs"]["text"]) == (
        "text-classification", SST2, "hf-inference", "Share me, please")
    flat, provider = opened(link)  # a stranger's browser
    model, revision, text, *rest = tab(flat, "text-classification")
    assert (model, revision, text, provider) == (SST2, "main", "Share me, please", "hf-inference")
    params = dict(zip([s.name for s in TASKS["text-classification"].params], rest))
    assert params["top_k"] == 2
    output, status = rest[-3:-1]
    assert output is None and status.startswith("🔗 **Opened from a share link**")  # no result travels


def test_files_do_not_travel_in_a_share_link_and_a_chat_link_fills_the_question(runs):
    me, ids = runs
    flat, _ = opened(history.share_link(me, ids["image-classification"]))
    model, _, image, *rest = tab(flat, "image-classification")
    assert model == VIT and image == "" and "add your own (image)" in rest[-2]
    flat, provider = opened(history.share_link(me, ids["chat-completion"]))
    values = tab(flat, "chat-completion")
    assert provider == "together" and values[2] == {"text": "Who wrote Hamlet?", "files": []} and values[3] == "Be brief."
    assert values[-3] == []  # no reply travels


def test_a_damaged_or_foreign_link_is_refused_plainly(runs):
    with pytest.warns(UserWarning, match="damaged"):
        opened("./?share=not-a-link")
    foreign = base64.urlsafe_b64encode(zlib.compress(b'{"kind": "other"}')).decode()
    with pytest.warns(UserWarning, match="not a share link"):
        opened(f"./?share={foreign}")


def test_a_published_snapshot_carries_files_and_result_until_withdrawn(runs):
    me, ids = runs
    run_id = ids["image-classification"]
    link = history.publish_snapshot(me, run_id)
    assert link == history.publish_snapshot(me, run_id)  # one snapshot per run
    stranger = owners.load(None)[1]
    with pytest.raises(Exception, match="Select one of your runs"):
        history.publish_snapshot(stranger, run_id)  # not theirs to publish
    flat, provider = opened(link, stranger)
    model, _, image, *rest = tab(flat, "image-classification")
    output, status, raw = rest[-3:]
    assert model == VIT and Path(image).read_bytes() == (ASSETS / "street.png").read_bytes()
    assert isinstance(output, dict) and output  # the labels, as they were
    assert status.startswith("📸 **Read-only snapshot**") and json.loads(raw)["exchanges"]
    assert ledger.current().get_run(owners.owner_of(stranger), run_id) is None  # the record stays the owner's
    assert history.withdraw_snapshot(me, run_id) == ""
    with pytest.warns(UserWarning, match="no longer published"):
        opened(link, stranger)
    link = history.publish_snapshot(me, run_id)
    assert ledger.current().delete_run(owners.owner_of(me), run_id)  # deleting the run ends its snapshot
    with pytest.warns(UserWarning, match="no longer published"):
        opened(link, stranger)


def test_no_link_and_no_export_holds_a_secret(runs):
    me, ids = runs
    texts = []
    for task_id, run_id in ids.items():
        texts += [history.share_link(me, run_id), decoded(history.share_link(me, run_id)),
                  history.publish_snapshot(me, run_id)]
        *_, card_button, open_button = history.open_run(me, run_id)
        texts += [Path(card_button.constructor_args["value"]).read_text(), open_button.constructor_args["link"]]
        flat, _ = opened(history.publish_snapshot(me, run_id))
        texts.append(json.dumps(tab(flat, task_id), default=str))
    for fmt in ("JSONL", "CSV"):
        texts.append(Path(history.export(me, None, None, None, None, None, fmt).constructor_args["value"]).read_text())
    assert len(texts) == 3 * 6 + 2
    for secret in secrets_of(me):
        leaks = [t[:80] for t in texts if secret in t]
        assert not leaks, (secret[:6], leaks)
