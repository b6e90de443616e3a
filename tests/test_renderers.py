"""Each renderer shows what a person expects: checked on the component's own output (what the page gets).

Outputs are built with huggingface_hub's own types, in the shapes its parsers produce; the chat display is
checked through ``handlers.run_chat`` against the fake router (reasoning, tool calls, schema check).
"""

from __future__ import annotations

import base64
import dataclasses
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub.inference._generated import types as hf
from PIL import Image, ImageChops

from playground import handlers
from playground.renderers import RENDERERS, draw_boxes, media_file, segment_layers
from playground.tasks import ASSETS, TASKS
from tests.conftest import TOKEN
from tests.fakes.answers import (SHAPE_KINDS, Events, FalVideo, Media, answer_shapes, flac_bytes, mp4_bytes,
                                 script_shape, tone, wav_bytes)
from tests.helpers import example_inputs


def _render(key: str, output, inputs=None):
    """The renderer's value, then what its component sends to the page (postprocess, with the props an
    update sets, as Gradio does)."""
    value = RENDERERS[key].render(output, inputs or {})
    return value, _postprocess(key, value)


def _postprocess(key: str, value):
    component = RENDERERS[key].component()
    if isinstance(value, dict) and value.get("__type__") == "update":
        for prop, setting in value.items():
            if prop not in ("__type__", "value"):
                setattr(component, prop, setting)
        return component.postprocess(value["value"])
    return component.postprocess(value)


def _png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _open(file_data) -> Image.Image:
    return Image.open(file_data.path if hasattr(file_data, "path") else file_data)


def test_every_renderer_has_a_test():
    tested = {name.removeprefix("test_").split("_renders")[0] for name in globals() if "_renders" in name}
    assert set(RENDERERS) <= tested, f"renderers without a rendering test: {set(RENDERERS) - tested}"


# ------------------------------------------------------------------------------------------ text and labels


def test_label_renders_scores_as_bars_best_first():
    out = hf.TextClassificationOutputElement.parse_obj_as_list([{"label": "NEG", "score": 0.2}, {"label": "POS", "score": 0.8}])
    _, shown = _render("label", out)
    assert shown.label == "POS"
    assert [(c.label, c.confidence) for c in shown.confidences] == [("POS", 0.8), ("NEG", 0.2)]


def test_similarity_renders_each_sentence_with_its_score():
    _, shown = _render("similarity", [0.9, 0.1], {"other_sentences": ["close", "far"]})
    assert [(c.label, c.confidence) for c in shown.confidences] == [("close", 0.9), ("far", 0.1)]


def test_text_renders_the_generated_text():
    value, _ = _render("text", hf.SummarizationOutput.parse_obj_as_instance({"summary_text": "Short."}))
    assert value == "Short."


def test_highlight_renders_entities_at_their_offsets():
    text = "My name is Sarah and I live in Paris"
    out = hf.TokenClassificationOutputElement.parse_obj_as_list([
        {"entity_group": "PER", "score": 0.99, "word": "Sarah", "start": 11, "end": 16},
        {"entity_group": "LOC", "score": 0.98, "word": "Paris"},  # no offsets: found in the text
    ])
    _, shown = _render("highlight", out, {"text": text})
    labelled = [(t.token, t.class_or_confidence) for t in shown.root if t.class_or_confidence]
    assert labelled == [("Sarah", "PER"), ("Paris", "LOC")]


def test_embedding_renders_shape_and_norm():
    value, _ = _render("embedding", np.array([[3.0, 4.0]]))
    assert "`(1, 2)`" in value and "L2 norm 5.0000" in value


def test_fill_mask_renders_each_candidate_as_the_sentence_it_completes():
    out = hf.FillMaskOutputElement.parse_obj_as_list([
        {"score": 0.7, "token": 1, "token_str": "paris", "sequence": "the capital of france is paris."},
        {"score": 0.1, "token": 2, "token_str": "lyon", "sequence": "the capital of france is lyon."},
    ])
    _, shown = _render("fill_mask", out)
    assert [(c.label, c.confidence) for c in shown.confidences] == [
        ("the capital of france is paris.", 0.7), ("the capital of france is lyon.", 0.1)]


