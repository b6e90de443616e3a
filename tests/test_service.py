"""The one service path: one run per registry task against the fake router, with the real InferenceClient."""

from __future__ import annotations

import base64
import io
import json
import logging

import numpy as np
import pytest
from PIL import Image

from playground import service
from playground.service import RunRequest, Target
from playground.errors import InputError
from playground.tasks import ASSETS, TASKS
from tests.conftest import TOKEN
from tests.helpers import PROVIDER_FOR, example_inputs

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
    "fill-mask": lambda out: out[0].token_str == "paris" and out[0].sequence == "The capital of France is paris.",
    "question-answering": lambda out: out.answer == "Berlin" and (out.start, out.end) == (34, 40),
    "table-question-answering": lambda out: out.cells == ["36542"] and out.coordinates == [[0, 1]] and out.aggregator == "AVERAGE",
    "document-question-answering": lambda out: out[0].answer == "INV-0042" and out[0].score > out[1].score,
    "visual-question-answering": lambda out: out[0].answer == "red" and out[0].score > out[1].score,
    "image-to-text": lambda out: out.generated_text == "a colourful drawing, 480 by 320 pixels",
    "zero-shot-image-classification": lambda out: [o.label for o in out] == ["a city street", "a beach", "a forest"],
    "image-segmentation": lambda out: {"sky", "red"} <= {o.label for o in out} and all(o.mask.size == (480, 320) for o in out),
    "image-to-image": lambda out: out.size == (480, 320) and out.convert("RGB").getpixel((5, 5)) == (120, 49, 20),  # inverted sky
    "audio-classification": lambda out: out[0].label == "Speech" and out[0].score > 0.8,
    "text-to-speech": lambda out: out[:4] == b"RIFF" and out[8:12] == b"WAVE",
    "audio-to-audio": lambda out: len(out) == 2 and out[0].blob[:4] == b"fLaC" and out[0].content_type == "audio/flac",
    "text-to-video": lambda out: out[4:8] == b"ftyp",
    "image-to-video": lambda out: out[4:8] == b"ftyp",
    "tabular-classification": lambda out: out == ["5", "5", "7"],
    "tabular-regression": lambda out: out == [round(0.6 * 30 * 11.52 * 4.02, 2), round(0.6 * 31.2 * 12.48 * 4.3059, 2),
                                              round(0.6 * 22.8 * 6.4752 * 3.3516, 2)],
}

MODEL_FOR = {"chat-completion": "meta-llama/Llama-3.1-8B-Instruct", "text-generation": "HuggingFaceTB/SmolLM2-135M-Instruct"}
# fal-ai's queue takes three router calls (submit, status, result), then the file comes from fal's CDN
ROUTER_CALLS = {"image-to-image": 3, "text-to-video": 3, "image-to-video": 3}


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
    assert len(inference) == ROUTER_CALLS.get(task_id, 1) and {e.status for e in inference} == {200}
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


# ------------------------------------------------------------------------------------------ inputs by kind


def _input(task_id: str, name: str):
    return next(spec for spec in TASKS[task_id].inputs if spec.name == name)


@pytest.mark.parametrize("value, message", [
    ({"headers": ["a", "a"], "data": [["1", "2"]]}, "two columns with the same name"),
    ({"headers": ["a", ""], "data": [["1", "2"]]}, "needs a name for every column"),
    ({"headers": ["a", "b"], "data": [["1"]]}, "rows of the wrong length"),
    ({"headers": ["a"], "data": [[""], [None]]}, "has no rows"),
    ({"a": ["1", "2"], "b": ["3"]}, "columns of different lengths"),
    ("a,b\n1,2", "is not a table"),
    (None, "is empty"),
])
def test_bad_tables_are_refused_with_the_fix(value, message):
    with pytest.raises(InputError) as info:
        service.prepare_input(_input("table-question-answering", "table"), value)
    assert message in info.value.title


def test_tables_are_sent_as_columns_of_text_without_blank_rows():
    import pandas as pd

    spec = _input("tabular-classification", "table")
    frame = pd.DataFrame({"x": [1.5, 2.0], "y": ["a", None]})
    assert service.prepare_input(spec, frame) == {"x": ["1.5", "2.0"], "y": ["a", ""]}
    editor = {"headers": ["x"], "data": [["1"], ["", ]]}  # the editor's trailing blank row is dropped
    assert service.prepare_input(spec, editor) == {"x": ["1"]}


def test_table_question_answering_sends_the_table_as_columns(fake):
    table = {"headers": ["Planet", "Moons"], "data": [["Earth", "1"], ["Mars", "2"]]}
    result = service.run(RunRequest("table-question-answering", "google/tapas-base-finetuned-wtq",
                                    {"table": table, "query": "How many moons does Mars have?"},
                                    target=Target("hf-inference", token=TOKEN)))
    assert result.ok and result.output.cells == ["2"] and result.output.coordinates == [[1, 1]]
    sent = result.exchanges[-1].request_body
    assert sent["inputs"] == {"query": "How many moons does Mars have?", "table": {"Planet": ["Earth", "Mars"], "Moons": ["1", "2"]}}


