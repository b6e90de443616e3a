"""The run ledger's cost to a run, and History's speed over 10,000 runs.

1. The service path with the ledger on and off, in interleaved blocks (A B A B ...), against the local fake
   router: per block the median latency of a run as its caller sees it; printed as the median on/off ratio
   with its min-max over the rounds, and the median time added. Goal: recording adds <= 1 ms to a run.
   Twice: with the fake answering at once (the worst case: the run, the fake server and the writer all want
   the CPU and the GIL) and after 20 ms (as a fast provider does: the writer's work overlaps the wait).
   Also the whole block's time until every record is written (the writer's total cost, not only latency).
2. A ledger filled with 10,000 runs of one owner (rows made from real runs of the service path, spread over
   30 days, tasks, models, providers and statuses): the median time of History's queries. Goals: History
   opens (first page + its filters' values) in <= 1 s; a filter answers in <= 200 ms.

Run: .venv/bin/python bench/bench_ledger.py [--rounds 12] [--n 40] [--latency-ms 0 20] [--runs 10000]
     [--postgres | --url URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid

from _env import MODEL, TOKEN  # noqa: E402 - first: the set-up every benchmark shares

from playground import capture, ledger, service  # noqa: E402
from playground.ledger.record import Row, row_of  # noqa: E402
from playground.tasks import TASKS  # noqa: E402
from tests.fakes.server import FakeHF  # noqa: E402
from tests.helpers import PROVIDER_FOR, example_inputs  # noqa: E402

OWNER = "bench-owner"


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def block(on: bool, request: service.RunRequest, n: int, data_dir: str) -> tuple[float, float]:
    """``n`` runs with the ledger on or off: (median latency of a run as its caller sees it, total time of the
    block including, when on, the wait until every record is written), in ms. Switching and warm-up untimed."""
    store = ledger.configure(data_dir=data_dir) if on else ledger.configure(enabled=False)
    for _ in range(3):
        service.run(request)
    if store is not None:
        store.flush()
    times = []
    start = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        result = service.run(request)
        times.append(time.perf_counter() - t)
        assert result.ok and not any(note.startswith("not recorded") for note in result.notes), result.notes
    if store is not None:
        store.flush()
    return median_ms(times), (time.perf_counter() - start) * 1000


def overhead(fake: FakeHF, rounds: int, n: int, latency_ms: float) -> None:
    fake.chaos(latency_s=latency_ms / 1000)
    request = service.RunRequest("text-classification", MODEL, {"text": "I like you. I love you"},
                                 target=service.Target("hf-inference", token=TOKEN), owner=OWNER)
    data_dir = tempfile.mkdtemp(prefix="bench-ledger-")
    ratios, added, drained = [], [], []
    for i in range(rounds):
        order = (True, False) if i % 2 == 0 else (False, True)  # A B, then B A: neither always goes first
        got = {on: block(on, request, n, data_dir) for on in order}
        ratios.append(got[True][0] / got[False][0])
        added.append(got[True][0] - got[False][0])
        drained.append(got[True][1] / got[False][1])
    fake.chaos()
    store = ledger.configure(data_dir=data_dir)
    store.flush()
    written = store.list_runs(ledger.Owner(OWNER), limit=1).total
    ledger.configure(enabled=False)
    what = "no wait (worst case: all CPU)" if not latency_ms else f"{latency_ms:.0f} ms"
    print(f"\nservice path against the in-process fake router, its answer after {what}: {rounds} rounds of {n} runs")
    print(f"  a run's latency, ledger on / off   median {statistics.median(ratios):.3f}x "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f})")
    print(f"  time added to a run                median {statistics.median(added):+.3f} ms "
          f"(min {min(added):+.3f}, max {max(added):+.3f})   goal <= 1 ms: "
          f"{'met' if statistics.median(added) <= 1 else 'NOT met'}")
    print(f"  whole block until every record is written, on / off   median {statistics.median(drained):.3f}x "
          f"(min {min(drained):.3f}, max {max(drained):.3f})")
    print(f"  runs recorded                      {written} (every run of the 'on' blocks, warm-ups included)")


def sample_results() -> list[service.RunResult]:
    """Real runs of the service path to copy rows from: every task once, and a failure."""
    results = []
    for task_id, task in TASKS.items():
        model = {"chat-completion": "meta-llama/Llama-3.1-8B-Instruct"}.get(task_id, task.default_model)
        results.append(service.run(service.RunRequest(task_id, model, example_inputs(task), owner=OWNER,
                                                      target=service.Target(PROVIDER_FOR.get(task_id, "hf-inference"), token=TOKEN))))
    results.append(service.run(service.RunRequest("text-classification", "errors/status-503", {"text": "down"}, owner=OWNER,
                                                  target=service.Target("hf-inference", token=TOKEN,
                                                                        retry=service.RetryPolicy(attempts=1)))))
    return results


def fill(store: ledger.Ledger, runs: int) -> None:
    """``runs`` rows, each a copy of a real run's row with its own id, time and latency."""
    samples = [row_of(r, uuid.uuid4().hex, 0, r.notes, (TOKEN,)) for r in sample_results()]
    rng = random.Random(0)
    now = time.time()
    batch = []
    for i in range(runs):
        sample = rng.choice(samples)
        values = dict(sample.values, id=uuid.uuid4().hex, created_ms=int((now - rng.uniform(0, 30 * 86400)) * 1000),
                      latency_ms=rng.lognormvariate(5, 0.6))
        batch.append(Row(values, sample.media))
        if len(batch) == 500 or i == runs - 1:
            store.write_rows(batch)
            batch = []


