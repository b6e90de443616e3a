"""The Gradio page: a header shared by all tabs, then one tab per registry task. Builders only build;
the work happens in ``handlers`` and ``service``.

The page opens as fast as a small one: only the first task's tab is built with the page; every other task's tab is
built the first time it is shown (``_build_lazy_tab``, a ``gr.render`` per task), so the page's config holds the
header, the tab rows and one task. The named API endpoints (``/text_classification``…) are declared once on their
own route, ``/api`` (``_build_endpoints``), with the same components and handlers as the tabs: the same
``gradio_client`` signatures, and none of their weight in the page. Gradio serves each route only its own
components and events (the config it inlines in the page is filtered by route).
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import partial
from typing import Any, Callable

import gradio as gr

from . import (concurrency, export_space, handlers, mcp_tools, owners, pickers, public_mode, run_cards, signin,
               snippets, spend_guard)
from .pages import batch as batch_page
from .pages import compare as compare_page
from .pages import history as history_page
from .pages import present as present_page
from .pages import usage
from .params import ParamSpec
from .renderers import RENDERERS
from .reliability import RetryPolicy
from .service import CUSTOM, LOCAL, Target
from .tasks import GROUPS, TASKS, Input, Task

__all__ = ["build_app", "provider_choices", "default_provider"]

CSS = """
.status-line {font-size: 0.9em}
.providers-table th {white-space: nowrap}
footer {display: none !important}
.task-groups > .tab-wrapper button[role=tab] {font-size: var(--text-lg); font-weight: 600}
.task-tabs > .tab-wrapper button[role=tab] {font-size: var(--text-md)}
"""


def provider_choices() -> list[tuple[str, str]]:
    """Every provider; once a model is picked, ``pickers`` narrows this to those serving it."""
    return pickers.provider_options()


def default_provider() -> str:
    """With no token anywhere the first run must still succeed: start on the local backend. In public mode the
    host's token is not the visitor's: the local backend, until they paste theirs."""
    return "auto" if public_mode.host_token() else LOCAL


def _token_note() -> str:
    if public_mode.CONFIG.enabled:
        return public_mode.no_token_note()
    if public_mode.host_token():
        return "🔑 Using the token from the environment (HF_TOKEN or `hf auth login`). Paste another to override it."
    return "No token found: runs go to the **local backend** on this machine. Paste a token to use Inference Providers."


def _param_component(spec: ParamSpec, key: str | None = None) -> gr.components.Component:
    """A parameter's field. ``key``: its key in a tab built when first shown (``_build_lazy_tab``), where Gradio
    keeps a blank value (a number box left blank is sent as blank, not as 0) only for a keyed component."""
    common = dict(label=spec.label, info=spec.help[:200] or None)
    if spec.type == "bool":  # three states: a checkbox could not leave the server's default alone
        value = "" if spec.default is None else str(bool(spec.default)).lower()
        return gr.Dropdown(choices=[("(server default)", ""), ("true", "true"), ("false", "false")], value=value, **common)
    if spec.type == "choice":
        return gr.Dropdown(choices=[("(server default)", "")] + [(c, c) for c in spec.choices], value=spec.default or "", **common)
    bounded = spec.minimum is not None and spec.maximum is not None
    # A slider always holds a value: only a parameter with a default gets one. Without a default, a blank
    # number box leaves the server's default (a slider would silently send its minimum).
    if spec.type in ("int", "float") and bounded and spec.default is not None and spec.maximum - spec.minimum <= 10_000:
        step = spec.step or (1 if spec.type == "int" else 0.01)
        return gr.Slider(spec.minimum, spec.maximum, value=spec.default, step=step, **common)
    if spec.type in ("int", "float"):
        if bounded:
            common["info"] = f"{common['info'] or ''} ({spec.minimum:g} to {spec.maximum:g}; blank: server default)".strip()
        if spec.default is None:
            # Gradio's Number shows and sends 0 for None (gradio#6728): a blank box would send temperature=0,
            # top_p=0 and seed=0 with every run. A one-line text box stays blank; coerce() reads the number.
            return gr.Textbox(value="", placeholder="(server default)", max_lines=1, **common)
        return gr.Number(value=spec.default, precision=0 if spec.type == "int" else None, minimum=spec.minimum,
                         maximum=spec.maximum, step=spec.step or 1, placeholder="(server default)", key=key, **common)
    placeholder = "comma-separated" if spec.type == "list" else "(server default)"
    return gr.Textbox(value=spec.default or "", placeholder=placeholder, **common)


def _input_component(spec: Input, example: Any = None, url_boxes: list[gr.Textbox] | None = None) -> gr.components.Component:
    """The component for one input, by kind (``example`` pre-fills a table so it is never blank). The URL box
    made beside an image input is appended to ``url_boxes`` (model-card examples fill it)."""
    if spec.kind == "image":
        image = gr.Image(label=spec.label, type="filepath", sources=["upload", "webcam", "clipboard"], height=320)
        if url_boxes is None:  # an API endpoint's input: no URL box
            return image
        url = gr.Textbox(label="…or an image URL", placeholder="https://…/photo.jpg (press Enter)", max_lines=1,
                         container=False)
        url.submit(lambda u: (u or "").strip() or None, url, image, api_visibility="private")
        url_boxes.append(url)
        return image
    if spec.kind == "audio":
        return gr.Audio(label=spec.label, type="filepath", sources=["upload", "microphone"])
    if spec.kind == "table":
        return gr.Dataframe(value=example, label=spec.label, interactive=True, wrap=True, type="pandas")
    if spec.kind in ("tools", "schema"):
        return gr.Code("", language="json", label=spec.label, lines=6, max_lines=24)
    return gr.Textbox(label=spec.label, placeholder=spec.placeholder, lines=spec.lines, info=spec.info or None)


def _chat_example_label(example: tuple) -> str:
    """A chat example as one line (its message, and what it attaches) instead of a table of JSON."""
    message, *_, tools, schema = example
    text = message.get("text", "") if isinstance(message, dict) else message
    extras = [*(["🖼️ image"] if isinstance(message, dict) and message.get("files") else []),
              *(["🛠️ tools"] if tools else []), *(["{ } JSON schema"] if schema else [])]
    return f"{text} ({', '.join(extras)})" if extras else text


# ------------------------------------------------------------------------------------------ the fields of a run
# The same constructors make a tab's fields and its API endpoint's (``_build_endpoints``): a field's label, kind,
# choices and default are its ``gradio_client`` parameter, so the endpoints keep the tabs' signatures.

TOKEN_ARG_LABEL = "Hugging Face token (API callers)"


def _target_fields() -> tuple[gr.Dropdown, gr.Textbox, gr.Dropdown]:
    """The header's provider, endpoint URL and bill-to, the Run arguments after the token."""
    provider = gr.Dropdown(provider_choices(), value=default_provider(), label="Provider", scale=2)
    endpoint_url = gr.Textbox(label="Endpoint URL", placeholder="https://…/v1 or http://localhost:8080",
                              visible=False, scale=2)
    bill_to = gr.Dropdown([pickers.OWN_ACCOUNT], value="", label="Bill to organisation (optional)",
                          allow_custom_value=True, scale=1, info="Your organisations, once the token is checked.")
    return provider, endpoint_url, bill_to


