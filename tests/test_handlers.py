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