def test_qa_renders_the_answer_highlighted_at_its_offsets():
    context = "My name is Wolfgang and I live in Berlin. I work as a baker."
    out = hf.QuestionAnsweringOutputElement.parse_obj_as_instance({"answer": "Berlin", "score": 0.97, "start": 34, "end": 40})
    value, shown = _render("qa", out, {"context": context})
    assert value["entities"] == [{"entity": "answer 0.97", "start": 34, "end": 40}]
    assert [(t.token, t.class_or_confidence) for t in shown.root if t.token] == [
        ("My name is Wolfgang and I live in ", None), ("Berlin", "answer 0.97"), (". I work as a baker.", None)]


def test_qa_renders_several_answers_ranked_and_finds_text_when_offsets_are_off():
    context = "Paris is in France. Lyon is too."
    out = hf.QuestionAnsweringOutputElement.parse_obj_as_list([
        {"answer": "Paris", "score": 0.8, "start": 0, "end": 5},
        {"answer": "Lyon", "score": 0.1, "start": 99, "end": 103},  # offsets past the text: found by its words
    ])
    value, _ = _render("qa", out, {"context": context})
    spans = [(context[e["start"]:e["end"]], e["entity"]) for e in value["entities"]]
    assert spans == [("Paris", "answer 0.80"), ("Lyon", "#2 0.10")]


def test_answers_renders_answers_as_bars():
    out = hf.VisualQuestionAnsweringOutputElement.parse_obj_as_list([{"answer": "red", "score": 0.9}, {"answer": "blue", "score": 0.05}])
    _, shown = _render("answers", out)
    assert shown.label == "red" and [c.label for c in shown.confidences] == ["red", "blue"]


class _Cells(HTMLParser):
    """Rows of (text, is_highlighted) cells, and the answer line."""

    def __init__(self):
        super().__init__()
        self.rows, self.answer, self._in = [], "", None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        if tag == "td":
            self._in = ("td", dict(attrs).get("class") == "used")
            self.rows[-1].append(["", self._in[1]])
        if tag == "p" and dict(attrs).get("class") == "answer":
            self._in = ("answer", False)

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in and self._in[0] == "td":
            self.rows[-1][-1][0] += data
        elif self._in and self._in[0] == "answer":
            self.answer += data


def test_table_qa_renders_the_answer_and_highlights_the_cells_used():
    table = {"Planet": ["Mercury", "Earth", "Mars"], "Moons": ["0", "1", "2"]}
    out = hf.TableQuestionAnsweringOutputElement.parse_obj_as_instance(
        {"answer": "SUM > 1, 2", "coordinates": [[1, 1], [2, 1]], "cells": ["1", "2"], "aggregator": "SUM"})
    value, _ = _render("table_qa", out, {"table": table})
    cells = _Cells()
    cells.feed(value)
    assert cells.answer == "SUM > 1, 2"
    highlighted = [(r, c) for r, row in enumerate(r for r in cells.rows if r) for c, (_, used) in enumerate(row) if used]
    assert highlighted == [(1, 1), (2, 1)]
    assert [[text for text, _ in row] for row in cells.rows if row] == [["Mercury", "0"], ["Earth", "1"], ["Mars", "2"]]
    assert "aggregation <b>SUM</b>" in value


def test_table_qa_escapes_cells():
    out = hf.TableQuestionAnsweringOutputElement.parse_obj_as_instance(
        {"answer": "<b>x</b>", "coordinates": [], "cells": [], "aggregator": "NONE"})
    value, _ = _render("table_qa", out, {"table": {"a": ["<script>"]}})
    assert "<script>" not in value and "&lt;script&gt;" in value and "&lt;b&gt;x&lt;/b&gt;" in value