def _model_field(task: Task) -> gr.Dropdown:
    return gr.Dropdown(task.model_choices, value=task.default_model, label="Model", allow_custom_value=True,
                       info="Type to search the Hub (models a provider serves for this task); any id works.")


def _revision_field() -> gr.Dropdown:
    return gr.Dropdown([("main", "main")], value="main", label="Revision", allow_custom_value=True,
                       info="Branch, tag or commit: resolved to a commit SHA, recorded with the run.")


def _message_field() -> gr.MultimodalTextbox:
    return gr.MultimodalTextbox(label="Message", placeholder="Ask anything… (Enter to send; attach images for "
                                "vision models)", file_types=["image"], file_count="multiple", sources=["upload"],
                                lines=1)


def _task_inputs(task: Task, url_boxes: list[gr.Textbox] | None = None) -> list[gr.components.Component]:
    """A non-chat task's inputs; a table starts with the first example's (so it is never blank)."""
    first = task.examples[0] if task.examples else ()
    return [_input_component(spec, first[i] if i < len(first) else None, url_boxes) for i, spec in enumerate(task.inputs)]


def _extra_field() -> gr.Code:
    return gr.Code("", language="json", label="Extra parameters (JSON object, sent as-is)", lines=2)


def _status_field() -> gr.Markdown:
    return gr.Markdown(elem_classes=["status-line"])


def _raw_field() -> gr.Code:
    return gr.Code(language="json", label="Raw exchange", max_lines=40)


# ------------------------------------------------------------------------------------------ a task's tab


@contextmanager
def _accordion(label: str, open: bool = False, rendered: bool = False):
    """A tab's accordion; closed, in a tab built by ``gr.render`` (``rendered``), what it holds is hidden until it is
    first opened. Gradio's frontend mounts a closed accordion's content only when it opens, except in a part of the
    page built by ``gr.render`` (every tab but the first): there it mounts everything at once, the Code accordion's code boxes (an editor each, in tabs
    not shown) and the parameters included, about half of a tab's cost when it is first shown. Hidden, they are
    mounted when the accordion first opens (a round trip), with their values (a run fills them while hidden)."""
    with gr.Accordion(label, open=open) as accordion:
        if open or not rendered:
            yield
            return
        with gr.Column(visible=False) as body:
            yield
    accordion.expand(_shown_column, None, body, queue=False, api_visibility="private", show_progress="hidden")


def _shown_column() -> gr.Column:
    return gr.Column(visible=True)


