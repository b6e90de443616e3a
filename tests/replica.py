"""One app replica in a process of its own: the playground as ``app.py`` builds it, with huggingface_hub's hosts
routed to the tests' fake server (``FAKE_HF_URL``) and the ledger at ``PLAYGROUND_DATABASE_URL`` (else in
``PLAYGROUND_DATA_DIR``). Run as a script it prints ``ready <url>`` once it serves, and serves until its stdin closes
(or it is killed). ``start`` runs one from a test (tests/test_replicas.py: two replicas on one database;
tests/test_browser_batch.py: an app killed mid-batch and started again on its data directory)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(env: dict[str, str], port: int | None = None) -> tuple[subprocess.Popen, str]:
    """Start a replica on ``port`` (a free one when None) with the environment ``env``; returns the process and
    its URL once its page answers."""
    import httpx

    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "replica.py"), str(port or free_port())], env=env,
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    line = proc.stdout.readline()
    assert line.startswith("ready "), f"the replica did not start: {line!r}"
    url = line.split()[1]
    end = time.monotonic() + 120
    while time.monotonic() < end:  # its page answers
        try:
            if httpx.get(url + "config", timeout=30).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} never answered")


def stop(proc: subprocess.Popen) -> None:
    """Let a replica end as it does when its stdin closes (a process already killed is only waited for)."""
    if proc.poll() is None:
        proc.stdin.close()
    proc.wait(timeout=30)


def _serve(port: int) -> None:
    import os

    sys.path.insert(0, str(ROOT))
    import gradio.networking

    from playground import capture
    from playground.ui import CSS, build_app
    from tests.fakes.server import RoutingTransport

    capture.install(RoutingTransport(os.environ["FAKE_HF_URL"]))
    gradio.networking.url_ok = lambda url: True  # a busy test machine: the tests wait for the page themselves
    demo = build_app()
    demo.launch(server_name="127.0.0.1", server_port=port, css=CSS, quiet=True, prevent_thread_lock=True)
    print("ready", demo.local_url, flush=True)
    sys.stdin.read()  # until the test closes our stdin
    demo.close()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
