"""Export a tab as a Hugging Face Space: a small Gradio demo of that task with that model, provider and parameters.

    space_files(task, model, provider, params, ...)  -> {"app.py": ..., "requirements.txt": ..., "README.md": ...}
    space_zip(...)                                  -> path of a zip holding them

One generator for every task: the demo's inputs, its output and its call are read from the registry entry
(``Task.inputs``, ``Task.renderer``, ``Task.method``), never written per task. The exported ``app.py`` calls
huggingface_hub's ``InferenceClient`` with the token of the Space's ``HF_TOKEN`` secret; no token is ever written
into the files. ``export_handler`` is the Export button's handler (the tab's model, provider and parameters).
"""

from __future__ import annotations

import hashlib
import json
import os
import pprint
import re
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Any

import gradio
import huggingface_hub

from .errors import InputError
from .params import parse_values
from .tasks import Task, get_task

__all__ = ["space_files", "space_zip", "export_handler", "OUTPUTS"]

LOCAL, CUSTOM, POLICIES = "local", "custom", (":fastest", ":cheapest")
# What the demo shows for each renderer of the registry (anything else is shown as JSON).
OUTPUTS = {"text": "text", "chat": "chat", "image": "image", "slider": "image", "audio": "audio", "audios": "audio",
           "video": "video"}
_TEXT_KINDS = ("text", "lines")


def _provider(task: Task, provider: str, model: str) -> tuple[str, str, str]:
    """(provider for InferenceClient, model as called, a note for the README) for the playground's choice."""
    provider = (provider or "auto").strip() or "auto"
    if provider == LOCAL:
        return "auto", model, ("It ran on the playground's local backend; a Space has none, so the demo asks "
                               "Inference Providers (auto: your order at hf.co/settings/inference-providers).")
    if provider in POLICIES:
        if task.provider_task == "conversational":
            return "auto", f"{model}{provider}", f"The router picks the provider ({provider[1:]}) for each call."
        return "auto", model, f"{provider[1:]} is a chat routing policy; this task goes to the first live provider."
    if provider == "balance":
        return "auto", model, "The playground balanced runs over providers; the demo lets the router choose (auto)."
    return provider, model, ""


def _defaults(task: Task, inputs: dict[str, Any]) -> dict[str, str]:
    """The demo's prefilled text inputs: the tab's current text (files and tables are left for the visitor)."""
    kept = {}
    for spec in task.inputs:
        value = inputs.get(spec.name)
        if spec.kind in _TEXT_KINDS and isinstance(value, str) and value.strip():
            kept[spec.name] = value
    return kept


def space_files(task: Task, model: str, provider: str = "auto", params: dict[str, Any] | None = None, *,
                inputs: dict[str, Any] | None = None, bill_to: str | None = None,
                endpoint_url: str | None = None) -> dict[str, str]:
    """The Space's files for a run of ``task`` with ``model`` on ``provider`` and ``params`` (as InferenceClient
    takes them). ``inputs`` prefill the demo's text boxes; ``endpoint_url`` is a custom endpoint's URL."""
    model = (model or "").strip() or task.default_model
    sdk_provider, called_model, note = _provider(task, provider, model)
    custom = (provider or "").strip() == CUSTOM
    if custom and not (endpoint_url or "").strip():
        raise InputError("No endpoint URL to export", "The provider is 'Custom endpoint URL' but the URL is empty.",
                         "Type the endpoint's URL in the header, then export again.")
    spec = {
        "task": task.id,
        "method": task.method,
        "model": called_model,
        "provider": None if custom else sdk_provider,
        "endpoint_url": (endpoint_url or "").strip() if custom else None,
        "bill_to": (bill_to or "").strip() or None,
        "parameters": params or {},
        "inputs": [{"name": s.name, "kind": s.kind, "label": s.label, "required": s.required}
                   for s in task.inputs if not (task.renderer == "chat" and s.kind in ("chat", "tools", "schema"))],
        "defaults": _defaults(task, inputs or {}),
        "output": OUTPUTS.get(task.renderer, "json"),
    }
    where = "a custom endpoint" if custom else f"provider `{sdk_provider}`"
    title = f"{task.label}: {model.split('/')[-1]}"
    return {
        "app.py": _APP.replace("__HEADING__", f"{task.label} with {model}".replace('"', "'"))
                      .replace("__TITLE__", repr(f"{task.label} · {model}"))
                      .replace("__DESCRIPTION__", repr(task.description))
                      .replace("__SPEC__", pprint.pformat(spec, indent=4, width=110, sort_dicts=False)),
        "requirements.txt": f"gradio=={gradio.__version__}\nhuggingface_hub=={huggingface_hub.__version__}\n",
        "README.md": _README.format(
            title=_front(title), short=_front(f"{task.label} with {model.split('/')[-1]}"), sdk=gradio.__version__,
            label=task.label, model=model, where=where, note=f"\n{note}\n" if note else "",
            bill=f"Calls are billed to the organisation `{spec['bill_to']}`.\n" if spec["bill_to"] else "",
            params=json.dumps(params or {}, ensure_ascii=False) if params else "the providers' defaults",
        ),
    }


