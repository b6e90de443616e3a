"""The Compare page (playground/pages/compare.py): built from the registry for every task, its handlers called as
Gradio calls them, the ``/compare`` API through gradio_client against the launched app, and the playground page's
weight unchanged by it."""

from __future__ import annotations

import json
from types import SimpleNamespace

import gradio as gr
import pytest
from gradio.helpers import special_args

from playground import compare, ledger, owners
from playground.pages import compare as page
from playground.tasks import TASKS
from tests.conftest import TOKEN

SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"


@pytest.mark.parametrize("n", [2, 4])
def test_every_task_builds_its_panes_and_diffs(n):
    """Each task's panes are built from its registry entry: its inputs once, a target and an output per pane,
    the diff components ``compare.diff_values`` fills."""
    for task in TASKS.values():
        with gr.Blocks() as blocks:
            header = [gr.State(), gr.State(), gr.Textbox(), gr.State(), gr.State()]  # (+ budget, guard state)
            if task.renderer == "chat":
                page._build_chat(task, n, {}, header, header[0])
            else:
                page._build_runs(task, n, {}, gr.Checkbox(), False, header, header[0], header[1], gr.State(),
                                 gr.Dataframe())
        kinds = [type(b).__name__ for b in blocks.blocks.values()]
        run = next(fn for fn in blocks.fns.values() if fn.name in ("handler",) and len(fn.outputs) > 4 * n)
        width = compare.pane_width(task)
        extra_inputs = len(task.inputs) - 1 if task.renderer == "chat" else len(task.inputs) + 1
        chats = n if task.renderer == "chat" else 0
        chat = 2 if task.renderer == "chat" else 0  # (the message, the chat comparison)
        assert len(run.inputs) == 6 + extra_inputs + chat + n * width + chats, task.id
        per_pane = 3 if task.renderer == "chat" else 4
        tail = (3 if task.renderer == "chat" else 4) + 2 + compare.diff_slots(task, n)  # (+ kept, Run anyway)
        assert len(run.outputs) == per_pane * n + tail, task.id
        assert kinds.count("Markdown") >= n, task.id


def test_run_handlers_get_the_request_from_gradio():
    """Gradio hands the gr.Request to the parameter annotated so (positional, last): the Authorization header and
    the session come through it."""
    task = TASKS["text-classification"]
    for handler in (compare.run_handler(task, 3), compare.chat_handler(TASKS["chat-completion"], 2),
                    compare.providers_handler(task)):
        names = list(handler.__signature__.parameters)
        assert names[-1] == "request" and names[:3] == ["session_token", "owner", "bill_to"]
        filled, *_ = special_args(handler, inputs=[None] * (len(names) - 1), request=None)
        assert len(filled) == len(names)


def test_a_link_names_the_task_and_pane_one():
    request = SimpleNamespace(query_params={"task": "summarization", "model": "facebook/bart-large-cnn",
                                            "provider": "hf-inference", "text": "Hello"})
    task, link = page.linked(request)
    assert task == "summarization" and link["model"] == "facebook/bart-large-cnn" and link["inputs"] == {"text": "Hello"}
    assert page.linked(SimpleNamespace(query_params={})) == (page.DEFAULT_TASK, {"task": page.DEFAULT_TASK})


def test_the_run_handler_streams_panes_as_they_finish(fake):
    """The page's Run: a first update (every pane running), one per finished pane, then the tables and diffs."""
    me = owners.load(None)[1]
    handler = compare.run_handler(TASKS["text-classification"], 2)
    panes = [SST2, "hf-inference", "", "main", "", "", "", "errors/unknown-model", "hf-inference", "", "main", "", "", ""]
    updates = list(handler(TOKEN, me, "", None, None, None, False, "I like it", *panes, None))
    assert len(updates) == 4  # running, pane by pane (2), the tables
    assert updates[0][2] == "⏳ Running…" and updates[0][6] == "⏳ Running…"
    final = updates[-1]
    assert final[2].startswith("✅") and final[6].startswith("❌")  # pane 2's error is its own
    table, bars, comparison, vote_row, reveal, kept, anyway = final[8:]
    assert list(table["HTTP status"]) == ["200", "no call"]
    assert set(bars["pane"]) == {f"1. {SST2.split('/')[1]} · hf-inference"}
    assert comparison is None and vote_row.constructor_args["visible"] is False
    assert kept is None and anyway.constructor_args["visible"] is False  # no budget: nothing held back
    assert TOKEN not in json.dumps([v for v in final if isinstance(v, str)])


