"""The History page's handlers (playground/pages/history.py) and run cards (playground/run_cards.py), called as
Gradio calls them, on runs the tabs' Run handlers really made against the fake router."""

from __future__ import annotations

import csv
import inspect
import io
import json
import secrets
import sys
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest

from playground import handlers, ledger, owners, run_cards
from playground.pages import history
from playground.tasks import ASSETS, GROUPS, TASKS
from tests.conftest import TOKEN

SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
VIT = "google/vit-base-patch16-224"


@pytest.fixture(autouse=True)
def _a_user_of_its_own(monkeypatch):
    """Each test's runs are made with the token of a Hub user of its own (the fake Hub's ``hf_as_<name>_…``): a
    checked token links a browser to its user's runs, and other tests' runs under the shared token must not show."""
    monkeypatch.setattr(sys.modules[__name__], "TOKEN", f"hf_as_history{secrets.token_hex(4)}_" + "x" * 24)


def send(task_id: str, owner_state, **values):
    handler = handlers.handler_for(TASKS[task_id])
    values = {"owner": owner_state, "token": TOKEN, **values}
    out = handler(*[values.get(n) for n in inspect.signature(handler).parameters])
    out = list(out)[-1] if inspect.isgenerator(out) else out
    assert (out[2] if task_id == "chat-completion" else out[1]).startswith("✅"), out
    return out


@pytest.fixture
def three_runs(fake):
    """A fresh owner's three runs of three tasks (an image among them), newest last."""
    me = owners.load(None)[1]
    send("text-classification", me, provider="hf-inference", model=SST2, text="I like this playground", top_k=2)
    send("image-classification", me, provider="hf-inference", model=VIT, image=str(ASSETS / "street.png"))
    send("chat-completion", me, provider="together", model=LLAMA, system="Be brief.",
         message={"text": "What is the capital of France?", "files": []}, temperature=0.3,
         extra_parameters='{"frequency_penalty": 0.5}')
    ledger.current().flush()
    return me


def select(row: int) -> gr.SelectData:
    return gr.SelectData(None, {"index": [row, 0], "value": ""})


def test_the_table_lists_the_owners_runs_newest_first(three_runs):
    rows, ids, total, after = history.list_page(three_runs)
    assert total == 3 and after is None and len(ids) == 3
    assert [r[1] for r in rows] == ["chat-completion", "image-classification", "text-classification"]
    assert rows[2][2].startswith(SST2 + "@") and len(rows[2][2]) == len(SST2) + 8  # model@sha7
    assert rows[0][3] == "together" and rows[2][3] == "hf-inference"
    assert all(r[4] == "✅ ok" for r in rows) and all(r[5].endswith(("ms", " s")) for r in rows)
    assert {r[6] for r in rows} == {"unknown"}  # no made-up cost
    other = owners.load(None)[1]
    assert history.list_page(other)[2] == 0


def test_filters_search_and_paging(three_runs, monkeypatch):
    assert history.list_page(three_runs, task="chat-completion")[2] == 1
    assert history.list_page(three_runs, provider="together")[2] == 1
    assert history.list_page(three_runs, model=SST2)[2] == 1
    assert history.list_page(three_runs, status="error")[2] == 0
    assert history.list_page(three_runs, text="PLAYGROUND like")[2] == 1
    tasks, models, providers = history.facet_choices(three_runs)
    assert [v for _, v in tasks.constructor_args["choices"]][1:] == sorted(
        ["chat-completion", "image-classification", "text-classification"])
    monkeypatch.setattr(history, "PAGE_SIZE", 2)
    table, ids, counts, paging, newer, older = history.first_page(three_runs, "", "", "", "", "")
    assert len(ids) == 2 and counts.startswith("Runs 1–2 of 3") and older.constructor_args["interactive"]
    table, more, counts, paging, newer, older = history.older_page(three_runs, "", "", "", "", "", paging)
    assert len(more) == 1 and not set(more) & set(ids) and counts.startswith("Runs 3–3 of 3")
    assert not older.constructor_args["interactive"] and newer.constructor_args["interactive"]
    _, back, *_ = history.newer_page(three_runs, "", "", "", "", "", paging)
    assert back == ids


