"""Run cards: one JSON file per run, made from its ledger record, and the tab's values a card fills back in.

    ledger Run  --card_of-->  card (dict: request, model@sha, provider, parameters, output, redacted exchange,
                              snippet, versions, the input files by SHA-256)  --dumps-->  run-<id>.json
    card  --tab_values(task, card)-->  the tab's model, revision, inputs, parameters, extra JSON, status, raw

History reopens a run through its card (``?run=<id>``), and a card dropped on the playground page (an upload) goes
through the same ``tab_values``: one way back into a tab. A card never holds a token: the ledger keeps none, and
``dumps`` scrubs anything shaped like one as well.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

import gradio as gr

from . import capture, ledger
from .ledger import MEDIA_KEY
from .params import ParamSpec
from .tasks import TASKS, Task

__all__ = ["KIND", "card_of", "dumps", "loads", "write", "tab_values", "header_values", "snippet_of", "status_of", "CardError",
           "fill_outputs", "linked_run_handler", "upload_handler"]

KIND = "hf-inference-playground/run-card"
VERSION = 1
MAX_MEDIA_BYTES = 20 * 2**20  # the input files a card carries, in all (larger ones are named, not carried)
_EXT = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp", "audio/wav": ".wav",
        "audio/mpeg": ".mp3", "audio/flac": ".flac", "audio/ogg": ".ogg", "video/mp4": ".mp4"}


class CardError(ValueError):
    """A file that is not a run card this playground can open; the message says why."""


def _versions(run: ledger.Run) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = dict(run.versions)
    try:
        out["playground"] = version("hf-inference-playground")
    except PackageNotFoundError:  # run from a checkout: the commit it was built from is unknown here
        out["playground"] = "checkout"
    return out


def _refs(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value] if MEDIA_KEY in value else [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def card_of(run: ledger.Run, store: ledger.Ledger, owner: ledger.Owner) -> dict[str, Any]:
    """The run card of one of the owner's runs; its input files are carried (base64), up to MAX_MEDIA_BYTES."""
    files: dict[str, dict[str, Any]] = {}
    budget = MAX_MEDIA_BYTES
    for ref in _refs(run.inputs):
        sha = ref[MEDIA_KEY]
        if sha in files:
            continue
        found = store.get_media(owner, sha) if ref.get("bytes", 0) <= budget else None
        if found is None:
            files[sha] = {"type": ref.get("type", ""), "bytes": ref.get("bytes", 0), "base64": None}
            continue
        budget -= len(found.data)
        files[sha] = {"type": found.content_type, "bytes": len(found.data),
                      "base64": base64.b64encode(found.data).decode()}
    card = {
        "kind": KIND,
        "version": VERSION,
        "id": run.id,
        "created": run.created.isoformat(),
        "source": run.source,
        "task": run.task,
        "model": run.model,
        "revision": run.revision,
        "commit_sha": run.commit_sha,
        "model_ref": run.model_ref,
        "provider": {"asked": run.provider_asked, "served": run.provider_served, "endpoint_host": run.endpoint_host},
        "request": {"inputs": run.inputs, "parameters": run.params, "target": run.target},
        "status": run.status,
        "error": run.error,
        "notes": run.notes,
        "latency_ms": run.latency_ms,
        "retries": run.retries,
        "usage": {"prompt_tokens": run.prompt_tokens, "completion_tokens": run.completion_tokens,
                  "total_tokens": run.total_tokens},
        "cost": {"usd": run.cost_usd, "basis": run.cost_basis},
        "output": run.output,
        "exchange": run.exchange,
        "snippet": snippet_of(run),
        "versions": _versions(run),
        "media": files,
    }
    return card


def snippet_of(run: ledger.Run) -> str:
    """The Python (huggingface_hub) code that makes the run again; input files named by their SHA-256."""
    from . import snippets

    task = TASKS.get(run.task)
    if task is None:
        return f"# The task {run.task!r} is not one this playground knows.\n"
    inputs = _with_files(run.inputs, lambda ref: snippets.File(f"{ref[MEDIA_KEY][:12]}{_EXT.get(ref.get('type'), '')}"))
    if task.renderer == "chat":
        inputs = {"messages": inputs.get("messages", []), **{k: v for k, v in inputs.items() if k != "messages"}}
    target = run.target or {}
    try:
        return snippets.python_snippet(task, run.model, run.provider_asked, inputs, dict(run.params),
                                       endpoint_url=target.get("endpoint_url"), bill_to=target.get("bill_to"))
    except Exception as err:  # noqa: BLE001 - the card is still worth having without its snippet
        return f"# The snippet could not be written: {type(err).__name__}: {err}\n"


