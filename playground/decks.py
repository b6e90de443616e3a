"""Presentation decks: an ordered list of steps made from recorded runs, played one at a time, live or from the
recording, on the Present page (``pages/present.py``); shared as a read-only link, exported as one HTML file.

    History runs  --step_of-->  step {run_id, task, model, provider, revision, endpoint_url, bill_to, inputs,
                                      params, notes}            kept in the ledger (``ledger_decks``), in order
    a step  --play_recorded-->  Shown: its inputs and the run's result, captioned "recorded on <date>"
            --play_live-->      the same request run again now through the one service path (source "deck"):
                                "live, just now"; when it fails, the recording, captioned "recorded on <date>;
                                the live run failed: <why>"; when the spend guard holds it back (the page's
                                budgets), the recording, captioned "recorded on <date>; the live run was held
                                back by the spend guard: <why>". A recording is never shown as live.

A step can also be typed in for the deck (``typed_step``: a text task, a model, a provider, its text inputs): the same
dict with no run (``run_id`` None), so decks kept before it read as they were. It has no recording until it is played:
live, it runs through the service path (and is recorded, as any run); when that fails, the stage says so, with nothing
to fall back to.

The result a step shows is read from its run (``ledger.current().get_run``), never copied into the deck; a
shared deck's reader (``Ledger.shared_deck``) reads those runs and their files, nothing else of the owner.
The token is never an argument here that a page keeps: handlers receive the session's token
(``handlers.request_token``) and hand it to the service path only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from . import capture, handlers, ledger, owners, run_cards, service, spend_guard
from .errors import InputError
from .ledger import MEDIA_KEY
from .renderers import RENDERERS
from .tasks import TASKS, Task

__all__ = ["STEP_FIELDS", "VIEW_KEYS", "view", "open_page", "pick_deck", "new_deck", "rename_deck", "delete_deck",
           "add_picked", "move", "remove", "save_notes", "share", "export", "present", "leave", "go", "run_live",
           "show_recording", "Shown", "step_of", "add_runs", "move_step", "remove_step", "set_notes", "steps_table",
           "play_recorded", "play_live", "recorded_on", "runs_to_pick", "run_label", "deck_reader", "input_summary",
           "TYPED_KINDS", "TYPED_INPUTS", "typed_tasks", "typed_step", "typed_boxes", "typed_task_picked",
           "add_typed"]

STEP_FIELDS = ("run_id", "task", "model", "provider", "revision", "endpoint_url", "bill_to", "inputs", "params", "notes")
STEPS_COLUMNS = ["#", "Task", "Model", "Provider", "Inputs", "Speaker notes"]
# A live step must not hold a meeting for two minutes: a shorter deadline and connect timeout than a tab's (the
# Advanced accordion's values, ``handlers.ADVANCED_ARGS``' order: attempts, backoff base, cap, deadline, connect)
LIVE_ADVANCED = (None, None, None, 45, 5)


# ------------------------------------------------------------------------------------------ building a deck


def step_of(run: ledger.Run, notes: str = "") -> dict[str, Any]:
    """A deck step from a recorded run: what to run again (task, target, inputs as recorded, parameters), the run
    whose result it shows, and the speaker's notes. No token: the run's record keeps none."""
    target = run.target or {}
    return {"run_id": run.id, "task": run.task, "model": run.model, "provider": run.provider_asked,
            "revision": run.revision or "main", "endpoint_url": target.get("endpoint_url") or None,
            "bill_to": target.get("bill_to") or None, "inputs": run.inputs, "params": run.params or {},
            "notes": notes}


def add_runs(store: ledger.Ledger, owner: ledger.Owner, steps: list[dict[str, Any]], run_ids: list[str]) -> list[dict[str, Any]]:
    """The steps with the owner's runs ``run_ids`` appended in the order given. Raises ValueError for a run that is
    not the owner's (or no longer exists), or a task this playground does not have."""
    added = []
    for run_id in run_ids:
        run = store.get_run(owner, run_id)
        if run is None:
            raise ValueError("That run is not in this browser's history any more (deleted, or another browser's).")
        if run.task not in TASKS:
            raise ValueError(f"The run's task {run.task!r} is not one this playground has.")
        added.append(step_of(run))
    return [*steps, *added]


