"""Handlers of the pickers (model, providers, revision, token): module-level functions of plain values.

The Hub is asked through ``hub`` (cached); what comes back is shown as Markdown and dropdown choices. When
the Hub cannot be reached every picker still takes typed values, and says the Hub could not be reached.
A picked model's widget examples (the model page's ``widgetData``) become one-click examples of the tab,
their fields mapped to the tab's inputs by ``widget_inputs``, the one place that knows the widget formats.
``ui.py`` wires these to the components; ``*_handler(task)`` bind a tab's task.
"""

from __future__ import annotations

import concurrent.futures
import re
from dataclasses import dataclass
from typing import Any

import gradio as gr
from huggingface_hub.inference._providers import PROVIDERS

from . import hub, public_mode, service
from .errors import PlaygroundError
from .service import CUSTOM, LOCAL
from .tasks import Task, get_task

__all__ = [
    "PIN_NOTE",
    "provider_options",
    "model_choices",
    "model_picked",
    "revision_note",
    "token_status",
    "token_typed",
    "token_on_load",
    "provider_after_token",
    "provider_picked",
    "SWITCHED_TO_AUTO",
    "providers_markdown",
    "revision_options",
    "search_handler",
    "picked_handler",
    "CardExample",
    "widget_inputs",
    "card_examples",
    "card_fill_handler",
]

PIN_NOTE = (
    "ℹ️ Serverless providers run their own deployment and **cannot be pinned to a commit**: the revision is "
    "resolved and recorded with the run, not enforced. The local backend, and a dedicated Inference Endpoint "
    "created at this revision, do run it."
)
NO_TOKEN = ("No token: runs go to the **local backend** on this machine. Paste a token to use Inference "
            "Providers.")
SWITCHED_TO_AUTO = ("↪️ Provider switched from Local to **auto**: runs now go to Inference Providers (auto); pick "
                    "Local to keep running on this machine.")
OWN_ACCOUNT = ("(my own account)", "")
_FULL_TOKEN = re.compile(r"^hf_[A-Za-z0-9]{34}$")


def _hub_problem(err: PlaygroundError, what: str) -> str:
    """A picker's one line about a failed Hub question."""
    if err.retryable:
        why = "" if err.kind == "network" else f" ({err.title})"
        return f"⚠️ The Hub could not be reached{why}: {what}. Type any value: it is used as typed."
    return f"❌ {err.title}." + (f" {err.fix}" if err.fix else "")


# ------------------------------------------------------------------------------------------ model


def model_choices(task_id: str, text: str, token: str | None, provider: str | None, current: str | None):
    """The model dropdown's choices for what is typed: Hub search by task (and provider), any id still allowed."""
    task = get_task(task_id)
    text = (text or "").strip()
    try:
        hits = hub.search_models(task_id, text, token=token, provider=provider)
    except PlaygroundError as err:
        return gr.update(choices=_with(task.model_choices, current), info=_hub_problem(err, "no search"))
    served = hub.served_filter(provider)
    by = {None: " (all of them: the local backend or a custom endpoint can run any)",
          "all": " served by an inference provider"}.get(served, f" served by {served}")
    info = (f"{len(hits)} {task.label.lower()} model{'' if len(hits) == 1 else 's'}{by}"
            + (f" matching '{text}'" if text else "") + ", most trending first. Any Hub id can be typed.")
    return gr.update(choices=[(h.label, h.id) for h in hits] or _with(task.model_choices, current), info=info)


def _with(ids: list[str], current: str | None) -> list[tuple[str, str]]:
    return [(i, i) for i in dict.fromkeys([*ids, *([current] if current else [])])]


