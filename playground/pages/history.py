"""The History page (its own route, ``/history``): the owner's runs from the ledger, filtered, searched and paged;
one run's detail, reopened in its tab (``/?run=<id>``), deleted, or downloaded as a run card; every run cleared;
the filtered history exported as JSONL or CSV.

``build`` only builds and wires; the handlers below take and return plain values. Nothing here keeps runs: every
view reads the ledger (``ledger.current()``), scoped to the owner of this browser (``owners``).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import gradio as gr

from .. import capture, compare, ledger, owners, run_cards, share_links
from ..ledger import MEDIA_KEY
from ..tasks import TASKS

__all__ = ["build", "COLUMNS", "PAGE_SIZE", "list_page", "first_page", "older_page", "newer_page", "facet_choices",
           "show_run", "delete_run", "share_link", "publish_snapshot", "withdraw_snapshot", "clear_all", "confirm_clear", "export", "row_of", "cost_text", "open_link",
           "comparison_of", "publish_comparison"]

COLUMNS = ["Time (UTC)", "Task", "Model", "Provider", "Status", "Latency", "Cost"]
PAGE_SIZE = 25
ALL = ("All", "")
EXPORT_COLUMNS = ["id", "created", "source", "task", "model", "revision", "commit_sha", "provider_asked",
                  "provider_served", "status", "error_title", "latency_ms", "retries", "prompt_tokens",
                  "completion_tokens", "total_tokens", "cost_usd", "cost_basis"]


# ------------------------------------------------------------------------------------------ views of a run


def cost_text(cost_usd: float | None) -> str:
    """A run's cost as History shows it: "unknown" when the ledger could not compute it, never a guess."""
    if cost_usd is None:
        return "unknown"
    return "$0" if cost_usd == 0 else f"${cost_usd:.6f}".rstrip("0")


