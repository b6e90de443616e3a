"""Benchmark of the pickers' Hub questions: a first pick (the Hub asked) against repeated picks (the cache).

Run:  .venv/bin/python bench/bench_pickers.py  [--picks 50] [--hub-latency 0.08]

Against the fake Hub and router on loopback, each Hub answer delayed by ``--hub-latency`` seconds (a rough
round trip to huggingface.co). A pick is what the UI does when a model is chosen in the chat tab: summary,
providers with the router's prices, revisions, and the revision note (``pickers.model_picked``).

Prints the Hub requests and the wall time of the first pick, of a repeated pick, and their ratio, and the
same for typing a search (one Hub search per distinct text, none when a text is typed again).
Goal: a repeated pick asks the Hub nothing and takes under 1/10 of a first pick; a first pick's questions
are asked at once, so it costs about two round trips, not one per question.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from huggingface_hub.utils import build_hf_headers  # noqa: E402

from playground import capture, hub, pickers  # noqa: E402
from tests.fakes.server import FakeHF  # noqa: E402

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
TOKEN = "hf_" + "B" * 34


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--picks", type=int, default=50)
    parser.add_argument("--hub-latency", type=float, default=0.08)
    args = parser.parse_args()

    fake = FakeHF()
    capture.install(fake.transport())
    delay = args.hub_latency  # every request to the fake (Hub and router) waits this long
    handler = fake.httpd.RequestHandlerClass
    dispatch = handler._dispatch

    def slow_dispatch(self, raw):
        time.sleep(delay)
        return dispatch(self, raw)

    handler._dispatch = slow_dispatch
    try:
        build_hf_headers()  # huggingface_hub fetches its agent registry once per process: not a pick's cost
        pick = lambda: pickers.model_picked("chat-completion", TOKEN, "auto", MODEL)  # noqa: E731
        hub.clear_cache()
        fake.reset()
        first = _timed(pick)
        first_requests = len(fake.received)
        fake.reset()
        again = [_timed(pick) for _ in range(args.picks)]
        again_requests = len(fake.received)

        texts = ["L", "Ll", "Lla", "Llam", "Llama"]
        hub.clear_cache()
        fake.reset()
        typing = sum(_timed(lambda t=t: pickers.model_choices("chat-completion", t, TOKEN, "auto", None)) for t in texts)
        typing_requests = len(fake.received)
        fake.reset()
        retyping = sum(_timed(lambda t=t: pickers.model_choices("chat-completion", t, TOKEN, "auto", None)) for t in texts)
        retyping_requests = len(fake.received)
    finally:
        handler._dispatch = dispatch
        fake.close()

    median = statistics.median(again)
    print(f"Hub latency (each request to the fake): {delay * 1000:.0f} ms")
    print(f"first pick:     {first * 1000:8.1f} ms, {first_requests} Hub/router requests "
          f"({first / delay:.1f} round trips of {delay * 1000:.0f} ms)")
    print(f"repeated pick:  {median * 1000:8.1f} ms median of {args.picks}, {again_requests} requests in all")
    print(f"ratio repeated/first: {median / first:.4f}  (goal < 0.1, and 0 requests)")
    print(f"typing '{texts[-1]}' key by key: {typing * 1000:.1f} ms, {typing_requests} searches; "
          f"typed again: {retyping * 1000:.1f} ms, {retyping_requests} searches")


if __name__ == "__main__":
    main()
