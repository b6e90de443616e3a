"""A deck as one self-contained HTML file: every step's inputs and recorded result, its media inlined as ``data:``
URLs, its own CSS (large type, strong contrast, light and dark) and a few lines of script that step with the
arrow keys. It opens from a ``file://`` URL with no server, and holds no token (the ledger keeps none, and every
text is scrubbed of anything shaped like one) and no speaker notes unless asked.

Each step's result is the value its renderer (``RENDERERS[task.renderer]``) gives the tab's component, written as
HTML here: bars for labels, marked spans for entities, images and players for media, tables, a conversation.
A blind comparison step is written unblinded (each target's name over its answer), with a note saying so: a file
has no vote to cast.
"""

from __future__ import annotations

import base64
import html
import io
import mimetypes
from pathlib import Path
from typing import Any

from . import capture, decks, ledger
from .tasks import TASKS

__all__ = ["export_html", "value_html"]


def _esc(text: Any) -> str:
    return html.escape(capture.redact_text(str(text)))


def _data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _png_url(image: Any) -> str:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="PNG")
    return _data_url(buf.getvalue(), "image/png")


def _file_url(path: str) -> str:
    from .ledger.record import content_type

    data = Path(path).read_bytes()
    mime = mimetypes.guess_type(path)[0] or content_type(data)
    return _data_url(data, mime)


def _bars(scores: dict[str, float]) -> str:
    rows = []
    for label, score in sorted(scores.items(), key=lambda kv: -kv[1]):
        pct = max(0.0, min(1.0, float(score))) * 100
        rows.append(f'<div class="bar"><span class="bar-label">{_esc(label)}</span><span class="bar-track">'
                    f'<span class="bar-fill" style="width:{pct:.1f}%"></span></span><span class="bar-score">'
                    f'{float(score):.2f}</span></div>')
    return '<div class="bars">' + "".join(rows) + "</div>"


def _highlighted(value: dict[str, Any]) -> str:
    text, out, at = value.get("text", ""), [], 0
    for ent in sorted(value.get("entities") or [], key=lambda e: e["start"]):
        out.append(_esc(text[at:ent["start"]]))
        out.append(f'<mark>{_esc(text[ent["start"]:ent["end"]])}<small>{_esc(ent.get("entity", ""))}</small></mark>')
        at = ent["end"]
    out.append(_esc(text[at:]))
    return f'<p class="text">{"".join(out)}</p>'