def _build_pickers(task: Task, header: list[gr.components.Component], session_token: gr.State, tab: gr.Tab,
                   card: list[gr.components.Component]) -> tuple[gr.Dropdown, gr.Dropdown, dict[str, Any]]:
    """Model (searchable), its summary and providers, and the revision; wired to ``pickers``. A model the user
    picks narrows the header's provider dropdown to the providers serving it; opening the tab summarises its
    model and gives the dropdown every provider back. Both fill ``card`` (the model-card examples dataset and
    their state) with the model's widget examples. Returns (model, revision, the summary event's arguments: the
    tab's builder wires it to the tab's first showing)."""
    token, provider = session_token, header[1]
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            model = _model_field(task)
            summary = gr.Markdown(elem_classes=["model-summary"])
        with gr.Column(scale=2):
            revision = _revision_field()
            revision_note = gr.Markdown(pickers.PIN_NOTE, elem_classes=["revision-note"])
    with gr.Accordion("Providers serving this model", open=True):
        providers = gr.Markdown("Pick a model to see the providers serving it, their status and prices.",
                                elem_classes=["providers-table"])
    model.key_up(pickers.search_handler(task.id), [token, provider, model], model, trigger_mode="always_last",
                 show_progress="hidden", api_visibility="private")
    picked_outputs = [summary, providers, revision, revision_note, provider, *card]
    model.input(pickers.picked_handler(task.id), [token, provider, model], picked_outputs, show_progress="hidden",
                api_visibility="private")
    summarise = dict(fn=pickers.picked_handler(task.id, narrow=False), inputs=[token, provider, model],
                     outputs=picked_outputs, show_progress="hidden", api_visibility="private")
    tab.select(**summarise)
    revision.change(partial(pickers.revision_note, task_id=task.id), [token, model, revision, provider], revision_note,
                    show_progress="hidden",
                    api_visibility="private")
    return model, revision, summarise


def _build_advanced() -> tuple[list[gr.components.Component], gr.Markdown, gr.Button]:
    """Retries, timeouts, failover and the spend guard's budgets, shared by every tab; passed last to every Run
    (``handlers.ADVANCED_ARGS``, then ``handlers.GUARD_ARGS``)."""
    policy, target = RetryPolicy(), Target()
    with gr.Accordion("Advanced: retries, timeouts, failover", open=False):
        with gr.Row():
            attempts = gr.Slider(1, 10, value=policy.attempts, step=1, label="Attempts per provider",
                                 info="1 = no retry. 408, 429, 5xx, timeouts and broken connections are retried; "
                                      "400, 401, 403, 404 and 422 never.")
            base = gr.Number(policy.base_s, label="Backoff base (s)",
                             info=f"Wait before retry n: base × 2^(n-1) plus jitter, unless the server sends "
                                  f"Retry-After (honoured up to {policy.retry_after_cap_s:.0f} s).")
            cap = gr.Number(policy.cap_s, label="Backoff cap (s)", info="The longest backoff wait.")
            deadline = gr.Number(policy.deadline_s, label="Deadline (s)", info="For the whole run, waits included.")
        with gr.Row():
            connect = gr.Number(target.connect_timeout, label="Connect timeout (s)")
            read = gr.Number(target.timeout, label="Read timeout (s)", info="Longest wait for the answer.")
            idle = gr.Number(target.idle_timeout, label="Stream idle timeout (s)",
                             info="Longest silence between two chunks of a streamed reply.")
        with gr.Row():
            failover = gr.Checkbox(policy.failover, label="Fail over to the model's next live provider",
                                   info="For Auto, Fastest, Cheapest and Balance, or to the fallbacks listed.")
            fallbacks = gr.Textbox("", label="Fallback providers, in order", placeholder="together, fireworks-ai",
                                   info="Tried in this order when the chosen provider keeps failing.")
        with gr.Row():
            cooldowns = gr.Markdown(handlers.cooldowns_markdown(None))
            refresh = gr.Button("Refresh cooldowns", size="sm", scale=0)
        with gr.Row(elem_classes=["spend-guard"]):
            per_session = gr.Number(None, label="Spend guard: budget per session (USD)", minimum=0,
                                    info="A run whose estimate would pass it asks first. Empty: no limit.")
            per_day = gr.Number(None, label="Spend guard: budget per day (USD, UTC day)", minimum=0,
                                info="Counted from the run ledger's estimates, as on the Usage page.")
    return ([attempts, base, cap, deadline, connect, read, idle, failover, fallbacks, per_session, per_day],
            cooldowns, refresh)


def budgets_kept() -> gr.BrowserState:
    """The spend guard's budgets as this browser keeps them (localStorage, ``[per session, per day]``): one entry,
    read by every page."""
    return gr.BrowserState([None, None], storage_key=spend_guard.STORAGE_KEY, secret=spend_guard.STORAGE_OBSCURER)


def _keep_budgets(demo: gr.Blocks, budgets: list[gr.Number]) -> None:
    """The spend guard's budgets are this browser's preference: kept in localStorage, put back on load."""
    kept = budgets_kept()
    demo.load(lambda value: tuple(value) if isinstance(value, list) and len(value) == 2 else (None, None), kept,
              budgets, api_visibility="private", show_progress="hidden")
    gr.on([b.input for b in budgets], lambda *values: list(values), budgets, kept, api_visibility="private",
          show_progress="hidden")


def session_guard(demo: gr.Blocks) -> tuple[gr.State, gr.State]:
    """A page's spend guard (Compare, Present, Batch): the budgets this browser keeps (set in the playground page's
    Advanced settings), read on load into the session (a ``spend_guard.Budget``), and the session's guard state
    (``spend_guard.new_session``). Both are session states, passed to private events only: never an API argument."""
    kept, budget, guard = budgets_kept(), gr.State(), gr.State()
    demo.load(lambda value: (spend_guard.budget_from_browser(value), spend_guard.new_session()), kept,
              [budget, guard], api_visibility="private", show_progress="hidden")
    return budget, guard