def test_predictions_renders_the_table_with_a_prediction_column():
    table = {"x": ["1", "2"], "y": ["3", "4"]}
    _, shown = _render("predictions", ["5", "7"], {"table": table})
    assert shown.headers == ["x", "y", "prediction"]
    assert shown.data == [["1", "3", "5"], ["2", "4", "7"]]
    with pytest.raises(ValueError, match="1 predictions for 2 rows"):
        RENDERERS["predictions"].render(["5"], {"table": table})


# ------------------------------------------------------------------------------------------ images


def test_boxes_renders_each_box_at_its_pixel_coordinates():
    image = Image.new("RGB", (100, 80), "white")
    out = hf.ObjectDetectionOutputElement.parse_obj_as_list(
        [{"label": "cat", "score": 0.9, "box": {"xmin": 20, "ymin": 30, "xmax": 60, "ymax": 70}}])
    drawn = RENDERERS["boxes"].render(out, {"image": _png_bytes(image)})
    assert drawn.getpixel((20, 50)) != (255, 255, 255)  # left edge of the box
    assert drawn.getpixel((60, 50)) != (255, 255, 255)  # right edge
    assert drawn.getpixel((40, 70)) != (255, 255, 255)  # bottom edge
    assert drawn.getpixel((40, 50)) == (255, 255, 255)  # inside stays clear
    assert drawn.getpixel((80, 50)) == (255, 255, 255)  # outside too
    assert draw_boxes(image, out).size == image.size


def test_image_renders_the_generated_image():
    img = Image.new("RGB", (8, 8), "red")
    assert RENDERERS["image"].render(img, {}) is img


def _mask_b64(size, box) -> str:
    mask = Image.new("L", size, 0)
    mask.paste(255, box)
    return base64.b64encode(_png_bytes(mask)).decode()


def test_segments_renders_each_mask_overlaid_where_it_is_in_its_own_colour():
    image = Image.new("RGB", (60, 40), "white")
    out = hf.ImageSegmentationOutputElement.parse_obj_as_list([
        {"label": "sky", "score": None, "mask": _mask_b64((60, 40), (0, 0, 60, 20))},
        {"label": "car", "score": 0.93, "mask": _mask_b64((60, 40), (10, 25, 30, 35))},
        {"label": "car", "score": 0.91, "mask": _mask_b64((60, 40), (40, 25, 55, 35))},
    ])
    value, shown = _render("segments", out, {"image": _png_bytes(image)})
    labels = [a.label for a in shown.annotations]
    assert labels == ["sky", "car 0.93", "car 0.91"]  # scores shown; a repeated label stays distinct
    colours = value["color_map"]
    assert len(set(colours.values())) == 3  # the legend's colours, one per mask
    for annotation, box in zip(shown.annotations, [(0, 0, 60, 20), (10, 25, 30, 35), (40, 25, 55, 35)]):
        overlay = np.asarray(_open(annotation.image).convert("RGBA"))
        inside = np.zeros(overlay.shape[:2], bool)
        inside[box[1]:box[3], box[0]:box[2]] = True
        assert (overlay[..., 3][inside] == 255).all() and (overlay[..., 3][~inside] == 0).all()  # exactly the mask
        want = tuple(int(colours[annotation.label][i:i + 2], 16) for i in (1, 3, 5))
        assert tuple(overlay[inside][0][:3]) == want  # in the legend's colour


def test_segments_masks_of_another_size_are_scaled_to_the_image():
    image = Image.new("RGB", (100, 50))
    seg = hf.ImageSegmentationOutputElement.parse_obj_as_list([{"label": "a", "mask": _mask_b64((50, 25), (0, 0, 25, 25))}])
    (mask, label), = segment_layers(image, seg)[0]
    assert mask.shape == (50, 100) and mask[:, :50].min() == 1.0 and mask[:, 50:].max() == 0.0


