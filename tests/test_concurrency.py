"""Many people at once: their runs overlap (the app's queue), and the local engine's line shows each its place."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client

from playground import service
from playground.concurrency import LOCAL_ENGINE, Line
from playground.service import InLine, RunRequest, Target
from tests.conftest import TOKEN

SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
LLM = "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_people_running_at_once_are_served_at_once(app, fake):
    """Four people run text classification at the same moment on a router answering in 1 s: the router has the
    four calls in flight together. (Gradio's default serves an event one call at a time: it would see one.)"""
    fake.chaos(latency_s=1.0)
    people = [Client(app.local_url, verbose=False) for _ in range(4)]
    jobs = [person.submit(token=TOKEN, provider="hf-inference", model=SST2, text=f"person {i} likes you",
                          api_name="/text_classification") for i, person in enumerate(people)]
    statuses = [job.result(timeout=60)[1] for job in jobs]
    assert all(status.startswith("✅") for status in statuses), statuses
    assert fake.peak_in_flight == 4


# ------------------------------------------------------------------------------------------ the local engine's line


def test_the_line_serves_in_order_and_tells_each_how_many_are_ahead():
    line = Line(capacity=1)
    first, second, third = line.join("model"), line.join("model"), line.join("model")
    elsewhere = line.join("another model")  # each model has its own line
    assert [first.ahead(), second.ahead(), third.ahead(), elsewhere.ahead()] == [0, 1, 2, 0]
    assert list(first.waiting()) == [] and list(elsewhere.waiting()) == []  # their turn already
    seen: list[int] = []
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(lambda: seen.extend(third.waiting(every_s=10)))  # wakes on each change
        _until(lambda: seen == [2])
        second.leave()  # the one before gave up its place
        _until(lambda: seen == [2, 1])
        first.leave()  # done: the turn passes on
        waiting.result(timeout=5)
    assert seen == [2, 1, 0] and third.waited_s > 0
    third.leave(), third.leave(), elsewhere.leave()  # leaving twice is harmless
    assert line.join("model").ahead() == 0


def test_a_local_run_that_goes_away_while_in_line_gives_up_its_place():
    """A chat closed while it waits (Gradio closes the generator of a cancelled event) leaves the line at once."""
    holder = LOCAL_ENGINE.join(LLM)  # a reply being generated
    try:
        events = service.run_stream(RunRequest("chat-completion", LLM, {"messages": [{"role": "user", "content": "Hi"}]},
                                               target=Target(service.LOCAL)))
        assert next(events) == InLine(1)
        behind = LOCAL_ENGINE.join(LLM)
        assert behind.ahead() == 2
        events.close()
        assert behind.ahead() == 1
        behind.leave()
    finally:
        holder.leave()


def test_a_second_local_chat_waits_in_line_and_is_told_its_place(app):
    """Two people chat with SmolLM2 on the local engine at once: the second is told it is in line, one ahead, then
    gets its own reply once the first is done, with the wait in its status line."""
    first, second = (Client(app.local_url, verbose=False) for _ in range(2))
    story = first.submit(provider="local", model=LLM, message={"text": "Write a long story about a lighthouse "
                         "keeper and a storm.", "files": []}, max_tokens=400, api_name="/chat_completion")
    _until(lambda: any(out[2].startswith("⏳ Streaming") for out in story.outputs()), timeout=120)
    hello = second.submit(provider="local", model=LLM, message={"text": "Say hello.", "files": []}, max_tokens=20,
                          api_name="/chat_completion")
    history, _, status, _ = hello.result(timeout=180)
    statuses = [out[2] for out in hello.outputs()]
    assert "⏳ In line for the local engine: 1 ahead of you" in statuses, statuses
    assert status.startswith("✅") and "in line for the local engine" in status, status
    assert story.done() and story.outputs()[-1][2].startswith("✅")  # the first reply was finished first
    assert history[-1]["role"] == "assistant" and history[-1]["content"]


def _until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_gradio_s_matplotlib_import_on_every_event_step_fails_at_once_when_it_is_absent(monkeypatch):
    """Gradio imports matplotlib around every event step; absent, each import searched the whole sys.path."""
    import importlib.util
    import sys

    from playground import concurrency

    monkeypatch.delitem(sys.modules, "matplotlib", raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())  # installed: nothing changes
    concurrency.skip_absent_matplotlib()
    assert "matplotlib" not in sys.modules
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)  # absent: marked once
    concurrency.skip_absent_matplotlib()
    assert sys.modules["matplotlib"] is None
    with pytest.raises(ImportError):
        import matplotlib  # noqa: F401


def test_a_prefetched_stream_starts_at_once_keeps_its_context_and_stops_when_closed():
    """A chat's stream is read on its own thread from the moment it is made (its request goes out while the page
    draws the wait), in the caller's context (the exchange capture is a context variable), and closing it closes the
    stream after the piece it is waiting for."""
    import contextvars
    import threading

    from playground.concurrency import Prefetched

    who = contextvars.ContextVar("who", default="nobody")
    started, closed, release = threading.Event(), threading.Event(), threading.Event()

    def source():
        started.set()
        try:
            for i in range(100):
                yield f"{who.get()} {i}"
                release.wait(5)
        finally:
            closed.set()

    who.set("alice")
    stream = Prefetched(source())
    assert started.wait(5)  # running before anyone reads it
    items = iter(stream)
    assert next(items) == "alice 0"
    stream.close()
    release.set()
    assert closed.wait(5)  # stopped after the piece it was waiting for, not after all 100

    def failing():
        yield 1
        raise ValueError("the provider broke")

    with pytest.raises(ValueError, match="broke"):
        list(Prefetched(failing()))