def _download_on_click(button: gr.Button, make: Callable[..., str], inputs: list, elem_id: str) -> None:
    """A button that makes a file when pressed (``make(*inputs)``: its path; a gr.Error says why there is none)
    and downloads it: the file goes to a hidden download button that the browser then clicks (a download button
    can only hand over a file it already holds: gradio#9230)."""
    hidden = gr.DownloadButton("Download", visible="hidden", elem_id=elem_id)
    button.click(make, inputs, hidden, api_visibility="private", show_progress="minimal").success(
        None, js=f"() => document.getElementById({elem_id!r})?.click()")


def _build_tab(task: Task, header: list[gr.components.Component], session_token: gr.State, tab: gr.Tab,
               advanced: list[gr.components.Component] = (), cooldowns: gr.Markdown | None = None,
               owner: gr.State | None = None, guard: gr.State | None = None,
               rendered: bool = False) -> tuple[list[gr.components.Component], dict[str, Any]]:
    """One task's tab. ``header`` is what every Run takes first (the token argument, provider, endpoint, bill-to);
    ``session_token`` is the token pasted in this browser tab (``_build_token``); ``owner`` whose runs these are
    (``owners``); ``guard`` the session's spend guard state (``spend_guard``); ``rendered``: built by ``gr.render``
    (``_build_lazy_tab``: its closed accordions' content is mounted when they open, ``_accordion``). Returns the fields a reopened run
    fills (``run_cards.tab_values``' order) and the arguments of the event that summarises the tab's model (wired
    to its showing by the caller)."""
    gr.Markdown(task.description)
    # the model card's examples: rendered below the registry's, filled when a model is picked
    card = gr.Dataset(components=["textbox"], samples=[], type="index", label="Examples from the model card (one click)",
                      visible=False, render=False, elem_classes=["card-examples"])
    card_examples = gr.State([])
    model, revision, summarise = _build_pickers(task, header, session_token, tab, [card, card_examples])
    chat = task.renderer == "chat"
    url_boxes: list[gr.Textbox] = []
    with gr.Row(equal_height=False):
        with gr.Column(scale=1):
            if chat:
                output = RENDERERS["chat"].component()
                message = _message_field()
                system = _input_component(task.inputs[1])
                with _accordion("Tools and structured output", rendered=rendered):
                    tools, schema = (_input_component(spec) for spec in task.inputs[2:])
                    declared = gr.Markdown(handlers.describe_tools(""))
                tools.change(handlers.describe_tools, tools, declared, show_progress="hidden", api_visibility="private")
                inputs = [message, system, tools, schema]
            else:
                inputs = _task_inputs(task, url_boxes)
            with _accordion("Parameters", rendered=rendered):
                params = [_param_component(spec, key=f"{task.id}:{spec.name}") for spec in task.params]
                extra = _extra_field()
            if task.billed_slow:
                gr.Markdown("⚠️ **Slow and billed.** One run takes one to several minutes and the provider bills it. "
                            "Click Run only when you mean it.", elem_classes=["billed-warning"])
            with gr.Row():
                run = gr.Button("Send" if chat else "Run", variant="primary")
                run_anyway = gr.Button("Run anyway", variant="stop", visible=False, elem_classes=["run-anyway"])
                if chat:
                    clear = gr.Button("Clear conversation")
                # Export as Space: a zip made when pressed, from the tab's values then
                export = gr.Button("⬇️ Export as Space", size="md", scale=0, elem_classes=["export-space"])
                card_button = gr.Button("⬇️ Run card", size="md", scale=0, elem_classes=["tab-run-card"],
                                        visible=owner is not None)  # (the card of the tab's last run)
                to_compare = gr.Button("Compare…", scale=0, elem_classes=["open-compare"])
            if chat:  # for a reply that failed or broke midway
                with gr.Row():
                    retry = gr.Button("↻ Retry the last message", size="sm")
                    go_on = gr.Button("Continue the reply", size="sm")
            if task.examples:
                gr.Examples([list(e) for e in task.examples], inputs=inputs, label="Examples (one click)",
                            example_labels=[_chat_example_label(e) for e in task.examples] if chat else None)
            card.render()
            filled = card.click(pickers.card_fill_handler(task.id), [card_examples, card], [*inputs, *url_boxes],
                                show_progress="hidden", api_visibility="private")
            media = [c for c, spec in zip(inputs, task.inputs) if spec.kind in ("image", "audio")]
            if media:  # a step of its own: a URL that cannot be downloaded leaves the rest filled
                filled.success(pickers.card_fill_handler(task.id, media=True), [card_examples, card], media,
                               show_progress="minimal", api_visibility="private")
        with gr.Column(scale=1):
            if not chat:
                output = RENDERERS[task.renderer].component()
            status = _status_field()
            with _accordion("Raw exchange (HTTP request and response, token redacted)", open=not chat, rendered=rendered):
                raw = _raw_field()
            with _accordion("Code (reproduces the last run: Python, JavaScript, curl)", rendered=rendered):
                codes = _build_code_tabs(task)
    texts = [(c, spec.name) for c, spec in zip(inputs, task.inputs) if spec.kind in ("text", "lines", "chat")]
    to_compare.click(None, [model, header[1], *(c for c, _ in texts)], None, api_visibility="private",
                     js=_open_compare_js(task, [name for _, name in texts]))  # in the browser only: no token
    fn = handlers.handler_for(task)
    if chat:
        event_inputs = [*header, model, revision, output, *inputs, *params, extra, *advanced, session_token, owner,
                        guard]
        event_outputs = [output, message, status, raw]
        triggers = [run.click, message.submit]
        clear.click(lambda: ([], "", ""), outputs=[output, status, raw], api_visibility="private")
    else:
        event_inputs = [*header, model, revision, *inputs, *params, extra, *advanced, session_token, owner, guard]
        event_outputs = [output, status, raw]
        triggers = [run.click] + [c.submit for c in inputs if isinstance(c, gr.Textbox) and c.lines == 1]
    # The named API endpoint is declared once, on its own route (``_build_endpoints``): the page's Run is private,
    # and named apart (Gradio names an event after its function, and would take the endpoint's name).
    private = dict(api_name=f"{task.api_name}_in_tab", api_visibility="private", show_progress="minimal")
    if chat:  # its inputs preprocessed in one step, in the handler's thread (many people start chats at once)
        fn, private = concurrency.preprocessed_in_one_step(fn, event_inputs), {**private, "preprocess": False}
    runs = [gr.on(triggers, fn, event_inputs, event_outputs, **private)]
    # the spend guard asked instead of running: "Run anyway" sends the run once, whatever the budgets
    anyway = run_anyway.click(spend_guard.approve, guard, None, api_visibility="private").then(
        fn, event_inputs, event_outputs, **private)
    if chat:  # a reply that failed or broke midway: ask again, or let the model go on from where it stopped
        for button, step in ((retry, handlers.take_back_last_turn), (go_on, handlers.prepare_continue)):
            runs.append(button.click(step, output, [output, message], api_visibility="private").then(
                fn, event_inputs, event_outputs, **private))
    for event in [*runs, anyway]:  # "Run anyway" is shown while the guard's question is
        event.then(lambda status: gr.Button(visible=spend_guard.asks(status)), status, run_anyway,
                   api_visibility="private", show_progress="hidden")
    if cooldowns is not None:
        for event in runs:
            event.then(handlers.cooldowns_markdown, session_token, cooldowns, api_visibility="private",
                       show_progress="hidden")
    _download_on_click(export, export_space.export_handler(task.id), [*header[1:], model, *inputs, *params, extra],
                       f"space-zip-{task.id}")
    if owner is not None:  # the last run's card (its raw exchange names its record)
        _download_on_click(card_button, run_cards.tab_card, [raw, owner], f"run-card-{task.id}")
    for event in runs:  # each client's code for the run just made: the tab's values and the captured request
        event.then(partial(handlers.snippets_for_run, task), [*event_inputs, raw], codes, api_visibility="private",
                   show_progress="hidden")
    return [model, revision, *inputs, *params, extra, output, status, raw], summarise