def _with_files(value: Any, file: Any) -> Any:
    if isinstance(value, dict):
        return file(value) if MEDIA_KEY in value else {k: _with_files(v, file) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_files(v, file) for v in value]
    return value


def dumps(card: dict[str, Any]) -> str:
    """The card as the file holds it: JSON, with anything shaped like a Hugging Face token removed."""
    return capture.redact_text(json.dumps(card, indent=2, ensure_ascii=False, default=str))


def write(card: dict[str, Any], folder: str | Path | None = None) -> str:
    """Write the card to ``run-<id>.json`` in a fresh temporary folder (Gradio serves it for download)."""
    folder = Path(folder or tempfile.mkdtemp(prefix="playground-card-"))
    path = folder / f"run-{card.get('id', 'card')}.json"
    path.write_text(dumps(card), encoding="utf-8")
    return str(path)


def loads(text: str | bytes) -> dict[str, Any]:
    """A card from its file's text. Raises CardError for a file that is not one."""
    try:
        card = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CardError(f"This file is not JSON ({err}).") from None
    if not isinstance(card, dict) or card.get("kind") != KIND:
        raise CardError("This JSON file is not a run card (download one from History).")
    if card.get("task") not in TASKS:
        raise CardError(f"This card's task ({card.get('task')!r}) is not one this playground has.")
    if not isinstance(card.get("request"), dict):
        raise CardError("This run card has no request.")
    return card


# ------------------------------------------------------------------------------------------ back into a tab


def _media_file(card: dict[str, Any], ref: dict[str, Any]) -> str | None:
    """The path of a file the card carries (written once per content, in the temporary folder Gradio may serve)."""
    sha = ref.get(MEDIA_KEY, "")
    entry = (card.get("media") or {}).get(sha) or {}
    if not entry.get("base64"):
        return None
    try:
        data = base64.b64decode(entry["base64"], validate=True)
    except (binascii.Error, ValueError):
        return None
    if hashlib.sha256(data).hexdigest() != sha:
        return None
    folder = Path(tempfile.gettempdir()) / "playground-run-files"
    folder.mkdir(exist_ok=True)
    path = folder / f"{sha}{_EXT.get(entry.get('type') or ref.get('type'), '')}"
    if not path.exists():
        path.write_bytes(data)
    return str(path)


def _input_value(card: dict[str, Any], kind: str, value: Any) -> Any:
    if isinstance(value, dict) and MEDIA_KEY in value:
        return _media_file(card, value)
    if kind == "table" and isinstance(value, dict):
        import pandas as pd

        return pd.DataFrame({k: list(v) for k, v in value.items()})
    if kind == "schema" and isinstance(value, dict):
        value = (value.get("json_schema") or {}).get("schema", value)
    if kind in ("tools", "schema"):
        return "" if value is None else json.dumps(value, indent=2, ensure_ascii=False)
    if kind == "lines" and isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return "" if value is None else value


def _param_value(spec: ParamSpec, value: Any) -> Any:
    if spec.type in ("int", "float"):
        return spec.default if value is None else value
    if value is None:
        return ""
    if spec.type == "bool":
        return str(bool(value)).lower()
    if spec.type == "list":
        return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return str(value)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _images(card: dict[str, Any], content: Any) -> list[str]:
    if not isinstance(content, list):
        return []
    refs = [(p.get("image_url") or {}).get("url") for p in content if isinstance(p, dict) and p.get("type") == "image_url"]
    paths = [_media_file(card, r) if isinstance(r, dict) else r for r in refs]
    return [p for p in paths if isinstance(p, str) and p]


def _chat_values(card: dict[str, Any], inputs: dict[str, Any]) -> list[Any]:
    """(chatbot history, message box, system prompt): the conversation before the last question, the question."""
    messages = list(inputs.get("messages") or [])
    system = messages.pop(0)["content"] if messages and messages[0].get("role") == "system" else ""
    last = messages.pop() if messages and messages[-1].get("role") == "user" else {"content": ""}
    history = []
    for msg in messages:
        text = _text(msg.get("content"))
        if text:
            history.append({"role": msg.get("role", "user"), "content": text})
        history += [{"role": msg.get("role", "user"), "content": {"path": p}} for p in _images(card, msg.get("content"))]
    message = {"text": _text(last.get("content")), "files": _images(card, last.get("content"))}
    return [history, message, _text(system)]