def test_slider_renders_before_and_after_at_the_same_size():
    before = Image.new("RGB", (40, 20), (10, 20, 30))
    after = Image.new("RGB", (80, 40), (200, 100, 0))
    value, shown = _render("slider", after, {"image": _png_bytes(before)})
    left, right = (_open(f) for f in shown.root)
    assert left.size == right.size == (80, 40)
    assert left.convert("RGB").getpixel((5, 5)) == (10, 20, 30) and right.convert("RGB").getpixel((5, 5)) == (200, 100, 0)


# ------------------------------------------------------------------------------------------ audio and video


def test_audio_renders_speech_that_decodes():
    import soundfile

    samples = tone(0.5, 440.0)
    for data, suffix in ((flac_bytes(samples), ".flac"), (wav_bytes(samples), ".wav")):
        value, shown = _render("audio", data)
        assert value.endswith(suffix)
        decoded, rate = soundfile.read(shown.path)
        assert rate == 16_000 and len(decoded) == len(samples)
        assert abs(np.abs(decoded).max() - 0.4) < 0.01


def test_audio_refuses_bytes_that_are_not_audio():
    with pytest.raises(ValueError, match="not wav/flac"):
        RENDERERS["audio"].render(b"<html>oops</html>", {})


def test_audios_renders_one_player_per_output_that_decodes():
    import soundfile

    blobs = [flac_bytes(tone(0.3, 200.0)), flac_bytes(tone(0.6, 300.0))]
    out = hf.AudioToAudioOutputElement.parse_obj_as_list(
        [{"label": f"label_{i}", "content-type": "audio/flac", "blob": b} for i, b in enumerate(blobs)])
    value, _ = _render("audios", out)
    sources = re.findall(r'<audio controls[^>]*src="data:audio/flac;base64,([^"]+)"', value)
    assert len(sources) == 2 and "label_0" in value and "label_1" in value
    durations = [len(soundfile.read(io.BytesIO(base64.b64decode(s)))[0]) / 16_000 for s in sources]
    assert durations == [0.3, 0.6]


def test_video_renders_a_video_that_decodes():
    import av

    frames = [Image.new("RGB", (64, 48), (i * 20, 0, 0)) for i in range(6)]
    value, shown = _render("video", mp4_bytes(frames))
    assert value.endswith(".mp4") and Path(shown.path).is_file()
    with av.open(shown.path) as container:
        decoded = [f.to_image() for f in container.decode(video=0)]
    assert len(decoded) == 6 and decoded[0].size == (64, 48)
    with pytest.raises(ValueError, match="not mp4"):
        media_file(wav_bytes(tone(0.1)), (".mp4",))


# ------------------------------------------------------------------------------------------ chat


def _chat(fake, model: str, example: int = 0, **changes):
    task = TASKS["chat-completion"]
    values = list(task.examples[example])
    message = values[0] if isinstance(values[0], dict) else {"text": values[0], "files": []}
    inputs = dict(zip([s.name for s in task.inputs[1:]], values[1:]), **changes)
    return list(handlers.run_chat(task, TOKEN, "together", "", "", model, "main", [], message,
                                  *inputs.values(), *[None] * len(task.params), ""))


def test_chat_renders_reasoning_in_a_collapsible_block_before_the_reply(fake):
    for model in ("deepseek-ai/DeepSeek-R1", "openai/gpt-oss-20b"):  # reasoning_content and reasoning
        steps = _chat(fake, model)
        thinking = [h for h, *_ in steps[1:-1] if (h[1].get("metadata") or {}).get("status") == "pending"]
        assert thinking, "the reasoning is shown while it streams"
        history, box, status, raw = steps[-1]
        reasoning, reply = history[1], history[2]
        assert reasoning["metadata"] == {"title": "🧠 Reasoning", "status": "done"}  # collapsed once done
        assert reasoning["content"] == "The user asks for a capital. France's capital is Paris."
        assert reply == {"role": "assistant", "content": "Paris is the capital of France."}
        assert handlers.chat_messages(history) == [
            {"role": "user", "content": "What is the capital of France?"},
            {"role": "assistant", "content": "Paris is the capital of France."}]  # reasoning never sent back


