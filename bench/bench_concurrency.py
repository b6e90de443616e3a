"""Many people at once: the goals of issue 15, measured with gradio_client against a launched playground whose
(fake, loopback) router answers every call in 1 s.

Each person has their own gradio_client session (their page is open: one untimed run first) and their own
token (50 distinct tokens), and starts at the same moment as the others (a barrier). The people, the app and the
fake router each run in a process of their own, as they would on their own machines:
  1. text classification, 1, 8 and 50 people at once: the wall time, and each person's wait;
  2. chat, 1 person then 50 streams at once: each one's time to its first token; then the same 50 chats as the
     page's browsers send them (``browser_like``: each its own session, opened by an untimed chat; the queue join,
     then the session's event stream read as it arrives, all on one event loop), without gradio_client's thread per
     job and its 50 ms sleep whenever a job has no message waiting (``gradio_client.utils.stream_sse_v1plus``);
  3. leaks, over every run of 1 and 2: what each person was shown (status line, raw exchange) names only their
     own request (their "person NN" input) and carries no token at all, only the redacted marker; the fake
     router signs each answer with a hash of the token it came with (``x-fake-caller``), and each person's
     exchange must carry their own token's hash and no one else's; and on the router's side, every call that
     names person NN came with person NN's token, and each token came only on that person's calls.
Figures are printed as ratios to the single person's time. Goals: 8 people within 1.5 s of wall time, 50 people
within 2.5 s, each of 50 streams reaching its first token within 1.5 s; 0 errors and 0 leaks.
With ``--pin`` (on a machine of 2 CPUs or more), the people and the fake router share CPU 1 and the app has CPU 0, as
if they were other machines; without it (the goals' figures) all three share every CPU, so the 50 people's own
gradio_client work (about 0.6 s of CPU a round) competes with the app's.
Run: .venv/bin/python bench/bench_concurrency.py [--pin]
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.pop("HF_TOKEN", None)
os.environ["HF_TOKEN_PATH"] = "/nonexistent"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["PLAYGROUND_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-concurrency-")  # the ledger on, out of the way
logging.getLogger("httpx").setLevel(logging.WARNING)

import httpx  # noqa: E402
from gradio_client import Client  # noqa: E402

from tests.fakes.server import FakeHF, Received, RoutingTransport, caller_mark  # noqa: E402

LATENCY_S = 1.0
PEOPLE = 50
SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
TOKENS = ["hf_" + f"BenchPerson{i:02d}" + "x" * 22 for i in range(PEOPLE)]  # fakes, built so scanners ignore them
TOKEN_SHAPE = re.compile(r"hf_[A-Za-z0-9]{8,}")
PERSON = re.compile(rb"person (\d\d)")
GOALS = {"8 people, wall": 1.5, "50 people, wall": 2.5, "50 streams, each first token": 1.5}


@dataclass
class Run:
    person: int
    wait_s: float = 0.0  # until the answer (text classification) or the first token (chat)
    shown: list[str] = field(default_factory=list)  # everything the person was shown, as text
    raw: dict = field(default_factory=dict)  # the last raw exchange they were shown
    error: str | None = None
    began: float = 0.0
    job: Any = None  # a chat's gradio_client Job


def classify(client: Client, person: int, start: threading.Barrier) -> Run:
    run = Run(person)
    start.wait()
    began = time.perf_counter()
    try:
        rendered, status, raw = client.predict(token=TOKENS[person], provider="hf-inference", model=SST2,
                                               text=f"person {person:02d}: I like you", api_name="/text_classification")
    except Exception as exc:  # noqa: BLE001 - counted as an error
        run.error = f"{type(exc).__name__}: {exc}"
        return run
    run.wait_s = time.perf_counter() - began
    run.shown, run.raw = [json.dumps(rendered), status, raw], json.loads(raw)
    if not status.startswith("✅"):
        run.error = status
    return run


def chat(client: Client, person: int, start: threading.Barrier) -> Run:
    """Send a chat message; the time to the first token is taken by ``watch`` (one thread polls every stream:
    iterating a gradio_client job spins every millisecond, which would cost 50 streams their CPU)."""
    run = Run(person)
    start.wait()
    run.began = time.perf_counter()
    run.job = client.submit(token=TOKENS[person], provider="together",
                            message={"text": f"person {person:02d} asks: the capital of France?", "files": []},
                            api_name="/chat_completion")
    return run


def _text(content: Any) -> str:
    """A Chatbot message's text (gradio_client gives a list of parts)."""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""


