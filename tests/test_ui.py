"""One gradio_client round trip per tab against the launched app (which talks to the fake router)."""

from __future__ import annotations

import json

import pytest

from playground.tasks import GROUPS, TASKS
from tests.conftest import TOKEN
from tests.helpers import PROVIDER_FOR, api_inputs

MODEL_FOR = {"chat-completion": "meta-llama/Llama-3.1-8B-Instruct"}

# What the API caller gets for the tabs added after the spine (the rendered value, as gradio_client gives it).
SHOWN = {
    "fill-mask": lambda r: r["label"] == "The capital of France is paris." and len(r["confidences"]) == 5,
    "question-answering": lambda r: [t["token"] for t in r if t["class_or_confidence"]] == ["Berlin"],
    "table-question-answering": lambda r: '<td class="used">36542</td>' in r and r.count('class="used"') == 1,
    "document-question-answering": lambda r: r["label"] == "INV-0042",
    "visual-question-answering": lambda r: r["label"] == "red",
    "image-to-text": lambda r: r.startswith("a colourful drawing"),
    "zero-shot-image-classification": lambda r: r["label"] == "a city street",
    "image-segmentation": lambda r: {"sky", "red"} <= {a["label"] for a in r["value"]["annotations"]},
    "image-to-image": lambda r: len(r) == 2 and all(str(p).endswith(".png") for p in r),
    "audio-classification": lambda r: r["label"] == "Speech",
    "text-to-speech": lambda r: r.endswith(".wav"),
    "audio-to-audio": lambda r: r.count("<audio controls") == 2,
    "text-to-video": lambda r: r.endswith(".mp4"),
    "image-to-video": lambda r: r.endswith(".mp4"),
    "tabular-classification": lambda r: r["headers"][-1] == "prediction" and [row[-1] for row in r["data"]] == ["5", "5", "7"],
    "tabular-regression": lambda r: r["headers"][-1] == "prediction" and len(r["data"]) == 3,
}


@pytest.mark.parametrize("task_id", list(TASKS))
def test_round_trip_per_tab(client, fake, task_id):
    task = TASKS[task_id]
    kwargs = dict(token=TOKEN, provider=PROVIDER_FOR.get(task_id, "hf-inference"), api_name=f"/{task.api_name}",
                  **api_inputs(task))
    if task_id in MODEL_FOR:
        kwargs["model"] = MODEL_FOR[task_id]
    out = client.predict(**kwargs)
    if task_id == "chat-completion":
        history, message_box, status, raw = out
        assert history[-1]["role"] == "assistant"
        assert "Paris is the capital of France." in json.dumps(history[-1]["content"])
        assert message_box == {"text": "", "files": []}
    else:
        rendered, status, raw = out
        assert rendered not in (None, "", {}), status
        assert SHOWN.get(task_id, bool)(rendered), rendered
    assert status.startswith("✅"), status
    exchanges = json.loads(raw)["exchanges"]
    assert exchanges[-1]["response"]["status"] == 200
    assert TOKEN not in raw and TOKEN not in status


def test_label_renders_as_bars_data(client, fake):
    rendered, status, raw = client.predict(token=TOKEN, provider="hf-inference", text="I like you", api_name="/text_classification")
    assert rendered["label"] == "POSITIVE"
    assert [c["label"] for c in rendered["confidences"]] == ["POSITIVE", "NEGATIVE"]


def test_error_is_shown_and_session_goes_on(client, fake):
    rendered, status, raw = client.predict(token=TOKEN, provider="hf-inference", text="   ", api_name="/text_classification")
    assert status.startswith("❌") and "Text is empty" in status
    rendered, status, raw = client.predict(token=TOKEN, provider="hf-inference", text="I like you",
                                           extra_parameters="{oops", api_name="/text_classification")
    assert "not valid JSON" in status
    rendered, status, raw = client.predict(token=TOKEN, provider="hf-inference", text="I like you", api_name="/text_classification")
    assert status.startswith("✅")


def test_chat_failure_gives_the_message_back(client, fake):
    history, box, status, raw = client.predict(token=TOKEN, provider="together", model="errors/status-503",
                                               message={"text": "keep me", "files": []}, api_name="/chat_completion")
    assert box == {"text": "keep me", "files": []}
    assert history == []
    assert "503" in status