def test_compare_api_through_gradio_client(client, fake):
    """``/compare``: a task, its inputs and targets; one result per target, in order, each recorded."""
    results = client.predict(task="text-classification", inputs={"text": "I like it"},
                             targets=[{"model": SST2, "provider": "hf-inference", "parameters": {"top_k": 1}},
                                      {"model": "errors/unknown-model", "provider": "hf-inference"}],
                             token=TOKEN, api_name="/compare")
    assert [r["ok"] for r in results] == [True, False]
    assert results[0]["output"] == [{"label": "POSITIVE", "score": pytest.approx(0.99987, abs=1e-4)},
                                    {"label": "NEGATIVE", "score": pytest.approx(1.3e-4, abs=1e-4)}]
    assert results[0]["provider_served"] == "hf-inference" and results[0]["run_id"]
    assert "not found" in results[1]["error"]["title"]
    sent = [r for r in fake.received if "/hf-inference/models/" in r.path]
    assert len(sent) == 1 and json.loads(sent[0].body)["parameters"] == {"top_k": 1}
    assert TOKEN not in json.dumps(results)
    with pytest.raises(Exception, match="Unknown task"):
        client.predict(task="nope", inputs={}, targets=[{"model": SST2}], api_name="/compare")


def test_the_playground_page_weighs_what_it_did(app):
    """Compare is its own route, built when opened: the playground page's config holds none of its components."""
    import httpx

    main = httpx.get(app.local_url.rstrip("/") + "/config", params={"page": ""}, timeout=30).json()
    compare_page = httpx.get(app.local_url.rstrip("/") + "/config", params={"page": "compare"}, timeout=30)
    names = [c.get("props", {}).get("elem_classes") or [] for c in main["components"]]
    assert not any("compare-task" in c for c in names)
    assert compare_page.status_code == 200
    assert any("compare-task" in (c.get("props", {}).get("elem_classes") or []) for c in compare_page.json()["components"])


def test_every_button_of_the_page_does_something(app):
    """Each button built with the page (the export, the leaderboard's) is the trigger of an event."""
    config = app.get_config_file()
    ids = set(config["page"]["compare"]["components"])
    buttons = [c for c in config["components"] if c["id"] in ids and c["type"] == "button"]
    triggered = {t[0] for d in config["dependencies"] for t in d["targets"]}
    assert buttons and all(b["id"] in triggered for b in buttons), [b["props"].get("value") for b in buttons]


def test_a_comparison_link_reopens_its_panes_as_recorded_and_a_snapshot_read_only(fake):
    """``?comparison=<id>``: the panes built with the recorded targets, outputs, status lines and raw exchanges,
    for this browser; another browser is told it is not in its history; ``?snapshot=<id>`` builds it read-only
    (no Run) for anyone, holding no token."""
    me = owners.load(None)[1]
    handler = compare.run_handler(TASKS["text-classification"], 2)
    panes = [SST2, "hf-inference", "", "main", "", "", "", "errors/unknown-model", "hf-inference", "", "main", "", "", ""]
    final = list(handler(TOKEN, me, "", None, None, None, False, "I like it", *panes, None))[-1]
    store = ledger.current()
    store.flush()
    comparison_id = next(r for r in store.list_runs(owners.owner_of(me)).runs).comparison_id
    task, link = page.linked(SimpleNamespace(query_params={"comparison": comparison_id}), me)
    assert task == "text-classification" and page.linked_count(link) == 2
    with gr.Blocks() as blocks:
        header = [gr.State(), gr.State(), gr.Textbox(), gr.State(), gr.State()]
        page._build_runs(TASKS[task], 2, link, gr.Checkbox(), False, header, header[0], header[1], gr.State(),
                         gr.Dataframe())
    values = [getattr(b, "value", None) for b in blocks.blocks.values()]
    assert "I like it" in values and SST2 in values and "errors/unknown-model" in values
    label = next(b for b in blocks.blocks.values() if isinstance(b, gr.Label))
    assert label.value == label.postprocess(final[1]).model_dump()  # pane 1's labels, rendered again from the record
    assert any(isinstance(v, str) and v.startswith("↩️ **Reopened**") and "not found" in v for v in values)
    assert any(isinstance(b, gr.Button) and b.value.startswith("▶ Run all") for b in blocks.blocks.values())

    other = owners.load(None)[1]
    task, link = page.linked(SimpleNamespace(query_params={"comparison": comparison_id}), other)
    assert task == page.DEFAULT_TASK and "not in this browser's history" in link["note"] and "panes" not in link

    snapshot_id = store.publish_comparison(owners.owner_of(me), comparison_id)
    task, link = page.linked(SimpleNamespace(query_params={"snapshot": snapshot_id}), None)
    assert link["readonly"] and len(link["panes"]) == 2 and "press Run" not in link["panes"][0]["status"]
    assert set(link["diffs"][0]["pane"]) == set(final[9]["pane"])  # the bars, drawn again from the record
    with gr.Blocks() as blocks:
        header = [gr.State(), gr.State(), gr.Textbox(), gr.State(), gr.State()]
        page._build_runs(TASKS[task], 2, link, gr.Checkbox(), False, header, header[0], header[1], gr.State(),
                         gr.Dataframe())
    run_row = next(b for b in blocks.blocks.values() if isinstance(b, gr.Button) and b.value.startswith("▶ Run all"))
    assert run_row.parent.visible is False  # read-only: nothing to run
    assert all(not getattr(b, "interactive", False) for b in blocks.blocks.values() if getattr(b, "label", "") == "Model")
    assert TOKEN not in json.dumps(link, default=str) and TOKEN not in blocks.get_config_file().__repr__()