def watch(runs: list[Run], every_s: float = 0.005) -> None:
    """Until every stream has ended: note when each one's first token is shown, then what it showed."""
    waiting = list(runs)
    while waiting:
        for run in list(waiting):
            outputs = run.job.outputs()
            history = outputs[-1][0] if outputs else []
            reply = _text(history[-1]["content"]) if history and history[-1]["role"] == "assistant" else ""
            if not run.wait_s and reply and reply != "…":
                run.wait_s = time.perf_counter() - run.began
            if run.job.done():
                waiting.remove(run)
                try:
                    history, _, status, raw = run.job.result()
                except Exception as exc:  # noqa: BLE001 - counted as an error
                    run.error = f"{type(exc).__name__}: {exc}"
                    continue
                run.shown, run.raw = [json.dumps(history), status, raw], json.loads(raw)
                if not status.startswith("✅"):
                    run.error = status
                elif not run.wait_s:
                    run.wait_s = time.perf_counter() - run.began
        time.sleep(every_s)


class JoinsSeen:
    """The queue joins gradio_client sends (``httpx.post`` to ``…/queue/join``), kept per person: what that person's
    browser sends for the same message (the same inputs and token; ``browser_like`` gives each a session of its own)."""

    def __init__(self) -> None:
        self.bodies: dict[int, tuple[str, dict]] = {}
        self._post = httpx.post

    def __enter__(self) -> "JoinsSeen":
        def post(url, *args, json=None, **kwargs):
            if str(url).endswith("/queue/join") and json is not None:
                found = PERSON.search(_dumps(json).encode())
                if found:
                    self.bodies[int(found.group(1))] = (str(url), json)
            return self._post(url, *args, json=json, **kwargs)

        httpx.post = post
        return self

    def __exit__(self, *exc) -> None:
        httpx.post = self._post


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


async def _browser_stream(http: "httpx.AsyncClient", join: tuple[str, dict], go: "asyncio.Event", run: Run) -> None:
    """One person's chat as their browser sends it: the queue join, then the session's event stream read as it
    comes (Gradio's protocol: the first ``process_generating`` carries the outputs, later ones their diffs); the
    first token is when the reply shows more than the "…" placeholder."""
    from gradio_client.utils import apply_diff

    url, body = join
    await go.wait()
    run.began = time.perf_counter()
    try:
        joined = await http.post(url, json=body)
        joined.raise_for_status()
        event = joined.json()["event_id"]
        outputs: list | None = None
        async with http.stream("GET", url.removesuffix("join") + "data",
                               params={"session_hash": body["session_hash"]}) as stream:
            async for line in stream.aiter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("event_id") != event:
                    continue
                if message["msg"] == "process_generating":
                    data = message["output"]["data"]
                    outputs = list(data) if outputs is None else [apply_diff(o, d) for o, d in zip(outputs, data)]
                    history = outputs[0] or []
                    reply = _text(history[-1]["content"]) if history and history[-1]["role"] == "assistant" else ""
                    if not run.wait_s and reply and reply != "…":
                        run.wait_s = time.perf_counter() - run.began
                elif message["msg"] == "process_completed":
                    if not message.get("success", True):
                        run.error = str(message.get("output"))
                        return
                    history, _, status, raw = message["output"]["data"]
                    run.shown, run.raw = [json.dumps(history), status, raw], json.loads(raw)
                    if not status.startswith("✅"):
                        run.error = status
                    elif not run.wait_s:
                        run.wait_s = time.perf_counter() - run.began
                    return
    except Exception as exc:  # noqa: BLE001 - counted as an error
        run.error = f"{type(exc).__name__}: {exc}"


def browser_like(joins: dict[int, tuple[str, dict]], people: int) -> tuple[float, list[Run]]:
    """``people`` chats started at the same moment as browsers send them (one event loop, no client library's own
    threads and polling), from the joins gradio_client sent for the same people: returns the wall time and runs."""
    import asyncio

    # Each browser has its own session (gradio_client's stays with gradio_client), opened by an untimed first chat
    sessions = {person: (url, {**body, "session_hash": secrets.token_hex(6)}) for person, (url, body) in joins.items()}

    async def round_(http: httpx.AsyncClient) -> tuple[float, list[Run]]:
        runs = [Run(person) for person in range(people)]
        go = asyncio.Event()
        tasks = [asyncio.create_task(_browser_stream(http, sessions[r.person], go, r)) for r in runs]
        await asyncio.sleep(0.05)  # every task waits at the start line
        began = time.perf_counter()
        go.set()
        await asyncio.gather(*tasks)
        return time.perf_counter() - began, runs

    async def main() -> tuple[float, list[Run]]:
        limits = httpx.Limits(max_connections=4 * people, max_keepalive_connections=2 * people)
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:
            await round_(http)  # the pages open
            return await round_(http)

    return asyncio.run(main())