def _build_lazy_tab(demo: gr.Blocks, task: Task, tab: gr.Tab, opened: gr.Checkbox, pending: gr.State,
                    sink: gr.components.Component, **context: Any) -> None:
    """A task's tab built the first time it is shown: ``opened`` (a hidden checkbox the browser ticks when the tab
    or its group is selected) turns true once and builds it; ``pending`` is a run to fill it with (``run_cards``:
    ``{"values": the fields' values, "nonce"}``), set by a ``?run=`` link or a run card before or after the build.
    ``sink``: where its events' hidden progress goes (``_progress_to_sink``). ``context``: ``_build_tab``'s header,
    session token, advanced, cooldowns and owner."""

    # One build at a time (all tabs, all sessions): two at once in one session's copy of the page race in Gradio
    # (one iterates the session's blocks while the other adds to them), and the tab whose build failed stayed blank.
    # The builds share Gradio's ``Renderable`` objects across sessions too. A build is CPU work under one
    # interpreter lock, so running them in turn costs no throughput.
    @gr.render(inputs=[opened, pending], triggers=[opened.change], show_progress="hidden", concurrency_limit=1,
               concurrency_id="lazy-tab-builds")
    def build_task_tab(is_open: bool, run: dict[str, Any] | None) -> None:
        if not is_open:
            return
        fields, summarise = _build_tab(task, tab=tab, rendered=True, **context)
        fill = partial(_pending_values, len(fields))
        # A run reopened into the tab before it was built (a ``?run=`` link, a run card: the step that sets the run
        # also opens the tab, and a state is read when the build runs, so the build sees it): filled once built, then
        # its model summarised. Otherwise only the tab's model is summarised. (Every event run leaves its inputs in
        # the page's loading statuses, which Gradio's frontend walks on each status change of any event: a fill step
        # per tab, with its own state as input, made each later tab slower to open.)
        if run:
            demo.load(fill, pending, fields, api_visibility="private", show_progress="hidden").then(**summarise)
        else:  # the model it was built with, given to the step rather than read back as an input (for that reason)
            token, provider, model = summarise["inputs"]
            demo.load(**{**summarise, "fn": partial(summarise["fn"], model=model.value), "inputs": [token, provider]})
        # a run reopened into the tab once built
        pending.change(fill, pending, fields, api_visibility="private", show_progress="hidden")

        # its events' (hidden) progress goes to the page's sink, as the page's own do (``_progress_to_sink``)
        _progress_to_sink(sink, _rendered_now())