@pytest.mark.parametrize("index", [2, 3, 4], ids=["image", "tools", "schema"])
def test_chat_extras_round_trip(client, fake, index):
    """The chat examples with an image, with tools and with a JSON schema, as an API caller sends them."""
    task = TASKS["chat-completion"]
    model = "Qwen/Qwen2.5-VL-7B-Instruct" if index == 2 else "meta-llama/Llama-3.1-8B-Instruct"
    history, box, status, raw = client.predict(token=TOKEN, provider="together", model=model,
                                               api_name="/chat_completion", **api_inputs(task, index))
    assert status.startswith("✅"), status
    shown = json.dumps(history, ensure_ascii=False)
    if index == 2:  # the image is in the conversation and reached the model, inlined
        files = [part["file"] for m in history if m["role"] == "user" for part in m["content"] if part["type"] == "file"]
        assert len(files) == 1 and str(files[0]).endswith("shapes.png")
        assert "I see 1 image (320×240)" in shown
        assert "<data:image/png;base64, " in raw and " chars>" in raw  # sent inline, shown as type and size
    if index == 3:  # the call is shown as JSON in a titled block
        call = next(m for m in history if (m.get("metadata") or {}).get("title", "").startswith("🛠️ Tool call"))
        assert '"name": "get_weather"' in call["content"][0]["text"] and '"city": "Paris"' in call["content"][0]["text"]
        assert "1 tool call" in status
    if index == 4:
        assert "Matches the schema" in status
        assert '\\"population_millions\\": 2.1' in shown



def test_unset_booleans_are_not_sent(client, fake):
    """The Parameters accordion leaves a boolean at the server's default unless the user picks one."""
    import json as _json

    _, _, raw = client.predict(token=TOKEN, provider="hf-inference", text="hello", api_name="/feature_extraction")
    assert _json.loads(raw)["exchanges"][-1]["request"]["body"] == {"inputs": "hello"}
    _, _, raw = client.predict(token=TOKEN, provider="hf-inference", text="hello", normalize="false",
                               api_name="/feature_extraction")
    assert _json.loads(raw)["exchanges"][-1]["request"]["body"] == {"inputs": "hello", "normalize": False}


def test_task_tabs_sit_in_their_group_tabs(app):
    """Two rows of tabs: one per group, in order, each holding its tasks' tabs (id = task id) in registry order."""
    import gradio as gr

    groups = [b for b in app.blocks.values() if isinstance(b, gr.Tab) and b.id in GROUPS]
    assert [g.id for g in groups] == list(GROUPS)
    for group in groups:
        (tabs,) = group.children
        assert [tab.id for tab in tabs.children] == [t.id for t in TASKS.values() if t.group == group.id]


# ------------------------------------------------------------------------------------------ the token


def _token_boxes(demo):
    """Every page's token box (the playground's, the Compare and Batch pages'), each kept as ``ui._build_token`` keeps it."""
    import gradio as gr

    boxes = [b for b in demo.blocks.values() if isinstance(b, gr.Textbox) and b.label == "Hugging Face token"]
    assert boxes
    return boxes


def test_the_token_box_never_sends_its_value_as_its_own(app):
    """Gradio keeps the value of every component an event takes (the session's deep-link state; the browser's run
    history for public endpoints), so every event of the token box sends an empty box and the token in the place
    of a carrier that the same event empties (the browser journey is in test_browser_token)."""
    from playground.ui import _SEND_TOKEN_AS_ARGUMENT

    for box in _token_boxes(app):
        assert box.type == "password" and not box.value
        taking = [fn for fn in app.fns.values() if box in fn.inputs]
        assert taking, "the token box reaches the server through no event"
        for fn in taking:
            assert fn.api_visibility == "private" and fn.js == _SEND_TOKEN_AS_ARGUMENT, fn.name
            assert fn.inputs[0] is box and box not in fn.inputs[1:]
            carrier = fn.inputs[1]  # the box's value goes there; what follows is sent as it is (the provider picker)
            assert carrier in fn.outputs and not carrier.visible and fn.fn(TOKEN, TOKEN)[:2] == (TOKEN, "")


