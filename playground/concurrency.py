"""How many people the playground serves at once, and who waits for what.

Three limits, each where a real one exists:

- **the whole app**: at most ``max_concurrency()`` events run at once (``--max-concurrency``, else
  ``PLAYGROUND_MAX_CONCURRENCY``, else 64). ``ConcurrentBlocks`` gives it to Gradio as ``max_threads``, the
  size of its queue's worker slots and of its thread pool (one thread per running event), whoever launches
  the app; ``ui.build_app`` lifts Gradio's per-event limit of one (``queue(default_concurrency_limit=None)``);
- **per provider and token**: ``reliability.ProviderHealth.busy``, which already keeps cooldowns per token;
- **the local engine**: it generates one reply per model at a time (a lock per model in its process), so local
  runs wait their turn in ``LOCAL_ENGINE``, a first-come, first-served ``Line`` per model, told how many are
  ahead of them (``in_line``), instead of piling onto two CPU cores.

The lines hold anonymous tickets only (no token, no input): process-wide, like ``reliability.HEALTH``.
"""

from __future__ import annotations

import contextvars
import functools
import importlib.util
import os
import queue
import sys
import threading
import time
from typing import Callable, Iterator

import gradio as gr

__all__ = ["DEFAULT_MAX_CONCURRENCY", "max_concurrency", "ConcurrentBlocks", "Line", "Ticket", "LOCAL_ENGINE",
           "in_line", "Prefetched", "skip_absent_matplotlib", "preprocessed_in_one_step"]

DEFAULT_MAX_CONCURRENCY = 64


def max_concurrency(given: int | None = None) -> int:
    """The whole app's limit: ``given`` (``--max-concurrency``), else ``PLAYGROUND_MAX_CONCURRENCY``, else 64."""
    value = given if given is not None else os.environ.get("PLAYGROUND_MAX_CONCURRENCY") or DEFAULT_MAX_CONCURRENCY
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if limit < 1:
        raise ValueError(f"The maximum concurrency must be a whole number of at least 1, not {value!r}.")
    return limit


class ConcurrentBlocks(gr.Blocks):
    """``gr.Blocks`` that serves ``max_concurrency`` events at once however it is launched (app.py, tests,
    benchmarks): ``launch`` passes it as Gradio's ``max_threads`` unless told otherwise."""

    def __init__(self, *args, max_concurrency: int = DEFAULT_MAX_CONCURRENCY, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_concurrency = max_concurrency

    def launch(self, *args, **kwargs):
        kwargs.setdefault("max_threads", self.max_concurrency)
        skip_absent_matplotlib()
        return super().launch(*args, **kwargs)


def skip_absent_matplotlib() -> None:
    """Gradio wraps every step of every event (each chunk of a stream) in ``MatplotlibBackendMananger``, which
    imports matplotlib twice and ignores the ImportError. When matplotlib is not installed (the playground does not
    need it) each of those imports searches every ``sys.path`` entry again: about 5% of the app's CPU with 50 chat
    streams. It is marked absent once, so the import fails at once. Nothing changes when matplotlib is installed."""
    if "matplotlib" not in sys.modules and importlib.util.find_spec("matplotlib") is None:
        sys.modules["matplotlib"] = None  # type: ignore[assignment]  # "import matplotlib" raises ImportError


class Line:
    """First come, first served, one line per key (a model): ``capacity`` holders at once, the others wait in
    the order they came. Thread-safe."""

    def __init__(self, capacity: int = 1) -> None:
        self.capacity = capacity
        self._changed = threading.Condition()
        self._lines: dict[str, list[Ticket]] = {}  # per key, in arrival order: the first ``capacity`` hold it

    def join(self, key: str) -> Ticket:
        """Take a place at the end of ``key``'s line. ``leave()`` it (or use it as a context manager)."""
        ticket = Ticket(self, key)
        with self._changed:
            self._lines.setdefault(key, []).append(ticket)
        return ticket

    def _ahead(self, ticket: Ticket) -> int:
        line = self._lines.get(ticket.key, [])
        return line.index(ticket) if ticket in line else 0

    def _leave(self, ticket: Ticket) -> None:
        with self._changed:
            line = self._lines.get(ticket.key, [])
            if ticket in line:
                line.remove(ticket)
                if not line:
                    del self._lines[ticket.key]
                self._changed.notify_all()


class Ticket:
    """One place in a ``Line``."""

    def __init__(self, line: Line, key: str) -> None:
        self.line, self.key = line, key
        self.joined = time.monotonic()
        self.waited_s = 0.0  # how long it waited for its turn (``waiting``)

    def ahead(self) -> int:
        """How many are before this ticket: those holding the line and those waiting before it."""
        with self.line._changed:
            return self.line._ahead(self)

    def waiting(self, every_s: float = 0.5) -> Iterator[int]:
        """Until it is this ticket's turn, yield how many are ahead: at once, on every change, and at least every
        ``every_s`` (so a consumer that went away gets the chance to close the generator, which leaves the line);
        then 0 when the turn comes. Yields nothing when the turn was already there."""
        line, waited = self.line, False
        while True:
            with line._changed:
                ahead = line._ahead(self)
            if ahead < line.capacity:
                self.waited_s = time.monotonic() - self.joined
                if waited:
                    yield 0
                return
            waited = True
            yield ahead
            with line._changed:
                line._changed.wait_for(lambda: line._ahead(self) != ahead, timeout=every_s)

    def leave(self) -> None:
        """Give the place up (done, failed or cancelled); the next in line moves up. Idempotent."""
        self.line._leave(self)

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *exc) -> None:
        self.leave()


