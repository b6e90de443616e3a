"""Presentation decks (playground/decks.py, the ledger's ledger_decks): built from runs really made against the fake
router and recorded in a real SQLite ledger, reordered, played live and from their recordings, shared."""

from __future__ import annotations

import re
import secrets
import sys

import gradio as gr
import pytest
from PIL import Image

from playground import decks, handlers, hub, ledger, owners, service
from playground.tasks import ASSETS, TASKS
from tests.conftest import TOKEN

SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
VIT = "google/vit-base-patch16-224"
FLUX = "black-forest-labs/FLUX.1-schnell"
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
FAIL = (503, {"content-type": "application/json"}, b'{"error": "Service Unavailable"}')


@pytest.fixture(autouse=True)
def _a_user_of_its_own(monkeypatch):
    """Each test's runs go under a Hub user of its own (a checked token links a browser to its user's runs)."""
    monkeypatch.setattr(sys.modules[__name__], "TOKEN", f"hf_as_decks{secrets.token_hex(4)}_" + "x" * 24)


@pytest.fixture
def store(tmp_path):
    store = ledger.configure(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    yield store
    ledger.configure()


def run(owner_state, task_id: str, model: str, provider: str, *values) -> service.RunResult:
    task = TASKS[task_id]
    values = (*values, *[None] * (len(task.inputs) - len(values)), *[None] * len(task.params), "")
    request = handlers.task_request(task, TOKEN, provider, None, None, model, "main", values, owner=owner_state)
    result = service.run(request)
    assert result.ok, result.error
    return result


@pytest.fixture
def three_runs(fake, store):
    """A browser's three runs (text, an image in, an image out), oldest first, written to the ledger."""
    me = owners.load(None)[1]
    results = [run(me, "text-classification", SST2, "hf-inference", "I love this demo"),
               run(me, "image-classification", VIT, "hf-inference", str(ASSETS / "street.png")),
               run(me, "text-to-image", FLUX, "hf-inference", "A red square on a projector")]
    assert store.flush(30)
    return me, [r.run_id for r in results]


def build(store, me, run_ids) -> str:
    owner = owners.owner_of(me)
    steps = decks.add_runs(store, owner, [], run_ids)
    return store.save_deck(owner, "Quarterly demo", steps)


def test_a_deck_is_built_from_runs_reordered_and_kept_in_the_ledger(three_runs, store):
    me, ids = three_runs
    owner = owners.owner_of(me)
    deck_id = build(store, me, ids)
    deck = store.get_deck(owner, deck_id)
    assert [s["run_id"] for s in deck.steps] == ids
    assert [s["task"] for s in deck.steps] == ["text-classification", "image-classification", "text-to-image"]
    assert deck.steps[0]["inputs"]["text"] == "I love this demo" and deck.steps[0]["provider"] == "hf-inference"
    assert "$media" in deck.steps[1]["inputs"]["image"]  # the file by hash, as the run's record keeps it
    steps = decks.move_step(deck.steps, 2, -1)
    steps = decks.set_notes(steps, 0, "Say why sentiment matters")
    assert store.save_deck(owner, "Quarterly demo", decks.remove_step(steps, 2), deck_id) == deck_id
    again = store.get_deck(owner, deck_id)
    assert [s["run_id"] for s in again.steps] == [ids[0], ids[2]] and again.steps[0]["notes"] == "Say why sentiment matters"
    assert [d.id for d in store.list_decks(owner)] == [deck_id]
    # another browser sees no deck of this one, cannot change it, and cannot build one from its runs
    other = owners.owner_of(owners.load(None)[1])
    assert store.get_deck(other, deck_id) is None and store.list_decks(other) == []
    assert store.save_deck(other, "mine now", [], deck_id) is None
    with pytest.raises(ValueError, match="not in this browser's history"):
        decks.add_runs(store, other, [], ids[:1])
    with pytest.raises(ValueError, match="no step 4"):
        decks.move_step(again.steps, 3, 1)


def test_a_step_plays_live_through_the_service_path(three_runs, store, fake):
    me, ids = three_runs
    owner = owners.owner_of(me)
    deck = store.get_deck(owner, build(store, me, ids))
    before = len(fake.received)
    shown = decks.play_live(store, me, deck.steps[1], TOKEN)
    assert shown.mode == "live" and "live, just now" in shown.caption and "recorded" not in shown.caption
    assert "`google/vit-base-patch16-224@" in shown.caption and "provider **hf-inference**" in shown.caption
    assert shown.output == {"label": "tabby cat", "confidences": [{"label": "tabby cat", "confidence": 0.87},
                                                                  {"label": "tiger cat", "confidence": 0.1}]} \
        or shown.output == {"tabby cat": 0.87, "tiger cat": 0.1}
    assert shown.image and Image.open(shown.image).size == Image.open(ASSETS / "street.png").size
    sent = [r for r in fake.received[before:] if "vit-base" in r.path]
    assert sent and sent[-1].headers.get("authorization") == f"Bearer {TOKEN}"
    assert store.flush(30)
    live_runs = store.list_runs(owner, source="deck").runs
    assert len(live_runs) == 1 and live_runs[0].task == "image-classification"  # recorded once, as a deck run
    text = decks.play_live(store, me, deck.steps[0], TOKEN)
    assert text.texts == [("Text", "I love this demo")] and text.mode == "live"


def test_a_failing_live_run_shows_the_recording_labelled_so(three_runs, store, fake):
    me, ids = three_runs
    owner = owners.owner_of(me)
    deck = store.get_deck(owner, build(store, me, ids))
    recorded = store.get_run(owner, ids[0])
    fake.chaos(fault_rate=1.0, fault=FAIL)
    shown = decks.play_live(store, me, deck.steps[0], TOKEN)
    assert shown.mode == "fallback" and "live, just now" not in shown.caption
    when = recorded.created.strftime("%Y-%m-%d %H:%M")
    assert f"recorded on {when} UTC; the live run failed: " in shown.caption
    assert shown.output == decks.play_recorded(store, owner, deck.steps[0]).output
    assert shown.output not in (None, "", {})
    # the recording alone says so, and never "live"
    alone = decks.play_recorded(store, owner, deck.steps[2])
    assert alone.mode == "recorded" and f"recorded on " in alone.caption and "live" not in alone.caption
    assert isinstance(alone.output, Image.Image)


def test_a_step_whose_run_was_deleted_says_so(three_runs, store, fake):
    me, ids = three_runs
    owner = owners.owner_of(me)
    deck = store.get_deck(owner, build(store, me, ids))
    assert store.delete_run(owner, ids[0])
    fake.chaos(fault_rate=1.0, fault=FAIL)
    shown = decks.play_live(store, me, deck.steps[0], TOKEN)
    assert shown.mode == "failed" and "no recording to show" in shown.caption and "the live run failed" in shown.caption


def test_a_shared_deck_shows_its_recorded_results_and_nothing_else(three_runs, store):
    me, ids = three_runs
    owner = owners.owner_of(me)
    deck_id = build(store, me, ids[:2])
    share_id = store.share_deck(owner, deck_id)
    assert share_id and len(share_id) == 32 and store.share_deck(owner, deck_id) == share_id
    assert store.share_deck(owners.owner_of(owners.load(None)[1]), deck_id) is None  # not theirs to share
    deck, reader = store.shared_deck(share_id)
    assert deck.id == deck_id and [s["run_id"] for s in deck.steps] == ids[:2]
    shown = decks.play_recorded(store, reader, deck.steps[1])
    assert shown.mode == "recorded" and shown.image  # its run and its file are readable
    # nothing else of the owner: not the run left out of the deck, not their history, not their decks
    assert store.get_run(reader, ids[2]) is None
    assert store.list_runs(reader).total == 2
    assert store.list_decks(reader) == [] and store.get_deck(reader, deck_id) is None
    third = store.get_run(owner, ids[2])
    assert store.get_media(reader, third.output["$media"]) is None
    assert store.shared_deck("0" * 32) is None and store.shared_deck("") is None
    assert store.unshare_deck(owner, deck_id) and store.shared_deck(share_id) is None


@pytest.mark.usefixtures("no_price_table_left")
def test_a_live_step_the_spend_guard_holds_back_shows_the_recording_labelled_so(three_runs, store, fake):
    """Enter on a step whose live run would pass the browser's daily budget (used up here by a priced chat run): the
    run is not sent, and the stage shows the recording, "recorded on …; the live run was held back by the spend
    guard: …", never passed off as live. Without a budget, the same step runs live."""
    from playground import hub, spend_guard

    me, ids = three_runs
    owner = owners.owner_of(me)
    deck_id = build(store, me, ids)
    hub.model_providers(LLAMA, "chat-completion", token=TOKEN)  # the router's prices: the chat run's cost is known
    run(me, "chat-completion", LLAMA, "together", [{"role": "user", "content": "Hi"}])
    assert store.flush(30)
    recorded = store.get_run(owner, ids[0])
    before = len(fake.received)
    budget = spend_guard.Budget(day_usd=0.0000001)
    position, *stage = decks.run_live(me, deck_id, "", 0, TOKEN, budget, spend_guard.new_session())
    caption = stage[-2]
    when = recorded.created.strftime("%Y-%m-%d %H:%M")
    assert f"recorded on {when} UTC; the live run was held back by the spend guard: " in caption, caption
    assert "reaches your daily budget" in caption and "live, just now" not in caption
    assert not [r for r in fake.received[before:] if SST2 in r.path]  # nothing sent
    assert store.flush(30) and store.list_runs(owner, source="deck").total == 0  # nor recorded
    deck = store.get_deck(owner, deck_id)
    held = decks.play_live(store, me, deck.steps[0], TOKEN, guard=spend_guard.Guard(budget))
    assert held.mode == "fallback" and held.output == decks.play_recorded(store, owner, deck.steps[0]).output
    position, *stage = decks.run_live(me, deck_id, "", 0, TOKEN, None, spend_guard.new_session())  # no budget
    assert "live, just now" in stage[-2]


def test_a_step_typed_in_for_the_deck_runs_live_and_is_recorded_then_fails_plainly(store, fake):
    """A step that is no past run (issue 14: "steps from live inputs"): a text task, a model, a provider, its text;
    kept beside a run's steps in the same deck record; live, it goes through the service path and is recorded as a
    deck run; when the live run fails there is no recording to fall back to, and the stage says so."""
    me = owners.load(None)[1]
    owner = owners.owner_of(me)
    older = run(me, "text-classification", SST2, "hf-inference", "I love this demo")
    assert store.flush(30)
    typed = decks.typed_step("zero-shot-classification", "", "hf-inference", ["A new phone came out", "tech\nsport"],
                             "Say what zero-shot means")
    assert typed["run_id"] is None and typed["model"] == TASKS["zero-shot-classification"].default_model
    assert typed["inputs"] == {"text": "A new phone came out", "candidate_labels": ["tech", "sport"]}
    assert set(typed) == set(decks.STEP_FIELDS)
    deck_id = store.save_deck(owner, "Typed", [*decks.add_runs(store, owner, [], [older.run_id]), typed])
    deck = store.get_deck(owner, deck_id)
    assert deck.steps[1] == typed and deck.steps[0]["run_id"] == older.run_id  # a run's step reads as before
    assert decks.steps_table(deck.steps)[1][1] == "Zero-shot classification (typed in, no recording)"
    assert decks.steps_table(deck.steps)[1][4] == "A new phone came out · tech, sport"

    ready = decks.ready(store, owner, deck.steps[1])
    assert ready.texts[0] == ("Text", "A new phone came out") and "no recording" in ready.caption
    recorded = decks.play_recorded(store, owner, deck.steps[1])
    assert recorded.mode == "failed" and "has never been recorded, so there is no recording to show" in recorded.caption
    assert "recorded on" not in recorded.caption

    before = len(fake.received)
    shown = decks.play_live(store, me, deck.steps[1], TOKEN)
    assert shown.mode == "live" and "live, just now" in shown.caption and shown.output
    sent = [r for r in fake.received[before:] if "bart-large-mnli" in r.path]
    assert sent and sent[-1].headers.get("authorization") == f"Bearer {TOKEN}"
    assert store.flush(30)
    live_runs = store.list_runs(owner, source="deck").runs
    assert len(live_runs) == 1 and live_runs[0].task == "zero-shot-classification"  # recorded once, as a deck run

    fake.chaos(fault_rate=1.0, fault=FAIL)
    failed = decks.play_live(store, me, deck.steps[1], TOKEN)
    assert failed.mode == "failed" and "the live run failed: " in failed.caption
    assert "has never been recorded, so there is no recording to show" in failed.caption
    assert "live, just now" not in failed.caption and "recorded on" not in failed.caption


def test_a_typed_in_step_is_a_text_task_with_its_inputs_given():
    with pytest.raises(ValueError, match="Pick a text task.*Text classification"):
        decks.typed_step("image-classification", "", "auto", ["x"])
    with pytest.raises(ValueError, match="Context is empty: Type some text in 'Context'"):
        decks.typed_step("question-answering", "", "auto", ["Who?", "  "])
    assert [task_id for _, task_id in decks.typed_tasks()] == [
        t.id for t in TASKS.values() if all(spec.kind in ("text", "lines") for spec in t.inputs)]
    assert decks.TYPED_INPUTS == 2


def test_a_shared_deck_shows_the_runs_its_owner_sees_through_a_linked_token(fake, store):
    """The owner's browser sees its Hub user's runs made in another browser (a checked token links it): a deck of
    those runs, shared, shows them to the reader too (before, the reader found "no longer in the history")."""
    elsewhere, me = owners.load(None)[1], owners.load(None)[1]
    hub.check_token(TOKEN)  # a checked token: its runs are recorded under its user
    made = run(elsewhere, "text-classification", SST2, "hf-inference", "I love this demo")
    assert store.flush(30)
    owner = owners.owner_of(me)
    assert store.get_run(owner, made.run_id) is None
    assert store.link(owner, TOKEN.split("_")[2])  # this browser showed the user's checked token
    assert store.get_run(owner, made.run_id) is not None and owner.hub_user is None
    deck_id = build(store, me, [made.run_id])
    deck, reader = store.shared_deck(store.share_deck(owner, deck_id))
    shown = decks.play_recorded(store, reader, deck.steps[0])
    assert shown.mode == "recorded" and "recorded on" in shown.caption
    assert store.list_runs(reader).total == 1  # that run, nothing else


# ------------------------------------------------------------------------------------------ blind steps

ROBERTA = "cardiffnlp/twitter-roberta-base-sentiment-latest"
JSON = {"content-type": "application/json"}
LABELS = [[{"label": "POSITIVE", "score": 0.75}, {"label": "NEGATIVE", "score": 0.25}]]


def compared(me, text: str = "I like it") -> list:
    """A comparison really run on the Compare path (SST2 against a scripted roberta), its runs in pane order."""
    from playground import compare

    task = TASKS["text-classification"]
    targets = [compare.PaneTarget(m, "hf-inference", params=(*[None] * len(task.params), "")) for m in (SST2, ROBERTA)]
    runs = sorted(compare.run_all(task, targets, (text,), TOKEN, None, me), key=lambda r: r.index)
    assert all(r.ok for r in runs)
    return [r.result.run_id for r in runs]


@pytest.fixture
def scripted(fake):
    """roberta answers with its own scores (the fake router's default is SST2's), so the panes differ."""
    import json

    fake.script(f"/hf-inference/models/{ROBERTA}", [(200, JSON, json.dumps(LABELS).encode())] * 10)
    return fake


def test_a_blind_step_from_a_comparison_is_voted_on_and_counts_in_compares_leaderboard(store, scripted, monkeypatch):
    """Issue 14: "the Compare issue's blind mode works inside a deck". A comparison from History becomes a blind
    step: recorded, it shows the comparison the ledger holds as A and B, names hidden; its vote is Compare's vote
    (the ledger's votes, Compare's leaderboard); live, both targets run through Compare's run (the service path,
    one comparison, source "deck"); a live run that fails shows the recorded comparison, labelled so."""
    from playground import compare

    fake = scripted
    me = owners.load(None)[1]
    owner = owners.owner_of(me)
    ids = compared(me)
    plain = run(me, "text-classification", SST2, "hf-inference", "I love this demo")
    assert store.flush(30)
    with pytest.raises(ValueError, match="no pane of a comparison"):
        decks.add_comparisons(store, owner, [], [plain.run_id])
    steps = decks.add_comparisons(store, owner, [], [ids[1], ids[0]])  # one comparison, checked twice: one step
    assert len(steps) == 1 and set(steps[0]) == set(decks.BLIND_FIELDS)
    step = steps[0]
    assert step["blind"] and step["run_ids"] == ids and [t["model"] for t in step["targets"]] == [SST2, ROBERTA]
    assert step["inputs"] == {"text": "I like it"}
    assert decks.steps_table(steps)[0][1] == "⚖️ Blind: Text classification"
    deck_id = store.save_deck(owner, "Blind", steps)
    step = store.get_deck(owner, deck_id).steps[0]

    monkeypatch.setattr(compare, "blind_order", lambda n, rng=None: [1, 0])  # A shows roberta, B SST2
    ready = decks.ready(store, owner, step)
    assert ready.ballot is None and "not played yet" in ready.caption and ready.texts == [("Text", "I like it")]
    shown = decks.play_recorded(store, owner, step)
    assert shown.mode == "recorded" and "recorded on " in shown.caption and "live" not in shown.caption
    assert SST2 not in shown.caption and ROBERTA not in shown.caption  # no model caption: the names are hidden
    assert "**A** / **B** (that one is better), **T** a tie, **X** both are bad" in shown.caption
    assert decks.pane_titles(shown.ballot) == ["## A", "## B"]
    assert shown.ballot["outputs"][0] == {"POSITIVE": 0.75, "NEGATIVE": 0.25}  # A: roberta's recorded answer
    assert shown.ballot["outputs"][1]["POSITIVE"] > 0.99

    assert "(names hidden until the vote)" in shown.caption
    ballot, row, reveal, caption = decks.vote(me, "", shown.ballot, "A")
    assert f"**A** = `{ROBERTA} · hf-inference` 🏆" in reveal and row["visible"] is False
    assert "names hidden" not in caption and "recorded on " in caption and "(that one is better)" not in caption
    name = "## {} = <span class='present-blind-name'>{} · hf-inference</span>"
    assert decks.pane_titles(ballot) == [name.format("A", ROBERTA), name.format("B", SST2)]
    (vote,) = store.list_votes(owner, task="text-classification")
    assert [t["run_id"] for t in vote.targets] == [ids[1], ids[0]] and vote.choice == "A"  # the recorded runs
    board = compare.leaderboard(me, "text-classification").set_index("Target").to_dict("index")
    assert board[f"{ROBERTA} · hf-inference"]["Elo"] == 1016 and board[f"{SST2} · hf-inference"]["Elo"] == 984
    with pytest.raises(gr.Error, match="has its vote already"):
        decks.vote(me, "", ballot, "B")

    before = len(fake.received)
    live = decks.play_live(store, me, step, TOKEN)
    assert live.mode == "live" and "live, just now" in live.caption and "recorded" not in live.caption
    assert SST2 not in live.caption and ROBERTA not in live.caption
    sent = [r for r in fake.received[before:] if "/models/" in r.path]
    assert {r.path.rsplit("/models/", 1)[1] for r in sent} == {SST2, ROBERTA}
    assert all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in sent)
    assert store.flush(30)
    deck_runs = store.list_runs(owner, source="deck").runs
    assert len(deck_runs) == 2 and len({r.comparison_id for r in deck_runs}) == 1 and deck_runs[0].comparison_id
    assert sorted(r.comparison_pane for r in deck_runs) == [0, 1] and sorted(live.run_ids) == sorted(r.id for r in deck_runs)
    decks.vote(me, "", live.ballot, "tie")
    assert compare.leaderboard(me, "text-classification").set_index("Target")["Votes"].tolist() == [2, 2]
    assert not decks.kept_live(store, owner, store.get_deck(owner, deck_id), 0, live)  # it has its recording

    fake.chaos(fault_rate=1.0, fault=FAIL)
    failed = decks.play_live(store, me, step, TOKEN)
    assert failed.mode == "fallback" and re.search(r"recorded on .* UTC; the live run failed: ", failed.caption)
    assert failed.ballot["outputs"][0] == {"POSITIVE": 0.75, "NEGATIVE": 0.25}

    # a read-only link shows the blind step from its recording, names shown, and its reader cannot vote
    deck, reader = store.shared_deck(store.share_deck(owner, deck_id))
    seen = decks.play_recorded(store, reader, deck.steps[0], readonly=True)
    assert seen.mode == "recorded" and seen.ballot["readonly"] and "vote with the keys" not in seen.caption
    assert decks.pane_titles(seen.ballot)[0] == name.format("A", ROBERTA)
    with pytest.raises(gr.Error, match="readers cannot vote"):
        decks.vote(reader, "someshare", seen.ballot, "A")
    assert len(store.list_votes(owner)) == 2


