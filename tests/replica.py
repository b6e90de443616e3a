"""One app replica for tests/test_replicas.py: the playground as ``app.py`` builds it, in a process of its own,
with huggingface_hub's hosts routed to the tests' fake server (``FAKE_HF_URL``) and the ledger at
``PLAYGROUND_DATABASE_URL``. Prints ``ready <url>`` once it serves."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gradio.networking  # noqa: E402

from playground import capture  # noqa: E402
from playground.ui import CSS, build_app  # noqa: E402
from tests.fakes.server import RoutingTransport  # noqa: E402

capture.install(RoutingTransport(os.environ["FAKE_HF_URL"]))
gradio.networking.url_ok = lambda url: True  # a busy test machine: the tests wait for the page themselves
demo = build_app()
demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), css=CSS, quiet=True, prevent_thread_lock=True)
print("ready", demo.local_url, flush=True)
sys.stdin.read()  # until the test closes our stdin
demo.close()