def test_chat_renders_think_tags_as_a_reasoning_block():
    chatbot = RENDERERS["chat"].component()
    shown = chatbot.postprocess([{"role": "assistant", "content": "<think>Hmm, Paris.</think>Paris."}])
    assert [(m.metadata or {}).get("title") for m in shown.root] == ["Reasoning", None]
    assert shown.root[1].content[0].text == "Paris."


def test_chat_renders_tool_calls_as_json(fake):
    import json

    history, box, status, raw = _chat(fake, "meta-llama/Llama-3.1-8B-Instruct", example=3)[-1]
    call = history[-1]
    assert call["metadata"] == {"title": "🛠️ Tool call: get_weather"}  # no status: shown open
    body = json.loads(call["content"].removeprefix("```json\n").removesuffix("\n```"))
    assert body == {"id": "call_fake_1", "name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}
    assert "1 tool call" in status


def test_chat_renders_structured_replies_parsed_and_checked(fake):
    history, box, status, raw = _chat(fake, "meta-llama/Llama-3.1-8B-Instruct", example=4)[-1]
    assert history[-1]["metadata"]["title"] == "✅ Matches the schema (parsed)"
    assert '"population_millions": 2.1' in history[-1]["content"]
    strict = TASKS["chat-completion"].examples[4][3].replace('"minimum": 0', '"minimum": 5')
    history, box, status, raw = _chat(fake, "meta-llama/Llama-3.1-8B-Instruct", example=4, response_format=strict)[-1]
    assert history[-1]["metadata"]["title"] == "❌ Does not match the schema"
    assert "`population_millions`: 2.1 is less than the minimum of 5" in history[-1]["content"]
    assert "❌ Does not match the schema" in status


def test_chat_renders_the_images_of_the_question(fake):
    history, *_ = _chat(fake, "Qwen/Qwen2.5-VL-7B-Instruct", example=2)[-1]
    text, image = history[0]["content"]
    assert text.startswith("What shapes") and image == {"path": str(ASSETS / "shapes.png")}
    assert history[1]["content"] == "I see 1 image (320×240)."


# ------------------------------------------------------------------------------------------ every task, every answer shape
# Each registry task answered with the smallest answer its huggingface_hub output type allows and with the full one
# (tests/fakes/answers.py), through the real InferenceClient and the tab's handler; what the tab shows is checked.

SHAPES = answer_shapes()


def _html_text(markup: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup)).strip()


def _duration(data) -> float:
    import soundfile

    samples, rate = soundfile.read(data)
    return round(len(samples) / rate, 2)


def _seen(task, value, shown, inputs):
    """What a person sees in the tab, as plain values."""
    key = task.renderer
    if key in ("label", "similarity", "fill_mask", "answers"):
        return shown.label, [(c.label, c.confidence) for c in shown.confidences or []]
    if key in ("highlight", "qa"):
        return [(t.token, t.class_or_confidence) for t in shown.root if t.class_or_confidence]
    if key == "text":
        return value
    if key == "chat":
        return [((m.get("metadata") or {}).get("title"), m["content"]) for m in value[1:]]
    if key == "embedding":
        return re.search(r"\*\*Shape\*\* `(.*?)`.*L2 norm ([\d.]+)", value).groups()
    if key == "boxes":
        with Image.open(inputs["image"]) as before:
            return ImageChops.difference(before.convert("RGB"), _open(shown).convert("RGB")).getbbox()
    if key == "image":
        with _open(shown) as img:
            return img.size, img.convert("RGB").getpixel((0, 0))
    if key == "slider":
        left, right = (_open(f) for f in shown.root)
        return left.size, right.size, right.convert("RGB").getpixel((0, 0))
    if key == "segments":
        return [(a.label, round(float((np.asarray(_open(a.image).convert("RGBA"))[..., 3] == 255).mean()), 3))
                for a in shown.annotations]
    if key == "table_qa":
        cells = _Cells()
        cells.feed(value)
        used = [text for row in cells.rows for text, is_used in row if is_used]
        how = re.search(r"<p>cells used: .*?</p>", value)
        return cells.answer, how and _html_text(how.group(0)), used
    if key == "audio":
        return _duration(shown.path)
    if key == "audios":
        captions = re.findall(r"<figcaption>(.*?) · ", value)
        sources = re.findall(r'src="data:audio/flac;base64,([^"]+)"', value)
        return [(c, _duration(io.BytesIO(base64.b64decode(s)))) for c, s in zip(captions, sources)]
    if key == "video":
        import av

        with av.open(shown.path) as container:
            frames = [f.to_image() for f in container.decode(video=0)]
        return len(frames), frames[0].size
    if key == "predictions":
        return shown.headers, shown.data
    raise AssertionError(f"no view for renderer {key!r}: add one to _seen")


