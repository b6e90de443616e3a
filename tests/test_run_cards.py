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


def test_a_reopened_run_s_provider_counts_as_chosen(fake, tmp_path):
    """A run reopened on the playground page (a run card dropped on it; ``?run=`` goes through the same outputs) sets
    the header's provider and marks it chosen in the same step, as a provider picked by hand: a token checked after
    it does not move a run made on the local backend to auto."""
    from playground import pickers
    from playground.service import LOCAL
    from playground.tasks import GROUPS

    me = owners.load(None)[1]
    task = TASKS["text-classification"]
    send("text-classification", me, provider="hf-inference", model=task.default_model, text="run here")
    card = card_of_run(me)
    card["provider"]["asked"] = LOCAL  # a run made on this machine
    path = tmp_path / "run-local.json"
    path.write_text(run_cards.dumps(card), encoding="utf-8")
    layout = [(t, None) for t in TASKS]
    out = run_cards.upload_handler(layout)(str(path))
    provider, endpoint, bill_to, picked = out[1 + len(GROUPS): 5 + len(GROUPS)]
    assert provider == LOCAL and picked is True
    pickers.token_status(TOKEN)  # a token pasted after it, checked
    assert pickers.provider_after_token(TOKEN, provider, picked) == ("", pickers.gr.skip())
    nothing = run_cards._nothing(layout)  # a file that is no run card: nothing set, nothing marked chosen
    assert len(out) == len(nothing) and nothing[4 + len(GROUPS)] == pickers.gr.skip()