def provider_options(table: hub.ProviderTable | None = None, current: str | None = None) -> list[tuple[str, str]]:
    """The provider dropdown: routing policies, then the providers serving the model (with status and price),
    then custom and local. Without a table (no model, Hub unreachable), every provider."""
    fastest = table.fastest if table else None
    cheapest = table.cheapest if table else None
    chat = table is not None and table.task == "conversational"
    if fastest:
        fast = (f"Fastest → {fastest.provider} now ({fastest.throughput:.0f} tok/s"
                + (f", first token {fastest.first_token_ms / 1000:.2f} s)" if fastest.first_token_ms else ")"))
    elif table is not None and not chat:
        fast = "Fastest (chat only; this task takes the first provider)"
    else:
        fast = "Fastest (router picks the highest throughput)"
    if cheapest:
        cheap = f"Cheapest → {cheapest.provider} now (${cheapest.output_price:g} per 1M output tokens)"
    elif table is not None and not chat:
        cheap = "Cheapest (chat only; this task takes the first provider)"
    else:
        cheap = "Cheapest (router picks the lowest price per output token)"
    served = [(o.label, o.provider) for o in table.offers] if table else [(p, p) for p in sorted(PROVIDERS)]
    options = [
        ("Auto (your order at hf.co/settings/inference-providers)", "auto"),
        (fast, ":fastest"),
        (cheap, ":cheapest"),
        ("Balance (spread runs over the model's live providers, least busy first)", "balance"),
        *served,
        ("Custom endpoint URL (Inference Endpoint, TGI, vLLM, OpenAI-compatible)", CUSTOM),
        ("Local (this machine, no token needed)", LOCAL),
    ]
    if current and current not in {value for _, value in options}:
        options.insert(3, (f"{current} (does not serve this model)", current))
    return options


def _money(value: float | None) -> str:
    return "–" if value is None else f"${value:g}"


def _yes(value: bool | None) -> str:
    return "–" if value is None else ("yes" if value else "no")