def test_the_page_load_never_puts_back_a_token_line_that_a_check_wrote(app, monkeypatch):
    """The page's load step is read as the page loads; on a busy machine it can land after a token pasted meanwhile
    was checked. So it never writes the session's token, and with no token to check (none on the machine, none
    signed in) it writes nothing at all: no "No token" line over the pasted token's."""
    import gradio as gr

    from playground import pickers, public_mode

    for box in _token_boxes(app):
        steps = [fn for fn in app.fns.values() if box in fn.inputs]
        session = steps[0].outputs[0]
        line_and_choices = {c._id for c in steps[0].outputs[2:4]}  # after the session token and carrier
        loads = [fn for fn in app.fns.values() if fn.page == steps[0].page and any(e == "load" for _, e in fn.targets)
                 and line_and_choices & {c._id for c in fn.outputs}]
        assert loads, "nothing writes the token line as the page loads"
        for fn in loads:
            assert session not in fn.outputs and fn.fn is pickers.token_on_load, fn.name
    monkeypatch.setattr(public_mode, "host_token", lambda: None)
    assert pickers.token_on_load(None) == (gr.skip(), gr.skip())


@pytest.mark.parametrize("page", ["", "batch"])
def test_a_checked_token_can_move_the_provider_picker(app, page):
    """On the playground and Batch pages, the step after each token step (pasted; blur or Enter) links the browser
    and takes the provider picker and whether the person picked it (set by the picker's own input event, never by the
    page), read once the check has landed, and may move it (``handlers.token_checked``)."""
    import gradio as gr

    from playground import handlers, pickers

    (box,) = [b for b in _token_boxes(app) if next(fn for fn in app.fns.values() if b in fn.inputs).page == page]
    provider = next(b for b in app.blocks.values() if isinstance(b, gr.Dropdown) and b.label == "Provider"
                    and b.page == page)
    token_steps = [fn for fn in app.fns.values() if box in fn.inputs]
    assert len(token_steps) == 2 and all(provider not in fn.inputs + fn.outputs for fn in token_steps)
    afters = [fn for fn in app.fns.values() if fn.fn is handlers.token_checked and fn.page == page]
    (by_hand,) = [f for f in app.fns.values() if (provider._id, "input") in f.targets]
    assert sorted(fn.trigger_after for fn in afters) == sorted(fn._id for fn in token_steps)
    line = token_steps[0].outputs[2]
    for after in afters:
        session, owner, picker, picked = after.inputs  # never the token line: written again from the check's answer
        assert picker is provider and picked is by_hand.outputs[0] and isinstance(picked, gr.State)
        assert after.outputs == [line, provider] and session is token_steps[0].outputs[0]
    # picked by hand: it counts as chosen, and the token line is written again from the session's token (its check's
    # answer: never the line as shown), so it no longer says the check switched the provider
    assert by_hand.inputs == [session] and by_hand.outputs == [picked, line]
    assert by_hand.fn is pickers.provider_picked and not by_hand.queue
    if page:
        return
    # a run reopened (?run=, a dropped run card) sets the provider as chosen in the same step: a token checked after
    # it does not move it
    reopening = [fn for fn in app.fns.values() if provider in fn.outputs and picked in fn.outputs]
    assert sorted(fn.fn.__name__ for fn in reopening) == ["open_card", "open_linked_run"]
    for fn in reopening:
        assert fn.outputs.index(picked) == fn.outputs.index(provider) + 3  # after the endpoint URL and bill-to


def test_the_environment_token_is_in_no_page_or_api_description(monkeypatch):
    """A token from the environment is used, never put in the page: not the box's value, not in /config, not in
    the API description (its defaults and examples)."""
    from playground.ui import build_app

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    demo = build_app()
    assert not any(box.value for box in _token_boxes(demo))
    assert TOKEN not in json.dumps(demo.get_config_file(), default=str)
    assert TOKEN not in json.dumps(demo.get_api_info(), default=str)


def test_named_endpoints_keep_their_token_argument(client):
    """The session token (a gr.State) and the request (Gradio's) are no API parameters: `token=` stays first."""
    from playground.handlers import ADVANCED_ARGS, GUARD_ARGS, HEADER_ARGS

    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    names = [p["parameter_name"] for p in endpoints["/text_classification"]["parameters"]]
    tail = [*ADVANCED_ARGS, *GUARD_ARGS]  # the Advanced accordion's values, then the spend guard's budgets
    assert names[: len(HEADER_ARGS) + 1] == [*HEADER_ARGS, "text"] and names[-len(tail):] == tail
    assert "spend_guard" not in names and "owner" not in names
    chat = [p["parameter_name"] for p in endpoints["/chat_completion"]["parameters"]]
    assert chat[0] == "token" and "session_token" not in chat and "request" not in chat