def _run_shape(fake, task_id: str, answer, kind: str):
    """Run the task's first example against ``answer`` through the tab's handler: (value, shown, status, inputs)."""
    task = TASKS[task_id]
    where = script_shape(fake, task_id, kind, answer)
    inputs = example_inputs(task)
    header = (TOKEN, where["provider"], where["endpoint_url"], "", where["model"], "main")
    params = [None] * len(task.params)
    if task.renderer == "chat":
        message = {"text": inputs["messages"][0]["content"], "files": []}
        rest = [inputs.get(spec.name) for spec in task.inputs[1:]]
        value, _, status, raw = list(handlers.run_chat(task, *header, [], message, *rest, *params, ""))[-1]
        return value, None, status, inputs
    value, status, raw = handlers.run_task(task, *header, *(inputs[spec.name] for spec in task.inputs), *params, "")
    return value, value if value is None else _postprocess(task.renderer, value), status, inputs


def test_every_task_has_a_minimal_and_a_full_answer_and_what_each_shows():
    for task_id in TASKS:
        assert set(SHAPES.get(task_id, ())) == set(SHAPE_KINDS), f"{task_id}: add its answers to answers._answer_shapes"
        assert set(SEEN.get(task_id, ())) == set(SHAPE_KINDS), f"{task_id}: add what its answers show to SEEN"


def _output_type(task_id: str):
    """The huggingface_hub type a task's answer is read as (a chat stream's chunk type); None when there is none."""
    name = "".join(word.capitalize() for word in task_id.split("-"))
    names = ("ChatCompletionStreamOutput",) if task_id == "chat-completion" else (f"{name}OutputElement", f"{name}Output")
    return next((getattr(hf, n) for n in names if hasattr(hf, n)), None)


def _objects(body) -> list[dict]:
    """The answer's top-level objects (a list's elements, at any depth)."""
    if isinstance(body, Events):
        return list(body.chunks)
    if isinstance(body, dict):
        return [body]
    if isinstance(body, list):
        return [obj for item in body for obj in _objects(item)]
    return []


