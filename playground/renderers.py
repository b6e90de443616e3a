"""How each kind of output is shown: one output component and one render function per renderer.

A renderer takes the task's parsed output (huggingface_hub's own types) and the prepared inputs, and returns
the value of its Gradio component. Registry entries name their renderer by key.

Renderers show what is there and skip what is not. huggingface_hub's parser sets every field a provider left
out to ``None``, required or not (a real document-QA answer is ``[{"answer": "…"}]``, without score or
offsets), so no renderer counts on any field but the one it shows: a missing score drops the bar, a missing
offset makes the renderer look for the text, a missing box or mask skips that item.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import gradio as gr
import numpy as np
from PIL import Image, ImageDraw

__all__ = ["Renderer", "RENDERERS", "draw_boxes", "segment_layers", "media_file", "media_suffix", "to_jsonable"]

_PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#bcf60c", "#008080", "#9a6324"]


@dataclass(frozen=True)
class Renderer:
    component: Callable[[], gr.components.Component]
    render: Callable[[Any, dict[str, Any]], Any]
    empty: Any = None


def _score(value: Any) -> float | None:
    return None if value is None else float(value)


def _bars(pairs: Any) -> dict[str, float] | str | None:
    """(label, score) pairs -> bars, the best score of a repeated label. When a score is missing, the labels are
    shown as text in the order given (best first); no bar is invented."""
    pairs = [(str(label), score) for label, score in pairs if label is not None]
    if not pairs:
        return None
    if any(score is None for _, score in pairs):
        return " · ".join(dict.fromkeys(label for label, _ in pairs))
    bars: dict[str, float] = {}
    for label, score in pairs:
        bars[label] = max(bars.get(label, score), score)
    return bars


def _items(output: Any) -> list[Any]:
    """A list answer as a list: one element alone (``parse_obj_as_list(...)[0]`` of a flat list) is wrapped."""
    return list(output) if isinstance(output, list) else [] if output is None else [output]


def _labels(output: Any, inputs: dict[str, Any]) -> dict[str, float] | str | None:
    return _bars((item.label, _score(item.score)) for item in _items(output))


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
    for item in _items(output):
        start, end = getattr(item, "start", None), getattr(item, "end", None)
        group = getattr(item, "entity_group", None) or getattr(item, "entity", None) or "ENT"
        if start is None or end is None:  # some providers omit offsets: find the word
            word = getattr(item, "word", "") or ""
            start = text.find(word)
            if start < 0 or not word:
                continue
            end = start + len(word)
        entities.append({"entity": group, "start": int(start), "end": int(end)})
    return {"text": text, "entities": entities}


def draw_boxes(image: Image.Image, detections: list[Any]) -> Image.Image:
    """Draw each detection's box and ``label score`` on a copy of the image, one colour per label.
    A detection without a whole box is skipped; a missing label or score is left out of the caption."""
    img = image.convert("RGB").copy()
    draw = ImageDraw.Draw(img)
    colours: dict[str, str] = {}
    width = max(2, round(min(img.size) / 200))
    for det in _items(detections):
        box = det.box
        if box is None or None in (box.xmin, box.ymin, box.xmax, box.ymax):
            continue
        label = "object" if det.label is None else str(det.label)
        colour = colours.setdefault(label, _PALETTE[len(colours) % len(_PALETTE)])
        xy = (box.xmin, box.ymin, box.xmax, box.ymax)
        draw.rectangle(xy, outline=colour, width=width)
        caption = label if det.score is None else f"{label} {float(det.score):.2f}"
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
    if not flat.size:
        return f"**Shape** `{tuple(arr.shape)}` · the model returned no values"
    vec = arr.reshape(-1, arr.shape[-1])[0] if arr.ndim else flat
    head = ", ".join(f"{v:.4f}" for v in vec[:12])
    return (
        f"**Shape** `{tuple(arr.shape)}` · dtype float32 · L2 norm {float(np.linalg.norm(vec)):.4f} · "
        f"min {float(flat.min()):.4f} · max {float(flat.max()):.4f}\n\n"
        f"**First values** `[{head}{', …' if vec.size > 12 else ''}]`"
    )


def _similarity(output: Any, inputs: dict[str, Any]) -> dict[str, float] | str | None:
    return _bars(zip(inputs.get("other_sentences", []), (_score(s) for s in _items(output))))


def _fill_mask(output: Any, inputs: dict[str, Any]) -> dict[str, float] | str | None:
    """Each candidate as a bar, named by the sentence it completes (or by the token, without the sentence)."""
    return _bars((item.sequence or item.token_str, _score(item.score)) for item in _items(output))


def _qa(output: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """The context with each answer highlighted where the model found it, labelled with its score. An answer that
    is not in the context is shown after it."""
    context = inputs.get("context", "")
    text, entities = context, []
    for rank, item in enumerate(_items(output), 1):
        answer = item.answer or ""
        if not answer.strip():
            continue
        score = _score(item.score)
        label = ("answer" if rank == 1 else f"#{rank}") + ("" if score is None else f" {score:.2f}")
        start, end = item.start, item.end
        if start is None or end is None or context[start:end].strip() != answer.strip():
            start = context.find(answer)  # offsets missing or off: find the answer text
            end = start + len(answer)
        if start < 0:  # not in the context: shown after it
            start = len(text) + 2
            text, end = f"{text}\n\n{answer}", start + len(answer)
            label += " (not found in the context)"
        if any(start < e["end"] and e["start"] < end for e in entities):
            continue  # HighlightedText cannot show overlapping spans
        entities.append({"entity": label, "start": int(start), "end": int(end)})
    return {"text": text, "entities": entities}


def _answers(output: Any, inputs: dict[str, Any]) -> dict[str, float] | str | None:
    return _bars(((item.answer or "").strip() or "(no answer)", _score(item.score)) for item in _items(output))


def _table_qa(output: Any, inputs: dict[str, Any]) -> str:
    """The answer, how it was computed, and the table with the cells it came from highlighted."""
    table: dict[str, list[str]] = inputs.get("table") or {}
    used = {(int(rc[0]), int(rc[1])) for rc in output.coordinates or [] if len(rc or ()) == 2}
    headers = list(table)
    n_rows = max((len(v) for v in table.values()), default=0)
    aggregator = (output.aggregator or "NONE").upper()
    how = "" if aggregator == "NONE" else f" · aggregation <b>{html.escape(aggregator)}</b>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="used">{html.escape(table[h][r])}</td>' if (r, c) in used else f"<td>{html.escape(table[h][r])}</td>"
            for c, h in enumerate(headers)
        ) + "</tr>"
        for r in range(n_rows)
    )
    cells = ", ".join(html.escape(str(c)) for c in output.cells or []) or "none"
    used_line = "" if output.cells is None and not how else f"<p>cells used: {cells}{how}</p>"
    return (
        '<div class="table-qa">'
        f'<p class="answer">{html.escape(str(output.answer or "(no answer)"))}</p>'
        f"{used_line}"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def segment_layers(image: Image.Image, segments: list[Any]) -> tuple[list[tuple[np.ndarray, str]], dict[str, str]]:
    """Each segment's mask (0-1, the image's size) with a unique legend label, and one colour per label."""
    layers, colours = [], {}
    for seg in _items(segments):
        if seg.mask is None:
            continue
        mask = seg.mask if isinstance(seg.mask, Image.Image) else Image.open(io.BytesIO(base64.b64decode(seg.mask)))
        mask = mask.convert("L")
        if mask.size != image.size:
            mask = mask.resize(image.size, Image.NEAREST)
        name = "segment" if seg.label is None else str(seg.label)
        label = name if seg.score is None else f"{name} {float(seg.score):.2f}"
        base, n = label, 2
        while label in colours:
            label, n = f"{base} ({n})", n + 1
        colours[label] = _PALETTE[len(colours) % len(_PALETTE)]
        layers.append((np.asarray(mask, dtype="float32") / 255.0, label))
    return layers, colours


def _segments(output: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """Masks overlaid in distinct colours, the legend's; hovering a legend entry shows that mask alone."""
    with Image.open(io.BytesIO(inputs["image"])) as img:
        image = img.convert("RGB")
    layers, colours = segment_layers(image, output)
    return gr.update(value=(image, layers), color_map=colours)