def _table(headers: list[Any], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _overlay(image: Any, layers: list[tuple[Any, str]], colours: dict[str, str]) -> str:
    """Segmentation masks drawn over the image in their legend's colours."""
    import numpy as np
    from PIL import Image, ImageColor

    base = image.convert("RGBA")
    for mask, label in layers:
        rgb = ImageColor.getrgb(colours.get(label, "#e6194b"))
        alpha = (np.clip(np.asarray(mask, dtype="float32"), 0, 1) * 130).astype("uint8")
        tint = Image.new("RGBA", base.size, (*rgb, 0))
        tint.putalpha(Image.fromarray(alpha).resize(base.size))
        base = Image.alpha_composite(base, tint)
    legend = "".join(f'<span class="chip" style="border-color:{_esc(colours.get(label, "#888"))}">{_esc(label)}</span>'
                     for _, label in layers)
    return f'<img alt="segments" src="{_png_url(base)}"><div class="legend">{legend}</div>'


def _message(msg: dict[str, Any]) -> str:
    content = msg.get("content")
    if isinstance(content, dict) and content.get("path"):
        body = f'<img alt="attached image" src="{_file_url(content["path"])}">'
    else:
        body = f'<p class="text">{_esc(content if isinstance(content, str) else decks.run_cards._text(content))}</p>'
    title = (msg.get("metadata") or {}).get("title")
    role = "user" if msg.get("role") == "user" else "assistant"
    return f'<div class="msg {role}">{f"<small>{_esc(title)}</small>" if title else ""}{body}</div>'


def value_html(renderer: str, value: Any) -> str:
    """The HTML of a renderer's value (what ``RENDERERS[renderer].render`` gives the tab's component)."""
    from PIL import Image

    if isinstance(value, dict) and value.get("__type__") == "update":  # segments: gr.update(value=..., color_map=...)
        image, layers = value.get("value")
        return _overlay(image, layers, value.get("color_map") or {})
    if value is None or value == "":
        return '<p class="empty">No result.</p>'
    if renderer in ("table_qa", "audios"):  # the renderer writes HTML, its media inlined already
        return f'<div class="html-result">{capture.redact_text(value)}</div>'
    if renderer == "chat" and isinstance(value, list):
        return '<div class="chat">' + "".join(_message(m) for m in value if isinstance(m, dict)) + "</div>"
    if isinstance(value, Image.Image):
        return f'<img alt="result" src="{_png_url(value)}">'
    if renderer == "slider" and isinstance(value, (tuple, list)):
        return '<div class="pair">' + "".join(f'<img alt="{w}" src="{_png_url(v)}">' for w, v in
                                              zip(("before", "after"), value)) + "</div>"
    if renderer in ("audio", "video") and isinstance(value, str):
        tag = "audio" if renderer == "audio" else "video"
        return f'<{tag} controls src="{_file_url(value)}"></{tag}>'
    if isinstance(value, dict) and "entities" in value:
        return _highlighted(value)
    if isinstance(value, dict) and "headers" in value:
        return _table(value["headers"], value.get("data") or [])
    if isinstance(value, dict) and value and all(isinstance(v, (int, float)) for v in value.values()):
        return _bars(value)
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a DataFrame
        return _table(list(value.columns), value.values.tolist())
    return f'<p class="text">{_esc(value)}</p>'


BLIND_NOTE = ("Blind comparison, shown unblinded in this file: each answer under its target's name. On the Present "
              "stage the names stay hidden until the audience votes.")


def _result_html(renderer: str, value: Any) -> str:
    try:
        return value_html(renderer, value)
    except Exception as err:  # noqa: BLE001 - one step's odd value leaves the rest of the deck
        return f'<p class="empty">This result cannot be written as HTML ({_esc(type(err).__name__)}).</p>'


def _step_html(store: ledger.Ledger, owner: ledger.Owner, step: dict[str, Any], number: int, total: int,
               notes: bool) -> str:
    shown = decks.play_recorded(store, owner, step, readonly=True)
    task = TASKS[step["task"]]
    parts = [f'<p class="counter">Step {number} / {total}</p>']
    for label, text in shown.texts:
        parts.append(f'<div class="input"><h3>{_esc(label)}</h3><p class="text">{_esc(text)}</p></div>')
    if shown.image:
        parts.append(f'<div class="input"><img alt="input image" src="{_file_url(shown.image)}"></div>')
    if shown.audio:
        parts.append(f'<div class="input"><audio controls src="{_file_url(shown.audio)}"></audio></div>')
    if shown.table is not None:
        parts.append(f'<div class="input">{value_html("predictions", shown.table)}</div>')
    if shown.ballot is not None:
        parts.append(f'<p class="blind-note">{_esc(BLIND_NOTE)}</p><div class="panes">')
        for pane, output in zip(shown.ballot["comparison"]["panes"], shown.ballot["outputs"]):
            failed = "" if pane["ok"] else " (this pane failed)"
            parts.append(f'<div class="result pane"><h3>{_esc(pane["letter"])} = {_esc(pane["name"])}{failed}</h3>'
                         f'{_result_html(task.renderer, output)}</div>')
        parts.append('</div>')
    else:
        parts.append(f'<div class="result">{_result_html(task.renderer, shown.output)}</div>')
    caption = shown.caption.replace("**", "").replace("`", "").replace("⏺️ ", "")
    parts.append(f'<p class="caption">{_esc(caption)}</p>')
    if notes and shown.notes:
        parts.append(f'<aside class="notes"><h3>Speaker notes</h3><p>{_esc(shown.notes)}</p></aside>')
    hidden = "" if number == 1 else " hidden"
    return f'<section class="step"{hidden} data-step="{number}">{"".join(parts)}</section>'


CSS = """
:root {--bg:#ffffff; --fg:#0b0b0b; --muted:#3a3a3a; --accent:#ff9d00; --track:#e3e3e3; --card:#f4f4f4}
@media (prefers-color-scheme: dark) {:root {--bg:#0b0b0f; --fg:#f7f7f7; --muted:#d0d0d0; --track:#2c2c33; --card:#18181d}}
html, body {margin:0; background:var(--bg); color:var(--fg); font:24px/1.4 system-ui, sans-serif}
header {display:flex; justify-content:space-between; align-items:baseline; padding:0.6em 1.2em; border-bottom:3px solid var(--accent)}
header h1 {font-size:1.4em; margin:0}
.keys {color:var(--muted); font-size:0.7em}
main {padding:1em 1.5em; max-width:1400px; margin:auto}
.counter {color:var(--muted); margin:0 0 0.4em}
.input {background:var(--card); border-radius:10px; padding:0.4em 0.8em; margin:0 0 0.6em}
.input h3 {margin:0; font-size:0.75em; color:var(--muted); text-transform:uppercase; letter-spacing:0.05em}
.text {font-size:1.3em; margin:0.2em 0; white-space:pre-wrap}
.result {border:3px solid var(--accent); border-radius:12px; padding:0.6em 1em; margin:0.6em 0}
img, video {width:100%; max-height:60vh; object-fit:contain; display:block}
.pair {display:flex; gap:1em}
.bars {display:grid; gap:0.3em}
.bar {display:grid; grid-template-columns:minmax(8em, 30%) 1fr 4em; gap:0.6em; align-items:center; font-size:1.2em}
.bar-track {background:var(--track); height:1.1em; border-radius:6px; overflow:hidden}
.bar-fill {display:block; height:100%; background:var(--accent)}
mark {background:var(--accent); color:#000; padding:0 0.15em; border-radius:4px}
mark small {font-size:0.55em; margin-left:0.3em; font-weight:700}
table {border-collapse:collapse} th, td {border:1px solid var(--muted); padding:4px 10px; text-align:left}
.chat .msg {padding:0.4em 0.8em; border-radius:10px; margin:0.4em 0; background:var(--card)}
.chat .msg.user {border-left:6px solid var(--muted)} .chat .msg.assistant {border-left:6px solid var(--accent)}
.caption {font-size:0.85em; color:var(--muted)}
.notes {border-top:1px dashed var(--muted); font-size:0.8em; color:var(--muted)}
.chip {border:3px solid; border-radius:6px; padding:0 0.3em; margin-right:0.4em}
.panes {display:flex; gap:1em; flex-wrap:wrap} .panes .pane {flex:1 1 20em} .pane h3 {margin:0 0 0.3em}
.blind-note {font-weight:700}
"""

SCRIPT = """
(() => {
  const steps = [...document.querySelectorAll('section.step')];
  let at = 0;
  const show = (i) => { at = Math.max(0, Math.min(steps.length - 1, i)); steps.forEach((s, j) => s.hidden = j !== at);
                        location.hash = 'step-' + (at + 1); };
  const start = parseInt((location.hash.match(/step-(\\d+)/) || [])[1] || '1', 10) - 1;
  show(isNaN(start) ? 0 : start);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowRight' || e.key === 'PageDown' || e.key === ' ') { show(at + 1); e.preventDefault(); }
    else if (e.key === 'ArrowLeft' || e.key === 'PageUp') { show(at - 1); e.preventDefault(); }
    else if (e.key === 'Home') show(0); else if (e.key === 'End') show(steps.length - 1);
  });
})();
"""


def export_html(store: ledger.Ledger, owner: ledger.Owner, deck: ledger.Deck, notes: bool = False) -> str:
    """The deck as one HTML file: every step from its recording, media inlined, arrows to step."""
    steps = [_step_html(store, owner, step, i, len(deck.steps), notes) for i, step in enumerate(deck.steps, 1)]
    if not steps:
        steps = ['<section class="step"><p class="empty">This deck has no steps.</p></section>']
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_esc(deck.title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head><body>'
            f'<header><h1>{_esc(deck.title)}</h1><span class="keys">← → to step · recorded results, exported '
            f'{_esc(deck.updated.strftime("%Y-%m-%d"))}</span></header><main>{"".join(steps)}</main>'
            f"<script>{SCRIPT}</script></body></html>")