def _latency(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def row_of(run: ledger.RunSummary, sizes: dict[str, int] | None = None) -> list[str]:
    """One table row (``COLUMNS``); a pane of a comparison is marked so, with its number of runs (``sizes``)."""
    status = "✅ ok" if run.ok else f"❌ {run.error_title or 'error'}"
    task = run.task
    if run.comparison_id:
        task += f" · ⚖️ compare ×{(sizes or {}).get(run.comparison_id, 1)}"
    return [run.created.strftime("%Y-%m-%d %H:%M:%S"), task, run.model_ref,
            run.provider_served or run.provider_asked, status, _latency(run.latency_ms), cost_text(run.cost_usd)]


def _store() -> ledger.Ledger:
    store = ledger.current()
    if store is None:
        raise gr.Error("Runs are not recorded on this server (the ledger is off), so there is no history.")
    return store


def _filters(task, model, provider, status, text) -> dict[str, Any]:
    return dict(task=task or None, model=model or None, provider=provider or None, status=status or None,
                text=(text or "").strip() or None)


def list_page(state: Any, task=None, model=None, provider=None, status=None, text=None,
              cursor: str | None = None) -> tuple[list[list[str]], list[str], int, str | None]:
    """One page of the owner's runs: (rows, their ids, how many match in all, the next page's cursor)."""
    try:
        owner = owners.owner_of(state)
        page = _store().list_runs(owner, **_filters(task, model, provider, status, text), limit=PAGE_SIZE,
                                  cursor=cursor)
        sizes = _store().comparison_sizes(owner, [r.comparison_id for r in page.runs])
    except ledger.LedgerError as err:
        raise gr.Error(f"History cannot be read: {err}") from None
    return [row_of(r, sizes) for r in page.runs], [r.id for r in page.runs], page.total, page.next_cursor


def _shown(state, task, model, provider, status, text, starts: list[str | None]) -> tuple:
    """The table, its ids, the count line, the paging state and the Newer/Older buttons, for page ``starts[-1]``."""
    rows, ids, total, after = list_page(state, task, model, provider, status, text, starts[-1])
    first = (len(starts) - 1) * PAGE_SIZE
    if total:
        counts = f"Runs {first + 1}–{first + len(rows)} of {total}, newest first."
    else:
        counts = "No run matches these filters." if any((task, model, provider, status, text)) else \
            "No runs yet in this browser: run a task on the playground page and it appears here."
    paging = {"starts": starts, "next": after}
    users = _linked_users(state)
    if users:
        counts += f" With the runs of Hub user{'s' * (len(users) > 1)} {', '.join(f'**{u}**' for u in users)} " \
                  "(a token of theirs was checked in this browser)."
    import pandas as pd

    return (pd.DataFrame(rows, columns=COLUMNS), ids, counts, paging,
            gr.Button(interactive=len(starts) > 1), gr.Button(interactive=after is not None))


def _linked_users(state: Any) -> list[str]:
    try:
        return _store().linked_users(owners.owner_of(state))
    except ledger.LedgerError:
        return []


def first_page(state, task, model, provider, status, text) -> tuple:
    return _shown(state, task, model, provider, status, text, [None])


def older_page(state, task, model, provider, status, text, paging) -> tuple:
    paging = paging or {"starts": [None], "next": None}
    starts = paging["starts"] + [paging["next"]] if paging.get("next") else paging["starts"]
    return _shown(state, task, model, provider, status, text, starts)


def newer_page(state, task, model, provider, status, text, paging) -> tuple:
    starts = (paging or {}).get("starts") or [None]
    return _shown(state, task, model, provider, status, text, starts[:-1] or [None])


def facet_choices(state: Any, task=None, model=None, provider=None) -> tuple:
    """The filters' choices: the owner's tasks, models and providers (the current choice kept)."""
    try:
        facets = _store().facets(owners.owner_of(state))
    except ledger.LedgerError:
        facets = {}

    def dropdown(name: str, value: str | None, label=lambda v: v) -> gr.Dropdown:
        values = facets.get(name, [])
        return gr.Dropdown(choices=[ALL, *((label(v), v) for v in values)], value=value if value in values else "")

    task_label = lambda v: TASKS[v].label if v in TASKS else v  # noqa: E731
    return dropdown("task", task, task_label), dropdown("model", model), dropdown("provider", provider)


# ------------------------------------------------------------------------------------------ one run


def _brief(value: Any, limit: int = 1500) -> str:
    """A value as the detail shows it: JSON, files as their type and size, cut at ``limit`` characters."""

    def files(v: Any) -> Any:
        if isinstance(v, dict):
            if MEDIA_KEY in v:
                return f"<{v.get('type', 'file')}, {v.get('bytes', 0):,} bytes>"
            return {k: files(x) for k, x in v.items()}
        if isinstance(v, list):
            return [files(x) for x in v]
        return v

    text = json.dumps(files(value), indent=2, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit:,} more characters)"


def detail_markdown(run: ledger.Run) -> str:
    """The detail of one run: headline, status line, inputs, parameters and a summary of the output."""
    task = TASKS.get(run.task)
    outcome = "✅ Succeeded" if run.ok else f"❌ Failed: {run.error_title or 'error'}"
    served = run.provider_served or run.provider_asked
    asked = "" if served == run.provider_asked else f" (asked: {run.provider_asked})"
    status_line = " · ".join([outcome, f"served by {served}{asked}", _latency(run.latency_ms),
                              *([f"{run.retries} retries"] if run.retries else []), *run.notes])
    if run.error:
        status_line += f"\n\n{run.error.get('detail') or ''} {run.error.get('fix') or ''}".rstrip()
    cost = cost_text(run.cost_usd)
    tokens = f" · {run.total_tokens} tokens" if run.total_tokens else ""
    return "\n".join([
        f"### {task.label if task else run.task} · `{run.model_ref}`",
        f"{run.created.strftime('%Y-%m-%d %H:%M:%S')} UTC · from the {run.source} · revision `{run.revision}`"
        f" · cost **{cost}** ({run.cost_basis}){tokens}",
        "", f"**Status:** {status_line}", "",
        "**Inputs**", f"```json\n{_brief(run.inputs)}\n```",
        "**Parameters**", f"```json\n{_brief(run.params or {})}\n```",
        "**Output** (summary)", f"```json\n{_brief(run.output, 1200)}\n```",
    ])