def status_of(card: dict[str, Any]) -> str:
    when = str(card.get("created", ""))[:19].replace("T", " ")
    outcome = "✅ succeeded" if card.get("status") == "ok" else "❌ failed"
    served = (card.get("provider") or {}).get("served") or (card.get("provider") or {}).get("asked")
    return (f"↩️ **Reopened** the run of {when} UTC ({outcome}, {card.get('model_ref') or card.get('model')}, "
            f"served by {served}). Its inputs and parameters are restored: press Run to run it again.")


def tab_values(task: Task, card: dict[str, Any]) -> list[Any]:
    """The values of the task tab's fields, in ``ui``'s order: model, revision, each input, each parameter, the
    extra JSON, then the output (left as it is), the status line and the raw exchange."""
    request = card.get("request") or {}
    inputs = dict(request.get("inputs") or {})
    params = dict(request.get("parameters") or {})
    if task.renderer == "chat":
        history, message, system = _chat_values(card, inputs)
        values = [message, system, *(_input_value(card, s.kind, inputs.get(s.name)) for s in task.inputs[2:])]
        output = history
    else:
        values = [_input_value(card, spec.kind, inputs.get(spec.name)) for spec in task.inputs]
        output = gr.skip()
    shown = [_param_value(spec, params.pop(spec.name, None)) for spec in task.params]
    extra = json.dumps(params, ensure_ascii=False) if params else ""
    raw = json.dumps(card.get("exchange") or {}, indent=2, ensure_ascii=False)
    return [card.get("model", ""), card.get("revision") or "main", *values, *shown, extra, output, status_of(card), raw]


def header_values(card: dict[str, Any]) -> list[Any]:
    """The header's provider, endpoint URL and bill-to for the card's run."""
    target = (card.get("request") or {}).get("target") or {}
    provider = (card.get("provider") or {}).get("asked") or "auto"
    return [provider, target.get("endpoint_url") or "", target.get("bill_to") or ""]


# ------------------------------------------------------------------------------------------ the playground page


Layout = list[tuple[str, "int | None"]]


def fill_outputs(card: dict[str, Any], layout: Layout) -> list[Any]:
    """The playground page's outputs for a card: the group and task tabs opened, the header's provider, endpoint
    and bill-to, then each task's in ``ui``'s order (``layout``): a tab built with the page, ``(task id, number of
    fields)``, gets the card's task's fields; a tab built when first shown, ``(task id, None)``, gets its "opened"
    flag and the run it is to be filled with (``{"values", "nonce"}``: ``ui`` fills the fields once built). Other
    tasks are left alone."""
    from .tasks import GROUPS

    task = TASKS[card["task"]]
    tabs = [gr.Tabs(selected=task.group), *(gr.Tabs(selected=task.id) if g == task.group else gr.skip() for g in GROUPS)]
    out = [*tabs, *header_values(card)]
    for task_id, n in layout:
        if task_id != task.id:
            out += [gr.skip()] * (2 if n is None else n)
        elif n is None:  # the nonce: the same card opened twice fills the tab twice
            out += [True, {"values": tab_values(task, card), "nonce": uuid.uuid4().hex}]
        else:
            out += tab_values(task, card)
    return out


def _nothing(layout: Layout) -> list[Any]:
    from .tasks import GROUPS

    return [gr.skip()] * (1 + len(GROUPS) + 3 + sum(2 if n is None else n for _, n in layout))


def linked_run_handler(layout: Layout):
    """The page's load step for ``?run=<id>``: the run, if it is this browser's owner's, filled into its tab."""

    def open_linked_run(owner_state: Any, request: gr.Request) -> list[Any]:
        from . import owners

        run_id = (request.query_params.get("run", "") if request is not None else "").strip()
        store = ledger.current()
        if not run_id or store is None:
            return _nothing(layout)
        owner = owners.owner_of(owner_state)
        try:
            run = store.get_run(owner, run_id)
        except ledger.LedgerError as err:
            gr.Warning(f"The run cannot be read: {err}")
            return _nothing(layout)
        if run is None or run.task not in TASKS:
            gr.Warning("That run is not in this browser's history (deleted, or another browser's).")
            return _nothing(layout)
        return fill_outputs(card_of(run, store, owner), layout)

    return open_linked_run


def upload_handler(layout: Layout):
    """A run card dropped on the page (an upload): its tab opened and filled, ready to run again."""

    def open_card(path: str | None) -> list[Any]:
        if not path:
            return _nothing(layout)
        try:
            card = loads(Path(path).read_bytes())
        except CardError as err:
            gr.Warning(str(err))
            return _nothing(layout)
        return fill_outputs(card, layout)

    return open_card
