"""Compare's speed goals (issue 11), on local servers, through the real compare code and the one service path.

1. **Panes at once.** Four text-classification panes, each a custom endpoint on its own local server answering
   in 50, 100, 150 and 200 ms, run by ``compare.run_all`` (A), interleaved with the slowest pane run alone by
   ``compare.run_pane`` (B). Goal: A within 1.05x B + 10 ms. Printed: the medians, the median of the pair
   ratios A/B, and how many pairs met ``A <= 1.05 B + 10 ms``.
2. **Streams at once.** Chat panes on a local OpenAI-compatible server that streams ``--tokens`` tokens, one
   every ``--gap-ms``: one pane alone (A), interleaved with four panes streaming at once (B), each through
   ``compare.chat_round``. Goal: each of the four panes reaches >= 0.9x the tokens/s of the pane alone. Printed:
   the median tokens/s alone and at once (per pane), and the median of the pair ratios B/A.

The runs are recorded in a ledger in a temporary folder, as in the app (written off the request path).
Run: .venv/bin/python bench/bench_compare.py [--n 20] [--tokens 100] [--gap-ms 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from _env import MODEL, TOKEN  # noqa: E402 - first: the set-up every benchmark shares

from playground import compare, ledger, owners  # noqa: E402
from playground.tasks import TASKS  # noqa: E402

CHAT_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"


class _Answering(BaseHTTPRequestHandler):
    """A text-classification endpoint answering after ``delay_s``, or a chat endpoint streaming ``tokens``
    tokens ``gap_s`` apart (both set on the server)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        server = self.server
        if self.path.endswith("/chat/completions"):
            return self._stream(server.tokens, server.gap_s)
        time.sleep(server.delay_s)
        body = json.dumps([[{"label": "POSITIVE", "score": 0.9}, {"label": "NEGATIVE", "score": 0.1}]]).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, tokens: int, gap_s: float) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

        def send(payload: str) -> None:
            data = f"data: {payload}\n\n".encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        for i in range(tokens):
            send(json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": CHAT_MODEL,
                             "choices": [{"index": 0, "delta": {"content": f" w{i}"}, "finish_reason": None}]}))
            time.sleep(gap_s)
        send(json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": CHAT_MODEL,
                         "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": 5, "completion_tokens": tokens, "total_tokens": tokens + 5}}))
        send("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:  # a client closing its kept-alive connection: quiet
        pass


def _server(delay_s: float = 0.0, tokens: int = 0, gap_s: float = 0.0) -> ThreadingHTTPServer:
    server = _Server(("127.0.0.1", 0), _Answering)
    server.daemon_threads = True
    server.delay_s, server.tokens, server.gap_s = delay_s, tokens, gap_s
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _url(server: ThreadingHTTPServer, path: str = "") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def panes_at_once(n: int, owner) -> None:
    task = TASKS["text-classification"]
    params = (None,) * len(task.params) + ("",)
    servers = [_server(delay_s=ms / 1000) for ms in (50, 100, 150, 200)]
    targets = [compare.PaneTarget(MODEL, "custom", _url(s, f"/models/{MODEL}"), params=params) for s in servers]
    inputs = ("I like you. I love you",)

    def four() -> None:
        runs = list(compare.run_all(task, targets, inputs, TOKEN, owner=owner))
        assert all(r.ok for r in runs), [r.status for r in runs]

    def slowest() -> None:
        run = compare.run_pane(task, 3, targets[3], inputs, TOKEN, owner=owner)
        assert run.ok, run.status

    for _ in range(3):  # warm-up
        four(), slowest()
    ta, tb = [], []
    for i in range(n):
        for fn, out in ((four, ta), (slowest, tb)) if i % 2 == 0 else ((slowest, tb), (four, ta)):
            out.append(_timed(fn))
    ratios = sorted(a / b for a, b in zip(ta, tb))
    met = sum(a <= 1.05 * b + 0.010 for a, b in zip(ta, tb))
    print(f"1. four panes at once (50/100/150/200 ms) vs the 200 ms pane alone, {n} pairs:")
    print(f"   four at once  median {statistics.median(ta) * 1000:7.1f} ms")
    print(f"   slowest alone median {statistics.median(tb) * 1000:7.1f} ms")
    print(f"   ratio four/alone: median {statistics.median(ratios):.3f}x (min {ratios[0]:.3f}, max {ratios[-1]:.3f})")
    print(f"   pairs within 1.05x + 10 ms: {met}/{n}  (goal: four panes within 1.05x the slowest + 10 ms)")
    for s in servers:
        s.shutdown()


def streams_at_once(n: int, tokens: int, gap_s: float, owner) -> None:
    task = TASKS["chat-completion"]
    params = (None,) * len(task.params) + ("",)
    server = _server(tokens=tokens, gap_s=gap_s)
    target = compare.PaneTarget(CHAT_MODEL, "custom", _url(server, "/v1"), params=params)
    extras = (None,) * (len(task.inputs) - 1)

    def rates(panes: int) -> list[float]:
        last = None
        for last in compare.chat_round(task, [target] * panes, [[] for _ in range(panes)], "Count, please.",
                                       extras, TOKEN, owner=owner):
            pass
        assert last is not None and all(r.ok for r in last), [r.status for r in last or []]
        return [r.tokens_per_s for r in last]

    for _ in range(2):  # warm-up
        rates(1), rates(4)
    alone, together, ratios = [], [], []
    for i in range(n):
        if i % 2 == 0:
            a, b = rates(1)[0], rates(4)
        else:
            b, a = rates(4), rates(1)[0]
        alone.append(a)
        together.extend(b)
        ratios.append(min(b) / a)  # the slowest of the four against the pane alone
    ratios.sort()
    print(f"2. chat streams: {tokens} tokens {gap_s * 1000:.0f} ms apart, one pane alone vs four at once, {n} pairs:")
    print(f"   alone        median {statistics.median(alone):7.1f} tokens/s")
    print(f"   four at once median {statistics.median(together):7.1f} tokens/s per pane")
    print(f"   ratio slowest of four / alone: median {statistics.median(ratios):.3f}x "
          f"(min {ratios[0]:.3f}, max {ratios[-1]:.3f})  (goal: >= 0.9x)")
    server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=100)
    parser.add_argument("--gap-ms", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        store = ledger.configure(data_dir=data_dir)
        owner = owners.load(None)[1]
        try:
            print(f"machine: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            panes_at_once(args.n, owner)
            streams_at_once(args.n, args.tokens, args.gap_ms / 1000, owner)
            store.flush(30)
            print(f"   (recorded in the ledger: {store.list_runs(owners.owner_of(owner)).total} runs)")
        finally:
            ledger.configure(enabled=False)


if __name__ == "__main__":
    main()