def open_link(run_id: str) -> str:
    """"Open in its tab": the playground page (this page's parent path, under any root path) with ``?run=``."""
    return f"./?run={quote(run_id)}"


def _closed() -> tuple:
    return None, gr.Column(visible=False), "", "", gr.DownloadButton(value=None), gr.Button(link=None)


def show_run(state: Any, ids: list[str], evt: gr.SelectData) -> tuple:
    """A row selected: (its id, the detail shown, its markdown, its raw exchange JSON, its run card to download,
    the "Open in its tab" link)."""
    row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    if not ids or row is None or not 0 <= row < len(ids):
        return _closed()
    return open_run(state, ids[row])


def open_run(state: Any, run_id: str) -> tuple:
    owner = owners.owner_of(state)
    store = _store()
    run = store.get_run(owner, run_id)
    if run is None:
        gr.Warning("That run is no longer in your history.")
        return _closed()
    card = run_cards.card_of(run, store, owner)
    raw = capture.redact_text(json.dumps(run.exchange, indent=2, ensure_ascii=False, default=str))
    return (run.id, gr.Column(visible=True), detail_markdown(run), raw,
            gr.DownloadButton(value=run_cards.write(card)), gr.Button(link=open_link(run.id)))


def comparison_of(state: Any, run_id: str | None) -> tuple:
    """The selected run's comparison buttons: "Open the comparison" (linked to ``/compare?comparison=``) and
    "Publish the comparison", shown when the run is a pane of one."""
    run = _store().get_run(owners.owner_of(state), run_id) if run_id else None
    comparison_id = run.comparison_id if run is not None else None
    link = compare.comparison_query(comparison_id) if comparison_id else None
    return gr.Button(visible=bool(comparison_id), link=link), gr.Button(visible=bool(comparison_id))


def publish_comparison(state: Any, run_id: str | None) -> str:
    """Publish a read-only snapshot of the whole comparison the run is a pane of (every pane's run); its link,
    relative to the page, which opens the Compare page read-only for whoever has it. It never holds a token."""
    owner, store = owners.owner_of(state), _store()
    run = store.get_run(owner, run_id) if run_id else None
    snapshot_id = store.publish_comparison(owner, run.comparison_id) if run is not None and run.comparison_id else None
    if snapshot_id is None:
        raise gr.Error("Select a run of one of your comparisons first.")
    gr.Info("Comparison published: whoever has this link sees every pane as recorded (read-only). Withdraw a "
            "pane's snapshot to take it out.")
    return compare.snapshot_query(snapshot_id)


def share_link(state: Any, run_id: str | None) -> str:
    """The run's share link (relative to the playground page): its request's text travels in it."""
    owner, store = owners.owner_of(state), _store()
    run = store.get_run(owner, run_id) if run_id else None
    if run is None:
        raise gr.Error("Select one of your runs first.")
    try:
        query = share_links.share_query(run_cards.card_of(run, store, owner))
    except share_links.ShareError as err:
        raise gr.Error(str(err)) from None
    gr.Info("Share link made: it holds the run's text inputs and parameters, never your token or files.")
    return f"./{query}"


def publish_snapshot(state: Any, run_id: str | None) -> str:
    """Publish a read-only snapshot of the run (its files and result too); its link, relative to the page."""
    snapshot_id = _store().publish(owners.owner_of(state), run_id) if run_id else None
    if snapshot_id is None:
        raise gr.Error("Select one of your runs first.")
    gr.Info("Snapshot published: whoever has this link sees the run, its files and its result (read-only).")
    return f"./{share_links.snapshot_query(snapshot_id)}"