def _built(task_id: str, n: int, link: dict):
    """The panes of a task built for ``link`` as the page's render builds them."""
    with gr.Blocks() as blocks:
        header = [gr.State(), gr.State(), gr.Textbox(), gr.State(), gr.State()]
        if TASKS[task_id].renderer == "chat":
            page._build_chat(TASKS[task_id], n, link, header, header[0])
        else:
            page._build_runs(TASKS[task_id], n, link, gr.Checkbox(), False, header, header[0], header[1], gr.State(),
                             gr.Dataframe())
    return blocks


def test_a_chat_comparison_link_reopens_every_panes_conversation_ready_to_go_on(fake):
    """``?comparison=<id>`` of a two-turn chat comparison: each pane's chatbot holds its two turns, its target and
    status; the exchange table is filled; Send goes on with the same comparison. Its snapshot: read-only."""
    me = owners.load(None)[1]
    task = TASKS["chat-completion"]
    panes = ["Qwen/Qwen2.5-7B-Instruct", "together", "", "main", *([None] * len(task.params)), "",
             "Qwen/Qwen2.5-7B-Instruct", "fireworks-ai", "", "main", *([None] * len(task.params)), ""]
    extras = [""] * (len(task.inputs) - 1)
    chat, histories = None, [[], []]
    for message in ("What is the capital of France?", "And of Italy?"):
        final = list(compare.chat_handler(task, 2)(TOKEN, me, "", None, None, None, chat, message, *extras, *panes,
                                                   *histories, None))[-1]
        chat, histories = final[-1], [final[0], final[3]]
    store = ledger.current()
    store.flush()
    task_id, link = page.linked(SimpleNamespace(query_params={"comparison": chat["id"]}), me)
    assert task_id == "chat-completion" and page.linked_count(link) == 2
    blocks = _built(task_id, 2, link)
    bots = [b for b in blocks.blocks.values() if isinstance(b, gr.Chatbot)]
    for bot in bots:
        said = [m["content"][0]["text"] if isinstance(m["content"], list) else m["content"] for m in bot.value]
        assert said[0] == "What is the capital of France?" and said[2] == "And of Italy?" and len(said) == 4
    state = next(b for b in blocks.blocks.values() if isinstance(b, gr.State) and b.value == chat)
    assert state.value["id"] == chat["id"]  # Send goes on as the same comparison
    send = next(b for b in blocks.blocks.values() if isinstance(b, gr.Button) and b.value == "Send to every pane")
    assert send.parent.visible is not False
    exchange = next(b for b in blocks.blocks.values() if "compare-exchanges" in (b.elem_classes or []))
    assert [row[1] for row in exchange.value["data"]] == ["200", "200"]

    snapshot_id = store.publish_comparison(owners.owner_of(me), chat["id"])
    task_id, link = page.linked(SimpleNamespace(query_params={"snapshot": snapshot_id}), None)
    blocks = _built(task_id, 2, link)
    send = next(b for b in blocks.blocks.values() if isinstance(b, gr.Button) and b.value == "Send to every pane")
    assert send.parent.visible is False and link["chat"] is None
    assert all(len(b.value) == 4 for b in blocks.blocks.values() if isinstance(b, gr.Chatbot))
    assert TOKEN not in blocks.get_config_file().__repr__()


def test_all_providers_of_a_model_reopens_as_its_table_of_every_provider(fake):
    """``?comparison=<id>`` of "all providers of this model" with 6 providers: the providers table shown with its 6
    rows, pane 1 holding the model."""
    me = owners.load(None)[1]
    task = TASKS["text-classification"]
    runs = compare.run_providers(task, SST2, "main", ["hf-inference"] * 6, ("I like it",), (None, None, ""), TOKEN,
                                 owner=me)
    ledger.current().flush()
    comparison_id = ledger.current().get_run(owners.owner_of(me), runs[0].result.run_id).comparison_id
    task_id, link = page.linked(SimpleNamespace(query_params={"comparison": comparison_id}), me)
    blocks = _built(task_id, page.linked_count(link), link)
    table = next(b for b in blocks.blocks.values() if "compare-providers" in (b.elem_classes or []))
    assert table.visible is True and len(table.value["data"]) == 6
    assert [row[0] for row in table.value["data"]] == ["hf-inference"] * 6
    assert [row[-1] for row in table.value["data"]][0] == "(reference)"
    assert SST2 in [getattr(b, "value", None) for b in blocks.blocks.values()]