@pytest.mark.parametrize("kind, value, message", [
    ("tools", "[{oops", "not valid JSON"),
    ("tools", '{"type": "function", "function": {}}', "tool 1 has no function name"),
    ("tools", '"get_weather"', "expected a list of tools"),
    ("schema", '{"type": 12}', "not a valid JSON Schema"),
    ("schema", "[1, 2]", "expected a JSON Schema object"),
])
def test_bad_tools_and_schemas_are_refused(kind, value, message):
    spec = next(s for s in TASKS["chat-completion"].inputs if s.kind == kind)
    with pytest.raises(InputError) as info:
        service.prepare_input(spec, value)
    assert message in info.value.title


def test_a_schema_asks_for_a_strict_json_reply_and_tools_are_sent(fake):
    chat = TASKS["chat-completion"]
    tools, schema = chat.examples[3][2], chat.examples[4][3]
    result = service.run(RunRequest("chat-completion", "meta-llama/Llama-3.1-8B-Instruct",
                                    {"messages": [{"role": "user", "content": "Paris?"}], "tools": tools, "response_format": schema},
                                    target=Target("hf-inference", token=TOKEN)))
    assert result.ok, result.error
    body = result.exchanges[-1].request_body
    assert body["tools"][0]["function"]["name"] == "get_weather"
    # hf-inference takes the schema as {"type": "json_object", "value": schema} (huggingface_hub converts it)
    assert body["response_format"] == {"type": "json_object", "value": json.loads(schema)}
    assert result.inputs["response_format"]["json_schema"]["strict"] is True


def test_chat_images_are_checked_then_sent_inline(fake, tmp_path):
    fake_png = tmp_path / "photo.png"
    fake_png.write_text("<html>not an image</html>")
    message = {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                           {"type": "image_url", "image_url": {"url": str(fake_png)}}]}
    failed = service.run(RunRequest("chat-completion", "Qwen/Qwen2.5-VL-7B-Instruct", {"messages": [message]},
                                    target=Target("together", token=TOKEN)))
    assert failed.error.title == "This file is not an image" and not failed.exchanges
    message["content"][1]["image_url"]["url"] = str(ASSETS / "street.png")
    result = service.run(RunRequest("chat-completion", "Qwen/Qwen2.5-VL-7B-Instruct", {"messages": [message]},
                                    target=Target("together", token=TOKEN)))
    assert result.ok and result.output.choices[0].message.content == "I see 1 image (480×320)."
    sent = json.loads(fake.received[-1].body)["messages"][0]["content"][1]["image_url"]["url"]
    assert sent.startswith("data:image/png;base64,") and base64.b64decode(sent.split(",", 1)[1]) == (ASSETS / "street.png").read_bytes()
    shown = result.exchanges[-1].to_dict()["request"]["body"]["messages"][0]["content"][1]["image_url"]["url"]
    assert shown.startswith("<data:image/png;base64, ") and shown.endswith(" chars>")  # the raw exchange: type and size


def test_stream_gives_reasoning_and_assembles_tool_calls(fake):
    events = list(service.run_stream(RunRequest(
        "chat-completion", "deepseek-ai/DeepSeek-R1", {"messages": [{"role": "user", "content": "Capital?"}]},
        target=Target("together", token=TOKEN))))
    deltas, result = events[:-1], events[-1]
    assert deltas[0].reasoning == "The user" and deltas[0].so_far == ""
    assert deltas[-1].reasoning == "The user asks for a capital. France's capital is Paris."
    assert result.ok and result.output == "Paris is the capital of France."

    tools = TASKS["chat-completion"].examples[3][2]
    events = list(service.run_stream(RunRequest(
        "chat-completion", "meta-llama/Llama-3.1-8B-Instruct",
        {"messages": [{"role": "user", "content": "Weather in Paris?"}], "tools": tools},
        target=Target("together", token=TOKEN))))
    calls = events[-2].tool_calls
    assert calls == [{"id": "call_fake_1", "name": "get_weather", "arguments": '{"city": "Paris", "unit": "celsius"}'}]
    assert len([e for e in events[:-1] if e.tool_calls]) == 3  # the name, then the arguments in two pieces
    assert events[-1].ok and events[-1].output == ""


def test_text_to_speech_on_hf_inference_answers_flac(fake):
    import soundfile

    result = service.run(RunRequest("text-to-speech", "facebook/mms-tts-eng", {"text": "Hello"},
                                    target=Target("hf-inference", token=TOKEN)))
    assert result.ok and result.output[:4] == b"fLaC"
    samples, rate = soundfile.read(io.BytesIO(result.output))
    assert rate == 16_000 and len(samples) == int(0.8 * 16_000)
    assert result.exchanges[-1].to_dict()["response"]["body"].startswith("<")  # described, not dumped


