"""Retries under rate limiting: 1,000 calls at concurrency 8 against the local fake router, every router call
taking 50 ms and 30% of them answering 429 with ``Retry-After: 0.1``.

Prints, per configuration, the calls completed, the wall time against two ideals, and the retries per call:
- ideal without faults: 1,000 x 50 ms / 8;
- ideal with the faults, Retry-After honoured: each call needs 1/0.7 attempts on average, and every retry
  costs 100 ms of waiting plus a 50 ms call.
Configurations: no faults at all (what this machine and the fake add to the 50 ms), no retry (attempts=1), the
default policy (attempts=3), attempts=6, chat on ``auto`` (the router picks; a 429 from it names no provider,
so it is retried there), and chat on ``balance`` over the model's three live providers (a 429 cools that
provider down for the token and the run moves to the next one at once, without waiting).
Run: .venv/bin/python bench/bench_reliability.py [--calls 1000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.pop("HF_TOKEN", None)
os.environ["HF_TOKEN_PATH"] = "/nonexistent"
logging.getLogger("httpx").setLevel(logging.WARNING)

from playground import capture, service  # noqa: E402
from playground.reliability import HEALTH, RetryPolicy  # noqa: E402
from playground.service import RunRequest, Target  # noqa: E402
from tests.fakes.server import FakeHF  # noqa: E402

TOKEN = "hf_" + "BenchToken" + "x" * 24  # a fake, built so secret scanners do not flag it
LATENCY, FAULT_RATE, RETRY_AFTER = 0.05, 0.30, 0.1
CLASSIFY = ("text-classification", "distilbert/distilbert-base-uncased-finetuned-sst-2-english", {"text": "I like you"})
CHAT = ("chat-completion", "Qwen/Qwen2.5-7B-Instruct", {"messages": [{"role": "user", "content": "hi"}]})


def bench(fake: FakeHF, name: str, what: tuple, target: Target, calls: int, concurrency: int,
          fault_rate: float = FAULT_RATE) -> None:
    HEALTH.clear()
    fake.reset()
    fault = (429, {"content-type": "application/json", "retry-after": str(RETRY_AFTER)}, {"error": "Too many requests"})
    fake.chaos(latency_s=LATENCY, fault_rate=fault_rate, fault=fault, seed=42)
    task, model, inputs = what
    request = RunRequest(task, model, inputs, target=target)
    service.run(RunRequest(task, model, inputs, target=Target(target.provider, token=TOKEN, retry=RetryPolicy(attempts=10))))  # warm the mapping cache
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda _: service.run(request), range(calls)))
    wall = time.perf_counter() - started
    completed = sum(r.ok for r in results)
    attempts = [len(r.attempts) for r in results]
    moved = sum(len({a.who for a in r.attempts}) > 1 for r in results)
    ideal = calls * LATENCY / concurrency
    per_call = LATENCY / (1 - FAULT_RATE) + RETRY_AFTER * FAULT_RATE / (1 - FAULT_RATE)
    ideal_faults = calls * per_call / concurrency
    print(f"{name:<32} completed {completed:>4}/{calls}  wall {wall:6.2f} s  "
          f"x{wall / ideal:4.2f} ideal ({ideal:.2f} s)  x{wall / ideal_faults:4.2f} ideal with faults ({ideal_faults:.2f} s)  "
          f"retries/call {statistics.mean(attempts) - 1:.3f}  waited/call {statistics.mean(r.waited_s for r in results):.3f} s  "
          f"max attempts {max(attempts)}"
          + (f"  failed over {moved}" if moved else ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    fake = FakeHF()
    capture.install(fake.transport())
    n, c = args.calls, args.concurrency
    print(f"{n} calls, concurrency {c}, {LATENCY * 1000:.0f} ms a call, {FAULT_RATE:.0%} answered 429 "
          f"(Retry-After {RETRY_AFTER} s)")
    bench(fake, "no faults (the harness)", CLASSIFY, Target("hf-inference", token=TOKEN), n, c, fault_rate=0.0)
    bench(fake, "no retry (attempts=1)", CLASSIFY, Target("hf-inference", token=TOKEN, retry=RetryPolicy(attempts=1)), n, c)
    bench(fake, "default policy (attempts=3)", CLASSIFY, Target("hf-inference", token=TOKEN), n, c)
    bench(fake, "attempts=6", CLASSIFY, Target("hf-inference", token=TOKEN, retry=RetryPolicy(attempts=6)), n, c)
    bench(fake, "chat, no faults (the harness)", CHAT, Target("auto", token=TOKEN), n, c, fault_rate=0.0)
    bench(fake, "chat auto (router picks)", CHAT, Target("auto", token=TOKEN), n, c)
    bench(fake, "chat balance (3 live providers)", CHAT, Target("balance", token=TOKEN), n, c)
    fake.close()


if __name__ == "__main__":
    main()