TYPED_KINDS = ("text", "lines")  # the inputs a step typed in for the deck may have: text tasks only


def typed_tasks() -> list[tuple[str, str]]:
    """The tasks a step can be typed in for (every input text), as (label, task id), in the registry's order."""
    return [(t.label, t.id) for t in TASKS.values() if all(spec.kind in TYPED_KINDS for spec in t.inputs)]


TYPED_INPUTS = max(len(TASKS[task_id].inputs) for _, task_id in typed_tasks())  # the editor's text boxes


def typed_step(task_id: str | None, model: str | None, provider: str | None, values: list[Any] | tuple,
               notes: str = "") -> dict[str, Any]:
    """A deck step typed in now, not a past run (``run_id`` None): its inputs checked as the service path checks
    them (``service.prepare_input``). Raises ValueError naming the fix."""
    task = TASKS.get(task_id or "")
    if task is None or not all(spec.kind in TYPED_KINDS for spec in task.inputs):
        names = ", ".join(label for label, _ in typed_tasks())
        raise ValueError(f"Pick a text task for a typed-in step (one of: {names}); other tasks: add a run of them "
                         "from your history.")
    inputs: dict[str, Any] = {}
    for spec, value in zip(task.inputs, [*values, *[None] * len(task.inputs)]):
        try:
            prepared = service.prepare_input(spec, value)
        except InputError as err:
            raise ValueError(f"{err.title}: {err.fix}".rstrip(": ")) from None
        if prepared is not None:
            inputs[spec.name] = prepared
    return {"run_id": None, "task": task.id, "model": (model or "").strip() or task.default_model,
            "provider": (provider or "").strip() or "auto", "revision": "main", "endpoint_url": None, "bill_to": None,
            "inputs": inputs, "params": {}, "notes": (notes or "").strip()}


def move_step(steps: list[dict[str, Any]], index: int, by: int) -> list[dict[str, Any]]:
    """The steps with step ``index`` moved ``by`` places (-1: up, +1: down), kept within the deck."""
    steps = list(steps)
    if not 0 <= index < len(steps):
        raise ValueError(f"There is no step {index + 1}: the deck has {len(steps)}.")
    to = max(0, min(len(steps) - 1, index + by))
    steps.insert(to, steps.pop(index))
    return steps


def remove_step(steps: list[dict[str, Any]], index: int) -> list[dict[str, Any]]:
    if not 0 <= index < len(steps):
        raise ValueError(f"There is no step {index + 1}: the deck has {len(steps)}.")
    return [s for i, s in enumerate(steps) if i != index]


def set_notes(steps: list[dict[str, Any]], index: int, notes: str) -> list[dict[str, Any]]:
    if not 0 <= index < len(steps):
        raise ValueError(f"There is no step {index + 1}: the deck has {len(steps)}.")
    return [{**s, "notes": (notes or "").strip()} if i == index else s for i, s in enumerate(steps)]


def _short(text: str, limit: int = 70) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def input_summary(task_id: str, inputs: dict[str, Any]) -> str:
    """A step's (or run's) inputs in one line: its texts, its files by type."""
    parts = []
    for name, value in (inputs or {}).items():
        if isinstance(value, dict) and MEDIA_KEY in value:
            parts.append(f"[{str(value.get('type') or 'file').split('/')[0]}]")
        elif name == "messages" and isinstance(value, list):
            users = [m for m in value if isinstance(m, dict) and m.get("role") == "user"]
            content = users[-1].get("content") if users else ""
            parts.append(content if isinstance(content, str) else run_cards._text(content))
        elif isinstance(value, str) and value.strip():
            parts.append(value)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            parts.append(", ".join(value))
    return _short(" · ".join(parts)) or "(no text inputs)"


