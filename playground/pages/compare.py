"""The Compare page (its own route, ``/compare``): a task picked from the registry, its inputs once, 2 to 4 panes
with their own target, all run at once; the answers diffed the way that fits the task; every live provider of a
model in one table; blind votes with a leaderboard and a JSONL export.

``build`` only builds and wires. The task's components are built when the task is picked (``gr.render``), from
its registry entry and with the tab's own builders (``ui._input_component``, ``ui._param_component``); the
handlers are in ``playground/compare.py``. The token is kept as on the playground page (``ui._build_token``):
in the session, never an event's input. The spend guard's budgets are the browser's (``ui.session_guard``), read
into the session on load and passed to private events only; a pane held back by the guard shows its question, and
"Run anyway" sends the held-back panes alone.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from .. import compare, owners, pickers
from ..errors import PlaygroundError
from ..renderers import RENDERERS
from ..service import CUSTOM
from ..tasks import TASKS, Task

__all__ = ["build", "DEFAULT_TASK", "linked", "linked_count", "layout_of", "filled"]

DEFAULT_TASK = "text-classification"
PRIVATE = dict(api_visibility="private")


def linked(request: gr.Request, owner_state: Any = None) -> tuple[Any, dict[str, Any]]:
    """``/compare?task=…&model=…&provider=…&<input>=…`` (a tab's Compare button): the task, and pane 1's target
    and text inputs. ``?comparison=<id>`` (one of this browser's, from History) or ``?snapshot=<id>`` (a published
    one): the comparison as recorded (``compare.reopened``). Without a link, the default task."""
    query = dict(request.query_params) if request is not None else {}
    comparison_id, snapshot_id = (query.get("comparison") or "").strip(), (query.get("snapshot") or "").strip()
    if comparison_id or snapshot_id:
        try:
            link = compare.reopened(owner_state, comparison_id, snapshot_id)
        except PlaygroundError as err:
            gr.Warning(err.message or err.title)
            link = {"task": DEFAULT_TASK, "note": f"❌ {err.display()}"}
        return link["task"], link
    link = compare.linked_first_pane(query) or {"task": DEFAULT_TASK}
    return link["task"], link


def linked_count(link: dict[str, Any] | None) -> Any:
    """The Panes radio for a reopened comparison: its number of panes (otherwise left as it is)."""
    return (link or {}).get("n") or gr.skip()


def filled(component: gr.components.Component, value: Any) -> gr.components.Component:
    """``component`` holding ``value`` from the start, as if given to its constructor (files moved to the cache)."""
    from gradio.processing_utils import move_files_to_cache
    from pydantic import BaseModel

    value = component.postprocess(value)
    value = value.model_dump() if isinstance(value, BaseModel) else value
    component.value = move_files_to_cache(value, component, postprocess=True, keep_in_cache=True)
    return component


def layout_of(task_id: str, n: int, link: dict[str, Any] | None) -> dict[str, Any]:
    """What the panes are built for: the task, how many panes, and pane 1's link when it is for this task."""
    task = TASKS.get(task_id) or TASKS[DEFAULT_TASK]
    return {"task": task.id, "n": int(n or 2), "link": link if (link or {}).get("task") == task.id else {}}


def _pane_defaults(task: Task, i: int, link: dict[str, Any]) -> tuple[str, str]:
    from .. import ui

    choices = task.model_choices
    model, provider = choices[i % len(choices)], ui.default_provider()
    if i == 0:
        model, provider = link.get("model") or model, link.get("provider") or provider
    return model, provider


def _build_pane(task: Task, i: int, link: dict[str, Any], blind: bool, session_token: gr.State) -> dict[str, Any]:
    """One pane: its target (model, provider, endpoint, revision, parameters) and its answer (output, status line,
    raw exchange). Returns its components by role."""
    from .. import ui

    model_id, provider_id = _pane_defaults(task, i, link)
    recorded = (link.get("panes") or [])[i] if i < len(link.get("panes") or []) else None  # a reopened comparison
    if recorded:
        model_id, provider_id = recorded["values"][0] or model_id, recorded["values"][1] or provider_id
    editable = not link.get("readonly")
    key = lambda name: f"{task.id}:{i}:{name}"  # noqa: E731 - a pane keeps its target when panes are added
    with gr.Column(min_width=260, elem_classes=["compare-pane"]):
        title = gr.Markdown(f"### {compare.LETTERS[i]}" if blind else f"### Pane {i + 1}",
                            elem_classes=["compare-pane-title"])
        with gr.Group(visible=not blind, elem_classes=["compare-target"]) as target:
            choices = list(dict.fromkeys([*task.model_choices, model_id]))
            model = gr.Dropdown(choices, value=model_id, label="Model", allow_custom_value=True, key=key("model"), interactive=True,
                                info="Type to search the Hub; any id works.")
            provider = gr.Dropdown(ui.provider_choices(), value=provider_id, label="Provider", key=key("provider"),
                                   interactive=True)
            endpoint = gr.Textbox(recorded["values"][2] if recorded else "", label="Endpoint URL",
                                  placeholder="https://…/v1 or http://localhost:8080",
                                  visible=provider_id == CUSTOM, key=key("endpoint"), interactive=True)
            revision = gr.Textbox(recorded["values"][3] if recorded else link.get("revision", "main") if i == 0
                                  else "main", label="Revision", key=key("revision"), max_lines=1, interactive=True)
            with gr.Accordion("Parameters", open=False):
                params = [ui._param_component(spec) for spec in task.params]
                extra = gr.Code(recorded["values"][-1] if recorded else "", language="json",
                                label="Extra parameters (JSON object, sent as-is)", lines=2)
        output = RENDERERS[task.renderer].component()
        status = gr.Markdown(recorded["status"] if recorded else None, elem_classes=["status-line", "compare-status"])
        with gr.Accordion("Raw exchange (token redacted)", open=False):
            raw = gr.Code(recorded["raw"] if recorded else None, language="json", label="Raw exchange", max_lines=30)
    if recorded:
        for component, value in zip(params, recorded["values"][4:-1]):
            filled(component, value)
        filled(output, recorded["output"])
    if not editable:  # a snapshot: read-only
        for component in (model, provider, endpoint, revision, *params, extra):
            component.interactive = False
    provider.change(lambda p: gr.update(visible=p == CUSTOM), provider, endpoint, **PRIVATE)
    model.key_up(pickers.search_handler(task.id), [session_token, provider, model], model, trigger_mode="always_last",
                 show_progress="hidden", **PRIVATE)
    return dict(title=title, target=target, values=[model, provider, endpoint, revision, *params, extra],
                output=output, status=status, raw=raw)


def _build_diffs(task: Task, n: int, names: list[str]) -> list[gr.components.Component]:
    """The task's diff components (``compare.diff_slots`` of them, in ``compare.diff_values``' order)."""
    kind = compare.diff_kind(task)
    if kind == "labels":
        return [gr.BarPlot(x="bar", y="score", color="pane", label="Scores per label, pane by pane", y_lim=[0, 1],
                           height=320, elem_classes=["compare-bars"], x_label_angle=-20)]
    if kind == "text":
        out = []
        with gr.Row():
            for j in range(1, n):
                out.append(gr.HighlightedText(label=f"Pane {j + 1} against pane 1, word by word",
                                              color_map={"added": "green", "removed": "red"}, show_legend=True,
                                              combine_adjacent=True, elem_classes=["compare-word-diff"]))
        return out
    if kind == "images":
        return [gr.Gallery(label="Side by side, at the same size", columns=n, height=360, object_fit="contain",
                           elem_classes=["compare-grid"])]
    if kind == "audio":
        with gr.Row():
            return [gr.Audio(label=names[j], type="filepath", interactive=False) for j in range(n)]
    if kind == "embeddings":
        return [gr.Dataframe(label="Cosine similarity between the panes' embeddings", interactive=False,
                             elem_classes=["compare-cosine"])]
    return []


def _shared_inputs(task: Task, link: dict[str, Any]) -> list[gr.components.Component]:
    """The task's inputs, once for every pane, built as its tab builds them, with its examples."""
    from .. import ui

    first = task.examples[0] if task.examples else ()
    url_boxes: list[gr.Textbox] = []
    inputs = [ui._input_component(spec, first[i] if i < len(first) else None, url_boxes)
              for i, spec in enumerate(task.inputs)]
    for component, spec in zip(inputs, task.inputs):
        if spec.name in link.get("inputs", {}) and isinstance(component, gr.Textbox):
            component.value = link["inputs"][spec.name]
    for component, value in zip(inputs, link.get("values") or []):  # a reopened comparison's shared inputs
        filled(component, value)
        component.interactive = False if link.get("readonly") else component.interactive
    if task.examples and not link.get("readonly"):
        gr.Examples([list(e) for e in task.examples], inputs=inputs, label="Examples (one click)")
    return inputs


def _build_views(task: Task, n: int, exchange_label: str, link: dict[str, Any]
                 ) -> tuple[list, gr.Dataframe, gr.Dataframe]:
    """What sits below the panes: the diffs that fit the task, the HTTP exchanges side by side, and the table of
    every provider of pane 1's model (shown when asked); a reopened comparison's, as derived from its record."""
    diffs = _build_diffs(task, n, [f"Pane {j + 1}" for j in range(n)])
    exchange = gr.Dataframe(link.get("exchange"), label=exchange_label, interactive=False, wrap=True,
                            elem_classes=["compare-exchanges"])
    every = link.get("providers")
    providers = gr.Dataframe(every, label="All providers of pane 1's model", interactive=False, wrap=True,
                             visible=every is not None, elem_classes=["compare-providers"])
    for component, value in zip(diffs, link.get("diffs") or []):
        filled(component, value)
    return diffs, exchange, providers


def _anyway_button() -> gr.Button:
    """Shown while a pane waits for the spend guard: sends the held-back panes, approved."""
    return gr.Button("Run anyway (the panes held back by the spend guard)", variant="stop", visible=False,
                     elem_classes=["compare-run-anyway"])


def _build_runs(task: Task, n: int, link: dict[str, Any], blind: gr.Checkbox, is_blind: bool, header: list,
                session_token: gr.State, owner: gr.State, comparison: gr.State, board: gr.Dataframe) -> None:
    """A non-chat comparison: the shared inputs, the panes, Run (and Run anyway), the vote row, the diffs and the
    exchange table."""
    inputs = _shared_inputs(task, link)
    kept = gr.State()  # the last comparison, while the spend guard holds panes of it back
    with gr.Row(visible=not link.get("readonly")):  # a snapshot is read-only: nothing to run
        run = gr.Button(f"▶ Run all {n} panes at once", variant="primary", elem_classes=["compare-run"])
        anyway = _anyway_button()
        every = gr.Button("⚡ All providers of pane 1's model", elem_classes=["compare-all-providers"])
    with gr.Row(equal_height=False):
        panes = [_build_pane(task, i, link, is_blind, session_token) for i in range(n)]
    with gr.Row(visible=False, elem_classes=["compare-vote"]) as vote_row:
        votes = [(gr.Button(label, size="sm"), choice) for label, choice in compare.vote_choices(n)]
    reveal = gr.Markdown(elem_classes=["compare-reveal"])
    diffs, exchange, providers = _build_views(task, n, "HTTP exchanges side by side", link)

    values = [v for p in panes for v in p["values"]]
    answers = [c for p in panes for c in (p["title"], p["output"], p["status"], p["raw"])]
    for button, again in ((run, False), (anyway, True)):
        button.click(compare.run_handler(task, n, anyway=again), [*header, kept, blind, *inputs, *values],
                     [*answers, exchange, *diffs, comparison, vote_row, reveal, kept, anyway], show_progress="minimal",
                     **PRIVATE)
    revealed = [c for p in panes for c in (p["title"], p["status"], p["raw"])]
    for button, choice in votes:
        button.click(compare.vote_handler(n, choice), [owner, comparison],
                     [reveal, vote_row, *revealed, comparison, board], **PRIVATE)
    every.click(lambda: gr.Dataframe(visible=True), None, providers, **PRIVATE).then(
        compare.providers_handler(task), [*header, *inputs, *panes[0]["values"]], providers,
        show_progress="minimal", **PRIVATE)
    blind.change(lambda b: [gr.Group(visible=not b) for _ in panes], blind, [p["target"] for p in panes], **PRIVATE)


def _build_chat(task: Task, n: int, link: dict[str, Any], header: list, session_token: gr.State) -> None:
    """A chat comparison: each message goes to every pane, each pane keeps its own conversation, all stream. Its turns
    are one comparison (``compare.chat_comparison``) until the conversations are cleared or the targets change; a
    reopened one goes on as the same comparison, and a snapshot is read-only."""
    from .. import ui

    editable = not link.get("readonly")
    with gr.Row(equal_height=False):
        panes = [_build_pane(task, i, link, False, session_token) for i in range(n)]
    message = gr.Textbox(label="Message (sent to every pane)", placeholder="Ask anything… (Enter to send)",
                         value=link.get("inputs", {}).get("messages", ""), lines=1, max_lines=8,
                         elem_classes=["compare-message"], visible=editable)
    system = ui._input_component(task.inputs[1])
    with gr.Accordion("Tools and structured output", open=False):
        extras = [ui._input_component(spec) for spec in task.inputs[2:]]
    for component, value in zip([system, *extras], (link.get("values") or [])[1:]):  # a reopened chat's own
        filled(component, value)
        component.interactive = editable and component.interactive
    kept = gr.State()  # the panes the spend guard held back, and their message
    chat = gr.State(link.get("chat"))  # the chat comparison the turns belong to (a reopened one's, to go on)
    with gr.Row(visible=editable):  # a snapshot is read-only: nothing to send
        send = gr.Button("Send to every pane", variant="primary", elem_classes=["compare-send"])
        anyway = _anyway_button()
        clear = gr.Button("Clear the conversations")
        every = gr.Button("⚡ All providers of pane 1's model", elem_classes=["compare-all-providers"])
    text_examples = [list(e) for e in task.examples if isinstance(e[0], str)]
    if text_examples and editable:
        gr.Examples(text_examples, inputs=[message, system, *extras], label="Examples (one click)")
    diffs, exchange, providers = _build_views(task, n, "HTTP exchanges side by side (last turn)", link)
    values = [v for p in panes for v in p["values"]]
    chats = [p["output"] for p in panes]
    answers = [c for p in panes for c in (p["output"], p["status"], p["raw"])]
    for triggers, again in (([send.click, message.submit], False), ([anyway.click], True)):
        gr.on(triggers, compare.chat_handler(task, n, anyway=again),
              [*header, kept, chat, message, system, *extras, *values, *chats],
              [*answers, message, exchange, *diffs, kept, anyway, chat], show_progress="minimal", **PRIVATE)
    clear.click(lambda: [*(v for _ in panes for v in ([], "", "")), None, gr.Button(visible=False), None], None,
                [*answers, kept, anyway, chat], **PRIVATE)  # the next turn starts a new comparison
    every.click(lambda: gr.Dataframe(visible=True), None, providers, **PRIVATE).then(
        compare.providers_handler(task), [*header, message, system, *extras, *panes[0]["values"]], providers,
        show_progress="minimal", **PRIVATE)


def build(demo: gr.Blocks) -> None:
    """The Compare page's components and events, inside ``demo.route("Compare", "/compare")``."""
    from .. import ui  # the playground page's builders (ui imports this module to route it)

    gr.Markdown("## ⚖️ Compare\nOne input, 2 to 4 targets, run at once: pick a task, set each pane's model, provider, "
                "revision and parameters, and run. Every pane's run is in your History.")
    with gr.Row(equal_height=True):
        token = gr.Textbox(label="Hugging Face token", type="password", placeholder="hf_…", scale=2,
                           info="Kept on the server for this browser tab only (each page asks for it once).")
        bill_to = gr.Dropdown([pickers.OWN_ACCOUNT], value="", label="Bill to organisation (optional)",
                              allow_custom_value=True, scale=1)
    token_line = gr.Markdown(ui._token_note(), elem_classes=["token-status"])
    session_token, _ = ui._build_token(demo, token, [token_line, bill_to])
    owner_browser, owner = owners.browser_state(), gr.State()
    budget, guard = ui.session_guard(demo)  # the spend guard's budgets (this browser's) and session
    with gr.Row(equal_height=True):
        task = gr.Dropdown([(f"{t.label} · {t.group}", t.id) for t in TASKS.values()], value=DEFAULT_TASK,
                           label="Task", scale=3, elem_classes=["compare-task"])
        count = gr.Radio([2, 3, 4], value=2, label="Panes", scale=1, elem_classes=["compare-count"])
        blind = gr.Checkbox(False, label="🙈 Blind mode", scale=1, elem_classes=["compare-blind"],
                            info="Panes show as A, B… in shuffled order; names revealed after your vote.")
    link = gr.State()
    comparison = gr.State()  # the last blind comparison: letters, targets and run ids, for the vote
    header = [session_token, owner, bill_to, budget, guard]  # (compare.GUARD_FIELDS after the first three)

    with gr.Accordion("🏆 Blind votes: leaderboard and preference pairs", open=False):
        board = gr.Dataframe(label="Leaderboard of this task (your votes)", interactive=False,
                             elem_classes=["compare-leaderboard"])
        with gr.Row():
            export = gr.Button("Export the votes as JSONL preference pairs", size="sm", scale=0)
            exported = gr.File(label="Preference pairs (prompt, chosen, rejected)", scale=1, interactive=False,
                               elem_classes=["compare-export"])

    shown = gr.State()  # what the panes are built for, {"task", "n", "link"}; None between two tasks' layouts

    @gr.render(inputs=[shown, blind], triggers=[shown.change])
    def panes(layout: dict[str, Any] | None, is_blind: bool) -> None:
        if not layout:
            return
        spec, n, first = TASKS[layout["task"]], int(layout["n"]), layout["link"]
        if first.get("note"):  # a comparison reopened or shared, or why it could not be
            gr.Markdown(first["note"], elem_classes=["compare-reopened"])
        gr.Markdown(spec.description, elem_classes=["compare-task-description"])
        if spec.renderer == "chat":
            if is_blind:
                gr.Markdown("Blind mode is for one-shot tasks: chat panes show their names.")
            _build_chat(spec, n, first, header, session_token)
        else:
            _build_runs(spec, n, first, blind, bool(is_blind), header, session_token, owner, comparison, board)

    demo.load(owners.load, owner_browser, [owner_browser, owner], **PRIVATE).then(
        linked, owner, [task, link], **PRIVATE).then(linked_count, link, count, **PRIVATE).then(
        layout_of, [task, count, link], shown, **PRIVATE).then(
        compare.leaderboard, [owner, task], board, **PRIVATE)
    # Another task: its layout is built on an empty one (Gradio's front end cannot turn some components of one
    # render into another's, e.g. text classification's into chat's). More panes: the panes keep their targets.
    task.input(lambda: None, None, shown, **PRIVATE).then(layout_of, [task, count, link], shown, **PRIVATE).then(
        compare.leaderboard, [owner, task], board, **PRIVATE)
    count.input(layout_of, [task, count, link], shown, **PRIVATE)
    export.click(compare.export_handler, [owner, task], exported, **PRIVATE)
    gr.api(compare.api_compare, api_name="compare")
