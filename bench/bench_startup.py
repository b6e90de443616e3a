"""Start-up of the playground with no token: time until the page answers, and until the first local chat
reply (engine process started, SmolLM2 loaded, a few tokens generated).

Compares this checkout (B) with another one (A, e.g. a ``git worktree`` of the commit before a change),
started alternately A B A B… in fresh processes, and prints each figure's median and the median of the
pair ratios B/A with its min–max.

Run: .venv/bin/python bench/bench_startup.py --baseline /tmp/before [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
LLM = "HuggingFaceTB/SmolLM2-135M-Instruct"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_start(checkout: Path) -> tuple[float, float]:
    """(seconds until GET / answers 200, seconds until the first local chat reply is complete)."""
    from gradio_client import Client

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env.update(HF_TOKEN_PATH="/nonexistent", HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
    started = time.perf_counter()
    app = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=checkout, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        while True:
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if app.poll() is not None:
                raise SystemExit(f"{checkout}: app.py exited with {app.returncode}")
            time.sleep(0.02)
        ready = time.perf_counter() - started
        client = Client(url, verbose=False)
        client.predict(provider="local", model=LLM, message={"text": "Hi", "files": []}, max_tokens=8,
                       api_name="/chat_completion")
        first_reply = time.perf_counter() - started
        return ready, first_reply
    finally:
        app.terminate()
        try:
            app.wait(10)
        except subprocess.TimeoutExpired:
            app.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", type=Path, required=True, help="checkout to compare against (A)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    a_runs, b_runs = [], []
    for i in range(args.runs):
        a_runs.append(one_start(args.baseline))
        b_runs.append(one_start(ROOT))
        print(f"run {i + 1}: A ready {a_runs[-1][0]:.2f} s, first reply {a_runs[-1][1]:.2f} s | "
              f"B ready {b_runs[-1][0]:.2f} s, first reply {b_runs[-1][1]:.2f} s", flush=True)
    for k, name in enumerate(("page answers", "first local chat reply")):
        a = [r[k] for r in a_runs]
        b = [r[k] for r in b_runs]
        ratios = [y / x for x, y in zip(a, b)]
        print(f"{name:24s} A {statistics.median(a):6.2f} s   B {statistics.median(b):6.2f} s   "
              f"B/A median {statistics.median(ratios):.2f}x (min {min(ratios):.2f}x, max {max(ratios):.2f}x)")


if __name__ == "__main__":
    main()
