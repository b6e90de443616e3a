"""Overhead of the playground against a direct InferenceClient call, on the same local fake router.

Two comparisons, each measured interleaved (A B A B …, so drift and noise hit both sides alike):
  1. the direct InferenceClient call (A) against the service path in-process (B);
  2. the gradio_client round trip on a ``gr.load("models/...")`` interface (A) against the same round trip
     on the playground (B), both making the same request.
Each prints the medians, the median of the pair ratios B/A and its min–max.
Goals: service overhead under 1 ms; playground round trip within 1.1x of gr.load's.
Run: .venv/bin/python bench/bench_service.py [--n 200]
"""

from __future__ import annotations

import argparse
import statistics
import time

from _env import MODEL, TOKEN  # noqa: E402 - first: the set-up every benchmark shares

import gradio as gr  # noqa: E402
import httpx2  # noqa: E402
from gradio_client import Client  # noqa: E402
from huggingface_hub import InferenceClient, set_client_factory  # noqa: E402
from huggingface_hub.utils import _http  # noqa: E402
from huggingface_hub.utils._http import hf_request_event_hook  # noqa: E402

from playground import capture, service  # noqa: E402
from playground.ui import build_app  # noqa: E402
from tests.fakes.server import FakeHF  # noqa: E402

TEXT = "I like you. I love you"


def interleaved(a, b, n: int, warmup: int = 5) -> dict[str, float]:
    """Time ``a`` and ``b`` alternately ``n`` times each; medians (ms) and the pair ratios b/a."""
    for _ in range(warmup):
        a()
        b()
    ta, tb = [], []
    for i in range(n):
        for fn, out in ((a, ta), (b, tb)) if i % 2 == 0 else ((b, tb), (a, ta)):  # alternate who goes first
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    ratios = sorted(y / x for x, y in zip(ta, tb))
    return {"a": statistics.median(ta) * 1000, "b": statistics.median(tb) * 1000,
            "ratio": statistics.median(ratios), "min": ratios[0], "max": ratios[-1],
            "p10": ratios[len(ratios) // 10], "p90": ratios[(9 * len(ratios)) // 10]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    fake = FakeHF()
    transport = fake.transport()

    # Two shared clients, both on the fake's transport: huggingface_hub's own (default hooks, no capture) for
    # the direct call, and the playground's capturing one for the service path. Each side swaps its client
    # in as huggingface_hub's shared one before its call (a pointer swap: no client is built per call).
    plain = httpx2.Client(transport=transport, event_hooks={"request": [hf_request_event_hook]},
                          follow_redirects=True, timeout=None)
    capture.install(transport)
    capturing = _http.get_session()
    direct_client = InferenceClient(provider="hf-inference", token=TOKEN)
    request = service.RunRequest("text-classification", MODEL, {"text": TEXT}, target=service.Target("hf-inference", token=TOKEN))

    def direct():
        _http._GLOBAL_CLIENT = plain
        direct_client.text_classification(TEXT, model=MODEL)

    def via_service():
        _http._GLOBAL_CLIENT = capturing
        result = service.run(request)
        assert result.ok, result.error

    svc = interleaved(direct, via_service, args.n)
    _http._GLOBAL_CLIENT = capturing

    demo = build_app()
    demo.launch(prevent_thread_lock=True, quiet=True)
    client = Client(demo.local_url, verbose=False)
    loaded = gr.load(f"models/{MODEL}", token=TOKEN, provider="hf-inference")
    loaded.launch(prevent_thread_lock=True, quiet=True)
    lclient = Client(loaded.local_url, verbose=False)
    api = next(iter(lclient.view_api(return_format="dict", print_info=False)["named_endpoints"]))
    rt = interleaved(lambda: lclient.predict(TEXT, api_name=api),
                     lambda: client.predict(token=TOKEN, provider="hf-inference", text=TEXT, api_name="/text_classification"),
                     max(20, args.n // 4))

    def line(name: str, r: dict[str, float]) -> str:
        return (f"{name:32s} {r['ratio']:.3f}x  (min {r['min']:.3f}x, p10 {r['p10']:.3f}x, p90 {r['p90']:.3f}x, "
                f"max {r['max']:.3f}x)")

    print(f"direct InferenceClient call      {svc['a']:8.2f} ms (median)")
    print(f"service path (in-process)        {svc['b']:8.2f} ms (median)   overhead {svc['b'] - svc['a']:+.2f} ms")
    print(line("service / direct, per pair", svc))
    print(f"gr.load via gradio_client        {rt['a']:8.2f} ms (median)")
    print(f"playground via gradio_client     {rt['b']:8.2f} ms (median)")
    print(line("playground / gr.load, per pair", rt) + "   goal <= 1.1x: " + ("met" if rt["ratio"] <= 1.1 else "NOT met"))
    print(f"service overhead goal < 1 ms:    {'met' if svc['b'] - svc['a'] < 1 else 'NOT met'}")
    demo.close()
    loaded.close()
    fake.close()


if __name__ == "__main__":
    main()