LOCAL_ENGINE = Line(capacity=1)  # the engine process runs one generation per model at a time (engines.py)


def in_line(ahead: int) -> str:
    """The status of a run waiting for the local engine (``ahead`` 0: its turn has come)."""
    if not ahead:
        return "⏳ Your turn at the local engine…"
    return f"⏳ In line for the local engine: {ahead} ahead of you"


class Prefetched:
    """``source`` iterated on a thread of its own from now on (in a copy of the caller's context, so its context
    variables, such as the exchange capture's, hold throughout), its items read in order through this iterator.

    A chat handler starts its stream this way before showing "waiting for the first token": the request goes out at
    once, instead of after the page has drawn the wait (a round of Gradio's processing, which with many people
    starting at once comes late). ``close()`` (the person stopped, or the handler ended) makes the thread stop after
    the item it is waiting for and close ``source``, as closing it directly would."""

    _DONE = object()

    def __init__(self, source: Iterator, name: str = "prefetch") -> None:
        self._items: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        context = contextvars.copy_context()
        threading.Thread(target=context.run, args=(self._pump, source), name=name, daemon=True).start()

    def _pump(self, source: Iterator) -> None:
        try:
            for item in source:
                self._items.put((item, None))
                if self._stop.is_set():
                    break
        except BaseException as exc:  # noqa: BLE001 - raised again on the reader's side
            self._items.put((self._DONE, exc))
            return
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
        self._items.put((self._DONE, None))

    def __iter__(self) -> Iterator:
        while True:
            item, error = self._items.get()
            if item is self._DONE:
                if error is not None:
                    raise error
                return
            yield item

    def close(self) -> None:
        self._stop.set()


def preprocessed_in_one_step(fn: Callable, inputs: list) -> Callable:
    """``fn`` (a generator function: a chat's Run) for an event registered with ``preprocess=False``: it is handed
    its inputs' values as Gradio's preprocessing would give them, done here in the handler's own thread.

    Gradio preprocesses each input of an event in a thread hop of its own, one after the other; a chat's Run has 28
    inputs besides its states, and with 50 people sending at once those hops, queued behind everyone else's, held
    each request back by about 0.2 s. Here each input gets the same steps (its data model, validated as Gradio
    validates it, then the component's ``preprocess``), except that a Dropdown's value is passed as sent: Gradio
    would check it against the choices of this session's copy of the dropdown (the providers of the model picked),
    which only Gradio holds; the service checks what it is given (an unknown provider is refused by name)."""
    blocks = list(inputs)

    def one_step(args: tuple) -> list:
        values = list(args)
        for i, block in enumerate(blocks):
            if block.stateful or isinstance(block, gr.Dropdown):
                continue
            value = values[i]
            model = getattr(block, "data_model", None)
            if model is not None and value is not None:
                value = model.model_validate(value, context={"validate_meta": True})
            values[i] = block.preprocess(value)
        return values

    @functools.wraps(fn)
    def handler(*args):
        yield from fn(*one_step(args))

    return handler