def steps_table(steps: list[dict[str, Any]]) -> list[list[str]]:
    """The deck editor's table (``STEPS_COLUMNS``)."""
    rows = []
    for i, step in enumerate(steps, 1):
        task = TASKS.get(step.get("task"))
        label = task.label if task else step.get("task", "")
        rows.append([str(i), label if step.get("run_id") else f"{label} (typed in, no recording)", step.get("model", ""),
                     step.get("provider", ""), input_summary(step.get("task", ""), step.get("inputs") or {}),
                     _short(step.get("notes") or "", 50)])
    return rows


def run_label(run: ledger.RunSummary, inputs: dict[str, Any] | None = None) -> str:
    task = TASKS.get(run.task)
    label = f"{run.created.strftime('%Y-%m-%d %H:%M')} · {task.label if task else run.task} · {run.model} · " \
            f"{run.provider_served or run.provider_asked}"
    return f"{label} · {input_summary(run.task, inputs)}" if inputs else label


def runs_to_pick(store: ledger.Ledger, owner: ledger.Owner, limit: int = 30) -> list[tuple[str, str]]:
    """The owner's recent successful runs, newest first, as (label, run id): what a deck is built from."""
    page = store.list_runs(owner, status="ok", limit=limit)
    choices = []
    for summary in page.runs:
        if summary.task not in TASKS:
            continue
        run = store.get_run(owner, summary.id)
        choices.append((run_label(summary, run.inputs if run else None), summary.id))
    return choices


# ------------------------------------------------------------------------------------------ playing a step


@dataclass
class Shown:
    """What the stage shows for one step: its inputs, its result (the value of ``RENDERERS[task.renderer]``'s
    component), and the caption saying where the result comes from."""

    task: str
    texts: list[tuple[str, str]] = field(default_factory=list)  # (label, text) of its text inputs
    image: str | None = None  # its image input (a file path)
    audio: str | None = None
    table: Any = None
    output: Any = None
    caption: str = ""
    mode: str = "ready"  # ready (not played yet) | live | recorded | fallback (recorded, live failed) | failed
    notes: str = ""
    media: dict[str, Any] = field(default_factory=dict, repr=False)  # what export inlines: renderer value kinds


def deck_reader(share_id: str) -> tuple[ledger.Deck, ledger.Owner] | None:
    store = ledger.current()
    return None if store is None else store.shared_deck(share_id)


def recorded_on(run: ledger.Run) -> str:
    return f"recorded on {run.created.strftime('%Y-%m-%d %H:%M')} UTC"


def _media_of(store: ledger.Ledger, owner: ledger.Owner, value: Any) -> dict[str, dict[str, Any]]:
    """The card ``media`` entry of every file ``value`` refers to that the owner may read."""
    import base64

    out: dict[str, dict[str, Any]] = {}
    for ref in run_cards._refs(value):
        sha = ref[MEDIA_KEY]
        if sha in out:
            continue
        found = store.get_media(owner, sha)
        out[sha] = {"type": found.content_type if found else ref.get("type", ""), "bytes": ref.get("bytes", 0),
                    "base64": base64.b64encode(found.data).decode() if found else None}
    return out


def step_card(store: ledger.Ledger, owner: ledger.Owner, step: dict[str, Any]) -> tuple[dict[str, Any], ledger.Run | None]:
    """The run card of the step's run (None when it is gone), else a card of the step's request alone."""
    run = store.get_run(owner, step["run_id"]) if step.get("run_id") else None
    if run is not None:
        return run_cards.card_of(run, store, owner), run
    inputs = step.get("inputs") or {}
    card = {"task": step["task"], "model": step.get("model", ""), "revision": step.get("revision") or "main",
            "status": "missing", "request": {"inputs": inputs, "parameters": step.get("params") or {}},
            "media": _media_of(store, owner, inputs)}
    return card, None


def _stage_inputs(task: Task, card: dict[str, Any], shown: Shown) -> None:
    """The step's inputs as the stage shows them (from the card: files as paths Gradio may serve)."""
    values = run_cards.tab_values(task, card)[2 : 2 + len(task.inputs)]
    for spec, value in zip(task.inputs, values):
        if spec.kind == "chat":
            continue  # the conversation is the result's component
        if spec.kind == "image" and value and shown.image is None:
            shown.image = value
        elif spec.kind == "audio" and value and shown.audio is None:
            shown.audio = value
        elif spec.kind == "table" and value is not None and shown.table is None:
            shown.table = value
        elif isinstance(value, str) and value.strip():
            shown.texts.append((spec.label, value))


