"""One gradio_client round trip per tab against the launched app (which talks to the fake router)."""

from __future__ import annotations

import json

import pytest

from playground.tasks import GROUPS, TASKS
from tests.conftest import TOKEN
from tests.helpers import PROVIDER_FOR, api_inputs

MODEL_FOR = {"chat-completion": "meta-llama/Llama-3.1-8B-Instruct"}

# What the API caller gets for the tabs added after the spine (the rendered value, as gradio_client gives it).
SHOWN = {
    "fill-mask": lambda r: r["label"] == "The capital of France is paris." and len(r["confidences"]) == 5,
    "question-answering": lambda r: [t["token"] for t in r if t["class_or_confidence"]] == ["Berlin"],
    "table-question-answering": lambda r: '<td class="used">36542</td>' in r and r.count('class="used"') == 1,
    "document-question-answering": lambda r: r["label"] == "INV-0042",
    "visual-question-answering": lambda r: r["label"] == "red",
    "image-to-text": lambda r: r.startswith("a colourful drawing"),
    "zero-shot-image-classification": lambda r: r["label"] == "a city street",
    "image-segmentation": lambda r: {"sky", "red"} <= {a["label"] for a in r["value"]["annotations"]},
    "image-to-image": lambda r: len(r) == 2 and all(str(p).endswith(".png") for p in r),
    "audio-classification": lambda r: r["label"] == "Speech",
    "text-to-speech": lambda r: r.endswith(".wav"),
    "audio-to-audio": lambda r: r.count("<audio controls") == 2,
    "text-to-video": lambda r: r.endswith(".mp4"),
    "image-to-video": lambda r: r.endswith(".mp4"),
    "tabular-classification": lambda r: r["headers"][-1] == "prediction" and [row[-1] for row in r["data"]] == ["5", "5", "7"],
    "tabular-regression": lambda r: r["headers"][-1] == "prediction" and len(r["data"]) == 3,
}


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
        assert message_box == {"text": "", "files": []}
    else:
        rendered, status, raw = out
        assert rendered not in (None, "", {}), status
        assert SHOWN.get(task_id, bool)(rendered), rendered
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
                                               message={"text": "keep me", "files": []}, api_name="/chat_completion")
    assert box == {"text": "keep me", "files": []}
    assert history == []
    assert "503" in status


@pytest.mark.parametrize("index", [2, 3, 4], ids=["image", "tools", "schema"])
def test_chat_extras_round_trip(client, fake, index):
    """The chat examples with an image, with tools and with a JSON schema, as an API caller sends them."""
    task = TASKS["chat-completion"]
    model = "Qwen/Qwen2.5-VL-7B-Instruct" if index == 2 else "meta-llama/Llama-3.1-8B-Instruct"
    history, box, status, raw = client.predict(token=TOKEN, provider="together", model=model,
                                               api_name="/chat_completion", **api_inputs(task, index))
    assert status.startswith("✅"), status
    shown = json.dumps(history, ensure_ascii=False)
    if index == 2:  # the image is in the conversation and reached the model, inlined
        files = [part["file"] for m in history if m["role"] == "user" for part in m["content"] if part["type"] == "file"]
        assert len(files) == 1 and str(files[0]).endswith("shapes.png")
        assert "I see 1 image (320×240)" in shown
        assert "<data:image/png;base64, " in raw and " chars>" in raw  # sent inline, shown as type and size
    if index == 3:  # the call is shown as JSON in a titled block
        call = next(m for m in history if (m.get("metadata") or {}).get("title", "").startswith("🛠️ Tool call"))
        assert '"name": "get_weather"' in call["content"][0]["text"] and '"city": "Paris"' in call["content"][0]["text"]
        assert "1 tool call" in status
    if index == 4:
        assert "Matches the schema" in status
        assert '\\"population_millions\\": 2.1' in shown



def test_unset_booleans_are_not_sent(client, fake):
    """The Parameters accordion leaves a boolean at the server's default unless the user picks one."""
    import json as _json

    _, _, raw = client.predict(token=TOKEN, provider="hf-inference", text="hello", api_name="/feature_extraction")
    assert _json.loads(raw)["exchanges"][-1]["request"]["body"] == {"inputs": "hello"}
    _, _, raw = client.predict(token=TOKEN, provider="hf-inference", text="hello", normalize="false",
                               api_name="/feature_extraction")
    assert _json.loads(raw)["exchanges"][-1]["request"]["body"] == {"inputs": "hello", "normalize": False}


def test_task_tabs_sit_in_their_group_tabs(app):
    """Two rows of tabs: one per group, in order, each holding its tasks' tabs (id = task id) in registry order."""
    import gradio as gr

    groups = [b for b in app.blocks.values() if isinstance(b, gr.Tab) and b.id in GROUPS]
    assert [g.id for g in groups] == list(GROUPS)
    for group in groups:
        (tabs,) = group.children
        assert [tab.id for tab in tabs.children] == [t.id for t in TASKS.values() if t.group == group.id]