def _rendered_now() -> list[Any]:
    """The events declared by the render running now (this session's copy of the page's events)."""
    from gradio.context import LocalContext

    renderable, config = LocalContext.renderable.get(None), LocalContext.blocks_config.get(None)
    if renderable is None or config is None:
        return []
    return [fn for fn in config.fns.values()
            if fn.rendered_in is renderable and fn.render_iteration == renderable.render_iteration]


def _progress_to_sink(sink: gr.components.Component, fns: Any) -> None:
    """Every event of ``fns`` whose progress is hidden shows it on ``sink`` (a hidden component) instead of on its
    outputs. Gradio's frontend keeps a status for every output of every event run so far, and on each status change
    of any event looks each of them up in the page's tree (from the root) and reads the values of it and of
    everything inside it: with the tab rows (the ``?task=`` and ``?run=`` steps' outputs) and every tab's container
    (a render's output) among them, each event walked every tab built so far, and each tab opened took longer than
    the one before (0.6 s for the 2nd, 7 to 30 s for the 29th: bench/bench_page.py). With one sink, what each event
    walks no longer grows with the tabs opened."""
    for fn in fns:
        if fn.show_progress == "hidden" and fn.show_progress_on is None and fn.outputs:
            fn.show_progress_on = [sink]


def _pending_values(n: int, run: dict[str, Any] | None) -> list[Any]:
    return list(run["values"]) if run else [gr.skip()] * n


def _open_compare_js(task: Task, names: list[str]) -> str:
    """The tab's Compare… button: the Compare page in a new browser tab, with this task, model, provider and text
    inputs as pane 1 (``compare.link_for``'s query, read by ``compare.linked_first_pane``)."""
    import json

    return (f"(model, provider, ...values) => {{ const names = {json.dumps(names)}; "
            f"const q = new URLSearchParams({{task: {json.dumps(task.id)}}}); "
            "if (model) q.set('model', model); if (provider) q.set('provider', provider); "
            "values.forEach((v, i) => { const t = v && typeof v === 'object' ? v.text : v; "
            "if (typeof t === 'string' && t.trim()) q.set(names[i], t); }); "
            "window.open('compare?' + q.toString(), '_blank'); }")


def _build_code_tabs(task: Task) -> list[gr.Code]:
    """The Code accordion: one tab per client that can run the task (``snippets.clients_for``), filled after each
    run (``handlers.snippets_for_run``). Read-only, with a copy button: Tab moves on, as everywhere on the page."""
    codes = []
    with gr.Tabs(overflow_behavior="wrap", elem_classes=["code-tabs"]):
        for client in snippets.clients_for(task):
            with gr.Tab(client.label, id=client.id):
                mark = "//" if client.language == "javascript" else "#"
                codes.append(gr.Code(f"{mark} Run the task: the code that reproduces the run appears here.\n",
                                     language=client.language, label=client.label, interactive=False,
                                     max_lines=40, buttons=["copy"], elem_classes=["code-snippet"]))
    return codes


# The token box's events send its value in the carrier's place and an empty box (``handlers.token_kept``).
_SEND_TOKEN_AS_ARGUMENT = "(box, carrier) => ['', box]"


def _build_token(demo: gr.Blocks, token: gr.Textbox, status: list[gr.components.Component],
                 owner: gr.State | None = None, provider: gr.Dropdown | None = None,
                 picked: gr.State | None = None) -> tuple[gr.State, gr.Textbox]:
    """Where a pasted token goes: into the tab's session state (on the server), never into a component's value.

    Gradio keeps the value of every component an event takes (for the session's deep-link state, and the
    browser's run history for public endpoints), so the box is given to no event as itself: its events send the
    value in the place of a hidden carrier (``token_arg``) that the same event empties. The carrier is also the
    Run endpoints' ``token`` argument, for API callers; from the page it is always empty. ``status`` is the token
    line and the bill-to choices. ``provider``: the page's provider picker, moved from Local (the no-token default)
    to auto once a pasted token is checked, unless it was chosen (``picked``: the person picked it themselves, which
    also takes back the line's "switched" sentence, ``pickers.provider_picked``; or a reopened run set it) before the
    step after the check reads it (``pickers.provider_after_token``, ``handlers.token_checked``).
    Returns (session token, token argument).

    The load's step writes the line only when there is a token to check (the machine's, or a sign-in's): read as the
    page loads, it could land after a token pasted meanwhile was checked, and it never writes the session's token."""
    session_token = gr.State()
    token_arg = gr.Textbox(visible=False, label=TOKEN_ARG_LABEL)
    take = dict(inputs=[token, token_arg], outputs=[session_token, token_arg, *status], js=_SEND_TOKEN_AS_ARGUMENT,
                show_progress="hidden", api_visibility="private")
    pasted = token.change(handlers.token_kept(pickers.token_typed), **take)
    checked = gr.on([token.blur, token.submit], handlers.token_kept(pickers.token_status), **take)
    demo.load(signin.token_line if signin.enabled() else pickers.token_on_load, session_token, status,
              show_progress="hidden", api_visibility="private")
    after = dict(show_progress="hidden", api_visibility="private")
    if provider is not None and picked is not None:  # the playground page: the browser linked, the provider moved
        provider.input(pickers.provider_picked, session_token, [picked, status[0]], queue=False, **after)
        for step in (pasted, checked):  # a whole token pasted is checked at once; any other on blur or Enter
            step.then(handlers.token_checked, [session_token, owner, provider, picked], [status[0], provider], **after)
    elif owner is not None:  # a checked token links this browser to its Hub user: History shows their runs too
        checked.then(owners.link_checked, [session_token, owner], None, **after)
    return session_token, token_arg