def _front(text: str, most: int = 60) -> str:
    """A value of the README's YAML front matter, quoted, at most ``most`` characters (the Hub's limit)."""
    text = re.sub(r"\s+", " ", text)
    return json.dumps(text if len(text) <= most else text[: most - 1] + "…")


def space_zip(task: Task, model: str, provider: str = "auto", params: dict[str, Any] | None = None,
              folder: str | Path | None = None, **kwargs: Any) -> str:
    """The Space's files in a zip named after the task and model; returns its path. Without ``folder``, in a
    temporary folder named by the files' content, so that the same export is written once however often the
    tab's values change back and forth."""
    files = space_files(task, model, provider, params, **kwargs)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{task.id}-{(model or task.default_model).split('/')[-1]}").strip("-").lower()
    if folder is None:
        digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
        folder = Path(tempfile.gettempdir()) / "playground-spaces" / digest
    path = Path(folder) / f"space-{slug}.zip"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        with zipfile.ZipFile(draft, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in files.items():
                archive.writestr(name, text)
        draft.replace(path)  # whole or absent, even with two exports of the same content at once
    return str(path)


def export_handler(task_id: str):
    """The Export button's handler: (provider, endpoint URL, bill-to, model, *inputs, *params, extra JSON) -> zip
    path. Parameters that do not parse export nothing: a gr.Error says why and the fix (the page shows it, and
    the download that follows a success does not happen)."""
    task = get_task(task_id)
    n_in, n_par = len(task.inputs), len(task.params)

    def export(provider, endpoint_url, bill_to, model, *values):
        inputs = dict(zip((s.name for s in task.inputs), values[:n_in]))
        try:
            params = parse_values(task.params, list(values[n_in:n_in + n_par]), values[n_in + n_par])
            return space_zip(task, model, provider, params, inputs=inputs, bill_to=bill_to, endpoint_url=endpoint_url)
        except InputError as err:
            raise gradio.Error(f"Export as Space: nothing exported. {err.title}. {err.fix}",
                               print_exception=False) from None

    return export


_README = """---
title: {title}
emoji: 🤗
colorFrom: yellow
colorTo: indigo
sdk: gradio
sdk_version: {sdk}
app_file: app.py
pinned: false
short_description: {short}
---

# {label} with {model}

A small demo exported from the Hugging Face Inference Playground: **{label}** with
[{model}](https://huggingface.co/{model}) on {where}, through `huggingface_hub`'s `InferenceClient`.
{note}
Parameters: {params}.
{bill}
## Run it

On a Space: add a secret named `HF_TOKEN` (Settings → Variables and secrets) holding a token with the
"Make calls to Inference Providers" permission. The app reads it from the environment; it is never shown.

Locally:

```bash
pip install -r requirements.txt
HF_TOKEN=hf_... python app.py
```
"""

_APP = '''"""__HEADING__: a demo exported from the Hugging Face Inference Playground.

The token is read from the HF_TOKEN secret of the Space (or the environment); it is never shown.
"""

import os
import tempfile

import gradio as gr
from huggingface_hub import InferenceClient

TITLE = __TITLE__
DESCRIPTION = __DESCRIPTION__
SPEC = __SPEC__

client = InferenceClient(
    provider=SPEC["provider"] or None,
    base_url=SPEC["endpoint_url"] if SPEC["endpoint_url"] and SPEC["task"] == "chat-completion" else None,
    api_key=os.environ.get("HF_TOKEN"),
    bill_to=SPEC["bill_to"],
)
MODEL = SPEC["endpoint_url"] if SPEC["endpoint_url"] and SPEC["task"] != "chat-completion" else SPEC["model"]


def as_argument(spec, value):
    """A form value as InferenceClient takes it."""
    if spec["kind"] == "lines":
        return [v.strip() for v in (value or "").replace(",", "\\n").split("\\n") if v.strip()]
    if spec["kind"] == "table":
        return {str(c): [str(v) for v in value[c].tolist()] for c in value.columns}
    return value


def shown(result):
    """The answer as the output component takes it."""
    kind = SPEC["output"]
    if kind == "text":
        if isinstance(result, str):
            return result
        values = result.values() if isinstance(result, dict) else [result]
        return next((v for v in values if isinstance(v, str)), str(result))
    if kind in ("audio", "video"):
        if isinstance(result, list):  # audio-to-audio: the first output
            result = result[0]["blob"] if result else b""
        if isinstance(result, str):
            return result
        with tempfile.NamedTemporaryFile(suffix=".wav" if kind == "audio" else ".mp4", delete=False) as f:
            f.write(result)
        return f.name
    if kind == "image":
        return result
    return jsonable(result)


def jsonable(value):
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return f"<{type(value).__name__}>"


def run(*values):
    named = [(spec, as_argument(spec, value)) for spec, value in zip(SPEC["inputs"], values)]
    missing = [spec["label"] for spec, value in named if spec["required"] and value in (None, "", [], {})]
    if missing:
        raise gr.Error(f"Fill in: {', '.join(missing)}")
    (first, value), rest = named[0], named[1:]
    kwargs = {spec["name"]: v for spec, v in rest if v not in (None, "", [], {})}
    method = getattr(client, SPEC["method"])
    return shown(method(value, model=MODEL, **kwargs, **SPEC["parameters"]))


def chat(message, history, system=""):
    messages = ([{"role": "system", "content": system}] if system else [])
    messages += [{"role": m["role"], "content": m["content"]} for m in history if isinstance(m.get("content"), str)]
    messages.append({"role": "user", "content": message})
    reply = ""
    for chunk in client.chat_completion(messages, model=MODEL, stream=True, **SPEC["parameters"]):
        if chunk.choices and chunk.choices[0].delta.content:
            reply += chunk.choices[0].delta.content
            yield reply


def component(spec):
    label, value = spec["label"], SPEC["defaults"].get(spec["name"])
    if spec["kind"] == "image":
        return gr.Image(label=label, type="filepath")
    if spec["kind"] == "audio":
        return gr.Audio(label=label, type="filepath")
    if spec["kind"] == "table":
        return gr.Dataframe(label=label, type="pandas", interactive=True)
    return gr.Textbox(label=label, value=value, lines=3 if spec["kind"] == "text" else 2)


OUTPUT = {"text": lambda: gr.Textbox(label="Result", lines=6), "image": lambda: gr.Image(label="Result"),
          "audio": lambda: gr.Audio(label="Result"), "video": lambda: gr.Video(label="Result"),
          "json": lambda: gr.JSON(label="Result")}

if SPEC["output"] == "chat":
    demo = gr.ChatInterface(chat, title=TITLE, description=DESCRIPTION, api_name="chat",
                            additional_inputs=[component(spec) for spec in SPEC["inputs"]])
else:
    demo = gr.Interface(run, [component(spec) for spec in SPEC["inputs"]], OUTPUT[SPEC["output"]](),
                        title=TITLE, description=DESCRIPTION, api_name="predict", flagging_mode="never")

if __name__ == "__main__":
    demo.launch()
'''
