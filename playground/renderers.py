"""How each kind of output is shown: one output component and one render function per renderer.

A renderer takes the task's parsed output (huggingface_hub's own types) and the prepared inputs, and returns
the value of its Gradio component. Registry entries name their renderer by key.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Callable

import gradio as gr
import numpy as np
from PIL import Image, ImageDraw

__all__ = ["Renderer", "RENDERERS", "draw_boxes", "to_jsonable"]

_PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#bcf60c", "#008080", "#9a6324"]


@dataclass(frozen=True)
class Renderer:
    component: Callable[[], gr.components.Component]
    render: Callable[[Any, dict[str, Any]], Any]
    empty: Any = None


def _labels(output: Any, inputs: dict[str, Any]) -> dict[str, float]:
    return {item.label: float(item.score) for item in output}


def _text(output: Any, inputs: dict[str, Any]) -> str:
    if isinstance(output, str):
        return output
    for attr in ("generated_text", "summary_text", "translation_text", "text"):
        value = getattr(output, attr, None)
        if value is not None:
            return value
    return str(output)


def _highlight(output: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    text = inputs.get("text", "")
    entities = []
    for item in output:
        start, end = getattr(item, "start", None), getattr(item, "end", None)
        group = getattr(item, "entity_group", None) or getattr(item, "entity", None) or "ENT"
        if start is None or end is None:  # some providers omit offsets: find the word
            word = getattr(item, "word", "") or ""
            start = text.find(word)
            if start < 0:
                continue
            end = start + len(word)
        entities.append({"entity": group, "start": int(start), "end": int(end)})
    return {"text": text, "entities": entities}


def draw_boxes(image: Image.Image, detections: list[Any]) -> Image.Image:
    """Draw each detection's box and ``label score`` on a copy of the image, one colour per label."""
    img = image.convert("RGB").copy()
    draw = ImageDraw.Draw(img)
    colours: dict[str, str] = {}
    width = max(2, round(min(img.size) / 200))
    for det in detections:
        box = det.box
        colour = colours.setdefault(det.label, _PALETTE[len(colours) % len(_PALETTE)])
        xy = (box.xmin, box.ymin, box.xmax, box.ymax)
        draw.rectangle(xy, outline=colour, width=width)
        caption = f"{det.label} {det.score:.2f}"
        tw = draw.textlength(caption)
        ty = max(0, box.ymin - 12)
        draw.rectangle((box.xmin, ty, box.xmin + tw + 4, ty + 12), fill=colour)
        draw.text((box.xmin + 2, ty), caption, fill="white")
    return img


def _boxes(output: Any, inputs: dict[str, Any]) -> Image.Image:
    with Image.open(io.BytesIO(inputs["image"])) as img:
        return draw_boxes(img, output)


def _image(output: Any, inputs: dict[str, Any]) -> Image.Image:
    return output


def _embedding(output: Any, inputs: dict[str, Any]) -> str:
    arr = np.asarray(output, dtype="float32")
    flat = arr.reshape(-1)
    vec = arr.reshape(-1, arr.shape[-1])[0] if arr.ndim else flat
    head = ", ".join(f"{v:.4f}" for v in vec[:12])
    return (
        f"**Shape** `{tuple(arr.shape)}` · dtype float32 · L2 norm {float(np.linalg.norm(vec)):.4f} · "
        f"min {float(flat.min()):.4f} · max {float(flat.max()):.4f}\n\n"
        f"**First values** `[{head}{', …' if vec.size > 12 else ''}]`"
    )


def _similarity(output: Any, inputs: dict[str, Any]) -> dict[str, float]:
    return {sentence: float(score) for sentence, score in zip(inputs.get("other_sentences", []), output)}


RENDERERS: dict[str, Renderer] = {
    "label": Renderer(lambda: gr.Label(label="Result", num_top_classes=10), _labels),
    "similarity": Renderer(lambda: gr.Label(label="Similarity to the source sentence"), _similarity),
    "text": Renderer(lambda: gr.Textbox(label="Result", lines=6, buttons=["copy"]), _text, ""),
    "highlight": Renderer(lambda: gr.HighlightedText(label="Entities", combine_adjacent=False), _highlight),
    "boxes": Renderer(lambda: gr.Image(label="Detections", type="pil", format="png"), _boxes),
    "image": Renderer(lambda: gr.Image(label="Image", type="pil", format="png"), _image),
    "embedding": Renderer(lambda: gr.Markdown(label="Embedding"), _embedding, ""),
    # chat is rendered by its own streaming Chatbot in ui.py; the renderer shapes the final text
    "chat": Renderer(lambda: gr.Chatbot(label="Conversation", height=420), _text),
}


def to_jsonable(value: Any) -> Any:
    """The output as plain JSON values (for the API and exports)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Image.Image):
        return {"image": f"{value.width}x{value.height} {value.mode}"}
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value
