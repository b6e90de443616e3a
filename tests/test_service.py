"""The one service path: one run per registry task against the fake router, with the real InferenceClient."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from PIL import Image

from playground import service
from playground.service import RunRequest, Target
from playground.tasks import TASKS
from tests.conftest import TOKEN
from tests.helpers import example_inputs

# What a person should see for each task, given the fake router's true-shaped answers.
EXPECTED = {
    "chat-completion": lambda out: "Paris" in out.choices[0].message.content,
    "text-generation": lambda out: out == " there lived a fox.",
    "text-classification": lambda out: out[0].label == "POSITIVE" and out[0].score > 0.99,
    "zero-shot-classification": lambda out: [o.label for o in out][:2] == ["urgent", "not urgent"],
    "token-classification": lambda out: out[0].entity_group == "PER" and out[0].word == "Sarah Jessica Parker",
    "summarization": lambda out: "324 metres" in out.summary_text,
    "translation": lambda out: out.translation_text.startswith("Mein Name"),
    "feature-extraction": lambda out: isinstance(out, np.ndarray) and out.shape[-1] == 384,
    "sentence-similarity": lambda out: len(out) == 3 and out[0] > out[1] > out[2],
    "image-classification": lambda out: out[0].label == "tabby cat",
    "object-detection": lambda out: out[0].label == "cat" and out[0].box.xmax == 40,
    "text-to-image": lambda out: isinstance(out, Image.Image) and out.size == (64, 48),
    "automatic-speech-recognition": lambda out: out.text == "hello world",
}

PROVIDER_FOR = {"chat-completion": "together"}
MODEL_FOR = {"chat-completion": "meta-llama/Llama-3.1-8B-Instruct", "text-generation": "HuggingFaceTB/SmolLM2-135M-Instruct"}


def test_every_task_has_an_expectation():
    assert set(EXPECTED) >= set(TASKS), f"tasks without a service test: {set(TASKS) - set(EXPECTED)}"


@pytest.mark.parametrize("task_id", list(TASKS))
def test_run_each_task(fake, task_id):
    task = TASKS[task_id]
    request = RunRequest(
        task_id,
        MODEL_FOR.get(task_id, task.default_model),
        example_inputs(task),
        target=Target(PROVIDER_FOR.get(task_id, "hf-inference"), token=TOKEN),
    )
    result = service.run(request)
    assert result.ok, result.error and result.error.display()
    assert EXPECTED[task_id](result.output)
    assert result.provider_served == PROVIDER_FOR.get(task_id, "hf-inference")
    inference = [e for e in result.exchanges if "router" in e.url]
    assert len(inference) == 1 and inference[0].status == 200
    assert result.latency_s > 0


def test_stream_chat_yields_text_then_result_with_usage(fake):
    events = list(service.run_stream(RunRequest(
        "chat-completion", "meta-llama/Llama-3.1-8B-Instruct",
        {"messages": [{"role": "user", "content": "Capital of France?"}], "system": "Be brief."},
        {"max_tokens": 20}, target=Target("together", token=TOKEN),
    )))
    deltas, result = events[:-1], events[-1]
    assert [d.text for d in deltas] == ["Paris", " is", " the", " capital", " of", " France", "."]
    assert result.ok and result.output == "Paris is the capital of France."
    assert result.usage == {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}
    body = result.exchanges[-1].to_dict()["request"]["body"]
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    sse = result.exchanges[-1].to_dict()["response"]["body"]["sse_events"]
    assert sse[-1] == "[DONE]" and sse[-2]["usage"]["total_tokens"] == 19


def test_fastest_policy_is_sent_as_model_suffix_to_the_router(fake):
    result = service.run(RunRequest(
        "chat-completion", "meta-llama/Llama-3.1-8B-Instruct", {"messages": [{"role": "user", "content": "hi"}]},
        target=Target(":fastest", token=TOKEN),
    ))
    assert result.ok
    sent = result.exchanges[-1]
    assert sent.url == "https://router.huggingface.co/v1/chat/completions"
    assert sent.request_body["model"] == "meta-llama/Llama-3.1-8B-Instruct:fastest"


def test_custom_endpoint_url_is_called_directly(fake):
    url = f"{fake.url}/models/distilbert/distilbert-base-uncased-finetuned-sst-2-english"
    result = service.run(RunRequest(
        "text-classification", "any/model", {"text": "I like you"}, target=Target("custom", endpoint_url=url),
    ))
    assert result.ok, result.error
    assert [e.url for e in result.exchanges] == [url]
    assert result.provider_served == f"custom endpoint {url}"


def test_revision_is_recorded_and_shown(fake):
    sha = "714eb0fa89d2f80546fda750413ed43d93601a13"
    result = service.run(RunRequest(
        "text-classification", "distilbert/distilbert-base-uncased-finetuned-sst-2-english", {"text": "hi"},
        revision=sha, target=Target("hf-inference", token=TOKEN),
    ))
    assert result.revision == sha
    assert "distilbert-base-uncased-finetuned-sst-2-english@714eb0f" in result.status_line()


def test_token_never_appears_anywhere(fake, caplog):
    caplog.set_level(logging.DEBUG)
    ok = service.run(RunRequest("text-classification", "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
                                {"text": "hi"}, target=Target("hf-inference", token=TOKEN)))
    failed = service.run(RunRequest("text-classification", "any/model", {"text": "hi"},
                                    target=Target("custom", token=TOKEN, endpoint_url=f"{fake.url}/models/errors/status-401")))
    assert failed.error.status == 401
    streamed = list(service.run_stream(RunRequest("chat-completion", "meta-llama/Llama-3.1-8B-Instruct",
                                                  {"messages": [{"role": "user", "content": "hi"}]},
                                                  target=Target("together", token=TOKEN))))[-1]
    # the token did reach the server...
    assert any(r.headers.get("Authorization") == f"Bearer {TOKEN}" or r.headers.get("authorization") == f"Bearer {TOKEN}"
               for r in fake.received)
    # ...and appears in nothing the playground shows or logs
    for result in (ok, failed, streamed):
        assert TOKEN not in repr(result.raw())
        assert TOKEN not in result.status_line()
        assert TOKEN not in repr(result)
        auth = [e.request_headers["authorization"] for e in result.exchanges if "authorization" in e.request_headers]
        assert auth and set(auth) == {"Bearer [redacted]"}
    assert TOKEN not in failed.error.display()
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(Target("auto", token=TOKEN))
