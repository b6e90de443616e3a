"""Overhead of the playground against a direct InferenceClient call, on the same local fake router.

Prints the median latency of: the direct InferenceClient call, the service path in-process, the
gradio_client round trip on the playground, and the gradio_client round trip on a
``gr.load("models/...")`` interface making the same request; then the ratios.
Goals: service overhead under 1 ms; playground round trip within 1.1x of gr.load's.
Run: .venv/bin/python bench/bench_service.py [--n 200]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.pop("HF_TOKEN", None)
os.environ["HF_TOKEN_PATH"] = "/nonexistent"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
logging.getLogger("httpx").setLevel(logging.WARNING)

import gradio as gr  # noqa: E402
import httpx2  # noqa: E402
from gradio_client import Client  # noqa: E402
from huggingface_hub import InferenceClient, set_client_factory  # noqa: E402
from huggingface_hub.utils._http import hf_request_event_hook  # noqa: E402

from playground import capture, service  # noqa: E402
from playground.ui import build_app  # noqa: E402
from tests.fakes.server import FakeHF  # noqa: E402

MODEL = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
TOKEN = "hf_" + "BenchToken" + "x" * 24  # a fake, built so secret scanners do not flag it
TEXT = "I like you. I love you"


def median_ms(fn, n: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    fake = FakeHF()
    transport = fake.transport()

    # 1. direct call: huggingface_hub's own client (default hooks) routed to the fake, no capture
    set_client_factory(lambda: httpx2.Client(transport=transport, event_hooks={"request": [hf_request_event_hook]},
                                             follow_redirects=True, timeout=None))
    direct_client = InferenceClient(provider="hf-inference", token=TOKEN)
    direct = median_ms(lambda: direct_client.text_classification(TEXT, model=MODEL), args.n)

    # 2. the service path in-process (capture hooks installed)
    capture.install(transport)
    request = service.RunRequest("text-classification", MODEL, {"text": TEXT}, target=service.Target("hf-inference", token=TOKEN))

    def via_service():
        result = service.run(request)
        assert result.ok, result.error

    in_process = median_ms(via_service, args.n)

    # 3. gradio_client round trip on the playground
    demo = build_app()
    demo.launch(prevent_thread_lock=True, quiet=True, server_port=0 or None)
    client = Client(demo.local_url, verbose=False)
    playground = median_ms(lambda: client.predict(token=TOKEN, provider="hf-inference", text=TEXT,
                                                  api_name="/text_classification"), max(20, args.n // 4))

    # 4. gradio_client round trip on gr.load("models/...") for the same request
    loaded = gr.load(f"models/{MODEL}", token=TOKEN, provider="hf-inference")
    loaded.launch(prevent_thread_lock=True, quiet=True)
    lclient = Client(loaded.local_url, verbose=False)
    api = next(iter(lclient.view_api(return_format="dict", print_info=False)["named_endpoints"]))
    gr_load = median_ms(lambda: lclient.predict(TEXT, api_name=api), max(20, args.n // 4))

    print(f"direct InferenceClient call     {direct:8.2f} ms")
    print(f"service path (in-process)       {in_process:8.2f} ms   overhead {in_process - direct:+.2f} ms   ratio {in_process / direct:.3f}x")
    print(f"playground via gradio_client    {playground:8.2f} ms")
    print(f"gr.load via gradio_client       {gr_load:8.2f} ms")
    print(f"playground / gr.load            {playground / gr_load:8.3f}x   (goal <= 1.1x)")
    print(f"service overhead goal < 1 ms:   {'met' if in_process - direct < 1 else 'NOT met'}")
    demo.close()
    loaded.close()
    fake.close()


if __name__ == "__main__":
    main()