def test_a_blind_step_typed_in_runs_live_and_that_run_becomes_its_recording(store, scripted):
    from playground import compare

    me = owners.load(None)[1]
    owner = owners.owner_of(me)
    with pytest.raises(ValueError, match="2 to 4 targets"):
        decks.typed_blind_step("text-classification", SST2, ["Great talk"])
    with pytest.raises(ValueError, match="Pick a text task"):
        decks.typed_blind_step("image-classification", f"{SST2}\n{ROBERTA}", ["x"])
    step = decks.typed_blind_step("text-classification", f"{SST2} @ hf-inference\n\n{ROBERTA}@hf-inference",
                                  ["Great talk"], "Ask the room")
    assert [(t["model"], t["provider"]) for t in step["targets"]] == [(SST2, "hf-inference"), (ROBERTA, "hf-inference")]
    assert step["run_ids"] == [] and step["notes"] == "Ask the room"
    assert decks.steps_table([step])[0][1] == "⚖️ Blind: Text classification (typed in, no recording)"
    deck_id = store.save_deck(owner, "Typed blind", [step])
    deck = store.get_deck(owner, deck_id)
    nothing = decks.play_recorded(store, owner, deck.steps[0])
    assert nothing.mode == "failed" and "has never been recorded" in nothing.caption and nothing.ballot is None
    live = decks.play_live(store, me, deck.steps[0], TOKEN)
    assert live.mode == "live" and len(live.run_ids) == 2 and len(live.ballot["outputs"]) == 2
    assert decks.kept_live(store, owner, deck, 0, live)
    kept = store.get_deck(owner, deck_id).steps[0]
    assert kept["run_ids"] == live.run_ids
    assert [store.get_run(owner, i).model for i in kept["run_ids"]] == [SST2, ROBERTA]  # in target order
    again = decks.play_recorded(store, owner, kept)
    assert again.mode == "recorded" and "recorded on " in again.caption
    assert sorted(map(str, again.ballot["outputs"])) == sorted(map(str, live.ballot["outputs"]))
    assert compare.leaderboard(me, "text-classification").empty  # no vote yet: nothing counted