def _caption(task: Task, model_ref: str, provider: str, revision: str, where: str) -> str:
    return f"**{task.label}** · `{model_ref}` · provider **{provider}** · revision `{revision}` · {where}"


HELD_BACK = "the live run was held back by the spend guard"


def _recorded(task: Task, card: dict[str, Any], run: ledger.Run | None, step: dict[str, Any], why: str = "",
              held: bool = False) -> Shown:
    """The step shown from its recording; ``why`` is the live run's failure (``held``: why the spend guard held it
    back), when it is shown instead of one."""
    shown = Shown(task.id, notes=step.get("notes") or "")
    _stage_inputs(task, card, shown)
    what = HELD_BACK if held else "the live run failed"
    if run is None:
        shown.mode = "failed"
        failed = f"{what}: {why}; " if why else ""
        missing = ("this step's recorded run is no longer in the history" if step.get("run_id") else
                   "this step was typed in for the deck and has never been recorded")
        shown.caption = f"⚠️ **{task.label}** · `{step.get('model')}` · {failed}{missing}, so there is no recording to show."
        shown.output = RENDERERS[task.renderer].empty
        return shown
    values = run_cards.tab_values(task, card)
    shown.output = values[-3]
    where = recorded_on(run) + (f"; {what}: {why}" if why else "")
    shown.mode = "fallback" if why else "recorded"
    shown.caption = ("⏺️ " if not why else "⚠️ ") + _caption(task, run.model_ref, run.provider_served or run.provider_asked,
                                                              run.revision, where)
    return shown


def play_recorded(store: ledger.Ledger, owner: ledger.Owner, step: dict[str, Any]) -> Shown:
    """The step with its recorded result, captioned "recorded on <date>"."""
    task = TASKS[step["task"]]
    card, run = step_card(store, owner, step)
    return _recorded(task, card, run, step)


def ready(store: ledger.Ledger, owner: ledger.Owner, step: dict[str, Any]) -> Shown:
    """The step before it is played: its inputs, no result yet."""
    task = TASKS[step["task"]]
    card, _ = step_card(store, owner, step)
    shown = Shown(task.id, notes=step.get("notes") or "", output=RENDERERS[task.renderer].empty)
    _stage_inputs(task, card, shown)
    shown.caption = (_caption(task, step.get("model", ""), step.get("provider", ""), step.get("revision") or "main",
                              "not played yet") + (" · press **Enter** to run it live, **R** for its recording"
                                                   if step.get("run_id") else
                                                   " · typed in for the deck, no recording: press **Enter** to run it live"))
    return shown


def _live_values(task: Task, card: dict[str, Any]) -> tuple:
    """The tab's values (inputs, parameters, extra JSON) that make the card's request again (``task_request``)."""
    values = run_cards.tab_values(task, card)[2 : 2 + len(task.inputs) + len(task.params) + 1]
    if task.renderer == "chat":  # the whole recorded conversation (the system prompt is its first message)
        messages = run_cards._revived(card, (card.get("request") or {}).get("inputs", {}).get("messages") or [])
        values = [_data_urls(messages), None, *values[2:]]
    return tuple(values)


def _data_urls(value: Any) -> Any:
    """Recorded chat images (bytes, once ``data:`` URLs) as ``data:`` URLs again."""
    import base64

    from .ledger.record import content_type

    if isinstance(value, (bytes, bytearray)):
        return f"data:{content_type(bytes(value))};base64,{base64.b64encode(bytes(value)).decode()}"
    if isinstance(value, dict):
        return {k: _data_urls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_data_urls(v) for v in value]
    return value