def test_a_run_shows_its_detail_and_its_card_holds_everything_but_the_token(three_runs):
    _, ids, _, _ = history.list_page(three_runs)
    run_id, detail, markdown, raw, card_button, open_tab = history.show_run(three_runs, ids, select(2))
    assert run_id == ids[2] and detail.constructor_args["visible"]  # the text classification run
    assert open_tab.constructor_args["link"] == f"./?run={run_id}"  # /history -> /?run=<id>
    assert "Text classification" in markdown and "I like this playground" in markdown and "top_k" in markdown
    assert "cost **unknown**" in markdown and "served by hf-inference" in markdown
    assert json.loads(raw)["exchanges"] and TOKEN not in raw
    text = Path(card_button.constructor_args["value"]).read_text()
    card = json.loads(text)
    assert TOKEN not in text
    assert card["kind"] == run_cards.KIND and card["task"] == "text-classification"
    assert card["model_ref"].startswith(SST2 + "@") and card["provider"]["served"] == "hf-inference"
    assert card["request"]["inputs"] == {"text": "I like this playground"}
    assert card["request"]["parameters"] == {"top_k": 2} and "token" not in card["request"]["target"]
    assert card["output"] and card["exchange"]["exchanges"]
    assert "InferenceClient" in card["snippet"] and "text_classification" in card["snippet"]
    assert {"playground", "huggingface_hub", "gradio"} <= set(card["versions"])
    other = owners.load(None)[1]
    assert history.show_run(other, ids, select(2))[0] is None  # not theirs: nothing shown


def test_an_image_card_carries_its_input_file_and_fills_the_tab_back(three_runs):
    _, ids, _, _ = history.list_page(three_runs, task="image-classification")
    *_, card_button, _ = history.open_run(three_runs, ids[0])
    card = run_cards.loads(Path(card_button.constructor_args["value"]).read_bytes())
    task = TASKS["image-classification"]
    model, revision, image, *rest = run_cards.tab_values(task, card)
    assert model == VIT and revision == "main"
    assert Path(image).read_bytes() == (ASSETS / "street.png").read_bytes()
    status, raw = rest[-2:]
    assert status.startswith("↩️ **Reopened**") and json.loads(raw)["exchanges"]


def test_a_chat_card_fills_the_conversation_system_prompt_and_parameters(three_runs):
    _, ids, _, _ = history.list_page(three_runs, task="chat-completion")
    store = ledger.current()
    owner = owners.owner_of(three_runs)
    card = run_cards.card_of(store.get_run(owner, ids[0]), store, owner)
    task = TASKS["chat-completion"]
    values = run_cards.tab_values(task, card)
    model, revision, message, system, tools, schema = values[:6]
    params = dict(zip([s.name for s in task.params], values[6:6 + len(task.params)]))
    extra, history_value = values[6 + len(task.params):8 + len(task.params)]
    assert (model, message, system) == (LLAMA, {"text": "", "files": []}, "Be brief.")
    assert params["temperature"] == 0.3 and json.loads(extra) == {"frequency_penalty": 0.5}
    assert [m["role"] for m in history_value] == ["user", "assistant"] and tools == "" and schema == ""
    assert history_value[0]["content"] == "What is the capital of France?" and history_value[1]["content"]
    assert run_cards.header_values(card) == ["together", "", ""]


def test_the_page_opens_a_linked_run_for_its_owner_only(three_runs):
    layout = [(t, 3 + len(TASKS[t].inputs) + len(TASKS[t].params) + 3) for t in TASKS]
    _, ids, _, _ = history.list_page(three_runs, task="text-classification")
    request = SimpleNamespace(query_params={"run": ids[0]})
    out = run_cards.linked_run_handler(layout)(three_runs, request)
    groups, *tabs = out[: 1 + len(GROUPS)]
    assert groups.constructor_args["selected"] == TASKS["text-classification"].group
    provider, endpoint, bill_to, picked = out[1 + len(GROUPS): 5 + len(GROUPS)]
    assert provider == "hf-inference" and picked is True  # the run's provider counts as chosen
    flat = out[5 + len(GROUPS):]
    start = sum(n for t, n in layout[: list(TASKS).index("text-classification")])
    assert flat[start: start + 3] == [SST2, "main", "I like this playground"]
    other = owners.load(None)[1]
    with pytest.warns(UserWarning, match="not in this browser's history"):
        skipped = run_cards.linked_run_handler(layout)(other, request)
    assert all(isinstance(v, dict) and v.get("__type__") == "update" and len(v) == 1 for v in skipped)


def test_a_card_upload_fills_the_tab_and_a_wrong_file_is_refused(three_runs, tmp_path):
    layout = [(t, 3 + len(TASKS[t].inputs) + len(TASKS[t].params) + 3) for t in TASKS]
    _, ids, _, _ = history.list_page(three_runs, task="text-classification")
    *_, card_button, _ = history.open_run(three_runs, ids[0])
    out = run_cards.upload_handler(layout)(card_button.constructor_args["value"])
    assert SST2 in out and "I like this playground" in out
    wrong = tmp_path / "not-a-card.json"
    wrong.write_text('{"hello": 1}')
    with pytest.warns(UserWarning, match="not a run card"):
        assert run_cards.upload_handler(layout)(str(wrong)) == run_cards._nothing(layout)
    with pytest.raises(run_cards.CardError):
        run_cards.loads(b"not json")


