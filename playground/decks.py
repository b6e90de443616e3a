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
import uuid
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from . import capture, compare, handlers, ledger, owners, run_cards, service, spend_guard
from .errors import InputError
from .ledger import MEDIA_KEY
from .renderers import RENDERERS
from .tasks import TASKS, Task

__all__ = ["STEP_FIELDS", "VIEW_KEYS", "view", "open_page", "pick_deck", "new_deck", "rename_deck", "delete_deck",
           "add_picked", "move", "remove", "save_notes", "share", "export", "present", "leave", "go", "run_live",
           "show_recording", "Shown", "step_of", "add_runs", "move_step", "remove_step", "set_notes", "steps_table",
           "play_recorded", "play_live", "recorded_on", "runs_to_pick", "run_label", "deck_reader", "input_summary",
           "TYPED_KINDS", "TYPED_INPUTS", "typed_tasks", "typed_step", "typed_boxes", "typed_task_picked",
           "add_typed", "BLIND_FIELDS", "VOTE_KEYS", "is_blind", "vote_help", "blind_step", "add_comparisons",
           "typed_blind_step", "blind_ballot", "kept_live", "blind_view", "pane_titles", "vote", "READONLY_VOTE",
           "add_picked_comparisons", "add_typed_blind"]

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
        if is_blind(step):
            label = f"⚖️ Blind: {label}" + ("" if step.get("run_ids") else " (typed in, no recording)")
        elif not step.get("run_id"):
            label = f"{label} (typed in, no recording)"
        rows.append([str(i), label, step.get("model", ""),
                     step.get("provider", ""), input_summary(step.get("task", ""), step.get("inputs") or {}),
                     _short(step.get("notes") or "", 50)])
    return rows


def run_label(run: ledger.RunSummary, inputs: dict[str, Any] | None = None) -> str:
    task = TASKS.get(run.task)
    label = f"{run.created.strftime('%Y-%m-%d %H:%M')} · {task.label if task else run.task} · {run.model} · " \
            f"{run.provider_served or run.provider_asked}"
    if getattr(run, "comparison_id", None):
        label += f" · ⚖️ compare pane {(run.comparison_pane or 0) + 1}"
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
    blind: bool = False  # a blind step: no single result; its panes (once played) in ``ballot``
    ballot: dict[str, Any] | None = None  # a blind step's panes (``blind_ballot``): what the stage shows and votes on
    run_ids: list[str] = field(default_factory=list)  # a live run's ledger ids (a blind step's: in target order)


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


def play_recorded(store: ledger.Ledger, owner: ledger.Owner, step: dict[str, Any], readonly: bool = False) -> Shown:
    """The step with its recorded result, captioned "recorded on <date>" (a blind step for a shared deck's reader,
    ``readonly``: no vote, the names shown)."""
    if is_blind(step):
        return _blind_recorded(store, owner, step, readonly=readonly)
    task = TASKS[step["task"]]
    card, run = step_card(store, owner, step)
    return _recorded(task, card, run, step)


def ready(store: ledger.Ledger, owner: ledger.Owner, step: dict[str, Any]) -> Shown:
    """The step before it is played: its inputs, no result yet."""
    task = TASKS[step["task"]]
    card, _ = step_card(store, owner, step)
    if is_blind(step):
        return _blind_ready(task, card, step)
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
    guard: <why>". A blind step: ``_blind_live``."""
    if is_blind(step):
        return _blind_live(store, owner_state, step, token, session, guard)
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
    shown.run_ids = [result.run_id] if result.run_id else []
    return shown


# ------------------------------------------------------------------------------------------ blind steps
#
# A blind step is Compare's blind mode on the stage: one task and input, 2 to 4 targets, shown as A, B… in shuffled
# order with the names hidden until the vote. Its runs are Compare's (``compare.run_all``: one comparison, source
# "deck"), its vote is Compare's (``compare.record_vote``: counted in Compare's leaderboard), and its recording is
# the comparison recorded in the ledger (``run_ids``, pane by pane).

BLIND_FIELDS = (*STEP_FIELDS, "blind", "targets", "run_ids")
TARGET_FIELDS = ("model", "provider", "revision", "endpoint_url", "params")
VOTE_KEYS = {"A": "a", "B": "b", "C": "c", "D": "d", "tie": "t", "bad": "x"}  # the stage's keys for each vote


def is_blind(step: dict[str, Any]) -> bool:
    return bool(step.get("blind"))