def test_video_goes_through_fals_queue_and_its_file_is_fetched(fake):
    result = service.run(RunRequest("image-to-video", "Wan-AI/Wan2.1-I2V-14B-720P",
                                    {"image": str(ASSETS / "shapes.png"), "prompt": "spin"},
                                    target=Target("fal-ai", token=TOKEN)))
    assert result.ok, result.error
    urls = [e.url for e in result.exchanges if not e.is_hub_lookup]
    assert urls[0] == "https://router.huggingface.co/fal-ai/fal-ai/wan-i2v?_subdomain=queue"
    assert urls[1].endswith("/status?_subdomain=queue") and urls[3].startswith("https://v3.fal.media/files/")
    assert result.exchanges[-1].to_dict()["response"]["body"].endswith("video/mp4>")


def test_optional_inputs_left_empty_are_not_sent(fake):
    result = service.run(RunRequest("image-to-image", "timbrooks/instruct-pix2pix", {"image": str(ASSETS / "shapes.png"), "prompt": "  "},
                                    target=Target("hf-inference", token=TOKEN)))
    assert result.ok and "prompt" not in result.inputs
    assert fake.received[-1].body == (ASSETS / "shapes.png").read_bytes()  # the image as the body: no parameters


def test_fill_mask_without_a_mask_token_shows_the_servers_message(fake):
    result = service.run(RunRequest("fill-mask", "google-bert/bert-base-uncased", {"text": "No mask here"},
                                    target=Target("hf-inference", token=TOKEN)))
    assert result.error.status == 400 and "No mask_token ([MASK]) found on the input" in result.error.display()


# ------------------------------------------------------------------------------------------ bundles

EMBED = "sentence-transformers/all-MiniLM-L6-v2"


def _embed(text: str, **changes) -> RunRequest:
    return RunRequest("feature-extraction", EMBED, {"text": text}, target=Target("hf-inference", token=TOKEN),
                      **changes)


def test_a_bundle_sends_its_inputs_in_one_request_and_gives_each_its_own_answer_and_record(fake):
    from playground import ledger

    texts = ["one", "a second text", "the third and longest text"]
    results = service.run_bundle([_embed(t, owner="bundler", batch_id="b1", batch_row=f"{i}:0")
                                  for i, t in enumerate(texts)])
    calls = [r for r in fake.received if r.method == "POST" and "/pipeline/feature-extraction" in r.path]
    assert len(calls) == 1 and json.loads(calls[0].body)["inputs"] == texts  # one request, the list as its input
    assert all(r.ok for r in results), [r.error for r in results]
    # the real InferenceClient read the list of answers; each run has its own, shaped as a one-text call's
    assert [r.output.shape for r in results] == [(1, 384)] * 3
    assert [float(r.output[0][0]) for r in results] == [float(len(t)) for t in texts]  # (the fake: its length)
    assert [r.inputs["text"] for r in results] == texts
    assert len({r.latency_s for r in results}) == 1 and results[0].latency_s > 0  # each its share of the request
    assert all(f"bundled: input {k + 1} of 3 in one request" in " ".join(r.notes) for k, r in enumerate(results))
    assert all(r.provider_served == "hf-inference" for r in results)
    store = ledger.current()
    assert store.flush(10)
    ids = [r.run_id for r in results]
    assert len(set(ids)) == 3 and None not in ids  # three records
    rows = store.batch_rows(ledger.Owner("bundler", None), "b1")
    assert sorted(rows) == ["0:0", "1:0", "2:0"] and {r.run_id for r in rows.values()} == set(ids)
    assert rows["2:0"].output[0][0] == len(texts[2])


def test_a_bad_input_in_a_bundle_fails_alone_and_a_failed_call_fails_each(fake):
    results = service.run_bundle([_embed("fine"), _embed("   "), _embed("also fine")])
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error.kind == "input" and not results[1].exchanges  # refused before anything was sent
    calls = [r for r in fake.received if r.method == "POST" and "/pipeline/feature-extraction" in r.path]
    assert [json.loads(c.body)["inputs"] for c in calls] == [["fine", "also fine"]]

    fake.script("/pipeline/feature-extraction", [(422, {"content-type": "application/json"},
                                                  {"error": "Input validation error: batch too large"})])
    failed = service.run_bundle([_embed("a"), _embed("b")])
    assert [r.error and r.error.status for r in failed] == [422, 422]
    assert failed[0].error.title == failed[1].error.title


def test_an_answer_that_is_not_one_per_input_is_an_error_for_each(fake):
    one_answer = json.dumps([[0.5] * 384]).encode()
    fake.script("/pipeline/feature-extraction", [(200, {"content-type": "application/json"}, one_answer)])
    results = service.run_bundle([_embed("a"), _embed("b")])
    assert [r.error and r.error.kind for r in results] == ["answer_shape", "answer_shape"]
    assert "1 answers to 2 inputs" in results[0].error.title


def test_only_a_task_that_bundles_takes_a_bundle():
    with pytest.raises(ValueError, match="does not bundle"):
        service.run_bundle([RunRequest("text-classification", "m/x", {"text": "a"})] * 2)
    with pytest.raises(ValueError, match="share"):
        service.run_bundle([_embed("a"), RunRequest("feature-extraction", "other/model", {"text": "b"})])
    assert [t.id for t in TASKS.values() if t.bundles] == ["feature-extraction"]