def at_once(pool: ThreadPoolExecutor, clients: list[Client], people: int, step) -> tuple[float, list[Run]]:
    """``people`` people start ``step`` at the same moment; returns the wall time and their runs."""
    start = threading.Barrier(people + 1)
    futures = [pool.submit(step, clients[i], i, start) for i in range(people)]
    start.wait()
    began = time.perf_counter()
    runs = [f.result() for f in futures]
    if step is chat:
        watch(runs)
    return time.perf_counter() - began, runs


def leaks(runs: list[Run], received: list[Received]) -> list[str]:
    """Every way a token or an answer reached the wrong person (see the module's docstring)."""
    found = []
    for run in runs:
        text = "\n".join(run.shown)
        if TOKEN_SHAPE.search(text):
            found.append(f"person {run.person} was shown a token")
        named = {int(n) for n in PERSON.findall(text.encode())}
        if named != {run.person}:
            found.append(f"person {run.person} was shown requests naming persons {sorted(named)}")
        calls = [e for e in run.raw.get("exchanges", []) if "router." in e["request"]["url"]]
        marks = {e["response"]["headers"].get("x-fake-caller") for e in calls if e["response"]}
        if marks != {caller_mark(TOKENS[run.person])}:
            found.append(f"person {run.person}'s answers came back for the tokens marked {marks}")
        if not calls or any(e["request"]["headers"].get("authorization") != "Bearer [redacted]" for e in calls):
            found.append(f"person {run.person}'s exchange does not show their token as redacted")
    persons: set[int] = set()
    for call in received:
        if call.host != "router.huggingface.co":
            continue
        auth = {k.lower(): v for k, v in call.headers.items()}.get("authorization", "")
        named = {int(n) for n in PERSON.findall(call.body)}
        if len(named) != 1 or auth != f"Bearer {TOKENS[next(iter(named))]}":
            found.append(f"the router got a call naming persons {sorted(named)} with another token")
        persons |= named
    if persons != {run.person for run in runs}:
        found.append(f"the router heard from persons {sorted(persons)}, not from those who ran")
    return found


def retried(runs: list[Run]) -> list[str]:
    """Attempts that failed and were retried (no leak, no error: said so that they are not hidden)."""
    return [f"person {run.person}: {e.get('error') or e['response']['status']}" for run in runs
            for e in run.raw.get("exchanges", [])[:-1] if "router." in e["request"]["url"]]


def spread(values: list[float], unit: float) -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    return (f"{low:5.2f} / {mid:5.2f} / {high:5.2f} s   ({low / unit:4.2f}x / {mid / unit:4.2f}x / "
            f"{high / unit:4.2f}x)")


