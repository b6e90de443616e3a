"""The tabs' Run handlers as Gradio sees them (their signatures are what Gradio inspects)."""

from __future__ import annotations

import inspect

from gradio.helpers import special_args

from playground import handlers
from playground.tasks import TASKS


def test_gradio_hands_its_progress_tracker_to_every_non_chat_run_handler():
    """Gradio looks for a gr.Progress default among positional parameters only: a keyword-only one is never
    tracked, and the page never shows "Loading … on this machine" while a local model loads."""
    for task in TASKS.values():
        if task.renderer == "chat":
            continue
        handler = handlers.handler_for(task)
        names = list(inspect.signature(handler).parameters)
        inputs = [None] * (len(names) - 2)  # every input but the request and the progress, which Gradio adds
        filled, progress_index, _, _ = special_args(handler, inputs=inputs, request=None)
        assert progress_index == len(names) - 1, f"{task.id}: Gradio does not track this handler's progress"
        assert len(filled) == len(names)


def _chat_steps(text: str):
    from tests.conftest import TOKEN

    task = TASKS["chat-completion"]
    return handlers.run_chat(task, TOKEN, "together", "", "", "meta-llama/Llama-3.1-8B-Instruct", "main", [],
                             {"text": text, "files": []}, *[None] * (len(task.inputs) - 1 + len(task.params)), "")


def test_a_chat_request_goes_out_while_the_page_draws_the_wait(fake):
    """The request is sent when the handler starts, not after Gradio has drawn "waiting for the first token" (a round
    of its processing, which comes late when many people start at once)."""
    import time

    steps = _chat_steps("Sent at once?")
    assert "Waiting for the first token" in next(steps)[2]  # the page is drawing this; the handler is paused
    deadline = time.monotonic() + 10
    while not [r for r in fake.received if r.path.endswith("/chat/completions")] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [r for r in fake.received if r.path.endswith("/chat/completions")], "the request waited for the page"
    assert list(steps)[-1][2].startswith("✅")


def test_a_streamed_reply_never_asks_gradio_to_rebuild_an_output(fake):
    """Every step of a chat stream gives plain values. A prop update (``gr.skip()``, ``gr.update``) makes Gradio build
    a new component for that output on each step (a Code block for the raw exchange), which 50 people streaming at
    once pay for in their first tokens."""
    from gradio.utils import is_prop_update

    steps = list(_chat_steps("The capital of France?"))
    assert len(steps) >= 3 and steps[-1][2].startswith("✅"), steps[-1][2]  # waiting, streaming…, the reply
    for step in steps:
        assert not [value for value in step if is_prop_update(value)], step
    assert steps[0][3] == "" and '"exchanges"' in steps[-1][3]  # the raw exchange: empty until the run ends


# ------------------------------------------------------------------------------------------ the token box


def test_a_checked_token_moves_the_no_token_default_provider_to_auto(fake):
    """With no token on the machine the page starts on Local; a pasted token the Hub accepts moves the picker to
    auto, and the token line says so, unless the person picked the provider themselves (read by the step after the
    check, once it has landed)."""
    import gradio as gr

    from playground import hub, pickers
    from playground.service import LOCAL
    from tests.conftest import TOKEN

    hub.clear_cache()
    skip = gr.skip()
    def follow(token, provider, picked):
        return handlers.token_checked(token, None, provider, picked)  # (no browser to link: owners.link_checked)
    try:
        for check in (pickers.token_typed, pickers.token_status):  # pasted (change), then blur or Enter
            session, carrier, line, _ = handlers.token_kept(check)("", TOKEN)
            assert (session, carrier) == (TOKEN, "") and "✅ Token of **tester**" in line and TOKEN not in line
            moved, provider = follow(session, LOCAL, False)
            assert provider == "auto" and moved.startswith(line) and TOKEN not in moved
            assert ("runs now go to Inference Providers (auto); pick Local to keep running on this machine"
                    in moved)
            assert follow(session, LOCAL, True) == (skip, skip)  # Local picked by hand: it stays
            assert follow(session, "together", False) == (skip, skip)  # another provider is left alone
            for refused in ("hf_invalid" + "z" * 27, "hf_noinfer" + "a" * 27):  # refused, or may not call them
                handlers.token_kept(pickers.token_status)("", refused)
                assert follow(refused, LOCAL, False) == (skip, skip)
            assert follow(None, LOCAL, False) == (skip, skip)  # no token
        # a token still being typed is not checked, and moves nothing
        assert handlers.token_kept(pickers.token_typed)("", "hf_abc")[2:] == (skip, skip)
        assert follow("hf_abc", LOCAL, False) == (skip, skip)
    finally:
        hub.clear_cache()


