"""True-shaped answers for the tasks beyond the spine's, for the fake router in ``server.py``.

Shapes follow what huggingface_hub's ``InferenceClient`` parses for each method (read in its ``_client.py``
and provider helpers): hf-inference JSON lists and raw media bytes, fal-ai's queue (submit -> status -> result
-> a file on fal's CDN), and the chat extras (images in, tool calls, structured output, reasoning deltas).
Answers are computed from the request where that is cheap (the QA answer is found in the context, masks
follow the image's colours, a video animates the given image), so tests check real behaviour.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import re
import threading
import wave
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageOps

FILE_HOSTS = ("v3.fal.media",)  # fal's CDN, where generated files are fetched from

# model id -> Hub metadata, for the tasks answered here (merged into server.MODELS)
MODELS: dict[str, dict[str, Any]] = {
    "google-bert/bert-base-uncased": {"pipeline_tag": "fill-mask"},
    "FacebookAI/roberta-base": {"pipeline_tag": "fill-mask"},
    "deepset/roberta-base-squad2": {"pipeline_tag": "question-answering"},
    "google/tapas-base-finetuned-wtq": {"pipeline_tag": "table-question-answering"},
    "impira/layoutlm-document-qa": {"pipeline_tag": "document-question-answering"},
    "dandelin/vilt-b32-finetuned-vqa": {"pipeline_tag": "visual-question-answering"},
    "Salesforce/blip-image-captioning-large": {"pipeline_tag": "image-to-text"},
    "openai/clip-vit-large-patch14": {"pipeline_tag": "zero-shot-image-classification"},
    "nvidia/segformer-b0-finetuned-ade-512-512": {"pipeline_tag": "image-segmentation"},
    "timbrooks/instruct-pix2pix": {"pipeline_tag": "image-to-image"},
    "black-forest-labs/FLUX.1-Kontext-dev": {
        "pipeline_tag": "image-to-image", "providers": {"fal-ai": "image-to-image"},
        "provider_ids": {"fal-ai": "fal-ai/flux-kontext/dev"},
    },
    "MIT/ast-finetuned-audioset-10-10-0.4593": {"pipeline_tag": "audio-classification"},
    "hexgrad/Kokoro-82M": {
        "pipeline_tag": "text-to-speech", "providers": {"fal-ai": "text-to-speech"},
        "provider_ids": {"fal-ai": "fal-ai/kokoro/american-english"},
    },
    "facebook/mms-tts-eng": {"pipeline_tag": "text-to-speech"},
    "speechbrain/sepformer-wham": {"pipeline_tag": "audio-to-audio"},
    "Wan-AI/Wan2.1-T2V-14B": {
        "pipeline_tag": "text-to-video", "providers": {"fal-ai": "text-to-video"},
        "provider_ids": {"fal-ai": "fal-ai/wan-t2v"},
    },
    "Wan-AI/Wan2.1-I2V-14B-720P": {
        "pipeline_tag": "image-to-video", "providers": {"fal-ai": "image-to-video"},
        "provider_ids": {"fal-ai": "fal-ai/wan-i2v"},
    },
    "julien-c/wine-quality": {"pipeline_tag": "tabular-classification"},
    "scikit-learn/Fish-Weight": {"pipeline_tag": "tabular-regression"},
    # chat models with extras: vision, reasoning (two field names providers use)
    "Qwen/Qwen2.5-VL-7B-Instruct": {"pipeline_tag": "image-text-to-text", "providers": {"together": "conversational"},
                                    "tags": ["image-text-to-text", "conversational"]},
    "deepseek-ai/DeepSeek-R1": {"pipeline_tag": "text-generation", "providers": {"together": "conversational"},
                                "tags": ["text-generation", "conversational"]},
    "openai/gpt-oss-20b": {"pipeline_tag": "text-generation", "providers": {"together": "conversational"},
                           "tags": ["text-generation", "conversational"]},
}

Answer = tuple[int, dict[str, str], Any]


def _json(obj: Any, status: int = 200) -> Answer:
    return status, {"content-type": "application/json"}, json.dumps(obj).encode()


def _media(value: Any) -> bytes:
    """Request media: raw bytes, base64 text, or a data URL."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    value = str(value or "")
    return base64.b64decode(value.split(",", 1)[1] if value.startswith("data:") else value)


def _image(value: Any) -> Image.Image:
    return Image.open(io.BytesIO(_media(value))).convert("RGB")