def play_live(store: ledger.Ledger, owner_state: Any, step: dict[str, Any], token: str | None, session: str = "",
              address: str = "", guard: spend_guard.Guard | None = None) -> Shown:
    """Run the step again now, through the one service path (recorded as a ``deck`` run; held back by the spend
    guard when it would pass ``guard``'s budget). When it fails, the step's recording, captioned "recorded on
    <date>; the live run failed: <why>"; when it is held back, "...; the live run was held back by the spend
    guard: <why>"."""
    task = TASKS[step["task"]]
    owner = owners.owner_of(owner_state)
    card, run = step_card(store, owner, step)
    try:
        request = handlers.task_request(task, token, step.get("provider"), step.get("endpoint_url"), step.get("bill_to"),
                                        step.get("model"), step.get("revision"), _live_values(task, card),
                                        advanced=LIVE_ADVANCED, session=session, owner=owner_state, source="deck",
                                        address=address, guard=guard)
    except InputError as err:
        return _recorded(task, card, run, step, err.title)
    result = service.run(request)
    if result.held_back:
        return _recorded(task, card, run, step, result.error.message, held=True)
    output, _status, _raw = handlers.shown(task, result)
    if not result.ok:
        return _recorded(task, card, run, step, result.error.title)
    shown = Shown(task.id, notes=step.get("notes") or "", mode="live")
    _stage_inputs(task, card, shown)
    if task.renderer == "chat":
        conversation = [m for m in run_cards.tab_values(task, card)[-3]]
        if conversation and conversation[-1].get("role") == "assistant":
            conversation = conversation[:-1]
        output = [*conversation, {"role": "assistant", "content": output}]
    shown.output = output
    served = result.provider_served or result.provider_requested
    shown.caption = "🟢 " + _caption(task, result.model_ref, served, request.revision,
                                     f"**live, just now** ({result.latency_s * 1000:.0f} ms)")
    return shown


# ------------------------------------------------------------------------------------------ the page's handlers
#
# Module-level functions taking and returning plain values (the Present page, ``pages/present.py``, wires them).
# The deck in use is named by its id (a session ``gr.State``); its steps are read from the ledger each time.

VIEW_KEYS = tuple(RENDERERS)  # the stage keeps one output component per renderer, shown when a step's task uses it


def view(shown: Shown | None, number: int = 0, total: int = 0, title: str = "") -> list[Any]:
    """The stage's components for a step: counter, text inputs, image, audio, table, one output per renderer
    (``VIEW_KEYS``, only the step's visible), caption, speaker notes."""
    if shown is None:
        return [f"### {title}" if title else "", "", gr.update(value=None, visible=False),
                gr.update(value=None, visible=False), gr.update(value=None, visible=False),
                *[gr.update(visible=False) for _ in VIEW_KEYS], "This deck has no steps: add runs to it first.", ""]
    renderer = TASKS[shown.task].renderer
    texts = "\n\n".join(f"<span class='present-label'>{label}</span>\n\n{_quote(text)}" for label, text in shown.texts)
    outputs = []
    for key in VIEW_KEYS:
        if key != renderer:
            outputs.append(gr.update(visible=False))
        elif isinstance(shown.output, dict) and shown.output.get("__type__") == "update":  # segments' own update
            outputs.append({**shown.output, "visible": True})
        else:
            outputs.append(gr.update(value=shown.output, visible=True))
    counter = f"### {title} · step {number} / {total}" if title else f"### Step {number} / {total}"
    return [counter, texts, gr.update(value=shown.image, visible=shown.image is not None),
            gr.update(value=shown.audio, visible=shown.audio is not None),
            gr.update(value=shown.table, visible=shown.table is not None), *outputs, shown.caption,
            f"🗒️ {shown.notes}" if shown.notes else ""]


def _quote(text: str) -> str:
    """A text input shown large, as itself (markdown characters escaped, token-shaped text removed)."""
    import html

    return "<div class='present-text'>" + html.escape(capture.redact_text(text)).replace("\n", "<br>") + "</div>"


def _store() -> ledger.Ledger:
    store = ledger.current()
    if store is None:
        raise gr.Error("Decks are kept in the run ledger, which is off on this server.")
    return store