def test_exports_hold_the_filtered_history_and_no_token(three_runs):
    jsonl = Path(history.export(three_runs, "", "", "", "", "", "JSONL").constructor_args["value"]).read_text()
    records = [json.loads(line) for line in jsonl.splitlines()]
    assert [r["task"] for r in records] == ["chat-completion", "image-classification", "text-classification"]
    assert records[2]["inputs"] == {"text": "I like this playground"} and "exchange" in records[2]
    text = Path(history.export(three_runs, "", "", "together", "", "", "CSV").constructor_args["value"]).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["task"] for r in rows] == ["chat-completion"] and rows[0]["cost_usd"] == ""
    assert TOKEN not in jsonl + text


def test_delete_and_clear_all_touch_only_the_owners_runs(three_runs, fake):
    other = owners.load(None)[1]
    send("text-classification", other, provider="hf-inference", model=SST2, text="someone else's run")
    ledger.current().flush()
    _, ids, _, _ = history.list_page(three_runs)
    assert history.delete_run(other, ids[0])[0] is None and history.list_page(three_runs)[2] == 3  # not theirs
    history.delete_run(three_runs, ids[0])
    assert history.list_page(three_runs)[2] == 2
    confirm, question = history.confirm_clear(three_runs)
    assert confirm.constructor_args["visible"] and "Delete all 2 runs" in question
    history.clear_all(three_runs)
    assert history.list_page(three_runs)[2] == 0 and history.list_page(other)[2] == 1


def test_a_linked_run_for_a_tab_not_built_yet_opens_it_with_the_run_pending(three_runs):
    """A tab built on first showing (``(task, None)`` in the layout) gets its "opened" flag and the run to fill it
    with, once built; a second opening of the same card is a new pending run (its nonce), so it fills again."""
    layout = [("chat-completion", 20), *((t, None) for t in list(TASKS)[1:])]
    _, ids, _, _ = history.list_page(three_runs, task="text-classification")
    request = SimpleNamespace(query_params={"run": ids[0]})
    handler = run_cards.linked_run_handler(layout)
    out, again = handler(three_runs, request), handler(three_runs, request)
    flat = out[5 + len(GROUPS):]
    assert len(out) == len(run_cards._nothing(layout)) and len(flat) == 20 + 2 * (len(TASKS) - 1)
    start = 20 + 2 * (list(TASKS).index("text-classification") - 1)
    opened, pending = flat[start: start + 2]
    assert opened is True
    assert pending["values"][:3] == [SST2, "main", "I like this playground"]
    assert pending["nonce"] != again[5 + len(GROUPS) + start + 1]["nonce"]
    others = flat[:start] + flat[start + 2:]
    assert all(isinstance(v, dict) and v.get("__type__") == "update" and len(v) == 1 for v in others)


def test_a_comparisons_runs_are_marked_and_open_or_publish_the_comparison(fake, three_runs):
    """A pane of a comparison is marked "compare ×n" in the table; its detail offers "Open the comparison"
    (``/compare?comparison=``) and "Publish the whole comparison" (a read-only ``/compare?snapshot=`` link without a
    token); a run that is no pane offers neither."""
    from playground import compare

    me = three_runs
    target = compare.PaneTarget(SST2, "hf-inference", params=(None, None, ""))
    list(compare.run_all(TASKS["text-classification"], [target, target], ("I like it",), TOKEN, None, me))
    ledger.current().flush()
    rows, ids, total, _ = history.list_page(me)
    assert total == 5 and [r[1] for r in rows[:2]] == ["text-classification · ⚖️ compare ×2"] * 2
    assert rows[2][1] == "chat-completion"
    opened, publish = history.comparison_of(me, ids[0])
    comparison_id = ledger.current().get_run(owners.owner_of(me), ids[0]).comparison_id
    assert opened.constructor_args["visible"] and opened.constructor_args["link"] == f"./compare?comparison={comparison_id}"
    assert publish.constructor_args["visible"]
    assert not history.comparison_of(me, ids[2])[0].constructor_args["visible"]
    link = history.publish_comparison(me, ids[1])
    assert link.startswith("./compare?snapshot=") and TOKEN not in link
    with pytest.raises(gr.Error, match="comparisons"):
        history.publish_comparison(me, ids[2])