def history(runs: int, url: str | None, repeat: int = 7) -> None:
    url = url or f"sqlite:///{tempfile.mkdtemp(prefix='bench-history-')}/ledger.sqlite3"
    store = ledger.Ledger(url)
    t = time.perf_counter()
    fill(store, runs)
    store.upkeep()  # as the writer does at its first batch and hourly (the planner's statistics)
    print(f"\nHistory over {runs} runs of one owner ({store!r}; filled in {time.perf_counter() - t:.1f} s)")
    me = ledger.Owner(OWNER)
    first = store.list_runs(me)
    chat = "meta-llama/Llama-3.1-8B-Instruct"

    def timed(label: str, call, goal_ms: float) -> None:
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            call()
            times.append(time.perf_counter() - t)
        ms = median_ms(times)
        print(f"  {label:<44} {ms:8.1f} ms   goal <= {goal_ms:.0f} ms: {'met' if ms <= goal_ms else 'NOT met'}")

    timed("open: first page (50) + filter values", lambda: (store.list_runs(me), store.facets(me)), 1000)
    timed("filter by task", lambda: store.list_runs(me, task="image-classification"), 200)
    timed("filter by model", lambda: store.list_runs(me, model=chat), 200)
    timed("filter by provider", lambda: store.list_runs(me, provider="fal-ai"), 200)
    timed("filter by status (errors)", lambda: store.list_runs(me, status="error"), 200)
    timed("search the text ('paris')", lambda: store.list_runs(me, text="paris"), 200)
    timed("task + provider + search", lambda: store.list_runs(me, task="chat-completion", provider="together", text="capital"), 200)
    timed("next page (cursor)", lambda: store.list_runs(me, cursor=first.next_cursor), 200)
    timed("open one run (get_run)", lambda: store.get_run(me, first.runs[0].id), 200)
    timed("usage per day x model x provider (30 days)", lambda: store.usage(me), 1000)
    timed("usage per provider (p50/p95)", lambda: store.usage(me, by=("provider",)), 1000)
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--n", type=int, default=40, help="runs per block")
    parser.add_argument("--latency-ms", type=float, nargs="*", default=[0, 20],
                        help="the fake router's answer time(s): 0 is the worst case, where the writer's work "
                             "competes with the run for the CPU instead of overlapping its wait; none: skip")
    parser.add_argument("--runs", type=int, default=10_000, help="runs in the History ledger")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--url", help="a database URL for the History part (default: a temporary SQLite file)")
    where.add_argument("--postgres", action="store_true", help="History on a temporary PostgreSQL server")
    args = parser.parse_args()
    fake = FakeHF()
    capture.install(fake.transport())
    ledger.configure(enabled=False)  # nothing reaches the user's own ledger; each part makes its own
    try:
        for latency_ms in args.latency_ms:
            overhead(fake, args.rounds, args.n, latency_ms)
        if args.postgres:
            from tests.postgres import PostgresServer

            server = PostgresServer()
            try:
                history(args.runs, server.url(server.create_role()))
            finally:
                server.stop()
        else:
            history(args.runs, args.url)
    finally:
        fake.close()


if __name__ == "__main__":
    main()
