"""Run cards (playground/run_cards.py): a reopened run shows its result as it was (the rendered output, the status
line, the raw exchange), for every task, from its ledger record alone. Real runs through the tabs' Run handlers."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from playground import handlers, ledger, owners, run_cards
from playground.tasks import TASKS
from tests.conftest import TOKEN
from tests.helpers import PROVIDER_FOR

MODEL_FOR = {"chat-completion": "meta-llama/Llama-3.1-8B-Instruct", "text-generation": "HuggingFaceTB/SmolLM2-135M-Instruct"}


def send(task_id: str, owner_state, **values):
    handler = handlers.handler_for(TASKS[task_id])
    values = {"owner": owner_state, "token": TOKEN, **values}
    out = handler(*[values.get(n) for n in inspect.signature(handler).parameters])
    return list(out)[-1] if inspect.isgenerator(out) else out


def comparable(value):
    """A component value as plain data: images as their pixels, arrays and frames as lists."""
    if isinstance(value, Image.Image):
        return ("image", value.size, value.convert("RGB").tobytes())
    if isinstance(value, np.ndarray):
        return value.round(6).tolist()
    if isinstance(value, pd.DataFrame):
        return value.to_dict("list")
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [comparable(v) for v in value]
    return value


def card_of_run(owner_state) -> dict:
    store = ledger.current()
    assert store.flush(30)
    owner = owners.owner_of(owner_state)
    newest = store.list_runs(owner, limit=1).runs[0]
    card = run_cards.card_of(store.get_run(owner, newest.id), store, owner)
    return run_cards.loads(run_cards.dumps(card))  # as a downloaded file holds it


@pytest.mark.parametrize("task_id", [t for t in TASKS if TASKS[t].renderer != "chat"])
def test_a_reopened_run_shows_its_result_as_it_was(fake, task_id):
    task = TASKS[task_id]
    me = owners.load(None)[1]
    values = {spec.name: value for spec, value in zip(task.inputs, task.examples[0])}
    rendered, status, raw = send(task_id, me, provider=PROVIDER_FOR.get(task_id, "hf-inference"),
                                 model=MODEL_FOR.get(task_id, task.default_model), **values)
    assert status.startswith("✅"), status
    card = card_of_run(me)
    *_, output, reopened, raw_again = run_cards.tab_values(task, card)
    assert comparable(output) == comparable(rendered)
    assert reopened.startswith("↩️ **Reopened**") and reopened.endswith(status), (reopened, status)
    assert json.loads(raw_again) == json.loads(raw)


def test_a_failed_run_reopens_with_its_error_and_an_empty_result(fake):
    me = owners.load(None)[1]
    task = TASKS["text-classification"]
    _, status, raw = send("text-classification", me, provider="hf-inference", model="nobody/no-such-model", text="hi")
    assert status.startswith("❌"), status
    *_, output, reopened, raw_again = run_cards.tab_values(task, card_of_run(me))
    assert output is None and reopened.endswith(status) and "no-such-model" in reopened
    assert json.loads(raw_again)["error"] == json.loads(raw)["error"]


def test_a_reopened_chat_shows_the_question_and_its_reply(fake):
    me = owners.load(None)[1]
    task = TASKS["chat-completion"]
    history, _, status, raw = send("chat-completion", me, provider="together", model=MODEL_FOR["chat-completion"],
                                   message={"text": "What is the capital of France?", "files": []}, system="Be brief.")
    assert status.startswith("✅"), status
    values = run_cards.tab_values(task, card_of_run(me))
    message, system = values[2:4]
    conversation, reopened, raw_again = values[-3:]
    assert message == {"text": "", "files": []} and system == "Be brief."
    assert conversation == [{"role": "user", "content": "What is the capital of France?"},
                            {"role": "assistant", "content": history[-1]["content"]}]
    assert "Retry the last message" in reopened and reopened.endswith(status)
    assert json.loads(raw_again) == json.loads(raw)
    # Retry takes the question back into the box: the reopened chat runs again as it was asked
    assert handlers.take_back_last_turn(conversation) == ([], "What is the capital of France?")


def test_the_tab_downloads_the_card_of_its_last_run_and_of_no_other_browser(fake):
    """The tab's "Run card" button: the card of the run its raw exchange names, for this browser only."""
    me, stranger = owners.load(None)[1], owners.load(None)[1]
    _, status, raw = send("text-classification", me, provider="hf-inference", text="I like the card",
                          model=TASKS["text-classification"].default_model)
    assert status.startswith("✅"), status
    assert json.loads(raw)["run_id"]  # the raw exchange names the run's record
    path = run_cards.tab_card(raw, me)
    text = open(path, encoding="utf-8").read()
    card = run_cards.loads(text)
    assert card["task"] == "text-classification" and card["request"]["inputs"]["text"] == "I like the card"
    assert TOKEN not in text
    with pytest.raises(run_cards.gr.Error, match="not in this browser's history"):
        run_cards.tab_card(raw, stranger)
    with pytest.raises(run_cards.gr.Error, match="run the task first"):
        run_cards.tab_card("", me)  # no run yet
    with pytest.raises(run_cards.gr.Error, match="run the task first"):
        run_cards.tab_card(json.dumps({"exchanges": []}), me)  # a run the ledger did not record