@pytest.mark.parametrize("task_id", list(TASKS))
def test_minimal_answers_have_only_the_required_fields_and_full_answers_every_field(task_id):
    cls = _output_type(task_id)
    answers = SHAPES[task_id]
    if cls is None or isinstance(answers["full"], (Media, FalVideo)):
        pytest.skip("huggingface_hub reads this answer as bytes, an image, an array or numbers: no optional fields")
    fields = dataclasses.fields(cls)
    required = {f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    for shape, want in (("minimal", required), ("full", {f.name for f in fields})):
        objects = _objects(answers[shape])
        assert objects, f"{task_id} {shape}: no object to check"
        for obj in objects:
            assert {k.replace("-", "_") for k in obj} == want, f"{task_id} {shape} answer: {sorted(obj)} vs {cls.__name__}"


@pytest.mark.parametrize("kind", SHAPE_KINDS)
@pytest.mark.parametrize("task_id", list(TASKS))
def test_every_task_shows_its_minimal_and_full_answer(fake, task_id, kind):
    value, shown, status, inputs = _run_shape(fake, task_id, SHAPES[task_id][kind], kind)
    assert status.startswith("✅"), status
    assert _seen(TASKS[task_id], value, shown, inputs) == SEEN[task_id][kind]


def _table_with(task_id: str, predictions: list) -> tuple[list[str], list[list]]:
    """The example's table as the tab shows it, a prediction column last."""
    table = TASKS[task_id].examples[0][0]
    return [*table["headers"], "prediction"], [[*row, p] for row, p in zip(table["data"], predictions)]


_TOOL_CALL = '```json\n{\n  "id": "call_1",\n  "name": "get_weather",\n  "arguments": {\n    "city": "Paris"\n  }\n}\n```'
_SENTENCES = ("That is a happy dog", "That is a very happy person", "Today is a sunny day")

# What each task's tab shows for its minimal and its full answer (see _seen for how each view is read).
SEEN = {
    "chat-completion": {
        "minimal": [(None, "Hello there.")],
        "full": [("🧠 Reasoning", "A greeting."), (None, "Hello"), ("🛠️ Tool call: get_weather", _TOOL_CALL)],
    },
    "text-generation": {"minimal": " there lived a fox.", "full": " there lived a fox."},
    "text-classification": {"minimal": ("POSITIVE", [("POSITIVE", 0.9)]),
                            "full": ("POSITIVE", [("POSITIVE", 0.9999), ("NEGATIVE", 0.0001)])},
    "zero-shot-classification": {"minimal": ("urgent", [("urgent", 0.8)]),
                                 "full": ("urgent", [("urgent", 0.7), ("phone", 0.2), ("not urgent", 0.1)])},
    "token-classification": {"minimal": [("Sarah Jessica Parker", "ENT")],  # no entity group: a generic label
                             "full": [("Sarah Jessica Parker", "PER"), ("Jessica", "PER")]},
    "summarization": {"minimal": "A tall tower.", "full": "The tower is 324 metres tall, the tallest structure in Paris."},
    "translation": {"minimal": "Ich", "full": "Mein Name ist Wolfgang und ich lebe in Berlin"},
    "feature-extraction": {"minimal": ("(2,)", "1.0000"), "full": ("(1, 384)", "43.3598")},
    "sentence-similarity": {"minimal": (_SENTENCES[0], list(zip(_SENTENCES, (0.5, 0.25, 0.0)))),
                            "full": (_SENTENCES[0], list(zip(_SENTENCES, (0.9123, 0.6012, 0.1034))))},
    "image-classification": {"minimal": ("tabby cat", [("tabby cat", 0.87)]),
                             "full": ("tabby cat", [("tabby cat", 0.87), ("tiger cat", 0.1)])},
    # the part of the picture that changed: each box (pixels xmin..xmax) with its caption 12 px above it
    "object-detection": {"minimal": (100, 138, 301, 251), "full": (100, 28, 461, 251)},
    "text-to-image": {"minimal": ((1, 1), (10, 200, 30)), "full": ((64, 48), (200, 30, 30))},
    "automatic-speech-recognition": {"minimal": "hello world", "full": "hello world"},
    "fill-mask": {"minimal": ("the capital of france is paris.", [("the capital of france is paris.", 0.7)]),
                  "full": ("the capital of france is paris.", [("the capital of france is paris.", 0.7),
                                                               ("the capital of france is lyon.", 0.1)])},
    "question-answering": {"minimal": [("Berlin", "answer 0.97")], "full": [("Berlin", "answer 0.97"), ("baker", "#2 0.01")]},
    "table-question-answering": {"minimal": ("36542", "cells used: 36542", ["36542"]),
                                 "full": ("AVERAGE > 36542", "cells used: 36542 · aggregation AVERAGE", ["36542"])},
    "document-question-answering": {"minimal": ("INV-0042", [("INV-0042", 0.98)]),
                                    "full": ("INV-0042", [("INV-0042", 0.98), ("Acme Robotics Ltd", 0.01)])},
    "visual-question-answering": {"minimal": ("(no answer)", [("(no answer)", 0.91)]),
                                  "full": ("red", [("red", 0.91), ("blue", 0.05)])},
    "image-to-text": {"minimal": "a street", "full": "a red car on a street"},
    "zero-shot-image-classification": {
        "minimal": ("a city street", [("a city street", 0.9)]),
        "full": ("a city street", [("a city street", 0.9), ("a beach", 0.06), ("a forest", 0.04)])},
    # each mask's label and the share of the picture it covers (the road's half-size mask is scaled up)
    "image-segmentation": {"minimal": [("sky", 0.375)], "full": [("sky 0.99", 0.375), ("road 0.95", 0.375)]},
    "image-to-image": {"minimal": ((1, 1), (1, 1), (10, 200, 30)), "full": ((64, 48), (64, 48), (200, 30, 30))},
    "audio-classification": {"minimal": ("Speech", [("Speech", 0.83)]),
                             "full": ("Speech", [("Speech", 0.83), ("Music", 0.09)])},
    "text-to-speech": {"minimal": 0.05, "full": 0.8},
    "audio-to-audio": {"minimal": [("label_0", 0.05)], "full": [("label_0", 0.3), ("label_1", 0.6)]},
    "text-to-video": {"minimal": (1, (32, 32)), "full": (12, (64, 48))},
    "image-to-video": {"minimal": (1, (32, 32)), "full": (12, (64, 48))},
    "tabular-classification": {"minimal": _table_with("tabular-classification", ["5", "5", "7"]),
                               "full": _table_with("tabular-classification", ["5", "5", "7"])},
    "tabular-regression": {"minimal": _table_with("tabular-regression", [1.0, 2.0, 3.0]),
                           "full": _table_with("tabular-regression", [242.71, 290.16, 99.4])},
}


# Answers lacking fields their type calls required: huggingface_hub's parser sets every missing field to None
# (base.py: "all fields are made optional"), and providers do leave them out.
_CAR_BOX = {"xmin": 100, "ymin": 150, "xmax": 300, "ymax": 250}
BELOW_THE_TYPE = [
    # the real hf-inference answer (impira/layoutlm-document-qa): no score, no offsets
    ("document-question-answering", [{"answer": "$1,0000,000,00"}], ("$1,0000,000,00", [])),
    ("visual-question-answering", [{"answer": "red"}, {"answer": "blue"}], ("red · blue", [])),
    ("text-classification", [[{"label": "POSITIVE"}]], ("POSITIVE", [])),
    ("fill-mask", [{"score": 0.7, "token_str": "paris"}], ("paris", [("paris", 0.7)])),
    ("question-answering", {"answer": "Berlin"}, [("Berlin", "answer")]),  # found in the context
    ("question-answering", {"answer": "Munich", "score": 0.4},  # not in the context: shown after it
     [("Munich", "answer 0.40 (not found in the context)")]),
    ("token-classification", [{"word": "Jessica"}], [("Jessica", "ENT")]),
    ("object-detection", [{"label": "car", "box": _CAR_BOX}], (100, 138, 301, 251)),  # drawn, captioned "car"
    ("object-detection", [{"label": "car", "score": 0.9}], None),  # no box: nothing drawn
    ("table-question-answering", {"answer": "36542"}, ("36542", None, [])),
    ("image-segmentation", [{"mask": _mask_b64((480, 320), (0, 0, 480, 120))}], [("segment", 0.375)]),
    ("audio-to-audio", [{"blob": base64.b64encode(flac_bytes(tone(0.1))).decode()}], [("audio 1", 0.1)]),
]


@pytest.mark.parametrize("task_id, answer, seen", BELOW_THE_TYPE)
def test_answers_without_fields_their_type_requires_show_what_is_there(fake, task_id, answer, seen):
    value, shown, status, inputs = _run_shape(fake, task_id, answer, "partial")
    assert status.startswith("✅"), status
    assert _seen(TASKS[task_id], value, shown, inputs) == seen