def _deck(owner_state: Any, deck_id: str | None, share_id: str | None = None) -> tuple[ledger.Deck | None, ledger.Owner]:
    """The deck in use and who reads it: the owner's deck, or a shared deck's reader."""
    store = _store()
    if share_id:
        found = store.shared_deck(share_id)
        if found is None:
            raise gr.Error("This deck is no longer shared (its owner withdrew the link or deleted it).")
        return found
    owner = owners.owner_of(owner_state)
    return (store.get_deck(owner, deck_id) if deck_id else None), owner


def _choices(owner_state: Any) -> list[tuple[str, str]]:
    found = _store().list_decks(owners.owner_of(owner_state))
    return [(f"{d.title} ({len(d.steps)} step{'s' * (len(d.steps) != 1)})", d.id) for d in found]


def _editor(owner_state: Any, deck: ledger.Deck | None) -> tuple:
    """The editor's deck picker, the deck's id, its title and its steps table."""
    import pandas as pd

    rows = steps_table(deck.steps) if deck else []
    return (gr.Dropdown(choices=_choices(owner_state), value=deck.id if deck else None), deck.id if deck else None,
            deck.title if deck else "", pd.DataFrame(rows, columns=STEPS_COLUMNS))


def _runs(owner_state: Any) -> gr.CheckboxGroup:
    try:
        choices = runs_to_pick(_store(), owners.owner_of(owner_state))
    except ledger.LedgerError as err:
        raise gr.Error(f"History cannot be read: {err}") from None
    return gr.CheckboxGroup(choices=choices, value=[])


def open_page(owner_state: Any, request: gr.Request) -> tuple:
    """The page opened: ``?deck=<share id>`` is a shared deck, played read-only from its recordings at once; else
    the owner's last deck in the editor, and their recent runs to build from. Returns (share id, *editor, runs,
    *the stage's visibility)."""
    share_id = (dict(request.query_params).get("deck", "") if request is not None else "").strip()
    if share_id:
        found = _store().shared_deck(share_id)
        if found is None:
            gr.Warning("This deck is no longer shared (its owner withdrew the link or deleted it).")
            share_id = ""
    if share_id:
        return (share_id, gr.skip(), None, found[0].title, gr.skip(), gr.skip(), *_modes(True, shared=True))
    decks_ = _store().list_decks(owners.owner_of(owner_state), limit=1)
    return ("", *_editor(owner_state, decks_[0] if decks_ else None), _runs(owner_state), *_modes(False))


def _modes(presenting: bool, shared: bool = False) -> tuple:
    """The editor's and the stage's visibility, and the stage's Run live button (not for a shared deck)."""
    return (gr.Column(visible=not presenting), gr.Column(visible=presenting), gr.Button(visible=not shared))


def pick_deck(owner_state: Any, deck_id: str | None) -> tuple:
    deck, _ = _deck(owner_state, deck_id)
    return _editor(owner_state, deck)


def new_deck(owner_state: Any, title: str | None = None) -> tuple:
    deck_id = _store().save_deck(owners.owner_of(owner_state), title or "Untitled deck", [])
    gr.Info("A new, empty deck: add runs to it from the list of your runs.")
    return pick_deck(owner_state, deck_id)


def rename_deck(owner_state: Any, deck_id: str | None, title: str) -> tuple:
    deck, owner = _deck(owner_state, deck_id)
    if deck is None:
        return new_deck(owner_state, title)
    _store().save_deck(owner, title, deck.steps, deck.id)
    return pick_deck(owner_state, deck.id)


def delete_deck(owner_state: Any, deck_id: str | None) -> tuple:
    if deck_id and _store().delete_deck(owners.owner_of(owner_state), deck_id):
        gr.Info("The deck is deleted (its runs stay in your history).")
    found = _store().list_decks(owners.owner_of(owner_state), limit=1)
    return _editor(owner_state, found[0] if found else None)


def _changed(owner_state: Any, deck_id: str | None, change) -> tuple:
    """Apply ``change(steps) -> steps`` to the deck in use (a new deck when there is none) and keep it."""
    deck, owner = _deck(owner_state, deck_id)
    try:
        steps = change(deck.steps if deck else [])
    except ValueError as err:
        raise gr.Error(str(err)) from None
    try:
        saved = _store().save_deck(owner, deck.title if deck else "Untitled deck", steps, deck.id if deck else None)
    except ledger.LedgerError as err:
        raise gr.Error(f"The deck was not saved: {err}") from None
    return pick_deck(owner_state, saved)