def withdraw_snapshot(state: Any, run_id: str | None) -> str:
    if run_id and _store().unpublish(owners.owner_of(state), run_id):
        gr.Info("Snapshot withdrawn: its link opens nothing any more.")
    else:
        gr.Info("This run has no published snapshot.")
    return ""


def delete_run(state: Any, run_id: str | None) -> tuple:
    """Delete the run shown; the detail closes (the table is refreshed by the next step)."""
    if run_id and _store().delete_run(owners.owner_of(state), run_id):
        gr.Info("The run is deleted.")
    return _closed()


def confirm_clear(state: Any) -> tuple:
    """Clear all, first step: say how many runs would go, and ask."""
    total = _store().list_runs(owners.owner_of(state), limit=1).total
    if not total:
        gr.Info("There is nothing to clear.")
        return gr.Row(visible=False), ""
    return gr.Row(visible=True), f"**Delete all {total} runs of this history?** This cannot be undone."


def clear_all(state: Any) -> tuple:
    n = _store().clear(owners.owner_of(state))
    gr.Info(f"{n} run{'s' * (n != 1)} deleted.")
    return (gr.Row(visible=False), *_closed())


def export(state: Any, task, model, provider, status, text, fmt: str) -> gr.File:
    """The filtered history as a file: JSONL (every record, input files named by hash) or CSV (the table's fields)."""
    owner = owners.owner_of(state)
    store = _store()
    filters = _filters(task, model, provider, status, text)
    fmt = (fmt or "JSONL").lower()
    path = Path(tempfile.mkdtemp(prefix="playground-export-")) / f"history.{fmt}"
    out = io.StringIO()
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(EXPORT_COLUMNS)
    cursor, n = None, 0
    while True:
        page = store.list_runs(owner, **filters, limit=500, cursor=cursor)
        for summary in page.runs:
            if writer is not None:
                values = {**summary.__dict__, "created": summary.created.isoformat()}
                writer.writerow(["" if values.get(c) is None else values.get(c) for c in EXPORT_COLUMNS])
            else:
                run = store.get_run(owner, summary.id)
                if run is None:
                    continue
                record = {**run.__dict__, "created": run.created.isoformat(), "model_ref": run.model_ref}
                out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            n += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    path.write_text(capture.redact_text(out.getvalue()), encoding="utf-8")
    gr.Info(f"{n} run{'s' * (n != 1)} exported.")
    return gr.File(value=str(path), visible=True)


# ------------------------------------------------------------------------------------------ the page


