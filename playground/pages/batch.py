"""The Batch page (its own route, ``/batch``): a task over a whole dataset, with progress, pause, resume and
cancel, its results and checks, and downloads.

``build`` only builds and wires; the handlers below take and return plain values, and the work is in
``playground.batch``. The page is built from the task registry: the column mapping has one picker per input of
the chosen task (``SLOTS`` of them, relabelled when the task changes), never a copy per task.

The token: the page has its own token box (``ui._build_token``): the pasted token goes into this tab's session
state, never into an event's inputs. A running batch holds it in memory until it ends.

A Hub dataset ("From the Hub": repo id, config, split, file, revision) is read with this tab's token
(``batch.read_hub``) and handed to the page as a file, as an upload is: the same preview, mapping, plan and start,
and the batch keeps its bytes and name as it keeps an upload's, so it resumes the same way; its record keeps where
they came from (``Spec.source``: repo id, config, split, the commit read and the revision asked, files). The Config
picker offers the dataset's configs (its card's ``configs:``, else its folders') once the repo id is typed. The copy
on disk is deleted once Start has read it into the batch (or another dataset is loaded, or the session ends): no
private data is left behind.

The spend guard: the browser's budgets (``ui.session_guard``: read on load into session states, passed to private
events only) go into the plan (it says when the estimate would pass a budget) and into the batch (it stops at the
row that would pass one, with the reason; Resume goes on, within the budgets as they are then).
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr

from .. import batch, handlers, ledger, owners, spend_guard
from ..errors import InputError, PlaygroundError
from ..params import json_object
from ..tasks import ASSETS, TASKS

__all__ = ["build", "SLOTS", "load_file", "load_hub", "choose_task", "spec_from", "check_plan", "start_batch", "tick",
           "pause", "resume", "cancel", "export_results", "batch_choices", "open_batch", "api_start", "api_poll", "api_results",
           "bundling_note", "forget_copy", "hub_configs", "EXAMPLES"]

SLOTS = max(len(t.inputs) for t in TASKS.values())  # column pickers: as many as the task with most inputs
NONE = ("(none)", "")
DEFAULT_BUNDLE = 8  # rows per request for a task that bundles: on by default there (bench/bench_batch.py: the gain)
LIVE_TABLE_ROWS = 300  # below this, the results table follows the batch live; above, it is read at the end
SHOWN_ROWS = 1000  # rows shown in the page's table (the downloads hold them all)
EXAMPLES = [  # (file, task, model, provider): one click fills the page
    [str(ASSETS / "batch_reviews.csv"), "text-classification",
     "distilbert/distilbert-base-uncased-finetuned-sst-2-english", "auto"],
    [str(ASSETS / "batch_prompts.jsonl"), "chat-completion", "HuggingFaceTB/SmolLM2-135M-Instruct", "auto"],
    [str(ASSETS / "batch_speech.zip"), "automatic-speech-recognition", "openai/whisper-large-v3", "auto"],
]


def _path(file: Any) -> str | None:
    if isinstance(file, dict):
        file = file.get("path")
    return str(file) if file else None


def _read(file: Any) -> tuple[batch.Dataset, bytes]:
    path = _path(file)
    if not path:
        raise InputError("No data file", "", "Upload a CSV, TSV, JSONL, Parquet or zip file, or click an example.")
    if not Path(path).is_file():
        raise InputError("The data file is gone", f"{Path(path).name} was a Hub dataset's copy, deleted once a batch "
                         "had read it (the batch keeps its data).", "Load it from the Hub again, or upload a file.")
    data = Path(path).read_bytes()
    return batch.read_data(Path(path).name, data), data


def _error(err: PlaygroundError) -> str:
    return f"❌ {err.display()}"


def _slot_updates(task_id: str, columns: list[str], mapping: dict[str, str]) -> list[gr.Dropdown]:
    task = TASKS.get(task_id)
    updates = []
    for i in range(SLOTS):
        spec = task.inputs[i] if task and i < len(task.inputs) else None
        if spec is None or spec.kind in ("tools", "schema"):  # tools and schemas are fixed inputs, not columns
            updates.append(gr.Dropdown(choices=[NONE], visible=False, value=""))
            continue
        need = "" if spec.required else " (optional)"
        updates.append(gr.Dropdown(choices=[NONE, *((c, c) for c in columns)], value=mapping.get(spec.name, ""),
                                   label=f"Column for '{spec.label}'{need}", visible=True))
    return updates


def _table(frame: Any = None) -> gr.Dataframe:
    """The preview's or the results' table, shown only when there is a frame with columns to show: until then it is
    hidden, not an empty table (Gradio heads a table without columns "1 2 3")."""
    return gr.Dataframe(value=frame, visible=frame is not None and len(frame.columns) > 0)


def load_file(file: Any, task_id: str) -> tuple:
    """A file chosen: (preview (hidden without a file), its summary, its columns, the column pickers auto-mapped, the expected column)."""
    import pandas as pd

    try:
        data, _ = _read(file)
    except InputError as err:
        return (_table(), _error(err), [], *_slot_updates(task_id, [], {}), gr.Dropdown(choices=[NONE], value=""))
    task = TASKS.get(task_id)
    mapping = batch.auto_map(task, data.columns) if task else {}
    expected = batch.guess_expected(data.columns, mapping)
    files = f" · {len(data.files)} files in the zip" if data.files else ""
    info = f"**{data.name}**: {len(data.rows):,} rows · columns {', '.join(f'`{c}`' for c in data.columns)}{files}"
    preview = pd.DataFrame(data.preview(), columns=data.columns)
    return (_table(preview), info, data.columns, *_slot_updates(task_id, data.columns, mapping),
            gr.Dropdown(choices=[NONE, *((c, c) for c in data.columns)], value=expected))


def load_hub(session_token: str | None, repo_id: str, config: str, split: str, path: str, revision: str,
             copy: dict | None = None, request: gr.Request = None) -> tuple:
    """Load a Hub dataset's split (or one of its files) with this tab's token: (the data file, what was read (its
    commit too), the copy: its path and source, the Config picker: the dataset's configs, the one read chosen). The
    file then goes where an upload goes (``load_file``, the plan, Start).

    The copy is the only one on disk: written in Gradio's upload folder (so Gradio serves it without copying it
    again), and deleted (``forget_copy``) once a batch has read it (Start), when another dataset is loaded, or when
    the session ends."""
    token = handlers.request_token(None, session_token, request)
    try:
        found = batch.read_hub(repo_id, split, config=config, path=path, revision=revision, token=token)
    except PlaygroundError as err:
        return gr.skip(), _error(err), gr.skip(), _config_picker(repo_id, revision, config, token)
    forget_copy(copy)
    from gradio.utils import get_upload_folder

    folder = Path(tempfile.mkdtemp(prefix="playground-hub-data-", dir=get_upload_folder()))
    (folder / found.file_name).write_bytes(found.data)
    return (str(folder / found.file_name), found.markdown(), {"path": str(folder / found.file_name), **found.source()},
            _config_picker(repo_id, revision, found.config, token))  # (the Hub's answers just read: cached)


def hub_configs(session_token: str | None, repo_id: str, revision: str, config: str,
                request: gr.Request = None) -> Any:
    """The Config picker, once a repo id is typed: the dataset's configs (its card's ``configs:``, else its folders'),
    the one typed kept. Nothing changes when they cannot be read (Load says why)."""
    if not (repo_id or "").strip():
        return gr.skip()
    return _config_picker(repo_id, revision, config, handlers.request_token(None, session_token, request))


def _config_picker(repo_id: str, revision: str, config: str, token: str | None) -> Any:
    try:
        names = batch.hub_configs(repo_id, revision, token=token)
    except PlaygroundError:
        return gr.skip()
    return gr.Dropdown(choices=[(n, n) for n in names], value=config or "")


def forget_copy(copy: Any) -> None:
    """Delete a Hub dataset's copy (``load_hub``) and its folder: a private dataset is not left on the server's disk.
    (Also the session state's ``delete_callback``.)"""
    import shutil

    path = copy.get("path") if isinstance(copy, dict) else None
    if path and Path(path).parent.name.startswith("playground-hub-data-"):
        shutil.rmtree(Path(path).parent, ignore_errors=True)


def choose_task(task_id: str, columns: list[str] | None) -> tuple:
    """A task picked: the column pickers relabelled and auto-mapped again."""
    task = TASKS.get(task_id)
    mapping = batch.auto_map(task, columns or []) if task else {}
    return tuple(_slot_updates(task_id, columns or [], mapping))


def default_model(task_id: str) -> str:
    task = TASKS.get(task_id)
    return task.default_model if task else ""


def _targets(model: str, provider: str, revision: str, more: str) -> tuple[batch.Target, ...]:
    targets = [batch.Target((model or "").strip(), provider or "auto", (revision or "main").strip() or "main")]
    for line in (more or "").splitlines():
        parts = [p.strip() for p in line.split(",")]
        if parts and parts[0]:
            targets.append(batch.Target(parts[0], parts[1] if len(parts) > 1 and parts[1] else provider or "auto",
                                        parts[2] if len(parts) > 2 and parts[2] else "main"))
    return tuple(targets)


def spec_from(task_id, model, provider, revision, more, *rest) -> batch.Spec:
    """The page's fields -> a Spec: (task, model, provider, revision, more targets, *SLOTS columns, expected,
    fixed inputs JSON, parameters JSON, concurrency, adaptive[, rows per request]). Rows per request applies to a
    task that bundles (the page says which); the others send one row per request."""
    slots, (expected, fixed, params, concurrency, adaptive, *bundle) = rest[:SLOTS], rest[SLOTS:]
    task = TASKS.get(task_id)
    if task is None:
        raise InputError("Pick a task", "", "Choose the task to run on every row.")
    mapping = {spec.name: column for spec, column in zip(task.inputs, slots) if column}
    return batch.Spec(task.id, _targets(model, provider, revision, more), mapping, expected or "",
                      json_object(fixed, "Fixed inputs"), json_object(params, "Parameters"),
                      int(concurrency or 4), bool(adaptive), int(bundle[0] or 1) if bundle and task.bundles else 1)


def bundling_note() -> str:
    """Which tasks and providers bundle rows, and why the others do not (from the registry and huggingface_hub)."""
    tasks = [t for t in TASKS.values() if t.bundles]
    named = {"custom": "a custom endpoint", "local": "the local backend"}
    said = "; ".join(f"{t.label} on {', '.join(named.get(p, p) for p in batch.bundling_providers(t))}" for t in tasks)
    return (f"📦 Rows per request (bundling): {said}: several rows go in one request (InferenceClient sends the list "
            "and reads one answer per row), each row still its own run in your history. Other tasks send one row per "
            "request: their InferenceClient call takes one input (text classification's keeps only the first answer "
            "of a list, although hf-inference's pipeline takes one).")


def guard_for(budget: Any, guard_state: Any) -> spend_guard.Guard:
    """The batch's spend guard: the page's budgets (a ``spend_guard.Budget``) and when its session began."""
    budget = budget if isinstance(budget, spend_guard.Budget) else spend_guard.Budget()
    return spend_guard.Guard(budget, guard_state.get("since_ms") if isinstance(guard_state, dict) else None)


def check_plan(owner_state: Any, budget: Any, guard_state: Any, file: Any, *fields) -> str:
    """Before start: the number of requests, the estimated duration and cost (and whether it would pass the spend
    guard's budget), and what will fail."""
    if not _path(file):
        return "Upload a data file (or click an example) to see the plan."
    try:
        data, _ = _read(file)
        spec = spec_from(*fields)
        spec.check(data)
        return batch.plan(spec, data, owners.owner_of(owner_state), guard=guard_for(budget, guard_state)).markdown()
    except InputError as err:
        return _error(err)


def _buttons(state: str) -> tuple:
    """(Start, Pause, Resume, Cancel) for a batch in ``state``."""
    running, paused = state == "running", state in ("paused", "interrupted", "cancelled")
    return (gr.Button(interactive=not running and state != "paused"), gr.Button(interactive=running),
            gr.Button(interactive=paused), gr.Button(interactive=running or state == "paused"))


def start_batch(owner_state: Any, session_token: str | None, budget: Any, guard_state: Any, copy: Any, file: Any,
                *fields, request: gr.Request = None) -> tuple:
    """Start (within the spend guard's budgets): (batch id, progress, bar, timer, buttons..., rows seen, the Hub
    copy). Data loaded from the Hub (``copy`` names the file): its source goes into the batch's record, and the copy
    is deleted once the batch holds the data."""
    token = handlers.request_token(None, session_token, request)
    from_hub = isinstance(copy, dict) and copy.get("path") == _path(file)
    try:
        data, raw = _read(file)
        spec = spec_from(*fields)
        if from_hub:
            spec = replace(spec, source={k: v for k, v in copy.items() if k != "path"})
        job = batch.start(spec, data, owner_state, token, data_bytes=raw,
                          session=getattr(request, "session_hash", "") or "", guard=guard_for(budget, guard_state))
    except InputError as err:
        return (gr.skip(), _error(err), "", gr.Timer(active=False), *_buttons("done"), gr.skip(), gr.skip())
    if from_hub:
        forget_copy(copy)
    progress = job.progress()
    return (job.id, progress.markdown(), progress.html(), gr.Timer(active=True), *_buttons(progress.state), None,
            None if from_hub else gr.skip())


def _results_outputs(owner: ledger.Owner, batch_id: str) -> tuple:
    import pandas as pd

    try:
        found = batch.results(owner, batch_id)
    except InputError as err:
        return _table(), _error(err), pd.DataFrame(columns=["expected", "count", "predicted"])
    frame = found.frame().head(SHOWN_ROWS)
    frame["run"] = [f"[open](./?run={r})" if r else "" for r in frame["run"]]
    cells = pd.DataFrame(found.confusion, columns=["target", "expected", "predicted", "count"])
    confusion = gr.BarPlot(value=cells, visible=not cells.empty)  # labels against expected labels only
    more = f"\n\nThe table shows the first {SHOWN_ROWS:,} of {len(found.rows):,} rows; the downloads hold them all." \
        if len(found.rows) > SHOWN_ROWS else ""
    return _table(frame), found.checks_markdown() + more, confusion


def tick(owner_state: Any, batch_id: str | None, seen: int | None = None, refresh: bool = False) -> tuple:
    """The timer's tick: (progress, bar, timer, buttons..., results table, checks, confusion matrix, rows seen,
    your batches). The results are read again only when more rows are done than ``seen`` (the count shown last),
    for a small batch while it runs, and for any batch when it stops; ``refresh`` reads them in any case. The list
    of your batches is read again when the batch stops (done, cancelled, interrupted): it says so at once."""
    owner = owners.owner_of(owner_state)
    idle = (gr.Timer(active=False), *_buttons("done"), gr.skip(), gr.skip(), gr.skip(), seen, gr.skip())
    if not batch_id:
        return ("", "", *idle)
    try:
        progress = batch.progress_of(owner, batch_id)
    except InputError as err:
        return (_error(err), "", *idle)
    if progress is None:
        return ("That batch is not in your history.", "", *idle)
    active = progress.state in ("running", "paused")
    changed = progress.done != seen
    live = refresh or not active or (changed and progress.total <= LIVE_TABLE_ROWS)  # (a stopped batch: once)
    results = _results_outputs(owner, batch_id) if live else (gr.skip(),) * 3
    return (progress.markdown(), progress.html(), gr.Timer(active=active), *_buttons(progress.state), *results,
            progress.done if live else seen, gr.skip() if active else batch_choices(owner_state, batch_id))


def _control(owner_state: Any, batch_id: str | None, action: str) -> None:
    job = batch.job(owners.owner_of(owner_state), batch_id or "")
    if job is None:
        raise gr.Error("This batch is not running in this server: Resume it to go on.")
    getattr(job, action)()


def pause(owner_state: Any, batch_id: str | None, seen: int | None = None) -> tuple:
    _control(owner_state, batch_id, "pause")
    return tick(owner_state, batch_id, seen)


def cancel(owner_state: Any, batch_id: str | None, seen: int | None = None) -> tuple:
    _control(owner_state, batch_id, "cancel")
    return tick(owner_state, batch_id, seen)


def resume(owner_state: Any, session_token: str | None, batch_id: str | None, seen: int | None = None,
           budget: Any = None, guard_state: Any = None, request: gr.Request = None) -> tuple:
    """Go on with a paused, cancelled or interrupted batch (one the spend guard stopped too, within the page's
    budgets as they are now): the rows done in the ledger are skipped."""
    if not batch_id:
        raise gr.Error("Open a batch first (Your batches).")
    token = handlers.request_token(None, session_token, request)
    try:
        batch.resume(batch_id, owner_state, token, session=getattr(request, "session_hash", "") or "",
                     guard=guard_for(budget, guard_state))
    except InputError as err:
        raise gr.Error(f"{err.title}. {err.message} {err.fix}".strip()) from None
    return tick(owner_state, batch_id, seen)


def export_results(owner_state: Any, batch_id: str | None, fmt: str) -> gr.File:
    """The results table as CSV, JSONL or Parquet."""
    if not batch_id:
        raise gr.Error("There are no results yet: start a batch, or open one of yours.")
    try:
        found = batch.results(owners.owner_of(owner_state), batch_id)
    except InputError as err:
        raise gr.Error(err.title) from None
    path = batch.export(found, fmt, tempfile.mkdtemp(prefix="playground-batch-"))
    return gr.File(value=path, visible=True)


def batch_choices(owner_state: Any, selected: str | None = None) -> gr.Dropdown:
    """The owner's batches, newest first: "2026-12-01 10:02 · text-classification · reviews.csv · done"."""
    store = ledger.current()
    found = []
    if store is not None:
        try:
            found = store.list_batches(owners.owner_of(owner_state))
        except ledger.LedgerError:
            found = []
    choices = [(f"{b.created.strftime('%Y-%m-%d %H:%M')} · {b.task} · {b.file_name} · {b.rows:,} rows · "
                f"{_state_now(owner_state, b)}", b.id) for b in found]
    ids = {c[1] for c in choices}
    return gr.Dropdown(choices=choices or [("(no batch yet)", "")], value=selected if selected in ids else
                       (choices[0][1] if choices else ""))


def _state_now(owner_state: Any, record: ledger.BatchRecord) -> str:
    job = batch.job(owners.owner_of(owner_state), record.id)
    if job is not None:
        return job.state
    return "interrupted" if record.state in ("running", "paused") else record.state


def open_batch(owner_state: Any, batch_id: str | None) -> tuple:
    """One of the owner's batches, opened: (its id, progress, bar, timer, buttons..., results...)."""
    return (batch_id, *tick(owner_state, batch_id, refresh=True))


# ------------------------------------------------------------------------------------------ the API


def _api_owner(request: Any) -> tuple[str, dict[str, Any]]:
    """An API caller's token (``Authorization: Bearer hf_…``, never an argument) and the owner state its batches
    belong to: the token's Hub user, checked with the Hub, so that the same token polls them from anywhere."""
    from .. import hub
    from ..errors import PlaygroundError

    token = handlers.request_token(None, None, request)
    if not token:
        raise gr.Error("Send your Hugging Face token as 'Authorization: Bearer hf_…': a batch belongs to its Hub user.")
    try:
        status = hub.check_token(token)
    except PlaygroundError as err:
        raise gr.Error(f"{err.title}. {err.fix}".strip()) from None
    if status is None or not status.user or status.user == "?":
        raise gr.Error("The Hub did not name the user of this token.")
    return token, owners.claim(None, status.user)


def api_start(file_name: str, data: str, task: str, model: str, provider: str = "auto", revision: str = "main",
              mapping: str = "", expected: str = "", fixed: str = "", params: str = "", concurrency: int = 4,
              base64: bool = False, bundle: int = 1, dataset: str = "", config: str = "", split: str = "train",
              path: str = "", dataset_revision: str = "main", request: gr.Request = None) -> dict:
    """Start a batch. ``data`` is the file's content (text; ``base64=True`` for Parquet or zip), ``mapping`` a JSON
    object {task input: column} (empty: matched by name), ``expected`` the column of expected answers (empty:
    guessed by name; "-" for none), ``bundle`` the rows per request of a task that bundles (feature extraction).
    Or a Hub dataset instead of a file (``file_name`` and ``data`` empty): ``dataset`` its repo id, with its
    ``config``, ``split``, one file's ``path`` (optional) and ``dataset_revision``, read with the caller's token.
    Returns {"batch_id", "plan", "source"} (source: the Hub dataset's repo id, config, split, commit and files read;
    {} for a file). The token is the Authorization header."""
    import base64 as b64

    token, state = _api_owner(request)
    try:
        source: dict[str, Any] = {}
        if (dataset or "").strip():
            if file_name or data:
                raise InputError("Send a file or name a Hub dataset, not both", "",
                                 "Leave file_name and data empty to read the dataset, or dataset empty to send the file.")
            found = batch.read_hub(dataset, split, config=config, path=path, revision=dataset_revision, token=token)
            table, raw, source = found.dataset, found.data, found.source()
        else:
            raw = b64.b64decode(data) if base64 else (data or "").encode("utf-8")
            table = batch.read_data(file_name, raw)
        chosen = TASKS.get(task)
        if chosen is None:
            raise InputError(f"Unknown task '{task}'", "", f"Use one of: {', '.join(TASKS)}.")
        columns = json_object(mapping, "mapping") or batch.auto_map(chosen, table.columns)
        expected = "" if expected == "-" else (expected or batch.guess_expected(table.columns, columns))
        spec = batch.Spec(chosen.id, _targets(model, provider, revision, ""), columns, expected,
                          json_object(fixed, "fixed"), json_object(params, "params"), int(concurrency),
                          bundle=int(bundle or 1), source=source)
        spec.check(table)
        plan = batch.plan(spec, table, owners.owner_of(state))
        job = batch.start(spec, table, state, token, data_bytes=raw)
    except PlaygroundError as err:
        raise gr.Error(f"{err.title}. {err.message} {err.fix}".strip()) from None
    return {"batch_id": job.id, "plan": plan.markdown(), "source": source}


def api_poll(batch_id: str, request: gr.Request = None) -> dict:
    """A batch's progress: {"state", "total", "done", "ok", "errors", "cost_usd", "rate", "eta_s", ...}."""
    _, state = _api_owner(request)
    progress = batch.progress_of(owners.owner_of(state), batch_id)
    if progress is None:
        raise gr.Error("No batch of yours has this id.")
    return {k: v for k, v in progress.__dict__.items() if k != "message"}


def api_results(batch_id: str, request: gr.Request = None) -> dict:
    """A batch's results: {"columns", "rows", "checks", "confusion"} (rows in the order of the data)."""
    _, state = _api_owner(request)
    try:
        found = batch.results(owners.owner_of(state), batch_id)
    except InputError as err:
        raise gr.Error(err.title) from None
    return {"columns": found.columns, "rows": found.rows, "checks": found.checks, "confusion": found.confusion}


# ------------------------------------------------------------------------------------------ the page


def build(demo: gr.Blocks) -> None:
    """The Batch page's components and events (inside ``demo.route("Batch", "/batch")``)."""
    from ..ui import _build_token, default_provider, provider_choices, session_guard  # (ui imports this module first)

    gr.Markdown("## 📦 Batch\nRun one task over a whole dataset: every row goes through the same service path as the "
                "playground (retries, failover, the run ledger). Rate limits slow the batch down instead of failing it, "
                "and a batch that stops resumes where it stopped, without paying twice for a row.")
    owner_browser, owner = owners.browser_state(), gr.State()
    columns, batch_id, seen = gr.State([]), gr.State(), gr.State()  # seen: rows done when the results were read
    hub_copy = gr.State(None, delete_callback=forget_copy)  # a Hub dataset's copy on disk: its path and source
    with gr.Row(equal_height=True):
        token = gr.Textbox(label="Hugging Face token", type="password", placeholder="hf_…", scale=2,
                           info="Kept on the server for this browser tab (and by a running batch until it ends).")
        token_line = gr.Markdown(elem_classes=["token-status"])
        bill_to = gr.Dropdown(visible=False, allow_custom_value=True)
    budget, guard = session_guard(demo)  # the spend guard: this browser's budgets, this session's start

    gr.Markdown("### 1 · Task and model")
    with gr.Row(equal_height=True):
        task = gr.Dropdown([(t.label, t.id) for t in TASKS.values()], value="text-classification", label="Task", scale=1)
        model = gr.Textbox(TASKS["text-classification"].default_model, label="Model", scale=2)
        provider = gr.Dropdown(provider_choices(), value=default_provider(), label="Provider", scale=1)
        revision = gr.Textbox("main", label="Revision", scale=1)
    # As on the playground page: a checked token links this browser to its Hub user, and moves the provider from Local
    # (the no-token default) to auto unless the person chose it (``picked``: by hand; an example sets it to auto)
    picked = gr.State(False)
    session_token, _ = _build_token(demo, token, [token_line, bill_to], owner, provider, picked)
    with gr.Accordion("More models: a matrix of rows × models (up to 4 in all)", open=False):
        more = gr.Textbox(label="One more model per line: model, provider, revision", lines=3,
                          placeholder="Qwen/Qwen2.5-7B-Instruct, together\nmeta-llama/Llama-3.1-8B-Instruct")

    gr.Markdown("### 2 · Data")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1):
            file = gr.File(label="Data file (CSV, TSV, JSONL, Parquet, or a zip of images/audio with a CSV naming them)",
                           file_types=list(batch.SUFFIXES), type="filepath", elem_classes=["batch-file"])
            gr.Examples(EXAMPLES, inputs=[file, task, model, provider], label="Examples (one click)",
                        example_labels=["Reviews → sentiment (accuracy)", "Prompts → chat", "Speech → text (WER)"])
            with gr.Accordion("🤗 From the Hub: a dataset's split", open=False, elem_classes=["batch-hub"]):
                hub_repo = gr.Textbox(label="Dataset (repo id)", placeholder="owner/name · Enter loads it",
                                      elem_classes=["batch-hub-repo"])
                with gr.Row():
                    hub_config = gr.Dropdown([], value="", label="Config", allow_custom_value=True, min_width=80,
                                             info="Its card's (or folders'); empty: the default",
                                             elem_classes=["batch-hub-config"])
                    hub_split = gr.Textbox("train", label="Split", min_width=80)
                with gr.Row():
                    hub_path = gr.Textbox(label="File (optional)", placeholder="data/train-00000-of-00001.parquet",
                                          min_width=120)
                    hub_revision = gr.Textbox("main", label="Revision", min_width=80)
                hub_load = gr.Button("Load from the Hub", size="sm", elem_classes=["batch-hub-load"])
                hub_note = gr.Markdown("A private or gated dataset is read with the token pasted above.",
                                       elem_classes=["batch-hub-note"])
        with gr.Column(scale=2):
            info = gr.Markdown("Upload a file or click an example.", elem_classes=["batch-info"])
            preview = gr.Dataframe(label="Preview (first rows)", interactive=False, max_height=260, wrap=True,
                                   visible=False, elem_classes=["batch-preview"])  # shown with a file's rows
    with gr.Row(equal_height=True):
        slots = [gr.Dropdown([NONE], value="", visible=False, label=f"Column {i + 1}", elem_classes=["batch-slot"])
                 for i in range(SLOTS)]
        expected = gr.Dropdown([NONE], value="", label="Expected answer column (turns the checks on)",
                               elem_classes=["batch-expected"])
    with gr.Accordion("Fixed inputs, parameters and concurrency", open=False):
        with gr.Row():
            fixed = gr.Code("", language="json", label="Fixed inputs (the same for every row), JSON object", lines=3)
            params = gr.Code("", language="json", label="Parameters (JSON object), e.g. {\"max_tokens\": 64}", lines=3)
        with gr.Row():
            concurrency = gr.Slider(1, 32, value=4, step=1, label="Concurrency (requests at once, to start with)")
            adaptive = gr.Checkbox(True, label="Adaptive: halve on a rate limit (429) and honour Retry-After, "
                                               "then grow back slowly")
            bundle = gr.Slider(1, batch.MAX_BUNDLE, value=DEFAULT_BUNDLE, step=1, label="Rows per request (bundling)",
                               info="For a task that bundles (below); others send one row per request.")
        gr.Markdown(bundling_note(), elem_classes=["batch-bundling"])

    gr.Markdown("### 3 · Run")
    plan_md = gr.Markdown("Upload a data file (or click an example) to see the plan.", elem_classes=["batch-plan"])
    with gr.Row():
        start = gr.Button("▶ Start", variant="primary", elem_classes=["batch-start"])
        pause_btn = gr.Button("⏸ Pause", interactive=False)
        resume_btn = gr.Button("⏯ Resume", interactive=False)
        cancel_btn = gr.Button("⏹ Cancel", variant="stop", interactive=False)
    bar = gr.HTML(elem_classes=["batch-bar-wrap"])
    progress = gr.Markdown(elem_classes=["batch-progress"])
    timer = gr.Timer(1.0, active=False)

    gr.Markdown("### 4 · Results")
    checks = gr.Markdown("A batch's checks and results appear here once it runs (or open one of your batches below).",
                         elem_classes=["batch-checks"])
    confusion = gr.BarPlot(x="expected", y="count", color="predicted", title="Confusion: predicted label per expected "
                           "label", y_title="rows", visible=False, elem_classes=["batch-confusion"])
    table = gr.Dataframe(label="Results", interactive=False, wrap=True, max_height=500, datatype="markdown",
                         visible=False, elem_classes=["batch-results"])  # shown with a batch's rows
    with gr.Row(equal_height=False):
        fmt = gr.Radio(["CSV", "JSONL", "Parquet"], value="CSV", label="Download format", scale=0)
        download = gr.Button("⬇️ Download the results", size="sm", scale=0)
        exported = gr.File(label="Results file", visible=False, scale=1, elem_classes=["batch-export"])
    with gr.Row(equal_height=True):
        mine = gr.Dropdown([("(no batch yet)", "")], value="", label="Your batches (they go on when the browser closes)",
                           scale=3, elem_classes=["batch-list"])
        open_btn = gr.Button("Open", size="sm", scale=0)
        refresh_list = gr.Button("Refresh", size="sm", scale=0)

    private = dict(api_visibility="private", show_progress="hidden")
    fields = [task, model, provider, revision, more, *slots, expected, fixed, params, concurrency, adaptive, bundle]
    buttons = [start, pause_btn, resume_btn, cancel_btn]
    shown = [progress, bar, timer, *buttons, table, checks, confusion, seen, mine]

    demo.load(owners.load, owner_browser, [owner_browser, owner], **private).then(batch_choices, owner, mine, **private)
    file.change(load_file, [file, task], [preview, info, columns, *slots, expected], **private)
    hub_fields = [hub_repo, hub_config, hub_split, hub_path, hub_revision]
    gr.on([hub_load.click, *(box.submit for box in hub_fields if box is not hub_config)], load_hub,
          [session_token, *hub_fields, hub_copy], [file, hub_note, hub_copy, hub_config], api_visibility="private",
          show_progress="minimal")
    hub_repo.blur(hub_configs, [session_token, hub_repo, hub_revision, hub_config], hub_config, **private)
    task.input(default_model, task, model, **private)
    task.change(choose_task, [task, columns], slots, **private)
    gr.on([file.change, task.change, model.change, provider.change, more.change, expected.change, concurrency.change,
           bundle.change, *(s.change for s in slots)], check_plan, [owner, budget, guard, file, *fields], plan_md,
          trigger_mode="always_last", **private)
    start.click(start_batch, [owner, session_token, budget, guard, hub_copy, file, *fields],
                [batch_id, progress, bar, timer, *buttons, seen, hub_copy],
                **private).then(batch_choices, [owner, batch_id], mine, **private)
    timer.tick(tick, [owner, batch_id, seen], shown, **private)
    pause_btn.click(pause, [owner, batch_id, seen], shown, **private)
    cancel_btn.click(cancel, [owner, batch_id, seen], shown, **private)
    resume_btn.click(resume, [owner, session_token, batch_id, seen, budget, guard], shown, **private)
    download.click(lambda o, b, f: export_results(o, b, f.lower()), [owner, batch_id, fmt], exported, **private)
    open_btn.click(open_batch, [owner, mine], [batch_id, *shown], **private)
    refresh_list.click(batch_choices, [owner, batch_id], mine, **private)
    gr.api(api_start, api_name="batch_start")  # for scripts: the token is the Authorization header
    gr.api(api_poll, api_name="batch_poll")
    gr.api(api_results, api_name="batch_results")


if __name__ == "__main__":  # the page alone
    with gr.Blocks(title="Batch") as page:
        build(page)
    page.launch()