def _pin(cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


def people(conn, url: str, cpu: int | None = None) -> None:
    """The people, in a process of their own (their gradio_client CPU is not the app's): one session each,
    opened, then rounds run on request (``("classify" | "chat", how many)``) until ``None``."""
    _pin(cpu)
    with ThreadPoolExecutor(PEOPLE) as pool:
        # ssl_verify=False: the app is plain HTTP on loopback, and otherwise gradio_client builds a TLS context
        # for every request (ten times its own CPU per call).
        with ThreadPoolExecutor(4) as few:
            clients = list(few.map(lambda _: Client(url, verbose=False, ssl_verify=False,
                                                    httpx_kwargs={"timeout": 60}), range(PEOPLE)))
        conn.send("ready")
        seen = JoinsSeen()
        while (order := conn.recv()) is not None:
            kind, how_many = order
            if kind == "browser":
                wall, runs = browser_like(seen.bodies, how_many)
                conn.send((wall, runs))
                continue
            with seen if kind == "chat" else contextlib.nullcontext():
                wall, runs = at_once(pool, clients, how_many, classify if kind == "classify" else chat)
            for run in runs:
                run.job = None
            conn.send((wall, runs))
    for client in clients:
        client.close()


def router(conn, cpu: int | None = None) -> None:
    """The fake Hub and router, in a process of their own (a real router's CPU is not the app's): it answers
    ``(method, args)`` orders (``chaos``, ``reset``, ``sign_callers``, ``received``) until ``None``."""
    _pin(cpu)
    fake = FakeHF()
    conn.send(fake.url)
    while (order := conn.recv()) is not None:
        name, args = order
        conn.send(fake.received if name == "received" else getattr(fake, name)(*args))
    fake.close()


def main() -> int:
    import multiprocessing

    from playground import capture, concurrency
    from playground.ui import build_app

    pin = "--pin" in sys.argv[1:] and len(os.sched_getaffinity(0)) >= 2
    spawn = multiprocessing.get_context("spawn")
    fake, theirs = multiprocessing.Pipe()
    spawn.Process(target=router, args=(theirs, 1 if pin else None)).start()
    capture.install(RoutingTransport(fake.recv()))

    def tell_fake(name: str, *args):
        fake.send((name, args))
        return fake.recv()

    _pin(0 if pin else None)
    demo = build_app()
    demo.launch(prevent_thread_lock=True, quiet=True)
    conn, theirs = multiprocessing.Pipe()
    child = spawn.Process(target=people, args=(theirs, demo.local_url, 1 if pin else None))
    child.start()
    assert conn.recv() == "ready"

    def at_the_same_moment(kind: str, how_many: int) -> tuple[float, list[Run]]:
        conn.send((kind, how_many))
        return conn.recv()

    tell_fake("chaos", LATENCY_S)
    # Each person's page is open: their session exists (a browser's page load makes it; here their first run
    # does, untimed: a new session costs Gradio a copy of the page's config, on its event loop).
    at_the_same_moment("classify", PEOPLE), at_the_same_moment("chat", PEOPLE)
    tell_fake("reset")
    tell_fake("chaos", LATENCY_S)
    tell_fake("sign_callers")
    rows, runs = {}, []
    for how_many in (1, 8, PEOPLE):
        rows[how_many] = at_the_same_moment("classify", how_many)
        runs += rows[how_many][1]
    chat_one = at_the_same_moment("chat", 1)[1]
    chat_all = at_the_same_moment("chat", PEOPLE)[1]
    browser_all = at_the_same_moment("browser", PEOPLE)[1]
    runs += chat_one + chat_all + browser_all
    conn.send(None)
    child.join()
    received = tell_fake("received")
    found, errors, again = leaks(runs, received), [r for r in runs if r.error], retried(runs)
    router_calls = sum(1 for c in received if c.host == "router.huggingface.co")
    demo.close()
    fake.send(None)

    one = rows[1][0]
    print(f"fake router answers every call in {LATENCY_S:.1f} s; the app serves {concurrency.max_concurrency()} "
          f"events at once; each person has their own session and token")
    print("CPUs: " + ("the people and the fake router on CPU 1, the app on CPU 0 (--pin)" if pin else
                      f"all {len(os.sched_getaffinity(0))} shared by the people, the fake router and the app"))
    print("text classification      wall time           each person's wait (min / median / max)")
    for how_many, (wall, their_runs) in rows.items():
        waits = [r.wait_s for r in their_runs if not r.error] or [0.0]
        label = "1 person" if how_many == 1 else f"{how_many} people at once"
        print(f"  {label:22s} {wall:5.2f} s ({wall / one:4.2f}x)   {spread(waits, one)}")
    first = chat_one[0].wait_s or 1.0
    print("chat, time to first token")
    print(f"  {'1 person':22s} {first:5.2f} s (1.00x)")
    ttft = [r.wait_s for r in chat_all if not r.error and r.wait_s] or [0.0]
    print(f"  {f'{PEOPLE} streams at once':22s} {'':17s}  {spread(ttft, first)}")
    ttft_browser = [r.wait_s for r in browser_all if not r.error and r.wait_s] or [0.0]
    print(f"  {f'{PEOPLE} streams, as browsers':22s} {'':17s}  {spread(ttft_browser, first)}")
    print(f"errors: {len(errors)}   leaks: {len(found)} ({PEOPLE} tokens, {len(runs)} runs and {router_calls} "
          f"router calls checked)   attempts retried: {len(again)}")
    for problem in [r.error for r in errors][:5] + found[:5] + again[:5]:
        print(f"  - {problem}")
    measured = {"8 people, wall": rows[8][0], "50 people, wall": rows[PEOPLE][0],
                "50 streams, each first token": max(ttft)}
    met = True
    for goal, limit in GOALS.items():
        ok = measured[goal] <= limit
        met &= ok
        print(f"goal {goal} <= {limit} s: {measured[goal]:.2f} s {'met' if ok else 'NOT met'}")
    ok = not errors and not found
    print(f"goal 0 errors and 0 leaks: {'met' if ok else 'NOT met'}")
    return 0 if met and ok else 1


if __name__ == "__main__":
    sys.exit(main())