def _slider(output: Any, inputs: dict[str, Any]) -> tuple[Image.Image, Image.Image]:
    """(before, after) for the slider; the input is scaled to the output's size so the two line up."""
    after = output.convert("RGB")
    with Image.open(io.BytesIO(inputs["image"])) as img:
        before = img.convert("RGB").resize(after.size, Image.LANCZOS)
    return before, after


_MEDIA_MAGIC = (
    (b"RIFF", 8, b"WAVE", ".wav"), (b"fLaC", 0, b"", ".flac"), (b"OggS", 0, b"", ".ogg"), (b"ID3", 0, b"", ".mp3"),
    (b"\xff\xfb", 0, b"", ".mp3"), (b"\xff\xf3", 0, b"", ".mp3"), (b"\xff\xf2", 0, b"", ".mp3"),
    (b"\x1aE\xdf\xa3", 0, b"", ".webm"), (b"GIF8", 0, b"", ".gif"), (b"", 4, b"ftyp", ".mp4"),
)


def media_suffix(data: bytes) -> str | None:
    """The file suffix of audio or video bytes, from their first bytes (``None`` when unknown)."""
    for prefix, offset, marker, suffix in _MEDIA_MAGIC:
        if data.startswith(prefix) and (not marker or data[offset : offset + len(marker)] == marker):
            return suffix
    return None


def media_file(data: bytes, kinds: tuple[str, ...]) -> str:
    """Write audio/video bytes to a file named by their content (Gradio serves it from its cache)."""
    suffix = media_suffix(bytes(data[:16]))
    if suffix not in kinds:
        raise ValueError(f"the answer is not {'/'.join(k[1:] for k in kinds)} (first bytes {bytes(data[:12])!r})")
    return file_once(bytes(data), "playground-media", f"{hashlib.sha256(data).hexdigest()[:20]}{suffix}")