def providers_markdown(table: hub.ProviderTable) -> str:
    """The providers table of the chosen model, and what :fastest and :cheapest pick, with the figures."""
    if not table.offers:
        also = f" It is served for {', '.join(table.other_tasks)}: open that tab." if table.other_tasks else ""
        return (f"No inference provider serves **{table.model}** for this task.{also} "
                "The local backend or a custom endpoint can still run it.")
    chat = table.task == "conversational"
    head = ["Provider", "Status", "Provider's model id"]
    if chat:
        head += ["$ / 1M in", "$ / 1M out", "Context", "Throughput", "First token", "Tools", "Structured output"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for o in table.offers:
        cells = [o.provider, o.status if o.status == "live" else f"{o.status} (not public yet)", f"`{o.provider_id}`"]
        if chat:
            cells += [_money(o.input_price), _money(o.output_price),
                      f"{o.context_length:,}" if o.context_length else "–",
                      f"{o.throughput:.0f} tok/s" if o.throughput else "–",
                      f"{o.first_token_ms / 1000:.2f} s" if o.first_token_ms else "–",
                      _yes(o.tools), _yes(o.structured)]
        rows.append("| " + " | ".join(cells) + " |")
    lines = ["\n".join(rows)]
    if chat:
        fastest, cheapest = table.fastest, table.cheapest
        if fastest:
            lines.append(f"**:fastest** picks **{fastest.provider}** now: the highest throughput, "
                         f"{fastest.throughput:.0f} tok/s.")
        if cheapest:
            lines.append(f"**:cheapest** picks **{cheapest.provider}** now: the lowest output price, "
                         f"{_money(cheapest.output_price)} per 1M output tokens ({_money(cheapest.input_price)} per 1M input).")
        if table.figures_missing:
            lines.append(table.figures_missing)
    else:
        lines.append(":fastest and :cheapest are chat routing policies; this task goes to the first live provider.")
    if table.other_tasks:
        lines.append(f"Also served for: {', '.join(table.other_tasks)}.")
    return "\n\n".join(lines)


def revision_options(revisions: hub.Revisions) -> list[tuple[str, str]]:
    """Branches, tags, then main's recent commits; the value is the name (or the full SHA)."""
    options = [(f"{name} · branch · {sha[:7]}", name) for name, sha in revisions.branches]
    options += [(f"{name} · tag · {sha[:7]}", name) for name, sha in revisions.tags]
    options += [(f"{c.short} · {c.title[:60]}" + (f" · {c.date:%Y-%m-%d}" if c.date else ""), c.sha)
                for c in revisions.commits]
    return options or [("main", "main")]


def model_picked(task_id: str, token: str | None, provider: str | None, model: str | None):
    """A model was picked: (summary, providers table, revision dropdown, revision note, provider dropdown,
    model-card examples dataset, model-card examples)."""
    model = (model or "").strip()
    revision = gr.update(choices=[("main", "main")], value="main")
    if not model or model.startswith(("http://", "https://")):
        return "", "", revision, PIN_NOTE, gr.update(choices=provider_options(None, provider)), *_card([])
    # The questions are independent: asked at once, a first pick costs about two Hub round trips, not six.
    with concurrent.futures.ThreadPoolExecutor(5, thread_name_prefix="pick") as pool:
        summary = pool.submit(hub.model_summary, model, token=token)
        access = pool.submit(_access_line, model, token, provider)
        table = pool.submit(hub.model_providers, model, task_id, token=token)
        revisions = pool.submit(hub.list_revisions, model, token=token)
        note = pool.submit(revision_note, token, model, "main", provider, task_id)
    try:
        summary, table = "\n\n".join(filter(None, [summary.result().markdown(), access.result()])), table.result()
    except PlaygroundError as err:
        problem = _hub_problem(err, "no summary or providers")
        return problem, "", revision, note.result(), gr.update(choices=provider_options(None, provider)), *_card([])
    try:
        revision = gr.update(choices=revision_options(revisions.result()), value="main")
    except PlaygroundError:
        pass  # the note says what happened
    try:  # from the model info the summary just read: no further Hub request
        examples = card_examples(task_id, hub.widget_examples(model, token=token))
    except PlaygroundError:
        examples = []
    return (summary, providers_markdown(table), revision, note.result(), gr.update(choices=provider_options(table, provider)),
            *_card(examples))


def _access_line(model: str, token: str | None, provider: str | None) -> str:
    """The preflight of a gated model: whether this token may use it ('' when not gated, or run locally)."""
    if provider == LOCAL:
        return ""
    try:
        return hub.model_access(model, token=token).markdown()
    except PlaygroundError as err:
        return "" if err.kind == "not_found" else _hub_problem(err, "access to this gated model is not checked")


def _local_revision_note(task_id: str, model: str, revision: str) -> str:
    """On the local backend the revision is what this machine holds, not what the Hub says."""
    try:
        served = service.local_model(get_task(task_id), model)
    except PlaygroundError as err:
        return f"⚠️ {err.title}. {err.message}"
    note = (f"💻 The local backend runs this model at `{served.revision}` ({served.source}); that is the revision "
            f"recorded with each run.")
    if revision not in ("main", served.revision):
        note += f"\n\n⚠️ `{revision}` is not on this machine: a run is refused. Set the revision to `main`."
    return note


def revision_note(token: str | None, model: str | None, revision: str | None, provider: str | None = None,
                  task_id: str | None = None) -> str:
    """What the revision resolves to, whether main has moved past it, and what pins it."""
    model, revision = (model or "").strip(), (revision or "main").strip() or "main"
    if provider == LOCAL and task_id and model:
        return _local_revision_note(task_id, model, revision)
    if not model or model.startswith(("http://", "https://")):
        return PIN_NOTE
    try:
        resolved = hub.resolve_revision(model, revision, token=token)
    except PlaygroundError as err:
        return _hub_problem(err, "the revision is not checked") + "\n\n" + PIN_NOTE
    name = f"commit `{resolved.short}`" if hub.is_commit(revision) else f"`{revision}` → commit `{resolved.short}`"
    try:
        history = hub.list_revisions(model, token=token).commits
    except PlaygroundError:
        history = ()
    return "\n\n".join(filter(None, [name, resolved.drift(history), PIN_NOTE]))


# ------------------------------------------------------------------------------------------ token


def token_status(token: str | None):
    """The header's token line and the bill-to choices (the user's organisations). Never shows the token."""
    try:
        status = hub.check_token(token)
    except PlaygroundError as err:
        if err.kind == "auth":
            return (f"❌ **The Hub refused this token**: it is invalid, expired or revoked. {err.fix}",
                    gr.update(choices=[OWN_ACCOUNT]))
        return _hub_problem(err, "the token is not checked, runs will still send it"), gr.update()
    if status is None:
        return public_mode.no_token_note() or NO_TOKEN, gr.update(choices=[OWN_ACCOUNT])
    source = " (from the environment)" if status.from_environment else ""
    role = {"fineGrained": "fine-grained"}.get(status.role, status.role)
    scopes = f", scopes: {', '.join(status.permissions)}" if status.permissions else ""
    line = f"✅ Token of **{status.user}**{source} · role {role}{scopes}"
    if status.problem:
        line = f"⚠️ Token of **{status.user}**{source}, role {role}{scopes}.\n\n{status.problem}"
    return line + "\n\n" + _preflight(status), gr.update(choices=[OWN_ACCOUNT, *_bill_to_choices(status)])


def _preflight(status: hub.TokenStatus) -> str:
    """What this token may do, said before any run: call Inference Providers, read gated models, bill whom."""
    infer = {True: "✅ may call Inference Providers", False: "❌ may **not** call Inference Providers",
             None: "❔ the Hub did not say whether it may call Inference Providers"}[status.can_infer]
    gated = {True: "✅ may read gated models you were granted", None: "",
             False: "❌ cannot read gated models (tick 'Read access to contents of all public gated repos you can "
                    "access' on the token)"}[status.can_read_gated]
    if not status.orgs:
        bill = "bill to: your own account only (no organisation)"
    else:
        bill = "bill to: " + ", ".join([*(f"✅ {o}" for o in status.billable),
                                        *(f"✗ {o} ({status.why_not_billable(o)})" for o in status.orgs
                                          if o not in status.billable)])
    return " · ".join(filter(None, [infer, gated, bill]))


def _bill_to_choices(status: hub.TokenStatus) -> list[tuple[str, str]]:
    """The organisations the token may bill (a typed name is still taken: the router then says why not)."""
    return [(f"{o} (Enterprise)" if o in status.enterprise_orgs else o, o) for o in status.billable]


def token_typed(token: str | None):
    """While typing: check the token as soon as it has a whole token's shape (pasting), else wait for blur."""
    token = (token or "").strip()
    if not token:
        return token_status(None)
    if _FULL_TOKEN.match(token):
        return token_status(token)
    return gr.skip(), gr.skip()


def token_on_load(token: str | None):
    """The token line as the page loads: the machine's token checked (or the session's, had it one then). With none
    to check it writes nothing: the page was built saying so (``ui._token_note``), and this step, read as the page
    loads, could land after a token pasted meanwhile was checked and put "No token" back over it."""
    if not (token or "").strip() and not public_mode.host_token():
        return gr.skip(), gr.skip()
    return token_status(token)


def provider_after_token(token: str | None, provider: str | None, picked: bool | None) -> tuple[str, Any]:
    """The provider picker after a token check: with no token the page starts on Local (``ui.default_provider``);
    once the Hub has accepted a pasted token that may call Inference Providers, a picker still on Local *because
    Local was the no-token default* moves to auto. ``picked``: the person chose the provider themselves (then it
    stays, Local included). Returns (a sentence for the token line, '' when nothing moved; the picker's update).
    Asks the Hub nothing: it reads the check's cached answer, and a token whose check failed has none."""
    token = (token or "").strip()
    if picked or provider != LOCAL or not token or hub.checked_user(token) is None:
        return "", gr.skip()
    try:
        status = hub.check_token(token)  # the answer the check just had (cached)
    except PlaygroundError:
        return "", gr.skip()
    if status is None or status.can_infer is False:  # Inference Providers would refuse it: Local still runs
        return "", gr.skip()
    return SWITCHED_TO_AUTO, "auto"


def provider_picked(token: str | None) -> tuple[bool, Any]:
    """The person picked the provider themselves (the picker's own input event): it counts as chosen, so
    ``provider_after_token`` leaves it, and the token line no longer says the provider was switched (``SWITCHED_TO_AUTO``):
    it is written again as the token steps write it, from the check's cached answer (never from the line the page
    showed). A token without a cached answer (none, one still being typed, refused, or checked too long ago) leaves
    the line as it is: asking the Hub here would hold back "picked", which the step after a token check reads.
    Returns (picked, token line)."""
    token = (token or "").strip()
    if not token or hub.checked_user(token) is None:
        return True, gr.skip()
    line, _ = token_status(token)
    return True, line


# ------------------------------------------------------------------------------------------ per tab


def search_handler(task_id: str):
    def search(token, provider, model, key: gr.KeyUpData):
        return model_choices(task_id, key.input_value, token, provider, model)

    return search


def picked_handler(task_id: str, narrow: bool = True):
    """``narrow=False``: leave the provider dropdown alone (the page loading, before anyone picked)."""

    def picked(token, provider, model):
        *shown, providers, card, examples = model_picked(task_id, token, provider, model)
        return (*shown, providers if narrow else gr.skip(), card, examples)

    return picked


def card_fill_handler(task_id: str, media: bool = False):
    """Clicking a model-card example fills the tab: a value for each input, then a URL for each image input's URL
    box (``ui`` wires the outputs in that order). Inputs the example does not mention are emptied, so nothing
    of a previous example is left over, and image and audio inputs are emptied too: ``media=True`` is the step
    run next, giving each of them the example's URL (Gradio downloads it) or a skip. As a step of its own, a
    URL that cannot be downloaded leaves the rest filled and the URL in its box."""
    task = get_task(task_id)
    boxed = [spec for spec in task.inputs if spec.kind == "image"]  # an image input has a URL box beside it
    loaded = [spec for spec in task.inputs if spec.kind in _MEDIA]

    def fill(examples: list[CardExample] | None, index: int | None):
        if index is None or not examples or not 0 <= index < len(examples):
            return _outputs(gr.skip() for _ in (loaded if media else [*task.inputs, *boxed]))
        values = examples[index].values
        if media:
            return _outputs(values.get(spec.name) or gr.skip() for spec in loaded)
        empty = lambda spec: None if spec.kind == "table" else ""  # noqa: E731
        return _outputs([*(None if spec.kind in _MEDIA else values.get(spec.name, empty(spec)) for spec in task.inputs),
                         *(values.get(spec.name, "") for spec in boxed)])

    return fill


def _outputs(values) -> Any:
    """A handler's outputs as Gradio takes them: a tuple, or the value itself for a single output."""
    values = tuple(values)
    return values[0] if len(values) == 1 else values


# ------------------------------------------------------------------------------------------ model-card examples

# Where a field of a model-card widget example goes: to the input of the same name when the tab has one
# (text, prompt, context, candidate_labels, system, table…), else to the first input still free of these
# kinds. The fields are those of huggingface.js's ``WidgetExample*Input`` types; a chat example's
# ``messages`` are read as its ``system`` prompt and last user message (``text``) first. Fields not listed
# (example_title, group, output, multi_class) are not inputs.
_WIDGET_FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("chat", "text"),  # the main text: the message, prompt, question, query or text to classify
    "prompt": ("chat", "text"),
    "source_sentence": ("text",),
    "sentences": ("lines",),
    "src": ("image", "audio"),
    "table": ("table",),
    "structured_data": ("table",),
    "structuredData": ("table",),  # the older spelling
    "context": (),
    "candidate_labels": (),
    "system": (),
}
_MEDIA = ("image", "audio")
_LABEL_CHARS = 80