def _sent_authorization(fake) -> str | None:
    sent = [r for r in fake.received if r.path.startswith("/hf-inference/")][-1]
    return next((v for k, v in sent.headers.items() if k.lower() == "authorization"), None)


def test_api_callers_may_send_the_token_as_a_bearer_header(app, fake):
    """`Authorization: Bearer hf_…` is used when no `token=` is given, `token=` wins over it, a bearer that is
    not a Hugging Face token (a proxy's) is not sent on, and the header is never echoed."""
    from gradio_client import Client

    with_header = Client(app.local_url, headers={"Authorization": f"Bearer {TOKEN}"}, verbose=False)
    rendered, status, raw = with_header.predict(provider="hf-inference", text="I like you",
                                                api_name="/text_classification")
    assert status.startswith("✅"), status
    assert _sent_authorization(fake) == f"Bearer {TOKEN}"
    assert TOKEN not in raw + status + json.dumps(rendered) and "Bearer [redacted]" in raw

    refused = "hf_invalid" + "x" * 24
    _, status, raw = with_header.predict(token=refused, provider="hf-inference", text="I like you",
                                         api_name="/text_classification")
    assert _sent_authorization(fake) == f"Bearer {refused}" and status.startswith("❌")
    assert TOKEN not in raw + status and refused not in raw + status  # an error payload echoes neither

    proxied = Client(app.local_url, headers={"Authorization": "Bearer proxy-session-1234"}, verbose=False)
    proxied.predict(provider="hf-inference", text="I like you", api_name="/text_classification")
    assert "proxy-session-1234" not in (_sent_authorization(fake) or "")


def _tab_config(task):
    """The config of one task's tab as the page builds it (with the page for the first task, on first showing for
    the others: ``ui._build_lazy_tab`` calls the same builder)."""
    import gradio as gr

    from playground import ui

    with gr.Blocks() as demo:
        header = [gr.Textbox(), gr.Dropdown(), gr.Textbox(), gr.Dropdown()]
        advanced, cooldowns, _ = ui._build_advanced()
        with gr.Tabs(), gr.Tab(task.label) as tab:
            ui._build_tab(task, header, gr.State(), tab, advanced=advanced, cooldowns=cooldowns, owner=gr.State(),
                          guard=gr.State())
    return demo.get_config_file()


@pytest.mark.parametrize("task_id", list(TASKS))
def test_code_accordion_has_one_tab_per_client_filled_after_every_run(task_id):
    """Each tab's Code accordion: a code box per client that can run its task, in the client's language, filled
    by one event after each run (Run, and chat's Send, Retry and Continue), whether the run succeeded or not."""
    from playground import snippets

    task = TASKS[task_id]
    config = _tab_config(task)
    codes = [c for c in config["components"] if "code-snippet" in (c["props"].get("elem_classes") or [])]
    expected = [(client.label, client.language) for client in snippets.clients_for(task)]
    assert sorted((c["props"]["label"], c["props"]["language"]) for c in codes) == sorted(expected)
    ids = {c["id"] for c in codes}
    fills = [d for d in config["dependencies"] if set(d["outputs"]) & ids]
    assert len(fills) == (3 if task.renderer == "chat" else 1)  # chat's Retry and Continue run it again
    assert all(d["targets"] == [(None, "then")] and not d["trigger_only_on_success"] for d in fills)
    if task_id == "chat-completion":
        assert {"Python · openai", "JavaScript · openai", "Shell · curl"} <= {label for label, _ in expected}


def test_the_page_runs_are_private_and_the_endpoints_are_the_api_routes(app):
    """A tab's Run is not an endpoint (its name is the tab's, ``<task>_in_tab``): each task's endpoint is declared
    once, on the ``/api`` route, with the handler the tab runs."""
    public = {fn.api_name: fn for fn in app.fns.values() if fn.api_visibility == "public"}
    assert not [name for name, fn in public.items() if fn.page == ""]  # the page itself declares none
    tasks = {name: fn for name, fn in public.items() if name in {t.api_name for t in TASKS.values()}}
    assert sorted(tasks) == sorted(t.api_name for t in TASKS.values())
    assert {fn.page for fn in tasks.values()} == {"api"}
    assert all(fn.fn.__name__ == name for name, fn in tasks.items())