def vote_help(n: int) -> str:
    """The keys that vote on a blind step of ``n`` targets, as the stage says them."""
    letters = " / ".join(f"**{k.upper()}**" for k in list(VOTE_KEYS.values())[:n])
    return (f"vote with the keys: {letters} (that one is better), **T** a tie, **X** "
            f"{'both are' if n == 2 else 'all are'} bad")


def blind_step(task_id: str, inputs: dict[str, Any], targets: list[dict[str, Any]], run_ids: list[str] | None = None,
               notes: str = "", bill_to: str | None = None) -> dict[str, Any]:
    """A blind comparison step: the task's ``inputs`` sent to each of ``targets`` (2 to ``compare.MAX_PANES``,
    ``TARGET_FIELDS`` each); ``run_ids``: its recorded comparison's runs, in target order (none yet: typed in).
    Raises ValueError naming the fix."""
    if not compare.MIN_PANES <= len(targets) <= compare.MAX_PANES:
        raise ValueError(f"A blind comparison needs {compare.MIN_PANES} to {compare.MAX_PANES} targets "
                         f"(it has {len(targets)}): one a line, `model` or `model @ provider`.")
    targets = [{"model": t["model"], "provider": t.get("provider") or "auto", "revision": t.get("revision") or "main",
                "endpoint_url": t.get("endpoint_url") or None, "params": t.get("params") or {}} for t in targets]
    return {"run_id": None, "task": task_id, "model": " vs ".join(t["model"] for t in targets),
            "provider": ", ".join(dict.fromkeys(t["provider"] for t in targets)), "revision": "main",
            "endpoint_url": None, "bill_to": bill_to, "inputs": inputs, "params": {}, "notes": (notes or "").strip(),
            "blind": True, "targets": targets, "run_ids": list(run_ids or [])}


def add_comparisons(store: ledger.Ledger, owner: ledger.Owner, steps: list[dict[str, Any]], run_ids: list[str]
                    ) -> list[dict[str, Any]]:
    """The steps with one blind step per comparison the runs ``run_ids`` are panes of (a comparison checked twice
    once), its recording the comparison as the ledger holds it. Raises ValueError for a run that is not the
    owner's or not a pane of a comparison."""
    added, seen = [], set()
    for run_id in run_ids:
        run = store.get_run(owner, run_id)
        if run is None:
            raise ValueError("That run is not in this browser's history any more (deleted, or another browser's).")
        if not run.comparison_id:
            raise ValueError(f"The run {run_label(run)} is no pane of a comparison: check a run marked "
                             "'compare pane', or add it as an ordinary step.")
        if run.comparison_id in seen:
            continue
        seen.add(run.comparison_id)
        panes = [r for r in store.comparison(owner, run.comparison_id) if r.task == run.task]
        if run.task not in TASKS:
            raise ValueError(f"The run's task {run.task!r} is not one this playground has.")
        targets = [{"model": r.model, "provider": r.provider_asked, "revision": r.revision or "main",
                    "endpoint_url": (r.target or {}).get("endpoint_url"), "params": r.params or {}} for r in panes]
        added.append(blind_step(run.task, panes[0].inputs, targets, [r.id for r in panes],
                                bill_to=(panes[0].target or {}).get("bill_to") or None))
    return [*steps, *added]


def typed_blind_step(task_id: str | None, targets_text: str | None, values: list[Any] | tuple,
                     notes: str = "") -> dict[str, Any]:
    """A blind step typed in now: a text task's inputs (checked as ``typed_step`` checks them) and its targets, one a
    line, ``model`` or ``model @ provider`` (provider ``auto`` when not given). Raises ValueError naming the fix."""
    typed = typed_step(task_id, None, None, values, notes)
    targets = []
    for line in (targets_text or "").splitlines():
        model, _, provider = line.partition("@")
        if model.strip():
            targets.append({"model": model.strip(), "provider": provider.strip() or "auto"})
    return blind_step(typed["task"], typed["inputs"], targets, notes=typed["notes"])


def _pane_step(step: dict[str, Any], i: int) -> dict[str, Any]:
    """Pane ``i`` of a blind step as a step of its own (its target, and its recorded run when it has one)."""
    target, run_ids = step["targets"][i], step.get("run_ids") or []
    return {**step, **{k: target.get(k) for k in TARGET_FIELDS}, "params": target.get("params") or {},
            "run_id": run_ids[i] if i < len(run_ids) else None}


def _pane_target(target: dict[str, Any], params: tuple = ()):
    return compare.PaneTarget(target["model"], target.get("provider") or "auto", target.get("endpoint_url") or "",
                              target.get("revision") or "main", params)