def add_picked(owner_state: Any, deck_id: str | None, run_ids: list[str] | None) -> tuple:
    """The runs checked in the list appended to the deck, in the list's order (newest first)."""
    if not run_ids:
        raise gr.Error("Check one or more of your runs in the list first.")
    store, owner = _store(), owners.owner_of(owner_state)
    out = _changed(owner_state, deck_id, lambda steps: add_runs(store, owner, steps, list(run_ids)))
    return (*out, gr.CheckboxGroup(value=[]))


def typed_boxes(task_id: str | None) -> list[dict[str, Any]]:
    """The typed-in step's ``TYPED_INPUTS`` text boxes for the task picked (a Textbox's arguments): one per input,
    labelled by the task, the rest hidden."""
    task = TASKS.get(task_id or "")
    specs = list(task.inputs) if task else []
    boxes = []
    for i in range(TYPED_INPUTS):
        if i < len(specs):
            spec = specs[i]
            boxes.append(dict(label=spec.label, placeholder=spec.placeholder, lines=max(1, spec.lines), visible=True,
                              info="one a line" if spec.kind == "lines" else None, value=""))
        else:
            boxes.append(dict(visible=False, value=""))
    return boxes


def typed_task_picked(task_id: str | None) -> list[Any]:
    """The typed-in step's model (the task's default) and its text boxes (``typed_boxes``)."""
    task = TASKS.get(task_id or "")
    return [gr.update(choices=task.model_choices if task else [], value=task.default_model if task else None),
            *(gr.update(**box) for box in typed_boxes(task_id))]


def add_typed(owner_state: Any, deck_id: str | None, task_id: str | None, model: str | None, provider: str | None,
              notes: str | None, *texts: str) -> tuple:
    """A step typed in now (``typed_step``) appended to the deck."""
    return _changed(owner_state, deck_id,
                    lambda steps: [*steps, typed_step(task_id, model, provider, list(texts), notes or "")])


def _index(step_no: Any) -> int:
    try:
        return int(float(step_no)) - 1
    except (TypeError, ValueError):
        raise gr.Error("Give the number of a step (the # column).") from None


def move(owner_state: Any, deck_id: str | None, step_no: Any, by: int) -> tuple:
    """Move a step up (``by`` -1) or down (+1); the step number follows it."""
    index = _index(step_no)
    out = _changed(owner_state, deck_id, lambda steps: move_step(steps, index, by))
    total = len(out[3])
    return (*out, max(1, min(total, index + 1 + by)))


def remove(owner_state: Any, deck_id: str | None, step_no: Any) -> tuple:
    index = _index(step_no)
    return _changed(owner_state, deck_id, lambda steps: remove_step(steps, index))


def save_notes(owner_state: Any, deck_id: str | None, step_no: Any, notes: str) -> tuple:
    index = _index(step_no)
    return _changed(owner_state, deck_id, lambda steps: set_notes(steps, index, notes))


def step_notes(owner_state: Any, deck_id: str | None, step_no: Any) -> str:
    """The notes of the step whose number is given (to edit them)."""
    deck, _ = _deck(owner_state, deck_id)
    try:
        index = int(float(step_no)) - 1
    except (TypeError, ValueError):
        return ""
    return deck.steps[index].get("notes", "") if deck and 0 <= index < len(deck.steps) else ""


def share(owner_state: Any, deck_id: str | None) -> str:
    """The deck's read-only link (relative to this page): whoever has it sees the deck's recorded results."""
    share_id = _store().share_deck(owners.owner_of(owner_state), deck_id) if deck_id else None
    if share_id is None:
        raise gr.Error("Pick or build a deck first.")
    gr.Info("Read-only link made: it shows this deck's recorded results, nothing else of yours.")
    return f"present?deck={share_id}"