def test_a_chat_s_inputs_reach_it_preprocessed_in_one_step(client, fake, app):
    """A chat's Run takes its inputs preprocessed by the handler in one step (``preprocess=False``: Gradio's one
    thread hop per input held every chat back when many started at once). The values are those Gradio's own
    preprocessing gives: the image attached to the first turn is a file path, the history sent back on the second
    turn carries it and the reply, and a number is a number."""
    chat_fns = [fn for fn in app.fns.values() if fn.api_name in ("chat_completion", "chat_completion_in_tab")]
    assert len(chat_fns) >= 2 and not any(fn.preprocess for fn in chat_fns)
    task = TASKS["chat-completion"]
    history, box, status, raw = client.predict(token=TOKEN, provider="together", model="Qwen/Qwen2.5-VL-7B-Instruct",
                                               api_name="/chat_completion", **api_inputs(task, 2))
    assert status.startswith("✅"), status
    from gradio_client import handle_file

    for message in history:  # a client sends files as files: gradio_client gave them back as local paths
        for part in message["content"] if isinstance(message["content"], list) else []:
            if part.get("type") == "file":
                part["file"] = handle_file(part["file"])
    before = len(fake.received)
    history, box, status, raw = client.predict(token=TOKEN, provider="together", model="Qwen/Qwen2.5-VL-7B-Instruct",
                                               history=history, message={"text": "And its colours?", "files": []},
                                               max_tokens=64, api_name="/chat_completion")
    assert status.startswith("✅"), status
    sent = [json.loads(r.body) for r in fake.received[before:] if r.path.endswith("/chat/completions")][-1]
    first, reply, second = sent["messages"][-3:]
    assert [m["role"] for m in (first, reply, second)] == ["user", "assistant", "user"]
    assert any(p.get("type") == "image_url" and p["image_url"]["url"].startswith("data:image/png;base64,")
               for p in first["content"])  # the file of the first turn, read from its path again
    assert "I see 1 image" in json.dumps(reply) and second["content"] == "And its colours?"
    assert sent["max_tokens"] == 64 and isinstance(sent["max_tokens"], int)


def _queue_results(url: str, session: str, events: list[dict], timeout: float = 120) -> list[dict]:
    """Send ``events`` (queue/join bodies) in one session at once; their ``process_completed`` messages."""
    import httpx

    with httpx.Client(base_url=url, timeout=timeout) as http:
        for event in events:  # (the session's stream opens once it has an event: Gradio's client does the same)
            http.post("gradio_api/queue/join", json={**event, "session_hash": session}).raise_for_status()
        with http.stream("GET", "gradio_api/queue/data", params={"session_hash": session}) as stream:
            done = []
            for line in stream.iter_lines():
                message = json.loads(line[5:]) if line.startswith("data:") else {}
                if message.get("msg") == "process_completed":
                    done.append(message)
                if len(done) == len(events) or message.get("msg") == "close_stream":
                    return done
    return done


def test_every_tab_builds_when_many_are_asked_at_once(app):
    """A person clicking through tabs quickly asks for several tabs' builds (each a ``gr.render``) at once. Two builds
    running at once in one session's copy of the page raced: Gradio's render step iterates the session's blocks
    while the other adds to them ("dictionary changed size during iteration"), and the tab whose build failed stayed
    blank. Every build asked at once in one session must succeed."""
    import uuid

    builds = [fn for fn in app.fns.values() if fn.renderable is not None and fn.page == ""]
    assert len(builds) == len(TASKS) - 1  # every task's tab but the first
    events = [{"data": [True] + [None] * (len(fn.inputs) - 1), "event_data": None, "fn_index": fn._id, "trigger_id": fn.targets[0][0]}
              for fn in builds]
    for _ in range(2):
        done = _queue_results(app.local_url, uuid.uuid4().hex[:11], events)
        failed = [m.get("output", {}).get("error") for m in done if not m.get("success")]
        assert len(done) == len(events) and not failed, failed