def file_once(data: bytes, folder: str, name: str) -> str:
    """The path of ``data`` written once as ``name`` in a ``folder`` of the temporary directory (Gradio may serve
    it); ``name`` is derived from the content, so a file already there holds the same bytes."""
    place = Path(tempfile.gettempdir()) / folder
    place.mkdir(exist_ok=True)
    path = place / name
    if not path.exists():
        path.write_bytes(data)
    return str(path)


_AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".webm", ".mp4")


def _audio(output: Any, inputs: dict[str, Any]) -> str:
    return media_file(output, _AUDIO_SUFFIXES)


def _audios(output: Any, inputs: dict[str, Any]) -> str:
    """One player per returned audio (a speech-enhancement model returns one, a source separator several)."""
    players = []
    for number, item in enumerate(_items(output), 1):
        if not item.blob:
            continue
        data = item.blob if isinstance(item.blob, (bytes, bytearray)) else base64.b64decode(item.blob)
        suffix = media_suffix(bytes(data[:16]))
        mime = item.content_type or (f"audio/{suffix[1:]}" if suffix else "audio/wav")
        label = f"audio {number}" if item.label is None else str(item.label)
        players.append(
            f'<figure><figcaption>{html.escape(label)} · {html.escape(mime)} · {len(data) / 1024:.0f} KB'
            f'</figcaption><audio controls preload="metadata" src="data:{mime};base64,{base64.b64encode(data).decode()}">'
            "</audio></figure>"
        )
    return '<div class="audio-outputs">' + "".join(players) + "</div>" if players else "<p>The model returned no audio.</p>"


def _video(output: Any, inputs: dict[str, Any]) -> str:
    return media_file(output, (".mp4", ".webm", ".gif"))


def _predictions(output: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """The input table with the model's predictions appended as a last column."""
    table: dict[str, list[str]] = inputs["table"]
    rows = [list(r) for r in zip(*table.values())]
    predictions = list(output)
    if len(predictions) != len(rows):
        raise ValueError(f"{len(predictions)} predictions for {len(rows)} rows")
    return {"headers": [*table, "prediction"], "data": [[*row, pred] for row, pred in zip(rows, predictions)]}


_TABLE_CSS = """
.answer {font-size: 1.5em; font-weight: 700; margin: 0.2em 0}
table {border-collapse: collapse; margin-top: 0.6em}
th, td {border: 1px solid var(--border-color-primary); padding: 4px 10px; text-align: left}
td.used {background: #fde68a; color: #111; font-weight: 700; outline: 2px solid #f59e0b}
"""

RENDERERS: dict[str, Renderer] = {
    "label": Renderer(lambda: gr.Label(label="Result", num_top_classes=10), _labels),
    "similarity": Renderer(lambda: gr.Label(label="Similarity to the source sentence"), _similarity),
    "text": Renderer(lambda: gr.Textbox(label="Result", lines=6, buttons=["copy"]), _text, ""),
    "highlight": Renderer(lambda: gr.HighlightedText(label="Entities", combine_adjacent=False), _highlight),
    "boxes": Renderer(lambda: gr.Image(label="Detections", type="pil", format="png"), _boxes),
    "image": Renderer(lambda: gr.Image(label="Image", type="pil", format="png"), _image),
    "embedding": Renderer(lambda: gr.Markdown(label="Embedding"), _embedding, ""),
    "fill_mask": Renderer(lambda: gr.Label(label="Candidates (the sentence each completes)", num_top_classes=10), _fill_mask),
    "qa": Renderer(lambda: gr.HighlightedText(label="Answer, highlighted in the context", combine_adjacent=False,
                                              show_legend=True), _qa),
    "answers": Renderer(lambda: gr.Label(label="Answers", num_top_classes=10), _answers),
    "table_qa": Renderer(lambda: gr.HTML(label="Answer", show_label=True, container=True, css_template=_TABLE_CSS), _table_qa, ""),
    "segments": Renderer(lambda: gr.AnnotatedImage(label="Segments (hover a legend entry to see that mask alone)",
                                                   show_legend=True, height=420), _segments),
    "slider": Renderer(lambda: gr.ImageSlider(label="Before / after (drag to compare)", type="pil", format="png"), _slider),
    "audio": Renderer(lambda: gr.Audio(label="Speech", type="filepath", interactive=False), _audio),
    "audios": Renderer(lambda: gr.HTML(label="Audio outputs", show_label=True, container=True), _audios, ""),
    "video": Renderer(lambda: gr.Video(label="Video", interactive=False, loop=True), _video),
    "predictions": Renderer(lambda: gr.Dataframe(label="Predictions (last column)", interactive=False, wrap=True), _predictions),
    # chat is rendered by its own streaming Chatbot in ui.py; the renderer shapes the final text
    "chat": Renderer(lambda: gr.Chatbot(label="Conversation", height=460, reasoning_tags=[("<think>", "</think>")]), _text),
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