def test_a_typed_step_once_run_live_keeps_that_run_as_its_recording(store, fake):
    """Before, a typed-in step run live was recorded in the ledger but R still said it had no recording."""
    me = owners.load(None)[1]
    owner = owners.owner_of(me)
    typed = decks.typed_step("text-classification", SST2, "hf-inference", ["Typed on the day"])
    deck_id = store.save_deck(owner, "Typed", [typed])
    deck = store.get_deck(owner, deck_id)
    fake.chaos(fault_rate=1.0, fault=FAIL)
    failed = decks.play_live(store, me, deck.steps[0], TOKEN)
    assert failed.mode == "failed" and not decks.kept_live(store, owner, deck, 0, failed)  # a failure is no recording
    fake.chaos(fault_rate=0.0)
    live = decks.play_live(store, me, deck.steps[0], TOKEN)
    assert live.mode == "live" and decks.kept_live(store, owner, deck, 0, live)
    step = store.get_deck(owner, deck_id).steps[0]
    assert step["run_id"] == live.run_ids[0] and store.get_run(owner, step["run_id"]).source == "deck"
    shown = decks.play_recorded(store, owner, step)
    run_ = store.get_run(owner, step["run_id"])
    assert shown.mode == "recorded" and f"recorded on {run_.created.strftime('%Y-%m-%d %H:%M')} UTC" in shown.caption
    assert shown.output == live.output
    assert decks.steps_table([step])[0][1] == "Text classification"  # no longer "typed in, no recording"
    fake.chaos(fault_rate=1.0, fault=FAIL)
    fallback = decks.play_live(store, me, step, TOKEN)
    assert fallback.mode == "fallback" and "; the live run failed: " in fallback.caption
    assert fallback.output == live.output