def blind_ballot(task: Task, targets: list, runs: dict[int, Any], readonly: bool = False) -> dict[str, Any]:
    """What the stage shows of a blind step and votes on: Compare's comparison (``compare.blind_comparison``, letters
    in shuffled order) and each letter's rendered output. ``readonly``: a shared deck's reader (no vote, names
    shown)."""
    order = compare.blind_order(len(targets))
    empty = RENDERERS[task.renderer].empty
    return {"task": task.id, "comparison": compare.blind_comparison(task, targets, order, runs),
            "outputs": [runs[i].rendered if i in runs else empty for i in order], "readonly": readonly,
            "revealed": readonly, "id": uuid.uuid4().hex}


def _blind_caption(task: Task, step: dict[str, Any], where: str, ballot: bool = True, hidden: bool = True) -> str:
    """``ballot``: the vote keys are said; ``hidden``: the names are (a shared deck's reader sees them)."""
    n = len(step["targets"])
    keys = f" · {vote_help(n)}" if ballot else ""
    names = " (names hidden until the vote)" if hidden else ""
    return f"**{task.label}** · blind comparison of {n} targets{names} · {where}{keys}"


def _caption_blind(shown: Shown, icon: str, task: Task, step: dict[str, Any], where: str,
                   readonly: bool = False) -> None:
    """A blind step's caption with its ballot: the names hidden and the vote keys said until the vote; the caption
    the vote puts in its place (``vote``) kept in the ballot. A shared deck's reader does not vote: names shown."""
    shown.caption = icon + _blind_caption(task, step, where, not readonly, not readonly)
    shown.ballot["caption_after_vote"] = icon + _blind_caption(task, step, where, ballot=False, hidden=False)


def _blind_ready(task: Task, card: dict[str, Any], step: dict[str, Any]) -> Shown:
    shown = Shown(task.id, notes=step.get("notes") or "", blind=True)
    _stage_inputs(task, card, shown)
    shown.caption = _blind_caption(task, step, "not played yet · press **Enter** to run them live" + (
        ", **R** for the recorded comparison" if step.get("run_ids") else
        " (typed in for the deck, no recording yet)"), ballot=False)
    return shown


def _blind_recorded(store: ledger.Ledger, owner: ledger.Owner, step: dict[str, Any], why: str = "",
                    held: bool = False, readonly: bool = False) -> Shown:
    """A blind step from its recorded comparison, captioned "recorded on <date>" (``why``: the live run's failure,
    or why the spend guard held it back, ``held``; ``readonly``: a shared deck's reader, who does not vote)."""
    task = TASKS[step["task"]]
    cards = [step_card(store, owner, _pane_step(step, i)) for i in range(len(step["targets"]))]
    shown = Shown(task.id, notes=step.get("notes") or "", blind=True)
    _stage_inputs(task, cards[0][0], shown)
    what = HELD_BACK if held else "the live run failed"
    failed = f"{what}: {why}; " if why else ""
    if not step.get("run_ids") or any(run is None for _, run in cards):
        shown.mode = "failed"
        missing = ("a run of this step's recorded comparison is no longer in the history" if step.get("run_ids") else
                   "this blind step was typed in for the deck and has never been recorded")
        shown.caption = f"⚠️ {_blind_caption(task, step, f'{failed}{missing}, so there is no recording to show', False)}"
        return shown
    runs = {}
    for i, (card, run) in enumerate(cards):
        result = run_cards.result_of(card)
        result.run_id = run.id
        output, status, raw = run_cards.tab_values(task, card)[-3:]
        runs[i] = compare.PaneRun(i, _pane_target(step["targets"][i]), result, output, status, raw)
    shown.ballot = blind_ballot(task, [r.target for r in runs.values()], runs, readonly)
    shown.mode = "fallback" if why else "recorded"
    where = recorded_on(cards[0][1]) + (f"; {what}: {why}" if why else "")
    _caption_blind(shown, ("⚠️ " if why else "⏺️ "), task, step, where, readonly)
    return shown