def _png(img: Image.Image, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    (img.convert(mode) if mode else img).save(buf, format="PNG")
    return buf.getvalue()


# ------------------------------------------------------------------------------------------ media


def tone(seconds: float = 1.0, freq: float = 440.0, rate: int = 16_000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.4 * np.sin(2 * np.pi * freq * t)).astype("float32")


def wav_bytes(samples: np.ndarray, rate: int = 16_000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def flac_bytes(samples: np.ndarray, rate: int = 16_000) -> bytes:
    import soundfile  # test dependency: hf-inference answers audio as FLAC

    buf = io.BytesIO()
    soundfile.write(buf, samples, rate, format="FLAC")
    return buf.getvalue()


def _read_audio(data: bytes) -> tuple[np.ndarray, int]:
    import soundfile

    samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=False)
    return (samples if samples.ndim == 1 else samples.mean(axis=1)), rate


def mp4_bytes(frames: list[Image.Image], fps: int = 12) -> bytes:
    """An H.264 MP4 (what video providers return), made with PyAV."""
    import av  # test dependency

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames[0].size
        stream.pix_fmt = "yuv420p"
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_image(img)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def _video_from(image: Image.Image | None, n: int = 12) -> bytes:
    """A one-second clip: the given image slowly zooming in, or a ball crossing a sky."""
    if image is not None:
        base = image.convert("RGB").resize((160, 120))
        frames = []
        for i in range(n):
            k = 1 + 0.02 * i
            w, h = int(160 / k) // 2 * 2, int(120 / k) // 2 * 2
            frames.append(base.crop(((160 - w) // 2, (120 - h) // 2, (160 + w) // 2, (120 + h) // 2)).resize((160, 120)))
        return mp4_bytes(frames)
    frames = []
    for i in range(n):
        img = Image.new("RGB", (160, 120), (135, 206, 235))
        x = 10 + i * 12
        img.paste((230, 57, 70), (x, 50, x + 20, 70))
        frames.append(img)
    return mp4_bytes(frames)


# ------------------------------------------------------------------------------------------ hf-inference


_COLOURS = {"red": (230, 57, 70), "green": (42, 157, 143), "blue": (69, 123, 157), "sky": (135, 206, 235),
            "road": (85, 85, 85), "white": (255, 255, 255), "yellow": (255, 215, 0), "brown": (181, 101, 29),
            "grey": (139, 139, 131), "black": (17, 17, 17), "background": (244, 241, 232)}


def segments(image: Image.Image, max_segments: int = 6) -> list[dict[str, Any]]:
    """Semantic segmentation by colour: one mask (PNG, 0/255) per dominant colour, named after the nearest
    named colour. A flat drawing keeps its exact colours; a photo is quantised first."""
    rgb = image.convert("RGB")
    if rgb.getcolors(maxcolors=64) is None:
        rgb = rgb.quantize(colors=8).convert("RGB")
    pixels = np.asarray(rgb).reshape(-1, 3)
    colours, index = np.unique(pixels, axis=0, return_inverse=True)
    index = index.reshape(rgb.height, rgb.width)
    by_area = sorted(range(len(colours)), key=lambda i: -int((index == i).sum()))[:max_segments]
    out, seen = [], set()
    for i in by_area:
        if (index == i).mean() < 0.005:
            continue
        name = min(_COLOURS, key=lambda c: float(((np.array(_COLOURS[c]) - colours[i]) ** 2).sum()))
        label = name if name not in seen else f"{name} {len(seen)}"
        seen.add(label)
        mask = Image.fromarray(((index == i) * 255).astype("uint8"), mode="L")
        out.append({"score": None, "label": label, "mask": base64.b64encode(_png(mask)).decode()})
    return out


def _first_sentence_last_word(context: str) -> tuple[str, int, int]:
    sentence = re.split(r"(?<=[.!?])\s", context.strip(), maxsplit=1)[0]
    words = list(re.finditer(r"[\w$,'-]+", sentence))
    word = words[-1] if words else None
    if word is None:
        return "", 0, 0
    text = word.group(0).rstrip(",")
    return text, word.start(), word.start() + len(text)


def _table_answer(table: dict[str, list[str]], query: str) -> dict[str, Any]:
    """TAPAS-like: the cell in the row named in the question and the column it mentions."""
    headers = list(table)
    rows = list(zip(*table.values()))
    q = query.lower()
    row = next((r for r, cells in enumerate(rows) if cells[0].lower() in q), 0)
    words = set(re.findall(r"\w+", q))
    col = next((c for c, h in enumerate(headers[1:], 1) if set(re.findall(r"\w+", h.lower())) & words), 1 if len(headers) > 1 else 0)
    cell = rows[row][col]
    return {"answer": f"AVERAGE > {cell}", "coordinates": [[row, col]], "cells": [cell], "aggregator": "AVERAGE"}


def task_answer(task: str, body: Any) -> Answer | None:
    """The hf-inference answer for the tasks added after the spine; None for a task not handled here."""
    body = body if isinstance(body, dict) else {"inputs": body}
    inputs, params = body.get("inputs"), body.get("parameters") or {}
    if task == "fill-mask":
        text = str(inputs or "")
        mask = next((m for m in ("[MASK]", "<mask>") if m in text), None)
        if mask is None:
            return _json({"error": "No mask_token ([MASK]) found on the input"}, 400)
        words = ["paris", "lyon", "lille", "marseille", "toulouse"][: int(params.get("top_k") or 5)]
        return _json([{"score": round(0.9 / (i + 1) ** 2, 4), "token": 3000 + i, "token_str": w,
                       "sequence": text.replace(mask, w, 1)} for i, w in enumerate(words)])
    if task == "question-answering":
        answer, start, end = _first_sentence_last_word(inputs["context"])
        first = {"answer": answer, "score": 0.9734, "start": start, "end": end}
        if int(params.get("top_k") or 1) > 1:
            words = [m for m in re.finditer(r"[A-Z][\w-]+", inputs["context"]) if m.group(0) != answer]
            extra = [{"answer": m.group(0), "score": 0.01, "start": m.start(), "end": m.end()} for m in words[:1]]
            return _json([first, *extra])
        return _json(first)
    if task == "table-question-answering":
        return _json(_table_answer(inputs["table"], inputs["query"]))
    if task == "document-question-answering":
        q = inputs["question"].lower()
        answer = "INV-0042" if "number" in q else "$1,234.50" if "total" in q else "2024-03-15" if "date" in q else "Acme Robotics Ltd"
        _image(inputs["image"])  # a real model fails on a non-image
        return _json([{"answer": answer, "score": 0.9821, "start": 4, "end": 4},
                      {"answer": "Acme Robotics Ltd", "score": 0.0103, "start": 8, "end": 10}])
    if task == "visual-question-answering":
        _image(inputs)
        q = str(body.get("question") or "").lower()
        answers = (["red", "blue", "black"] if "colo" in q else ["3", "2", "4"] if "how many" in q else ["yes", "no", "maybe"])
        return _json([{"score": s, "answer": a} for a, s in zip(answers, (0.9113, 0.0521, 0.0104))])
    if task == "image-to-text":
        img = _image(inputs)
        return _json([{"generated_text": f"a colourful drawing, {img.width} by {img.height} pixels"}])
    if task == "zero-shot-image-classification":
        _image(inputs)
        labels = params.get("candidate_labels") or []
        return _json([{"label": label, "score": round(0.8 / (i + 1) ** 2, 4)} for i, label in enumerate(labels)])
    if task == "image-segmentation":
        return _json(segments(_image(inputs)))
    if task == "image-to-image":
        return 200, {"content-type": "image/png"}, _png(ImageOps.invert(_image(inputs)))
    if task == "audio-classification":
        _media(inputs)
        return _json([{"label": "Speech", "score": 0.8312}, {"label": "Music", "score": 0.0917},
                      {"label": "Bell", "score": 0.0402}])
    if task == "text-to-speech":
        return 200, {"content-type": "audio/flac"}, flac_bytes(tone(0.8, 330.0))
    if task == "audio-to-audio":
        speech, rate = _read_audio(_media(inputs))
        outputs = [speech, 0.2 * tone(len(speech) / rate, 220.0, rate)[: len(speech)]]
        return _json([{"label": f"label_{i}", "content-type": "audio/flac", "blob": base64.b64encode(flac_bytes(s, rate)).decode()}
                      for i, s in enumerate(outputs)])
    if task == "tabular-classification":
        table = body["table"]
        return _json(["7" if float(a) > 11 else "5" for a in table["alcohol"]])
    if task == "tabular-regression":
        table = body["table"]
        return _json([round(0.6 * float(l3) * float(h) * float(w), 2)
                      for l3, h, w in zip(table["Length3"], table["Height"], table["Width"])])
    return None


# ------------------------------------------------------------------------------------------ fal-ai

_JOBS: dict[str, tuple[str, dict[str, Any]]] = {}  # request id -> (provider model id, result)
_FILES: dict[str, tuple[str, bytes]] = {}  # CDN path -> (content type, bytes)
_LOCK = threading.Lock()
_IDS = itertools.count(1)


def _fal_task(provider_id: str) -> str | None:
    for meta in MODELS.values():
        if (meta.get("provider_ids") or {}).get("fal-ai") == provider_id:
            return meta["providers"]["fal-ai"]
    return None


def _store(job: str, name: str, content_type: str, data: bytes) -> dict[str, Any]:
    path = f"/files/{job}/{name}"
    with _LOCK:
        _FILES[path] = (content_type, data)
    return {"url": f"https://{FILE_HOSTS[0]}{path}", "content_type": content_type, "file_name": name, "file_size": len(data)}


def _fal_result(task: str, job: str, body: dict[str, Any]) -> dict[str, Any]:
    if task == "text-to-video":
        return {"video": _store(job, "output.mp4", "video/mp4", _video_from(None)), "seed": body.get("seed", 42)}
    if task == "image-to-video":
        return {"video": _store(job, "output.mp4", "video/mp4", _video_from(_image(body["image_url"])))}
    if task == "image-to-image":
        out = ImageOps.invert(_image(body["image_url"]))
        return {"images": [{**_store(job, "output.png", "image/png", _png(out)), "width": out.width, "height": out.height}],
                "prompt": body.get("prompt", "")}
    if task == "text-to-speech":
        return {"audio": _store(job, "speech.wav", "audio/wav", wav_bytes(tone(0.8, 330.0)))}
    raise ValueError(task)


def fal_answer(method: str, path: str, query: str, body: Any) -> Answer:
    """fal-ai through the router: ``/fal-ai/<provider model id>`` (sync, or ``?_subdomain=queue``), then the
    queue's ``.../requests/<id>/status`` and ``.../requests/<id>``."""
    route = path.removeprefix("/fal-ai/")
    m = re.fullmatch(r"(.+)/requests/([\w-]+)(/status)?", route)
    if method == "GET" and m:
        provider_id, job, status = m.groups()
        with _LOCK:
            known = _JOBS.get(job)
        if known is None:
            return _json({"detail": "Request not found"}, 404)
        if status:
            return _json({"status": "COMPLETED", "request_id": job, "response_url": f"https://queue.fal.run/{provider_id}/requests/{job}",
                          "logs": None, "metrics": {"inference_time": 1.2}})
        return _json(known[1])
    task = _fal_task(route)
    if method != "POST" or task is None or not isinstance(body, dict):
        return _json({"detail": f"Application '{route}' not found"}, 404)
    job = f"req-{next(_IDS):04d}"
    result = _fal_result(task, job, body)
    if "_subdomain=queue" not in query:
        return _json(result)
    with _LOCK:
        _JOBS[job] = (route, result)
    base = f"https://queue.fal.run/{route}/requests/{job}"
    return _json({"status": "IN_QUEUE", "request_id": job, "response_url": base, "status_url": f"{base}/status",
                  "cancel_url": f"{base}/cancel", "queue_position": 0})


def file_answer(path: str) -> Answer:
    with _LOCK:
        found = _FILES.get(path)
    if found is None:
        return 404, {"content-type": "text/plain"}, b"Not found"
    return 200, {"content-type": found[0]}, found[1]


# ------------------------------------------------------------------------------------------ chat extras


def example_value(name: str, schema: dict[str, Any]) -> Any:
    """A value matching a JSON Schema, as a model following it would write."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        return {k: example_value(k, v) for k, v in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [example_value(name, schema.get("items") or {"type": "string"})]
    if kind == "number":
        return 2.1
    if kind == "integer":
        return 2
    if kind == "boolean":
        return True
    return {"city": "Paris", "country": "France", "location": "Paris", "unit": "celsius"}.get(name, "Paris")


def _images_in(messages: list[dict[str, Any]]) -> list[Image.Image]:
    last = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    content = last.get("content")
    parts = content if isinstance(content, list) else []
    return [_image(p["image_url"]["url"]) for p in parts if isinstance(p, dict) and p.get("type") == "image_url"]


def chat_turn(body: dict[str, Any], model: str) -> dict[str, Any]:
    """What the model says: ``content`` pieces, ``reasoning`` pieces (and the field carrying them),
    ``tool_calls`` and ``finish_reason``."""
    turn: dict[str, Any] = {"content": None, "reasoning": [], "reasoning_field": "reasoning_content",
                            "tool_calls": [], "finish_reason": "stop"}
    if "DeepSeek-R1" in model or "gpt-oss" in model:
        turn["reasoning_field"] = "reasoning" if "gpt-oss" in model else "reasoning_content"
        turn["reasoning"] = ["The user", " asks for", " a capital.", " France's capital", " is Paris."]
    tools = body.get("tools") or []
    fmt = body.get("response_format") or {}
    if tools and body.get("tool_choice") != "none":
        fn = tools[0]["function"]
        args = example_value("", {"type": "object", **(fn.get("parameters") or {})})
        turn["tool_calls"] = [{"id": "call_fake_1", "name": fn["name"], "arguments": json.dumps(args)}]
        turn["finish_reason"], turn["content"] = "tool_calls", []
    elif fmt.get("type") in ("json_schema", "json_object"):
        # OpenAI nests the schema in json_schema; together flattens it to "schema"; hf-inference sends "value"
        schema = ((fmt.get("json_schema") or {}).get("schema") or fmt.get("schema") or fmt.get("value")
                  or {"type": "object", "properties": {}})
        text = json.dumps(example_value("", schema))
        turn["content"] = [text[i: i + 12] for i in range(0, len(text), 12)]
    elif images := _images_in(body.get("messages") or []):
        sizes = ", ".join(f"{img.width}×{img.height}" for img in images)
        turn["content"] = ["I see ", f"{len(images)} image{'s' if len(images) > 1 else ''}", f" ({sizes})", "."]
    return turn


# ------------------------------------------------------------------------------------------ answer shapes
# Every registry task answered twice: with the smallest answer its huggingface_hub output type allows (only the
# fields the type requires) and with the full one (every field the type has). Answers are as the wire carries them
# (hf-inference JSON or media bytes; fal-ai's queue for the video tasks, which only fal serves; chat as SSE).
# tests/test_renderers.py runs each through the real InferenceClient and checks what the tab shows.

SHAPE_KINDS = ("minimal", "full")


@dataclass(frozen=True)
class Media:
    """A media answer: the body's bytes and their content type."""

    content_type: str
    data: bytes


@dataclass(frozen=True)
class Events:
    """A streamed (SSE) answer: one ``data:`` line per chunk, then ``[DONE]``."""

    chunks: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class FalVideo:
    """fal-ai's queue result (its ``video`` names the file on fal's CDN) and the video file."""

    result: dict[str, Any]
    data: bytes


def _b64_mask(size: tuple[int, int], box: tuple[int, int, int, int]) -> str:
    mask = Image.new("L", size, 0)
    mask.paste(255, box)
    return base64.b64encode(_png(mask)).decode()


def _chunk(delta: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A chat stream chunk with only the fields ChatCompletionStreamOutput requires, plus ``extra``."""
    choice = {"index": 0, "delta": {"role": "assistant", **delta}, **extra.pop("choice", {})}
    return {"id": "chatcmpl-shape", "created": 1, "model": "shape", "system_fingerprint": "fp_shape",
            "choices": [choice], **extra}


_LOGPROBS = {"content": [{"logprob": -0.01, "token": "Hello", "top_logprobs": [{"logprob": -0.01, "token": "Hello"}]}]}
_TOKEN = {"id": 1, "logprob": -0.1, "special": False, "text": " there"}
_SKY, _ROAD = (0, 0, 480, 120), (0, 200, 480, 320)  # in street.png (480×320)


def answer_shapes() -> dict[str, dict[str, Any]]:
    """task id -> {"minimal": answer, "full": answer} (media made once, on first use)."""
    if not _SHAPES:
        _SHAPES.update(_answer_shapes())
    return _SHAPES


_SHAPES: dict[str, dict[str, Any]] = {}


def _answer_shapes() -> dict[str, dict[str, Any]]:
    one_by_one = Image.new("RGB", (1, 1), (10, 200, 30))
    red = Image.new("RGB", (64, 48), (200, 30, 30))
    flac = lambda seconds: Media("audio/flac", flac_bytes(tone(seconds, 330.0)))  # noqa: E731
    one_frame = [Image.new("RGB", (32, 32), (230, 57, 70))]
    twelve_frames = [Image.new("RGB", (64, 48), (i * 20, 0, 0)) for i in range(12)]
    return {
        # content is optional in a chunk's delta, but a reply without any is no reply: the smallest reply has it
        "chat-completion": {
            "minimal": Events((_chunk({"content": "Hello"}), _chunk({"content": " there."}))),
            "full": Events((
                _chunk({"content": None, "reasoning": "A greeting.", "tool_call_id": None, "tool_calls": None},
                       choice={"finish_reason": None, "logprobs": None}, usage=None),
                _chunk({"content": "Hello", "reasoning": None, "tool_call_id": None, "tool_calls": None},
                       choice={"finish_reason": None, "logprobs": _LOGPROBS}, usage=None),
                _chunk({"content": None, "reasoning": None, "tool_call_id": None, "tool_calls": [
                    {"index": 0, "id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
                       choice={"finish_reason": "tool_calls", "logprobs": None},
                       usage={"completion_tokens": 3, "prompt_tokens": 5, "total_tokens": 8}),
            )),
        },
        "text-generation": {
            "minimal": [{"generated_text": " there lived a fox."}],
            "full": [{"generated_text": " there lived a fox.", "details": {
                "finish_reason": "length", "generated_tokens": 1, "prefill": [], "tokens": [_TOKEN], "seed": 42,
                "best_of_sequences": [], "top_tokens": [[_TOKEN]]}}],
        },
        "text-classification": {
            "minimal": [[{"label": "POSITIVE", "score": 0.9}]],
            "full": [[{"label": "POSITIVE", "score": 0.9999}, {"label": "NEGATIVE", "score": 0.0001}]],
        },
        "zero-shot-classification": {
            "minimal": [{"label": "urgent", "score": 0.8}],
            "full": [{"label": "urgent", "score": 0.7}, {"label": "phone", "score": 0.2}, {"label": "not urgent", "score": 0.1}],
        },
        "token-classification": {  # the example: "My name is Sarah Jessica Parker but you can call me Jessica"
            "minimal": [{"word": "Sarah Jessica Parker", "score": 0.99, "start": 11, "end": 31}],
            "full": [{"word": "Sarah Jessica Parker", "score": 0.99, "start": 11, "end": 31, "entity": "B-PER",
                      "entity_group": "PER"},
                     {"word": "Jessica", "score": 0.98, "start": 52, "end": 59, "entity": "B-PER", "entity_group": "PER"}],
        },
        "summarization": {
            "minimal": [{"summary_text": "A tall tower."}],
            "full": [{"summary_text": "The tower is 324 metres tall, the tallest structure in Paris."}],
        },
        "translation": {
            "minimal": [{"translation_text": "Ich"}],
            "full": [{"translation_text": "Mein Name ist Wolfgang und ich lebe in Berlin"}],
        },
        "feature-extraction": {"minimal": [0.6, 0.8], "full": [[round(0.01 * i, 4) for i in range(384)]]},
        "sentence-similarity": {"minimal": [0.5, 0.25, 0.0], "full": [0.9123, 0.6012, 0.1034]},  # one per sentence
        "image-classification": {
            "minimal": [{"label": "tabby cat", "score": 0.87}],
            "full": [{"label": "tabby cat", "score": 0.87}, {"label": "tiger cat", "score": 0.1}],
        },
        "object-detection": {
            "minimal": [{"label": "car", "score": 0.98, "box": {"xmin": 100, "ymin": 150, "xmax": 300, "ymax": 250}}],
            "full": [{"label": "car", "score": 0.98, "box": {"xmin": 100, "ymin": 150, "xmax": 300, "ymax": 250}},
                     {"label": "sign", "score": 0.61, "box": {"xmin": 380, "ymin": 40, "xmax": 460, "ymax": 90}}],
        },
        "text-to-image": {"minimal": Media("image/png", _png(one_by_one)), "full": Media("image/png", _png(red))},
        "automatic-speech-recognition": {
            "minimal": {"text": "hello world"},
            "full": {"text": "hello world", "chunks": [{"text": "hello", "timestamp": [0.0, 0.4]},
                                                       {"text": " world", "timestamp": [0.4, 0.9]}]},
        },
        "fill-mask": {  # the example: "The capital of France is [MASK]."
            "minimal": [{"score": 0.7, "sequence": "the capital of france is paris.", "token": 3000, "token_str": "paris"}],
            "full": [{"score": 0.7, "sequence": "the capital of france is paris.", "token": 3000, "token_str": "paris",
                      "fill_mask_output_token_str": "paris"},
                     {"score": 0.1, "sequence": "the capital of france is lyon.", "token": 3001, "token_str": "lyon",
                      "fill_mask_output_token_str": "lyon"}],
        },
        "question-answering": {  # the example's context: "My name is Wolfgang and I live in Berlin. I work as a baker."
            "minimal": {"answer": "Berlin", "score": 0.97, "start": 34, "end": 40},
            "full": [{"answer": "Berlin", "score": 0.97, "start": 34, "end": 40},
                     {"answer": "baker", "score": 0.01, "start": 54, "end": 59}],
        },
        "table-question-answering": {  # the example: the repositories table, "How many stars…transformers…?"
            "minimal": {"answer": "36542", "cells": ["36542"], "coordinates": [[0, 1]]},
            "full": {"answer": "AVERAGE > 36542", "cells": ["36542"], "coordinates": [[0, 1]], "aggregator": "AVERAGE"},
        },
        "document-question-answering": {
            "minimal": [{"answer": "INV-0042", "score": 0.98, "start": 4, "end": 4}],
            "full": [{"answer": "INV-0042", "score": 0.98, "start": 4, "end": 4},
                     {"answer": "Acme Robotics Ltd", "score": 0.01, "start": 8, "end": 10}],
        },
        "visual-question-answering": {"minimal": [{"score": 0.91}],  # the answer itself is optional in the type
                                      "full": [{"score": 0.91, "answer": "red"}, {"score": 0.05, "answer": "blue"}]},
        "image-to-text": {
            "minimal": [{"generated_text": "a street"}],
            "full": [{"generated_text": "a red car on a street", "image_to_text_output_generated_text": "a red car on a street"}],
        },
        "zero-shot-image-classification": {
            "minimal": [{"label": "a city street", "score": 0.9}],
            "full": [{"label": "a city street", "score": 0.9}, {"label": "a beach", "score": 0.06}, {"label": "a forest", "score": 0.04}],
        },
        "image-segmentation": {
            "minimal": [{"label": "sky", "mask": _b64_mask((480, 320), _SKY)}],
            "full": [{"label": "sky", "mask": _b64_mask((480, 320), _SKY), "score": 0.99},
                     {"label": "road", "mask": _b64_mask((240, 160), tuple(v // 2 for v in _ROAD)), "score": 0.95}],
        },
        "image-to-image": {"minimal": Media("image/png", _png(one_by_one)), "full": Media("image/png", _png(red))},
        "audio-classification": {
            "minimal": [{"label": "Speech", "score": 0.83}],
            "full": [{"label": "Speech", "score": 0.83}, {"label": "Music", "score": 0.09}],
        },
        "text-to-speech": {"minimal": flac(0.05), "full": flac(0.8)},
        "audio-to-audio": {
            "minimal": [{"label": "label_0", "content-type": "audio/flac", "blob": base64.b64encode(flac(0.05).data).decode()}],
            "full": [{"label": f"label_{i}", "content-type": "audio/flac", "blob": base64.b64encode(flac(s).data).decode()}
                     for i, s in enumerate((0.3, 0.6))],
        },
        "text-to-video": {
            "minimal": FalVideo({"video": {"url": ""}}, mp4_bytes(one_frame)),
            "full": FalVideo({"video": {"url": "", "content_type": "video/mp4", "file_name": "output.mp4", "file_size": 0},
                              "seed": 42}, mp4_bytes(twelve_frames)),
        },
        "image-to-video": {
            "minimal": FalVideo({"video": {"url": ""}}, mp4_bytes(one_frame)),
            "full": FalVideo({"video": {"url": "", "content_type": "video/mp4", "file_name": "output.mp4", "file_size": 0}},
                             mp4_bytes(twelve_frames)),
        },
        "tabular-classification": {"minimal": ["5", "5", "7"], "full": ["5", "5", "7"]},  # one per row: no optional part
        "tabular-regression": {"minimal": [1.0, 2.0, 3.0], "full": [242.71, 290.16, 99.4]},
    }


_FAL_VIDEO_MODELS = {"text-to-video": "Wan-AI/Wan2.1-T2V-14B", "image-to-video": "Wan-AI/Wan2.1-I2V-14B-720P"}


def script_shape(fake: Any, task_id: str, kind: str, answer: Any) -> dict[str, str]:
    """Queue ``answer`` on the fake server; returns where the run goes (provider, endpoint_url, model). Every task
    goes to its own custom endpoint, except the video tasks: only fal-ai serves them (submit, result, then the file)."""
    tag = f"shape-{task_id}-{kind}"
    if isinstance(answer, FalVideo):
        provider_id = MODELS[_FAL_VIDEO_MODELS[task_id]]["provider_ids"]["fal-ai"]
        url = f"https://{FILE_HOSTS[0]}/files/{tag}.mp4"
        video = {**answer.result["video"], "url": url}
        if "file_size" in video:
            video["file_size"] = len(answer.data)
        fake.script(f"{provider_id}?_subdomain=queue", [_json({
            "request_id": tag, "status": "COMPLETED", "response_url": f"https://queue.fal.run/{provider_id}/requests/{tag}"})])
        fake.script(f"/requests/{tag}", [_json({**answer.result, "video": video})])
        fake.script(f"/files/{tag}.mp4", [(200, {"content-type": "video/mp4"}, answer.data)])
        return {"provider": "fal-ai", "endpoint_url": "", "model": _FAL_VIDEO_MODELS[task_id]}
    if isinstance(answer, Events):
        lines = [f"data: {json.dumps(chunk)}\n\n".encode() for chunk in answer.chunks] + [b"data: [DONE]\n\n"]
        wire: Answer = (200, {"content-type": "text/event-stream"}, lines)
    elif isinstance(answer, Media):
        wire = (200, {"content-type": answer.content_type}, answer.data)
    else:
        wire = _json(answer)
    fake.script(f"/{tag}", [wire])
    return {"provider": "custom", "endpoint_url": f"{fake.url}/{tag}", "model": "owner/shape-test"}



# ------------------------------------------------------------------------------------------ Hub datasets
# Dataset repos for the Batch page's "From the Hub" (``server.py`` answers their tree listing and their
# ``resolve`` downloads, HEAD and GET). Each layout the Hub uses, with small text-classification data:
#   playground-tests/reviews    public: ``train.csv`` at the root, ``data/test-00000-of-00001.parquet``
#   playground-tests/multi      configs in folders: ``en/train-0000{0,1}-of-00002.parquet`` (two shards),
#                               ``fr/train-00000-of-00001.parquet``, ``en/validation/part-0.jsonl``
#   playground-tests/scripted   main holds only a loading script and a tarball; the Hub's Parquet conversion
#                               (``refs/convert/parquet``) holds ``default/train/0000.parquet``, ``default/test/…``
#   playground-tests/carded     its card's ``configs:`` say where the data is (``CARDED``): config ``reviews``
#                               (the default: ``reviews/part-*.csv`` for train, a list with ``holdout/reviews.jsonl``
#                               for test) and ``short`` (one pattern, ``short/**/*.parquet``: train); a ``train.csv``
#                               at the root that the file-name rules would read, and the card does not name
#   acme-corp/private-tickets   private: 401 RepoNotFound without a token (404 with one it does not know)
#   acme-corp/gated-reviews     gated (manual): 401 GatedRepo without a token, 403 with an ``hf_nogate`` token

PARQUET_REVISION = "refs/convert/parquet"
REVIEWS = [("I loved this film, the acting was superb.", "POSITIVE"), ("The plot made no sense at all.", "NEGATIVE"),
           ("A delightful surprise from start to end.", "POSITIVE"), ("Two hours I will never get back.", "NEGATIVE")]


def _csv(rows: list[tuple[str, str]]) -> bytes:
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["text", "label"])
    writer.writerows(rows)
    return out.getvalue().encode()


def _parquet(rows: list[tuple[str, str]]) -> bytes:
    import pandas as pd

    out = io.BytesIO()
    pd.DataFrame(rows, columns=["text", "label"]).to_parquet(out, index=False)
    return out.getvalue()


def _jsonl(rows: list[tuple[str, str]]) -> bytes:
    return "".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in rows).encode()


def _card(name: str, more: str = "") -> bytes:
    return f"---\nlicense: mit\ntask_categories:\n- text-classification\n{more}---\n# {name}\n".encode()


CARDED = """configs:
- config_name: short
  data_files: "short/**/*.parquet"
- config_name: reviews
  default: true
  data_files:
  - split: train
    path: "reviews/part-*.csv"
  - split: test
    path:
    - holdout/reviews.jsonl
"""


DATASETS: dict[str, dict[str, Any]] = {
    "playground-tests/reviews": {"files": {
        "README.md": _card("reviews"), ".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n",
        "train.csv": _csv(REVIEWS), "data/test-00000-of-00001.parquet": _parquet(REVIEWS[:2]),
    }},
    "playground-tests/multi": {"files": {
        "README.md": _card("multi"),
        "en/train-00000-of-00002.parquet": _parquet(REVIEWS[:2]), "en/train-00001-of-00002.parquet": _parquet(REVIEWS[2:]),
        "fr/train-00000-of-00001.parquet": _parquet([("Un film magnifique.", "POSITIVE")]),
        "en/validation/part-0.jsonl": _jsonl(REVIEWS[1:3]),
    }},
    "playground-tests/scripted": {
        "files": {"README.md": _card("scripted"), "scripted.py": b"import datasets\n", "data/all.tar.gz": b"\x1f\x8b" + b"\0" * 30},
        "converted": {"default/train/0000.parquet": _parquet(REVIEWS[:3]), "default/train/0001.parquet": _parquet(REVIEWS[3:]),
                      "default/test/0000.parquet": _parquet(REVIEWS[:1])},
    },
    "playground-tests/carded": {"files": {
        "README.md": _card("carded", CARDED), "train.csv": _csv([("Not in any config of the card.", "NEGATIVE")]),
        "reviews/part-0.csv": _csv(REVIEWS[:2]), "reviews/part-1.csv": _csv(REVIEWS[2:]), "reviews/notes.txt": b"notes\n",
        "holdout/reviews.jsonl": _jsonl(REVIEWS[1:3]), "short/2025/12/0.parquet": _parquet(REVIEWS[3:]),
    }},
    "acme-corp/private-tickets": {"private": True, "files": {
        "README.md": _card("private tickets"),
        "data/train-00000-of-00001.parquet": _parquet([("My invoice is wrong, please fix it.", "NEGATIVE"),
                                                       ("Thanks, the new plan works great.", "POSITIVE")]),
    }},
    "acme-corp/gated-reviews": {"gated": "manual", "files": {"README.md": _card("gated"), "train.csv": _csv(REVIEWS[:2])}},
}


def dataset_files(repo_id: str, revision: str) -> dict[str, bytes] | None:
    """The files of a dataset at a revision (main, its commit, or the Parquet conversion); None: no such revision."""
    meta = DATASETS[repo_id]
    if revision in (PARQUET_REVISION, dataset_commit(repo_id, PARQUET_REVISION)):
        return meta.get("converted")
    if revision in ("main", "refs/heads/main", dataset_commit(repo_id, "main")):
        return meta["files"]
    return None


def dataset_commit(repo_id: str, revision: str) -> str:
    import hashlib

    return hashlib.sha1(f"{repo_id}@{revision}".encode()).hexdigest()


def dataset_info(repo_id: str, revision: str) -> dict[str, Any] | None:
    """``GET /api/datasets/{id}/revision/{revision}?expand[]=sha&expand[]=cardData``: the commit the revision names
    and the card's YAML front matter as JSON (``cardData``); None: no such revision."""
    import yaml

    files = dataset_files(repo_id, revision)
    if files is None:
        return None
    converted = revision in (PARQUET_REVISION, dataset_commit(repo_id, PARQUET_REVISION))
    info: dict[str, Any] = {"_id": blob_id(repo_id.encode()), "id": repo_id,
                            "sha": dataset_commit(repo_id, PARQUET_REVISION if converted else "main")}
    card = files.get("README.md", b"").decode()
    if card.startswith("---\n"):
        info["cardData"] = yaml.safe_load(card[4:card.index("\n---", 3)]) or {}
    return info


def blob_id(data: bytes) -> str:
    """Git's blob id of a file (what the tree's ``oid`` and a small file's ETag are)."""
    import hashlib

    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def tree_entries(files: dict[str, bytes], under: str = "", recursive: bool = False) -> list[dict[str, Any]]:
    """``GET /api/datasets/{id}/tree/{revision}[/{path}]``: files (Parquet ones in LFS, as on the Hub) and folders."""
    import hashlib

    prefix = f"{under.strip('/')}/" if under.strip("/") else ""
    entries: dict[str, dict[str, Any]] = {}
    for path, data in sorted(files.items()):
        if not path.startswith(prefix):
            continue
        rest = path[len(prefix):].split("/")
        for depth in range(1, len(rest)):  # the folders on the way
            folder = prefix + "/".join(rest[:depth])
            if recursive or depth == 1:
                entries.setdefault(folder, {"type": "directory", "oid": blob_id(folder.encode()), "size": 0, "path": folder})
        if recursive or len(rest) == 1:
            entry = {"type": "file", "oid": blob_id(data), "size": len(data), "path": path}
            if path.endswith(".parquet"):
                entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
            entries[path] = entry
    return list(entries.values())
