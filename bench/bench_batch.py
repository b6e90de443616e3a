"""A batch under rate limits: N rows (default 10,000) of text classification at concurrency 8 against the local fake
router, every router call taking 50 ms and 30% of them answering 429 with ``Retry-After: 0.1``.

Prints, for adaptive concurrency (AIMD) and for a fixed concurrency of 8:
- the wall time against the ideal given the honoured waits (as bench_reliability: each row needs 1/0.7 calls on
  average, and every retry costs 100 ms of waiting plus a 50 ms call; ideal = rows x that / 8);
- rows lost (no successful record in the ledger) and duplicated (more than one successful record);
- the lowest and final adaptive limit, its halvings and how many its probes undid (``batch.Gate``), the share of
  rows it counts as refused whatever the load (its noise), and the RSS growth over the batch.
Then a real rate limit (``--limited-rows`` rows, the fake refusing a token's calls beyond 100 a second, Retry-After
0.2 s), fixed against adaptive: the wall time, the calls refused, and whether the gate found the limit.
Then the ceiling of one machine: a batch against a fake router that answers at once, in rows per second.
Then bundling: feature extraction (the task that bundles) over --bundle-rows rows at concurrency 8, 50 ms a call, one
row per request against 8 rows per request, interleaved (--rounds each): rows per second, router calls, the gain.
Run: .venv/bin/python bench/bench_batch.py [--rows 10000] [--concurrency 8] [--limited-rows 2000]
     [--bundle-rows 2000] [--rounds 3] [--only-bundling]
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.pop("HF_TOKEN", None)
os.environ["HF_TOKEN_PATH"] = "/nonexistent"
os.environ["PLAYGROUND_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-batch-")
logging.getLogger("httpx").setLevel(logging.WARNING)

from playground import batch, capture, ledger, owners  # noqa: E402
from playground.reliability import HEALTH, RetryPolicy  # noqa: E402
from tests.fakes.server import FakeHF  # noqa: E402

TOKEN = "hf_" + "BenchToken" + "x" * 24  # a fake, built so secret scanners do not flag it
LATENCY, FAULT_RATE, RETRY_AFTER = 0.05, 0.30, 0.1
SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
EMBED = "sentence-transformers/all-MiniLM-L6-v2"


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e6


def one(fake: FakeHF, rows: int, concurrency: int, adaptive: bool, latency: float, fault_rate: float,
        task: str = "text-classification", model: str = SST2, bundle: int = 1, keep_limit: bool = False) -> dict:
    HEALTH.clear()
    batch._GATES.clear()
    limit = (fake.state.rate_per_s, fake.state.rate_retry_after)
    fake.reset()
    if keep_limit:
        fake.rate_limit(*limit)
    fault = (429, {"content-type": "application/json", "retry-after": str(RETRY_AFTER)}, {"error": "Too many requests"})
    fake.chaos(latency_s=latency, fault_rate=fault_rate, fault=fault if fault_rate else None, seed=42)
    raw = ("text\n" + "".join(f"review number {i}\n" for i in range(rows))).encode()
    data = batch.read_data("bench.csv", raw)
    spec = batch.Spec(task, (batch.Target(model, "hf-inference"),), {"text": "text"},
                      concurrency=concurrency, adaptive=adaptive, bundle=bundle)
    state = owners.load(None)[1]
    before = rss_mb()
    started = time.perf_counter()
    job = batch.start(spec, data, state, TOKEN, data_bytes=raw, retry=RetryPolicy(attempts=3, base_s=0.05, cap_s=0.2))
    job.wait()
    wall = time.perf_counter() - started
    grown = rss_mb() - before
    owner = owners.owner_of(state)
    store = ledger.current()
    store.flush(60)
    import sqlalchemy as sa

    from playground.ledger.schema import runs

    with store._connect() as conn:
        counts = dict(conn.execute(sa.select(runs.c.batch_row, sa.func.count()).where(
            runs.c.batch_id == job.id, runs.c.status == "ok").group_by(runs.c.batch_row)).all())
    calls = sum(1 for r in fake.received if r.method == "POST")
    gate = job.gates[0]
    return dict(wall=wall, ok=job.ok, errors=job.errors, lost=rows - len(counts),
                duplicated=sum(n - 1 for n in counts.values() if n > 1), calls=calls,
                limit=gate.limit, lowest=gate.lowest, decreases=gate.decreases, undone=gate.undone, noise=gate.noise,
                limited=gate.limited, rss=grown, owner=owner)


def limited(fake: FakeHF, rows: int, concurrency: int, per_s: int = 100) -> None:
    """A provider's real rate limit (``per_s`` calls a second per token; 8 at once for 50 ms would be 160): fixed
    against adaptive concurrency."""
    print(f"a real rate limit: {rows:,} rows, concurrency {concurrency}, {LATENCY * 1000:.0f} ms a call, the fake "
          f"refusing a token's calls beyond {per_s} a second (Retry-After 0.2 s)")
    for adaptive in (False, True):
        fake.rate_limit(per_s, 0.2)
        r = one(fake, rows, concurrency, adaptive, LATENCY, 0.0, keep_limit=True)
        refused = r["calls"] - rows
        print(f"  {'adaptive (AIMD)' if adaptive else 'fixed':16} {r['wall']:7.1f} s ({rows / r['wall']:.0f} rows/s) · "
              f"{refused:,} of {r['calls']:,} calls refused ({refused / r['calls']:.0%}) · lost {r['lost']}, "
              f"duplicated {r['duplicated']}" + (f" · limit {r['lowest']:.1f}..{r['limit']:.1f} ({r['decreases']} "
              f"halvings; {'found the limit' if r['limited'] else 'took it for noise'})" if adaptive else ""))
    fake.rate_limit(0)


def bundling(fake: FakeHF, rows: int, concurrency: int, rounds: int, size: int = 8) -> None:
    """Feature extraction one row per request against ``size`` rows per request, interleaved, 50 ms a call."""
    print(f"bundling: feature extraction, {rows:,} rows, concurrency {concurrency}, {LATENCY * 1000:.0f} ms a call, "
          f"1 vs {size} rows per request, {rounds} rounds interleaved")
    rates: dict[int, list[float]] = {1: [], size: []}
    for _ in range(rounds):
        for bundle in (1, size):
            r = one(fake, rows, concurrency, True, LATENCY, 0.0, "feature-extraction", EMBED, bundle)
            assert r["ok"] == rows and r["lost"] == 0 and r["duplicated"] == 0, r
            rates[bundle].append(rows / r["wall"])
            print(f"  {bundle:2} row{'s' * (bundle > 1)} per request: {rows / r['wall']:7.0f} rows/s "
                  f"({r['wall']:.2f} s, {r['calls']:,} router calls, {r['ok']:,} records, lost {r['lost']}, "
                  f"duplicated {r['duplicated']})")
    one_by_one, bundled = statistics.median(rates[1]), statistics.median(rates[size])
    print(f"  gain (medians): {bundled:.0f} / {one_by_one:.0f} rows/s = {bundled / one_by_one:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--bundle-rows", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limited-rows", type=int, default=2_000)
    parser.add_argument("--only-bundling", action="store_true")
    args = parser.parse_args()
    ledger.configure()
    fake = FakeHF()
    capture.install(fake.transport())
    if args.only_bundling:
        bundling(fake, args.bundle_rows, args.concurrency, args.rounds)
        fake.close()
        return
    rows, n = args.rows, args.concurrency
    per_row = LATENCY / (1 - FAULT_RATE) + RETRY_AFTER * FAULT_RATE / (1 - FAULT_RATE)
    ideal = rows * per_row / n
    print(f"{rows:,} rows, concurrency {n}, {LATENCY * 1000:.0f} ms a call, {FAULT_RATE:.0%} 429 (Retry-After "
          f"{RETRY_AFTER} s); ideal given the honoured waits {ideal:.1f} s")
    for adaptive in (True, False):
        r = one(fake, rows, n, adaptive, LATENCY, FAULT_RATE)
        print(f"  {'adaptive (AIMD)' if adaptive else 'fixed':16} {r['wall']:7.1f} s = {r['wall'] / ideal:4.2f}x ideal · "
              f"{r['ok']:,} ok, {r['errors']} errors · lost {r['lost']}, duplicated {r['duplicated']} · "
              f"{r['calls']:,} calls · limit {r['lowest']:.1f}..{r['limit']:.1f} ({r['decreases']} halvings, "
              f"{r['undone']} undone; noise {r['noise']:.0%}) · RSS +{r['rss']:.0f} MB")
    limited(fake, args.limited_rows, n)
    r = one(fake, rows, 64, False, 0.0, 0.0)
    print(f"ceiling of one machine (fake answers at once, fixed concurrency 64): {rows / r['wall']:.0f} rows/s "
          f"({r['wall']:.1f} s, lost {r['lost']}, duplicated {r['duplicated']})")
    bundling(fake, args.bundle_rows, n, args.rounds)
    fake.close()


if __name__ == "__main__":
    main()