@dataclass(frozen=True)
class CardExample:
    """One model-card example as the tab takes it: the label of its card and a value per input name."""

    label: str
    values: dict[str, Any]


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://"))


def _message_text(content: Any) -> str:
    """A chat message's text: its content, or the text parts of a multimodal content."""
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return "" if content is None else str(content)


def _widget_fields(widget: dict[str, Any]) -> dict[str, Any]:
    """The example's fields that can be inputs; for a chat example, its system prompt and last user message."""
    fields = {key: value for key, value in widget.items() if key in _WIDGET_FIELDS and value not in (None, "", [], {})}
    messages = [m for m in widget.get("messages") or [] if isinstance(m, dict)]
    system = next((_message_text(m.get("content")) for m in messages if m.get("role") == "system"), "")
    user = next((_message_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    fields.update({key: value for key, value in (("system", system), ("text", user)) if value})
    return fields


def _table(value: Any) -> dict[str, Any] | None:
    """A widget table ({column: [cells]}, or rows with the headers first) as a table input's value."""
    if isinstance(value, dict) and value:
        columns = [cells if isinstance(cells, list) else [cells] for cells in value.values()]
        return {"headers": [str(h) for h in value],
                "data": [[str(c[i]) if i < len(c) else "" for c in columns] for i in range(max(map(len, columns)))]}
    if isinstance(value, list) and len(value) > 1 and all(isinstance(row, list) for row in value):
        return {"headers": [str(h) for h in value[0]], "data": [[str(c) for c in row] for row in value[1:]]}
    return None


def _as_input(kind: str, value: Any) -> Any:
    """A widget field's value as an input of this kind takes it; None when it cannot take it."""
    if kind == "table":
        return _table(value)
    if kind in _MEDIA:
        return value if _is_url(value) else None
    if isinstance(value, list):  # sentences: one a line
        return "\n".join(str(v) for v in value if isinstance(v, (str, int, float)))
    return None if isinstance(value, dict) else str(value)


def widget_inputs(task: Task, widget: dict[str, Any]) -> dict[str, Any]:
    """One widget example of the Hub (an item of ``widgetData``) as values for the task's inputs, by input name,
    in the inputs' order: each field to the input of its name, else to the first free input of the kinds
    ``_WIDGET_FIELDS`` gives it. Fields no input takes are left out: ``{}`` when nothing fits the task."""
    fields = _widget_fields(widget)
    values: dict[str, Any] = {}
    for spec in task.inputs:  # by name first, so that no field falls on an input another one names
        if spec.name in fields and (value := _as_input(spec.kind, fields.pop(spec.name))) is not None:
            values[spec.name] = value
    for key in [k for k in _WIDGET_FIELDS if k in fields]:
        spec = next((s for s in task.inputs if s.kind in _WIDGET_FIELDS[key] and s.name not in values), None)
        if spec is not None and (value := _as_input(spec.kind, fields[key])) is not None:
            values[spec.name] = value
    return {spec.name: values[spec.name] for spec in task.inputs if spec.name in values}


def _label(widget: dict[str, Any], values: dict[str, Any]) -> str:
    """A card's one line: the example's title, else its texts, else the name of its file."""
    texts = [v for v in values.values() if isinstance(v, str)]
    label = (widget.get("example_title") or " · ".join(t for t in texts if not _is_url(t))
             or next((t.rsplit("/", 1)[-1] for t in texts), "example"))
    label = " ".join(str(label).split())
    return label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…"


def card_examples(task_id: str, widget_data: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> list[CardExample]:
    """The model card's examples this tab can take, less those the registry already offers (the Hub gives a
    card without examples its task's default ones, which the registry's often are) and repeats."""
    task = get_task(task_id)
    offered = [dict(zip((spec.name for spec in task.inputs), example)) for example in task.examples]
    examples: list[CardExample] = []
    for widget in widget_data:
        values = widget_inputs(task, widget)
        if values and not any(all(known.get(name) == value for name, value in values.items()) for known in offered):
            offered.append(values)
            examples.append(CardExample(_label(widget, values), values))
    return examples


def _card(examples: list[CardExample]) -> tuple[Any, list[CardExample]]:
    """The examples dataset's update (hidden when there are none) and the examples, kept in session state."""
    return gr.update(samples=[[e.label] for e in examples], visible=bool(examples)), examples