def _blind_live(store: ledger.Ledger, owner_state: Any, step: dict[str, Any], token: str | None, session: str = "",
                guard: spend_guard.Guard | None = None) -> Shown:
    """A blind step run again now: every target at once through Compare's run (``compare.run_all``: the one service
    path, one comparison, source "deck"). When a pane fails or is held back and the step has a recording, the
    recording, labelled so; with none, the panes as they came (a failed pane says so when the names are revealed)."""
    task, owner = TASKS[step["task"]], owners.owner_of(owner_state)
    k, inputs, targets = len(task.inputs), None, []
    for i, target in enumerate(step["targets"]):
        card, _ = step_card(store, owner, _pane_step(step, i))
        values = _live_values(task, card)
        inputs = values[:k] if inputs is None else inputs
        targets.append(_pane_target(target, tuple(values[k:])))
    runs = {r.index: r for r in compare.run_all(task, targets, inputs, token, step.get("bill_to"), owner_state, session,
                                                LIVE_ADVANCED, guard, source="deck")}
    bad = [runs[i] for i in sorted(runs) if not runs[i].ok]
    if bad:
        first = bad[0]
        held = first.result is not None and first.result.held_back
        why = (first.result.error.message if held else first.result.error.title) if first.result is not None \
            and first.result.error else first.status.removeprefix("❌ ").split("\n")[0]
        recorded = _blind_recorded(store, owner, step, why, held)
        if recorded.mode == "fallback" or held:
            return recorded
    shown = Shown(task.id, notes=step.get("notes") or "", mode="live", blind=True)
    _stage_inputs(task, step_card(store, owner, _pane_step(step, 0))[0], shown)
    shown.ballot = blind_ballot(task, targets, runs)
    slowest = max((r.result.latency_s for r in runs.values() if r.result is not None), default=0.0)
    failed = f" · ⚠️ {len(bad)} of {len(runs)} panes failed (which: revealed after the vote)" if bad else ""
    _caption_blind(shown, "🟢 ", task, step, f"**live, just now** ({slowest * 1000:.0f} ms){failed}")
    shown.run_ids = [] if bad else [runs[i].result.run_id for i in range(len(targets)) if runs[i].result.run_id]
    return shown


def kept_live(store: ledger.Ledger, owner: ledger.Owner, deck: ledger.Deck, index: int, shown: Shown) -> bool:
    """A step with no recording (typed in), once run live with success, keeps that run (a blind step: every pane's)
    as its recording, saved with the deck: R and the dead-network fallback show it, "recorded on <date>". Returns
    whether the deck changed."""
    step = deck.steps[index]
    if shown.mode != "live" or not shown.run_ids or step.get("run_id") or step.get("run_ids"):
        return False
    if is_blind(step) and len(shown.run_ids) != len(step["targets"]):
        return False
    store.flush(10.0)  # the runs are written off the request path: R, pressed next, reads them
    kept = {**step, "run_ids": list(shown.run_ids)} if is_blind(step) else {**step, "run_id": shown.run_ids[0]}
    steps = [kept if i == index else s for i, s in enumerate(deck.steps)]
    return store.save_deck(owner, deck.title, steps, deck.id) is not None


# ------------------------------------------------------------------------------------------ the page's handlers
#
# Module-level functions taking and returning plain values (the Present page, ``pages/present.py``, wires them).
# The deck in use is named by its id (a session ``gr.State``); its steps are read from the ledger each time.

VIEW_KEYS = tuple(RENDERERS)  # the stage keeps one output component per renderer, shown when a step's task uses it


def view(shown: Shown | None, number: int = 0, total: int = 0, title: str = "") -> list[Any]:
    """The stage's components for a step: counter, text inputs, image, audio, table, one output per renderer
    (``VIEW_KEYS``, only the step's visible), a blind step's (``blind_view``), caption, speaker notes."""
    if shown is None:
        return [f"### {title}" if title else "", "", gr.update(value=None, visible=False),
                gr.update(value=None, visible=False), gr.update(value=None, visible=False),
                *[gr.update(visible=False) for _ in VIEW_KEYS], *blind_view(None),
                "This deck has no steps: add runs to it first.", ""]
    renderer = None if shown.blind else TASKS[shown.task].renderer
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
            gr.update(value=shown.table, visible=shown.table is not None), *outputs, *blind_view(shown.ballot),
            shown.caption, f"🗒️ {shown.notes}" if shown.notes else ""]


def blind_view(ballot: dict[str, Any] | None) -> list[Any]:
    """A blind step's part of the stage: the ballot (its panes are drawn from it), the vote row, one vote button per
    letter (``compare.MAX_PANES``, the ballot's shown), and the reveal (empty until the vote; for a shared deck's
    reader, why there is no vote)."""
    n = len(ballot["outputs"]) if ballot else 0
    voting = bool(ballot) and not ballot["readonly"] and not ballot["comparison"].get("voted")
    note = READONLY_VOTE if ballot and ballot["readonly"] else ""
    return [ballot, gr.update(visible=voting), *[gr.update(visible=j < n) for j in range(compare.MAX_PANES)], note]