def build_app(max_concurrency: int | None = None, mcp: bool = False) -> gr.Blocks:
    """The page, serving ``max_concurrency`` events at once (default: ``concurrency.max_concurrency()``); with ``mcp``,
    every task is also an MCP tool (``mcp_tools``: launch with ``mcp_server=True``)."""
    with concurrency.ConcurrentBlocks(title="Hugging Face Inference Playground",
                                      max_concurrency=concurrency.max_concurrency(max_concurrency)) as demo:
        gr.Markdown("## 🤗 Inference Playground\nPick a task, a model and a provider, run it, and see the result beside the exact HTTP exchange.")
        with gr.Row(equal_height=True):
            token = gr.Textbox(label="Hugging Face token", type="password", placeholder="hf_…", scale=2,
                               info="Kept on the server for this browser tab only: never stored in the browser, "
                                    "never logged, never shown back.")
            provider, endpoint_url, bill_to = _target_fields()
            if signin.enabled():  # on a Space with OAuth, or PLAYGROUND_SIGNIN=1 (Gradio's local stand-in)
                signin.button()
        token_line = gr.Markdown(_token_note(), elem_classes=["token-status"])
        owner_browser, owner = owners.browser_state(), gr.State()  # whose runs these are (owners, History)
        picked = gr.State(False)  # the provider was chosen: picked by hand, or set by a reopened run
        session_token, token_arg = _build_token(demo, token, [token_line, bill_to], owner, provider, picked)
        # the session's spend guard, made when the page opens (a private step: a State made by a function would be
        # a public load endpoint on every route, /new_session)
        guard = gr.State()
        demo.load(spend_guard.new_session, None, guard, api_visibility="private", show_progress="hidden")
        card_upload = gr.UploadButton("📂 Open a run card", file_types=[".json"], size="sm",
                                      elem_classes=["run-card-upload"])
        provider.change(lambda p: gr.update(visible=p == CUSTOM), provider, endpoint_url, api_visibility="private")
        header = [token_arg, provider, endpoint_url, bill_to]
        advanced, cooldowns, refresh = _build_advanced()
        _keep_budgets(demo, advanced[-len(handlers.GUARD_ARGS):])
        refresh.click(handlers.cooldowns_markdown, session_token, cooldowns, api_visibility="private",
                      show_progress="hidden")
        context = dict(header=header, session_token=session_token, advanced=advanced, cooldowns=cooldowns, owner=owner,
                       guard=guard)
        # The first task's tab (open when the page opens) is built with the page; every other one when first shown:
        # the browser ticks its hidden checkbox (kept outside the tabs, where a tab not shown cannot hide it) when
        # the tab or its group is selected; ``pending`` holds a run reopened into it.
        first = next(iter(TASKS))
        sink = gr.Checkbox(False, visible=False, elem_classes=["progress-sink"])
        lazy = {task_id: (gr.Checkbox(False, visible=False, elem_classes=["tab-opened"]), gr.State())
                for task_id in TASKS if task_id != first}
        layout: list[tuple[str, int | None]] = []  # run_cards' layout: (task, its fields), or (task, None): lazy
        reopened: list[gr.components.Component] = []  # what a reopened run fills, in the layout's order
        # Two rows of tabs: the groups, then the open group's tasks (in registry order). A row too long for the
        # window wraps rather than hiding tabs behind "More tabs".
        with gr.Tabs(overflow_behavior="wrap", elem_classes=["task-groups"]) as groups:
            task_tabs = []
            for group in GROUPS:
                with gr.Tab(group, id=group) as group_tab, gr.Tabs(overflow_behavior="wrap",
                                                                   elem_classes=["task-tabs"]) as tabs:
                    task_tabs.append(tabs)
                    for task in (t for t in TASKS.values() if t.group == group):
                        with gr.Tab(task.label, id=task.id) as tab:
                            if task.id == first:
                                fields, _ = _build_tab(task, tab=tab, **context)
                                layout.append((task.id, len(fields)))
                                reopened += fields
                                continue
                            opened, pending = lazy[task.id]
                            tab.select(None, None, opened, js="() => true", api_visibility="private", queue=False,
                                       show_progress="hidden")
                            _build_lazy_tab(demo, task, tab, opened, pending, sink, **context)
                            layout.append((task.id, None))
                            reopened += [opened, pending]
                shown = next(t.id for t in TASKS.values() if t.group == group)  # a group opens on its first task
                if shown in lazy:
                    group_tab.select(None, None, lazy[shown][0], js="() => true", api_visibility="private",
                                     queue=False, show_progress="hidden")
        demo.load(_linked_task_handler(list(lazy)), None, [groups, *task_tabs, *(o for o, _ in lazy.values())],
                  api_visibility="private", show_progress="hidden")
        # ?run=<id> (History's "Open in its tab") and a run card dropped on the page fill the run's tab, and set the
        # provider as chosen (a token checked after it does not move it)
        reopened = [groups, *task_tabs, provider, endpoint_url, bill_to, picked, *reopened]
        demo.load(owners.load, owner_browser, [owner_browser, owner], api_visibility="private",
                  show_progress="hidden").then(run_cards.linked_run_handler(layout), owner, reopened,
                                               api_visibility="private", show_progress="hidden")
        card_upload.upload(run_cards.upload_handler(layout), card_upload, reopened, api_visibility="private",
                           show_progress="hidden")
        _progress_to_sink(sink, [fn for fn in demo.fns.values() if fn.page == ""])
    _build_endpoints(demo, mcp=mcp)
    with demo.route("Compare", "/compare"):
        compare_page.build(demo)
    with demo.route("History", "/history"):
        history_page.build(demo)
    with demo.route("Usage & cost", "/usage"):
        usage.build(demo)
    with demo.route("Batch", "/batch"):
        batch_page.build(demo)
    with demo.route("Present", "/present"):
        present_page.build(demo)
    if mcp:
        mcp_tools.unlist_others(demo)
    # People are served at once: no event is limited to one call at a time (Gradio's default), the app's limit
    # is ``max_concurrency`` events in all (``concurrency``), and the local engine keeps its own line.
    demo.queue(default_concurrency_limit=None)
    return demo


