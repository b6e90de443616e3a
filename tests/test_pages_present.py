"""The Present page's handlers (playground/decks.py, wired by playground/pages/present.py), called as Gradio calls
them, on runs really made against the fake router: the editor, the stage, the read-only link and the HTML export."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest

from playground import deck_export, decks, ledger, owners
from playground.pages import present
from playground.tasks import ASSETS
from tests.test_decks import FAIL, FLUX, SST2, VIT, run  # noqa: F401 - the fixtures below make their runs
from tests.test_decks import _a_user_of_its_own, store, three_runs  # noqa: F401 - pytest fixtures
import tests.test_decks as made


def request(**query) -> SimpleNamespace:
    return SimpleNamespace(query_params=query, headers={}, session_hash="s1", client=None)


def edited(out) -> tuple[str, list[list[str]]]:
    picker, deck_id, title, table = out[:4]
    return deck_id, table.values.tolist()


def test_the_editor_builds_reorders_and_annotates_a_deck(three_runs):
    me, ids = three_runs
    first = decks.open_page(me, request())
    assert first[0] == "" and first[2] is None  # no deck yet
    runs = first[5]
    assert [value for _, value in runs.constructor_args["choices"]] == ids[::-1]  # newest first
    deck_id, rows = edited(decks.add_picked(me, None, ids))
    assert deck_id and [r[1] for r in rows] == ["Text classification", "Image classification", "Text to image"]
    assert rows[1][4] == "[image]" and rows[0][4] == "I love this demo"
    out = decks.move(me, deck_id, 3, -1)
    assert [r[1] for r in edited(out)[1]] == ["Text classification", "Text to image", "Image classification"]
    assert out[-1] == 2  # the step number follows the step
    _, rows = edited(decks.save_notes(me, deck_id, 2, "The generated image"))
    assert rows[1][5] == "The generated image" and decks.step_notes(me, deck_id, 2) == "The generated image"
    _, rows = edited(decks.remove(me, deck_id, 1))
    assert [r[1] for r in rows] == ["Text to image", "Image classification"]
    with pytest.raises(gr.Error, match="no step 9"):
        decks.move(me, deck_id, 9, 1)
    with pytest.raises(gr.Error, match="Check one or more"):
        decks.add_picked(me, deck_id, [])
    assert decks.open_page(me, request())[2] == deck_id  # the page reopens on the last deck


def test_the_stage_plays_live_and_falls_back_to_the_recording(three_runs, fake):
    me, ids = three_runs
    deck_id, _ = edited(decks.add_picked(me, None, ids))
    editor, stage, live, position, *shown = decks.present(me, deck_id, "", False)
    assert editor.constructor_args["visible"] is False and stage.constructor_args["visible"] is True
    assert position == 0 and "step 1 / 3" in shown[0] and "not played yet" in shown[-2]
    assert "I love this demo" in shown[1]
    labels = present_slot(shown, "label")
    assert labels["visible"] is True and labels["value"] is None
    position, *shown = decks.run_live(me, deck_id, "", 0, made.TOKEN, request=request())
    assert "live, just now" in shown[-2] and present_slot(shown, "label")["value"]
    position, *shown = decks.go(me, deck_id, "", position, 1)
    assert position == 1 and "step 2 / 3" in shown[0] and shown[2]["visible"] is True  # the input image
    fake.chaos(fault_rate=1.0, fault=FAIL)
    position, *shown = decks.run_live(me, deck_id, "", position, made.TOKEN, request=request())
    assert re.search(r"recorded on .* UTC; the live run failed: ", shown[-2]) and "live, just now" not in shown[-2]
    assert present_slot(shown, "label")["value"]  # the recorded result is shown
    position, *shown = decks.go(me, deck_id, "", position, 5)  # past the end: the last step
    assert position == 2 and "step 3 / 3" in shown[0]
    assert decks.leave("")[1].constructor_args["visible"] is False


def present_slot(shown: list, key: str) -> dict:
    return shown[5 + decks.VIEW_KEYS.index(key)]


def test_a_read_only_link_shows_the_decks_recordings_and_nothing_else(three_runs, fake):
    me, ids = three_runs
    deck_id, _ = edited(decks.add_picked(me, None, ids[:2]))
    decks.save_notes(me, deck_id, 1, "Mention the 99% score")
    link = decks.share(me, deck_id)
    share_id = link.removeprefix("present?deck=")
    assert len(share_id) == 32 and made.TOKEN not in link
    stranger = owners.load(None)[1]
    opened = decks.open_page(stranger, request(deck=share_id))
    assert opened[0] == share_id and opened[3] == "Untitled deck"
    assert opened[-2].constructor_args["visible"] is True and opened[-1].constructor_args["visible"] is False  # no Run live
    position, *shown = decks.opened(stranger, share_id)
    assert "step 1 / 2" in shown[0] and "recorded on" in shown[-2]
    assert shown[-1] == ""  # the speaker notes are the presenter's, not the reader's (as the export leaves them out)
    assert "Mention the 99% score" in decks.go(me, deck_id, "", 0, 0)[-1]  # the owner's stage has them
    before = len(fake.received)
    position, *shown = decks.run_live(stranger, None, share_id, 1, None, request=request())  # Enter: still the recording
    assert len(fake.received) == before and "recorded on" in shown[-2] and "live" not in shown[-2]
    assert decks.leave(share_id) == (gr.skip(), gr.skip(), gr.skip())  # no editor to go back to
    # nothing of the owner's: not their decks, not their other runs
    assert decks.open_page(stranger, request())[2] is None
    with pytest.raises(gr.Error, match="no longer shared"):
        decks.run_live(stranger, None, "f" * 32, 0, None, request=request())


def test_the_exported_html_inlines_its_media_and_holds_no_token(three_runs, store):
    me, ids = three_runs
    deck_id, _ = edited(decks.add_picked(me, None, ids))
    decks.save_notes(me, deck_id, 1, "Mention the 99% score")
    path = Path(decks.export(me, deck_id, False))
    html = path.read_text()
    assert made.TOKEN not in html and "hf_" not in html
    street = base64.b64encode((ASSETS / "street.png").read_bytes()).decode()
    assert f"data:image/png;base64,{street}" in html  # the input image, as it was sent
    owner = owners.owner_of(me)
    generated = store.get_media(owner, store.get_run(owner, ids[2]).output["$media"]).data
    assert hashlib.sha256(generated).hexdigest() == store.get_run(owner, ids[2]).output["$media"]
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 2  # the input image, and the generated image re-encoded as PNG
    assert html.count('<section class="step"') == 3 and "I love this demo" in html and "POSITIVE" in html
    assert "recorded on" in html and "live, just now" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched from anywhere
    assert "Mention the 99% score" not in html  # speaker notes only when asked
    assert "Mention the 99% score" in Path(decks.export(me, deck_id, True)).read_text()


def test_every_renderer_has_an_html_form():
    from PIL import Image

    assert "bar-fill" in deck_export.value_html("label", {"cat": 0.9, "dog": 0.1})
    assert "<mark>" in deck_export.value_html("highlight", {"text": "Ann lives in Paris",
                                                          "entities": [{"entity": "LOC", "start": 13, "end": 18}]})
    assert "data:image/png" in deck_export.value_html("image", Image.new("RGB", (4, 4)))
    assert "<table>" in deck_export.value_html("predictions", {"headers": ["a", "prediction"], "data": [[1, "x"]]})
    chat = deck_export.value_html("chat", [{"role": "user", "content": "Hi <b>"}, {"role": "assistant", "content": "Hello"}])
    assert "Hi &lt;b&gt;" in chat and "msg assistant" in chat
    assert "No result" in deck_export.value_html("text", "")
    assert present.CSS and "present-run" in present.KEYS_JS


def test_the_editor_adds_a_step_typed_in_now_and_the_stage_plays_it_live_or_says_it_failed(three_runs, fake):
    me, ids = three_runs
    model, *boxes = decks.typed_task_picked("question-answering")  # the boxes follow the task picked
    assert model["value"] == "deepset/roberta-base-squad2"
    assert [(b.get("label"), b["visible"]) for b in boxes] == [("Question", True), ("Context", True)]
    model, *boxes = decks.typed_task_picked("text-classification")
    assert [b["visible"] for b in boxes] == [True, False]
    with gr.Blocks() as page:  # the page builds the typed-in step's boxes once: no stray component
        present.build(page)
    labels = [c.label for c in page.blocks.values() if isinstance(c, (gr.Textbox, gr.Dropdown))]
    assert labels.count("Model") == 1 and labels.count("Prompt") == 1
    deck_id, _ = edited(decks.add_picked(me, None, ids[:1]))
    with pytest.raises(gr.Error, match="Text is empty"):
        decks.add_typed(me, deck_id, "text-classification", SST2, "hf-inference", "", "   ", "")
    deck_id, rows = edited(decks.add_typed(me, deck_id, "text-classification", SST2, "hf-inference",
                                           "The typed one", "Typed in on the day", ""))
    assert [r[1] for r in rows] == ["Text classification", "Text classification (typed in, no recording)"]
    assert rows[1][4] == "Typed in on the day" and rows[1][5] == "The typed one"
    position, *shown = decks.go(me, deck_id, "", 0, 1)
    assert position == 1 and "no recording: press **Enter** to run it live" in shown[-2]
    assert "Typed in on the day" in shown[1]
    fake.chaos(fault_rate=1.0, fault=FAIL)  # before any live run: nothing to fall back to, and the stage says so
    position, *shown = decks.run_live(me, deck_id, "", 1, made.TOKEN, request=request())
    assert "the live run failed: " in shown[-2] and "has never been recorded, so there is no recording" in shown[-2]
    assert "live, just now" not in shown[-2] and "recorded on" not in shown[-2]
    assert not present_slot(shown, "label")["value"]  # no result pretended
    html = deck_export.export_html(made.ledger.current(), owners.owner_of(me),
                                   made.ledger.current().get_deck(owners.owner_of(me), deck_id))
    assert "Typed in on the day" in html  # the export shows the typed step's inputs, with no result
    fake.chaos(fault_rate=0.0)
    position, *shown = decks.run_live(me, deck_id, "", 1, made.TOKEN, request=request())
    assert "live, just now" in shown[-2] and present_slot(shown, "label")["value"]
    live = present_slot(shown, "label")["value"]
    # that live run is the step's recording from now on: R shows it, and so does a live run that fails
    position, *shown = decks.show_recording(me, deck_id, "", 1)
    assert re.search(r"⏺️ .* recorded on \d{4}-\d\d-\d\d \d\d:\d\d UTC", shown[-2]) and "live" not in shown[-2]
    assert present_slot(shown, "label")["value"] == live
    fake.chaos(fault_rate=1.0, fault=FAIL)
    position, *shown = decks.run_live(me, deck_id, "", 1, made.TOKEN, request=request())
    assert re.search(r"recorded on .* UTC; the live run failed: ", shown[-2]) and "never been recorded" not in shown[-2]
    assert present_slot(shown, "label")["value"] == live
    assert [r[1] for r in edited(decks.pick_deck(me, deck_id))[1]] == ["Text classification"] * 2  # no "typed in"


def blind_slots(shown: list) -> tuple:
    """The stage's blind part (``decks.blind_view``): ballot, vote row, the letters' buttons, the reveal."""
    start = 5 + len(decks.VIEW_KEYS)
    ballot, row, *letters = shown[start:start + 2 + 4]
    return ballot, row, letters, shown[start + 6]


def test_a_blind_step_from_a_comparison_is_played_voted_on_shared_and_exported(store, fake, monkeypatch):
    from playground import compare

    monkeypatch.setattr(compare, "blind_order", lambda n, rng=None: [1, 0])
    me = owners.load(None)[1]
    fake.script(f"/hf-inference/models/{made.ROBERTA}", [(200, made.JSON, json.dumps(made.LABELS).encode())] * 10)
    ids = made.compared(me)
    assert store.flush(30)
    first = decks.open_page(me, request())
    labels = [label for label, _ in first[5].constructor_args["choices"]]
    assert sum("⚖️ compare pane" in label for label in labels) == 2  # the list marks a comparison's runs
    deck_id, rows = edited(decks.add_picked_comparisons(me, None, ids[:1]))
    assert [r[1] for r in rows] == ["⚖️ Blind: Text classification"]
    with pytest.raises(gr.Error, match="Check a run marked"):
        decks.add_picked_comparisons(me, deck_id, [])
    editor, stage, live, position, *shown = decks.present(me, deck_id, "", False)
    ballot, row, letters, reveal = blind_slots(shown)
    assert ballot is None and row["visible"] is False and "blind comparison of 2 targets" in shown[-2]
    assert all(not present_slot(shown, key)["visible"] for key in decks.VIEW_KEYS)  # no single result on a blind step
    position, *shown = decks.run_live(me, deck_id, "", 0, made.TOKEN, request=request())
    ballot, row, letters, reveal = blind_slots(shown)
    assert "live, just now" in shown[-2] and made.SST2 not in shown[-2] and made.ROBERTA not in shown[-2]
    assert row["visible"] is True and [b["visible"] for b in letters] == [True, True, False, False] and reveal == ""
    assert ballot["outputs"][0] == {"POSITIVE": 0.75, "NEGATIVE": 0.25}
    ballot, row, reveal, caption = decks.vote(me, "", ballot, "bad")
    assert "**Your vote: all bad.**" in reveal and made.ROBERTA in reveal and row["visible"] is False
    assert "live, just now" in caption and "names hidden" not in caption  # the stage's caption, after the vote
    assert compare.leaderboard(me, "text-classification")["Ties / all bad"].tolist() == [1, 1]
    position, *shown = decks.show_recording(me, deck_id, "", 0)
    assert "recorded on" in shown[-2] and blind_slots(shown)[0]["outputs"][1]["POSITIVE"] > 0.99

    share_id = decks.share(me, deck_id).removeprefix("present?deck=")
    stranger = owners.load(None)[1]
    position, *shown = decks.opened(stranger, share_id)
    ballot, row, letters, reveal = blind_slots(shown)
    assert ballot["readonly"] and row["visible"] is False and reveal == decks.READONLY_VOTE
    assert "readers cannot vote" in reveal
    with pytest.raises(gr.Error, match="readers cannot vote"):
        decks.vote(stranger, share_id, ballot, "A")

    html = Path(decks.export(me, deck_id, False)).read_text()
    assert "Blind comparison, shown unblinded in this file" in html and html.count('class="result pane"') == 2
    assert f"A = {made.ROBERTA} · hf-inference" in html and f"B = {made.SST2} · hf-inference" in html
    assert "vote with the keys" not in html and made.TOKEN not in html


def test_the_editor_adds_a_blind_step_typed_in_and_the_stage_keys_vote():
    assert "present-vote-" in present.KEYS_JS and "'a'" not in present.KEYS_JS  # the keys come from decks.VOTE_KEYS
    assert decks.VOTE_KEYS == {"A": "a", "B": "b", "C": "c", "D": "d", "tie": "t", "bad": "x"}
    with gr.Blocks() as page:
        present.build(page)
    ids = {getattr(c, "elem_id", None) for c in page.blocks.values()}
    assert {f"present-vote-{c.lower()}" for c in decks.VOTE_KEYS} <= ids
    helps = [c.value for c in page.blocks.values() if isinstance(c, gr.Markdown) and "Vote with a key" in (c.value or "")]
    assert helps and "**T**: a tie" in helps[0] and "**X**: all bad" in helps[0]
