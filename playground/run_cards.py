"""Run cards: one JSON file per run, made from its ledger record, and the tab's values a card fills back in.

    ledger Run  --card_of-->  card (dict: request, model@sha, provider, parameters, output, redacted exchange,
                              snippet, versions, the input files by SHA-256)  --dumps-->  run-<id>.json
    card  --tab_values(task, card)-->  the tab's model, revision, inputs, parameters, extra JSON, and the result
                                       as it was: rendered output, status line, raw exchange (``shown_result``)

History reopens a run through its card (``?run=<id>``), and a card dropped on the playground page (an upload) goes
through the same ``tab_values``: one way back into a tab. A card never holds a token: the ledger keeps none, and
``dumps`` scrubs anything shaped like one as well.
"""

from __future__ import annotations

import base64
import binascii
import collections.abc
import functools
import hashlib
import inspect
import io
import json
import tempfile
import typing
import uuid
from pathlib import Path
from typing import Any

import gradio as gr

from . import capture, ledger
from .ledger import MEDIA_KEY
from .params import ParamSpec
from .renderers import RENDERERS, file_once
from .tasks import TASKS, Task

__all__ = ["KIND", "card_of", "dumps", "loads", "write", "tab_values", "header_values", "snippet_of", "status_of", "CardError",
           "recorded_output", "result_of", "shown_output",
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
    """The run card of one of the owner's runs; its input files, then its output files, are carried (base64), up
    to MAX_MEDIA_BYTES in all (a file past it is named, not carried)."""
    files: dict[str, dict[str, Any]] = {}
    budget = MAX_MEDIA_BYTES
    for ref in _refs([run.inputs, run.output]):
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
        "waited_s": run.waited_s,
        "truncated": run.truncated,
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


def tab_card(raw: str | None, owner_state: Any) -> str:
    """A tab's "Run card" button: the card of the tab's last run (named by its raw exchange's ``run_id``), written
    for download. Raises gr.Error saying why there is none (no run yet, not recorded, not this browser's)."""
    from . import owners

    try:
        run_id = json.loads(raw or "{}").get("run_id")
    except (ValueError, AttributeError):
        run_id = None
    if not run_id:
        raise gr.Error("No run card yet: run the task first (a run the ledger did not record has none).",
                       print_exception=False)
    store = ledger.current()
    if store is None:
        raise gr.Error("No run card: this playground records no runs (its ledger is off).",
                       print_exception=False)
    store.flush(5.0)  # the run is written off the request path: wait a moment for it
    owner = owners.owner_of(owner_state)
    try:
        run = store.get_run(owner, run_id)
    except ledger.LedgerError as err:
        raise gr.Error(f"The run card cannot be read: {err}", print_exception=False) from None
    if run is None:
        raise gr.Error("That run is not in this browser's history (deleted, or not recorded).", print_exception=False)
    return write(card_of(run, store, owner))


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


def _media_bytes(card: dict[str, Any], ref: dict[str, Any]) -> bytes | None:
    """The bytes of a file the card carries (None when it names the file without carrying it, or they do not match
    their hash)."""
    sha = ref.get(MEDIA_KEY, "")
    entry = (card.get("media") or {}).get(sha) or {}
    if not entry.get("base64"):
        return None
    try:
        data = base64.b64decode(entry["base64"], validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if hashlib.sha256(data).hexdigest() == sha else None


def _media_file(card: dict[str, Any], ref: dict[str, Any]) -> str | None:
    """The path of a file the card carries (written once per content, in the temporary folder Gradio may serve)."""
    data = _media_bytes(card, ref)
    if data is None:
        return None
    entry = (card.get("media") or {}).get(ref[MEDIA_KEY]) or {}
    suffix = _EXT.get(entry.get("type") or ref.get("type"), "")
    return file_once(data, "playground-run-files", f"{ref[MEDIA_KEY]}{suffix}")


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


# ------------------------------------------------------------------------------------------ the result, as it was


def _revived(card: dict[str, Any], value: Any) -> Any:
    """A recorded value as the run had it (``ledger.record.Converter`` undone): files back as bytes, a decoded
    image (recorded with its ``size``) as a PIL image, a large array (its ``shape``) as numpy. A file the card does
    not carry becomes None."""
    if isinstance(value, dict):
        if MEDIA_KEY not in value:
            return {k: _revived(card, v) for k, v in value.items()}
        data = _media_bytes(card, value)
        if data is None:
            return None
        if "shape" in value:
            import numpy as np

            return np.load(io.BytesIO(data), allow_pickle=False)
        if "size" in value:
            from PIL import Image

            image = Image.open(io.BytesIO(data))
            image.load()
            return image
        return data
    if isinstance(value, list):
        return [_revived(card, v) for v in value]
    return value


@functools.cache
def _output_type(task_id: str) -> type | None:
    """The huggingface_hub output type the task's InferenceClient method returns (None for str, bytes, images...)."""
    from huggingface_hub import InferenceClient
    from huggingface_hub.inference._generated.types.base import BaseInferenceType

    def find(annotation: Any) -> type | None:
        if isinstance(annotation, type) and issubclass(annotation, BaseInferenceType):
            return annotation
        if typing.get_origin(annotation) is collections.abc.Iterable:  # a stream's chunks: not what is recorded
            return None
        return next((t for t in map(find, typing.get_args(annotation)) if t is not None), None)

    return find(inspect.signature(getattr(InferenceClient, TASKS[task_id].method)).return_annotation)


def recorded_output(task: Task, card: dict[str, Any]) -> Any:
    """The run's output as the service path returned it (huggingface_hub's types, images, bytes), from the card."""
    value = _revived(card, card.get("output"))
    kind = _output_type(task.id)
    records = isinstance(value, dict) or (isinstance(value, list) and value and all(isinstance(v, dict) for v in value))
    return kind.parse_obj(value) if kind is not None and records else value


def result_of(card: dict[str, Any]) -> Any:
    """The card's run as a ``service.RunResult``, with its recorded exchanges (redacted): what its status line and the
    views of its exchanges (``compare.exchange_table``) are written from."""
    from .capture import Exchange
    from .errors import PlaygroundError
    from .service import RunResult

    provider = card.get("provider") or {}
    error = card.get("error")
    known = {"title", "message", "fix", "status", "retry_after", "kind"}
    usage = {k: v for k, v in (card.get("usage") or {}).items() if v is not None} or None
    return RunResult(
        task=card.get("task", ""), model=card.get("model", ""),
        revision=card.get("commit_sha") or card.get("revision") or "main",
        provider_requested=provider.get("asked") or "", provider_served=provider.get("served"),
        exchanges=[Exchange.from_dict(e) for key in ("exchanges", "hub_lookups")
                   for e in (card.get("exchange") or {}).get(key) or [] if isinstance(e, dict)],
        latency_s=float(card.get("latency_ms") or 0) / 1000, usage=usage,
        error=PlaygroundError(**{k: v for k, v in error.items() if k in known}) if isinstance(error, dict) else None,
        retries=int(card.get("retries") or 0), waited_s=float(card.get("waited_s") or 0),
        truncated=bool(card.get("truncated")), notes=[str(n) for n in card.get("notes") or []])


def status_of(card: dict[str, Any], again: str = "press Run to run it again") -> str:
    """The reopened run's status line: when it ran, then its status line as it was (with its error, if any)."""
    from .handlers import status_markdown

    when = str(card.get("created", ""))[:19].replace("T", " ")
    return f"↩️ **Reopened** the run of {when} UTC, shown as it was: {again}.\n\n{status_markdown(result_of(card))}"


def shown_output(task: Task, card: dict[str, Any]) -> tuple[Any, str | None]:
    """The output component's value for the card's run, rendered again from the recorded output, and a note when
    it cannot be (an empty output for a failed run)."""
    renderer = RENDERERS[task.renderer]
    if card.get("status") != "ok":
        return renderer.empty, None
    inputs = _revived(card, (card.get("request") or {}).get("inputs") or {})
    try:
        return renderer.render(recorded_output(task, card), inputs), None
    except Exception as err:  # noqa: BLE001 - a file the card does not carry, an old card's shape...
        return renderer.empty, f"⚠️ The result cannot be shown again ({type(err).__name__}: {err}); it is in the raw exchange."


def tab_values(task: Task, card: dict[str, Any], again: str | None = None) -> list[Any]:
    """The values of the task tab's fields, in ``ui``'s order: model, revision, each input, each parameter, the
    extra JSON, then the result as it was: the rendered output (a chat: the conversation with its reply), the
    status line and the raw exchange. ``again``: what the status line says to do next (by default the tab's: Run,
    Send or Retry)."""
    request = card.get("request") or {}
    inputs = dict(request.get("inputs") or {})
    params = dict(request.get("parameters") or {})
    note = None
    if task.renderer == "chat":
        history, message, system = _chat_values(card, inputs)
        if card.get("status") == "ok":  # the question and its reply shown; Retry asks the question again
            from .handlers import TRUNCATED

            asked = [{"role": "user", "content": message["text"]}] if message["text"] else []
            asked += [{"role": "user", "content": {"path": p}} for p in message["files"]]
            reply = str(card.get("output") or "") + (TRUNCATED if card.get("truncated") else "")
            history, message = [*history, *asked, {"role": "assistant", "content": reply}], {"text": "", "files": []}
            next_step = "press ↻ Retry the last message to ask it again"
        else:
            next_step = "press Send to ask it again"
        values = [message, system, *(_input_value(card, s.kind, inputs.get(s.name)) for s in task.inputs[2:])]
        output = history
    else:
        values = [_input_value(card, spec.kind, inputs.get(spec.name)) for spec in task.inputs]
        output, note = shown_output(task, card)
        next_step = "press Run to run it again"
    again = again or next_step
    shown = [_param_value(spec, params.pop(spec.name, None)) for spec in task.params]
    extra = json.dumps(params, ensure_ascii=False) if params else ""
    raw = json.dumps(card.get("exchange") or {}, indent=2, ensure_ascii=False)
    if card.get("shared"):  # a share link: the request without its files or result
        left_out = ", ".join(card.get("files_left_out") or [])
        status = (f"🔗 **Opened from a share link**: its model, provider, text inputs and parameters are filled in; "
                  f"{again}." + (f" Files do not travel in a link: add your own ({left_out})." if left_out else ""))
    else:
        status = status_of(card, again) + (f"\n\n{note}" if note else "")
        if card.get("snapshot"):
            status = "📸 **Read-only snapshot**, published by the run's owner: its record stays theirs. " + status
    return [card.get("model", ""), card.get("revision") or "main", *values, *shown, extra, output, status, raw]


def header_values(card: dict[str, Any]) -> list[Any]:
    """The header's provider, endpoint URL and bill-to for the card's run."""
    target = (card.get("request") or {}).get("target") or {}
    provider = (card.get("provider") or {}).get("asked") or "auto"
    return [provider, target.get("endpoint_url") or "", target.get("bill_to") or ""]


# ------------------------------------------------------------------------------------------ the playground page


Layout = list[tuple[str, "int | None"]]


def fill_outputs(card: dict[str, Any], layout: Layout) -> list[Any]:
    """The playground page's outputs for a card: the group and task tabs opened, the header's provider, endpoint
    and bill-to, the provider marked as chosen (``ui``'s ``picked``: a token checked after it leaves it, as it leaves
    a provider picked by hand), then each task's in ``ui``'s order (``layout``): a tab built with the page, ``(task
    id, number of fields)``, gets the card's task's fields; a tab built when first shown, ``(task id, None)``, gets its
    "opened" flag and the run it is to be filled with (``{"values", "nonce"}``: ``ui`` fills the fields once built).
    Other tasks are left alone."""
    from .tasks import GROUPS

    task = TASKS[card["task"]]
    tabs = [gr.Tabs(selected=task.group), *(gr.Tabs(selected=task.id) if g == task.group else gr.skip() for g in GROUPS)]
    out = [*tabs, *header_values(card), True]
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

    return [gr.skip()] * (1 + len(GROUPS) + 4 + sum(2 if n is None else n for _, n in layout))


def linked_run_handler(layout: Layout):
    """The page's load step for ``?run=<id>`` (the run, if it is this browser's owner's), ``?snapshot=<id>`` (a
    published run, anyone's) and ``?share=<request>`` (a share link): filled into its tab."""

    def open_linked_run(owner_state: Any, request: gr.Request) -> list[Any]:
        from . import owners, share_links

        query = request.query_params if request is not None else {}
        if query.get("share", "").strip():
            try:
                return fill_outputs(share_links.card_of_share(query["share"]), layout)
            except share_links.ShareError as err:
                gr.Warning(str(err))
                return _nothing(layout)
        run_id, snapshot_id = query.get("run", "").strip(), query.get("snapshot", "").strip()
        store = ledger.current()
        if not (run_id or snapshot_id) or store is None:
            return _nothing(layout)
        if snapshot_id:
            try:
                found = store.snapshot(snapshot_id)
            except ledger.LedgerError as err:
                gr.Warning(f"The snapshot cannot be read: {err}")
                return _nothing(layout)
            if found is None or found[0].task not in TASKS:
                gr.Warning("This snapshot is no longer published (its owner withdrew or deleted it).")
                return _nothing(layout)
            run, reader = found
            return fill_outputs({**card_of(run, store, reader), "snapshot": True}, layout)
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