READONLY_VOTE = ("🔒 **Read-only link: readers cannot vote.** Votes are cast on the presenter's stage (they count in "
                 "the presenter's Compare leaderboard), so the names are shown here.")


def pane_titles(ballot: dict[str, Any]) -> list[str]:
    """Each lettered pane's title: its letter, and once revealed (after the vote, or for a reader) its target."""
    import html

    titles = []
    for pane in ballot["comparison"]["panes"]:
        failed = "" if pane["ok"] else " · ❌ this pane failed"
        name = f"<span class='present-blind-name'>{html.escape(pane['name'])}{failed}</span>"
        titles.append(f"## {pane['letter']} = {name}" if ballot["revealed"] else f"## {pane['letter']}")
    return titles


def vote(owner_state: Any, share_id: str | None, ballot: dict[str, Any] | None, choice: str) -> list[Any]:
    """A vote key on a blind step: stored as Compare stores a blind vote (``compare.record_vote``: the ledger's votes,
    counted in Compare's leaderboard), then the names revealed. Returns (ballot, vote row, reveal, caption: no longer
    "names hidden")."""
    if share_id:
        raise gr.Error("Read-only link: readers cannot vote (votes are cast on the presenter's stage).")
    if not ballot or ballot.get("readonly"):
        raise gr.Error("This step is no blind comparison: there is nothing to vote on.")
    comparison = json.loads(json.dumps(ballot["comparison"]))
    reveal = compare.record_vote(owner_state, ballot["task"], choice, comparison)
    gr.Info("Vote recorded (it counts in Compare's leaderboard). The names are revealed.")
    return [{**ballot, "comparison": comparison, "revealed": True}, gr.update(visible=False), reveal,
            ballot.get("caption_after_vote") or gr.skip()]


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


def _add_checked(owner_state: Any, deck_id: str | None, run_ids: list[str] | None, adds, unchecked: str) -> tuple:
    """``adds(store, owner, steps, run_ids) -> steps`` applied with the runs checked in the list, then the list
    unchecked; ``unchecked``: what to say when none is checked."""
    if not run_ids:
        raise gr.Error(unchecked)
    store, owner = _store(), owners.owner_of(owner_state)
    out = _changed(owner_state, deck_id, lambda steps: adds(store, owner, steps, list(run_ids)))
    return (*out, gr.CheckboxGroup(value=[]))


def add_picked(owner_state: Any, deck_id: str | None, run_ids: list[str] | None) -> tuple:
    """The runs checked in the list appended to the deck, in the list's order (newest first)."""
    return _add_checked(owner_state, deck_id, run_ids, add_runs, "Check one or more of your runs in the list first.")


def add_picked_comparisons(owner_state: Any, deck_id: str | None, run_ids: list[str] | None) -> tuple:
    """The comparisons the checked runs are panes of, appended as blind steps (``add_comparisons``)."""
    return _add_checked(owner_state, deck_id, run_ids, add_comparisons,
                        "Check a run marked '⚖️ compare pane' in the list first.")


def add_typed_blind(owner_state: Any, deck_id: str | None, task_id: str | None, targets_text: str | None,
                    notes: str | None, *texts: str) -> tuple:
    """A blind step typed in now (``typed_blind_step``) appended to the deck."""
    return _changed(owner_state, deck_id,
                    lambda steps: [*steps, typed_blind_step(task_id, targets_text, list(texts), notes or "")])


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
    shown = play_recorded(_store(), owner, step, readonly=bool(share_id)) if recorded or share_id else \
        ready(_store(), owner, step)
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
    deck, owner, at = _at(owner_state, deck_id, share_id, position)
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
    try:
        kept_live(_store(), owner, deck, at, shown)  # a typed-in step's first live run: its recording from now on
    except ledger.LedgerError as err:
        gr.Warning(f"The live run was not kept as this step's recording: {err}")
    return _stage(deck, at, shown)


def show_recording(owner_state: Any, deck_id: str | None, share_id: str | None, position: Any) -> list[Any]:
    return go(owner_state, deck_id, share_id, position, 0, recorded=True)


def opened(owner_state: Any, share_id: str | None) -> list[Any]:
    """After ``open_page``: a shared deck's first step on the stage; nothing for the owner's editor."""
    if not share_id:
        return [gr.skip()] * (1 + len(view(None)))
    return go(owner_state, None, share_id, 0, 0, recorded=True)