API_NOTE = """## API endpoints
Every task of the playground is an endpoint, called with [`gradio_client`](https://www.gradio.app/guides/getting-started-with-the-python-client)
(Python) or `@gradio/client` (JavaScript). `client.view_api()` lists each one's parameters.

```python
from gradio_client import Client

client = Client("<this app's URL>")
rendered, status, raw = client.predict(text="I like you", provider="hf-inference", api_name="/text_classification")
```

The token is the `token=` argument, or an `Authorization: Bearer hf_…` header (`Client(url, headers=...)`).

{endpoints}
"""


def _build_endpoints(demo: gr.Blocks, mcp: bool = False) -> None:
    """The named API endpoints, one per task (``/<task.api_name>``), on a route of their own (``/api``): the same
    fields as the tabs (so the same ``gradio_client`` signatures) and the same handlers, declared without triggers
    (API calls only), in a hidden column; with ``mcp``, each task's MCP tool too (``mcp_tools.register``). The
    page's config carries none of them."""
    endpoints = "\n".join(f"- `/{t.api_name}`: {t.label}" for t in TASKS.values())
    with demo.route("API", "/api", show_in_navbar=False):
        gr.Markdown(API_NOTE.replace("{endpoints}", endpoints))
        with gr.Column(visible=False):
            header = [gr.Textbox(visible=False, label=TOKEN_ARG_LABEL), *_target_fields()]
            advanced, _, _ = _build_advanced()
            session_token, owner = gr.State(), gr.State()  # an API call has neither: no pasted token, no browser
            guard = gr.State()  # nor a session: no budget is passed, so nothing is held back
            for task in TASKS.values():
                model, revision = _model_field(task), _revision_field()
                if task.renderer == "chat":
                    history, message = RENDERERS["chat"].component(), _message_field()
                    inputs = [history, message, *(_input_component(spec) for spec in task.inputs[1:])]
                else:
                    inputs = _task_inputs(task)
                params = [_param_component(spec) for spec in task.params]
                extra, status, raw = _extra_field(), _status_field(), _raw_field()
                outputs = [history, message] if task.renderer == "chat" else [RENDERERS[task.renderer].component()]
                fn = handlers.handler_for(task)
                event_inputs = [*header, model, revision, *inputs, *params, extra, *advanced, session_token, owner,
                                guard]
                one_step = {}
                if task.renderer == "chat":  # as on the page: its inputs preprocessed in one step
                    fn, one_step = concurrency.preprocessed_in_one_step(fn, event_inputs), {"preprocess": False}
                gr.on([], fn, event_inputs, [*outputs, status, raw], api_name=task.api_name, show_progress="minimal",
                      **one_step)
        if mcp:
            mcp_tools.register(demo)


def _linked_task_handler(lazy: list[str]):
    """The page's load step for ``?task=object-detection`` (or ``object_detection``): that task's group and tab
    opened, and built if it is one of the ``lazy`` ones; otherwise the first task stays open."""

    def open_linked_task(request: gr.Request) -> list:
        task = TASKS.get(request.query_params.get("task", "").strip().replace("_", "-"))
        if task is None:
            return [gr.skip()] * (1 + len(GROUPS) + len(lazy))
        return [gr.Tabs(selected=task.group),
                *(gr.Tabs(selected=task.id) if g == task.group else gr.skip() for g in GROUPS),
                *(True if task_id == task.id else gr.skip() for task_id in lazy)]

    return open_linked_task