def export(owner_state: Any, deck_id: str | None, notes: bool = False) -> str:
    """The deck as one HTML file (``deck_export``), written for download."""
    import re
    import tempfile
    from pathlib import Path

    from . import deck_export

    deck, owner = _deck(owner_state, deck_id)
    if deck is None:
        raise gr.Error("Pick or build a deck first.")
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", deck.title).strip("-")[:60] or "deck"
    path = Path(tempfile.mkdtemp(prefix="playground-deck-")) / f"{name}.html"
    path.write_text(deck_export.export_html(_store(), owner, deck, notes=bool(notes)), encoding="utf-8")
    return str(path)


def _at(owner_state, deck_id, share_id, position) -> tuple[ledger.Deck | None, ledger.Owner, int]:
    deck, owner = _deck(owner_state, deck_id, share_id)
    total = len(deck.steps) if deck else 0
    return deck, owner, max(0, min(total - 1, int(position or 0))) if total else 0


def _stage(deck: ledger.Deck | None, position: int, shown: Shown | None) -> list[Any]:
    return [position, *view(shown, position + 1, len(deck.steps) if deck else 0, deck.title if deck else "")]


def go(owner_state: Any, deck_id: str | None, share_id: str | None, position: Any, by: int,
       recorded: bool = False) -> list[Any]:
    """Step ``by`` (-1, 0, +1) through the deck: the step ready to run live, or its recording (``recorded``:
    offline, and always for a shared deck). Returns (position, *the stage)."""
    deck, owner, at = _at(owner_state, deck_id, share_id, position)
    if deck is None or not deck.steps:
        return _stage(deck, 0, None)
    at = max(0, min(len(deck.steps) - 1, at + by))
    step = deck.steps[at]
    shown = play_recorded(_store(), owner, step) if recorded or share_id else ready(_store(), owner, step)
    if share_id:
        shown.notes = ""  # the speaker notes are the presenter's: a reader never gets them (nor does the export)
    return _stage(deck, at, shown)


def present(owner_state: Any, deck_id: str | None, share_id: str | None, recorded: bool = False) -> list[Any]:
    """Present: the editor hidden, the stage shown at the first step."""
    deck, _ = _deck(owner_state, deck_id, share_id)
    if not share_id and (deck is None or not deck.steps):
        raise gr.Error("Add runs to the deck first: a deck to present needs at least one step.")
    return [*_modes(True, shared=bool(share_id)), *go(owner_state, deck_id, share_id, 0, 0, recorded)]


def leave(share_id: str | None) -> tuple:
    """Escape: back to the deck editor (a shared deck's reader has no editor: they stay)."""
    return (gr.skip(), gr.skip(), gr.skip()) if share_id else _modes(False)


def run_live(owner_state: Any, deck_id: str | None, share_id: str | None, position: Any, session_token: str | None,
             budget: Any = None, guard_state: Any = None, request: gr.Request = None) -> list[Any]:
    """Enter: the step run again now with this session's token, within the spend guard's ``budget`` (the page's
    session ``guard_state``: when it began); its recording, labelled so, if that fails or the guard holds it back.
    A shared deck's reader sees recordings only."""
    deck, _, at = _at(owner_state, deck_id, share_id, position)
    if deck is None or not deck.steps:
        return _stage(deck, 0, None)
    if share_id:
        return go(owner_state, deck_id, share_id, at, 0, recorded=True)
    from . import public_mode

    token = handlers.request_token(None, session_token, request)
    budget = budget if isinstance(budget, spend_guard.Budget) else spend_guard.Budget()
    shown = play_live(_store(), owner_state, deck.steps[at], token,
                      session=getattr(request, "session_hash", "") or "", address=public_mode.client_address(request),
                      guard=spend_guard.guard_of(budget, guard_state))
    return _stage(deck, at, shown)


def show_recording(owner_state: Any, deck_id: str | None, share_id: str | None, position: Any) -> list[Any]:
    return go(owner_state, deck_id, share_id, position, 0, recorded=True)


def opened(owner_state: Any, share_id: str | None) -> list[Any]:
    """After ``open_page``: a shared deck's first step on the stage; nothing for the owner's editor."""
    if not share_id:
        return [gr.skip()] * (1 + len(view(None)))
    return go(owner_state, None, share_id, 0, 0, recorded=True)