def build(demo: gr.Blocks) -> None:
    """The History page's components and events, inside ``demo.route("History", "/history")``. Every event is
    private: History is a page of the browser's own runs, not an API."""
    gr.Markdown("## 🗂️ History\nEvery run made in this browser, newest first. Select a run to see it, reopen it "
                "in its tab, download its card or delete it.")
    owner_browser = owners.browser_state()
    owner = gr.State()
    ids = gr.State([])
    paging = gr.State({"starts": [None], "next": None})
    selected = gr.State()
    with gr.Row(equal_height=True):
        task = gr.Dropdown([ALL], value="", label="Task", scale=1)
        model = gr.Dropdown([ALL], value="", label="Model", scale=2)
        provider = gr.Dropdown([ALL], value="", label="Provider (served)", scale=1)
        status = gr.Dropdown([ALL, ("✅ ok", "ok"), ("❌ error", "error")], value="", label="Status", scale=1)
        text = gr.Textbox(label="Search", placeholder="words in the inputs, output, model or error (Enter)", scale=2)
    table = gr.Dataframe(headers=COLUMNS, interactive=False, wrap=True, max_height=620,
                         column_widths=["15%", "14%", "32%", "11%", "10%", "8%", "10%"],
                         elem_classes=["history-table"], label="Runs")
    with gr.Row(equal_height=True):
        newer = gr.Button("‹ Newer", size="sm", interactive=False, scale=0)
        counts = gr.Markdown(elem_classes=["history-counts"])
        older = gr.Button("Older ›", size="sm", interactive=False, scale=0)
    with gr.Column(visible=False, elem_classes=["history-detail"]) as detail:
        with gr.Row():
            open_tab = gr.Button("↩️ Open in its tab", variant="primary", size="sm")
            card = gr.DownloadButton("⬇️ Download run card", size="sm")
            delete = gr.Button("🗑️ Delete", variant="stop", size="sm")
            open_comparison = gr.Button("⚖️ Open the comparison", size="sm", visible=False,
                                        elem_classes=["history-open-comparison"])
        with gr.Row(equal_height=True):
            share = gr.Button("🔗 Share link", size="sm", scale=0)
            publish = gr.Button("📸 Publish a read-only snapshot", size="sm", scale=0)
            withdraw = gr.Button("Withdraw the snapshot", size="sm", scale=0)
            publish_all = gr.Button("📸 Publish the whole comparison", size="sm", scale=0, visible=False,
                                    elem_classes=["history-publish-comparison"])
            link = gr.Textbox(label="Link to send", buttons=["copy"], interactive=False, scale=3,
                              elem_classes=["history-share-link"],
                              info="A share link carries the text inputs and parameters; a snapshot also the "
                                   "files and the result. Never your token.")
        detail_md = gr.Markdown(elem_classes=["history-run"])
        with gr.Accordion("Raw exchange (token redacted)", open=False):
            raw = gr.Code(language="json", label="Raw exchange", max_lines=40)
    with gr.Row(equal_height=False):
        fmt = gr.Radio(["JSONL", "CSV"], value="JSONL", label="Export format", scale=0)
        do_export = gr.Button("Export the filtered history", size="sm", scale=0)
        exported = gr.File(label="Export", visible=False, scale=1, elem_classes=["history-export"])
        clear = gr.Button("Clear all…", variant="stop", size="sm", scale=0)
    with gr.Row(visible=False, elem_classes=["history-confirm"]) as confirm:
        question = gr.Markdown()
        yes = gr.Button("Yes, delete them all", variant="stop", size="sm", scale=0)
        no = gr.Button("Cancel", size="sm", scale=0)

    private = dict(api_visibility="private", show_progress="hidden")
    filters = [owner, task, model, provider, status, text]
    listing = [table, ids, counts, paging, newer, older]
    closed = [selected, detail, detail_md, raw, card, open_tab]
    refresh = [owner, task, model, provider]

    demo.load(owners.load, owner_browser, [owner_browser, owner], **private).then(
        facet_choices, refresh, [task, model, provider], **private).then(first_page, filters, listing, **private)
    gr.on([task.input, model.input, provider.input, status.input, text.submit], first_page, filters, listing,
          **private).then(lambda: _closed(), None, closed, **private)
    older.click(older_page, [*filters, paging], listing, **private)
    newer.click(newer_page, [*filters, paging], listing, **private)
    table.select(show_run, [owner, ids], closed, **private).then(
        comparison_of, [owner, selected], [open_comparison, publish_all], **private)
    delete.click(delete_run, [owner, selected], closed, **private).then(
        facet_choices, refresh, [task, model, provider], **private).then(first_page, filters, listing, **private)
    absolute = "(v) => v ? new URL(v, window.location.href).href : v"  # the playground page's address
    for button, make in ((share, share_link), (publish, publish_snapshot)):
        button.click(make, [owner, selected], link, **private).then(None, link, link, js=absolute, **private)
    publish_all.click(publish_comparison, [owner, selected], link, **private).then(None, link, link, js=absolute,
                                                                                    **private)
    withdraw.click(withdraw_snapshot, [owner, selected], link, **private)
    table.select(lambda: "", None, link, **private)
    do_export.click(export, [*filters, fmt], exported, **private)
    clear.click(confirm_clear, owner, [confirm, question], **private)
    no.click(lambda: gr.Row(visible=False), None, confirm, **private)
    yes.click(clear_all, owner, [confirm, *closed], **private).then(
        facet_choices, refresh, [task, model, provider], **private).then(first_page, filters, listing, **private)
