"""One gradio_client round trip per tab against the launched app (which talks to the fake router)."""

from __future__ import annotations

import json

import pytest

from playground.tasks import TASKS
from tests.conftest import TOKEN
from tests.helpers import api_inputs

PROVIDER_FOR = {"chat-completion": "together"}
MODEL_FOR = {"chat-completion": "meta-llama/Llama-3.1-8B-Instruct"}


@pytest.mark.parametrize("task_id", list(TASKS))
def test_round_trip_per_tab(client, fake, task_id):
    task = TASKS[task_id]
    kwargs = dict(token=TOKEN, provider=PROVIDER_FOR.get(task_id, "hf-inference"), api_name=f"/{task.api_name}",
                  **api_inputs(task))
    if task_id in MODEL_FOR:
        kwargs["model"] = MODEL_FOR[task_id]
    out = client.predict(**kwargs)
    if task_id == "chat-completion":
        history, message_box, status, raw = out
        assert history[-1]["role"] == "assistant"
        assert "Paris is the capital of France." in json.dumps(history[-1]["content"])
        assert message_box == ""
    else:
        rendered, status, raw = out
        assert rendered not in (None, "", {}), status
    assert status.startswith("✅"), status
    exchanges = json.loads(raw)["exchanges"]
    assert exchanges[-1]["response"]["status"] == 200
    assert TOKEN not in raw and TOKEN not in status


def test_label_renders_as_bars_data(client, fake):
    rendered, status, raw = client.predict(token=TOKEN, provider="hf-inference", text="I like you", api_name="/text_classification")
    assert rendered["label"] == "POSITIVE"
    assert [c["label"] for c in rendered["confidences"]] == ["POSITIVE", "NEGATIVE"]


def test_error_is_shown_and_session_goes_on(client, fake):
    rendered, status, raw = client.predict(token=TOKEN, provider="hf-inference", text="   ", api_name="/text_classification")
    assert status.startswith("❌") and "Text is empty" in status
    rendered, status, raw = client.predict(token=TOKEN, provider="hf-inference", text="I like you",
                                           extra_parameters="{oops", api_name="/text_classification")
    assert "not valid JSON" in status
    rendered, status, raw = client.predict(token=TOKEN, provider="hf-inference", text="I like you", api_name="/text_classification")
    assert status.startswith("✅")


def test_chat_failure_gives_the_message_back(client, fake):
    history, box, status, raw = client.predict(token=TOKEN, provider="together", model="errors/status-503",
                                               message="keep me", api_name="/chat_completion")
    assert box == "keep me"
    assert history == []
    assert "503" in status
