"""Shared fixtures: a fake Hub + router on loopback, with huggingface_hub's real client routed to it."""

from __future__ import annotations

import os

import pytest

# Tests never read the developer's own token or Hub cache settings.
os.environ.pop("HF_TOKEN", None)
os.environ.pop("HUGGING_FACE_HUB_TOKEN", None)
os.environ.pop("HF_HUB_OFFLINE", None)
os.environ["HF_TOKEN_PATH"] = os.path.join(os.path.dirname(__file__), ".no-token")
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from playground import capture  # noqa: E402
from tests.fakes.server import FakeHF  # noqa: E402

TOKEN = "hf_" + "TestToken" + "x" * 25  # a fake (34 characters after hf_, like a real one), built so secret scanners do not flag it


def pytest_collection_modifyitems(items):
    """Browser journeys are slow by nature: marked here, once, so `make test-fast` leaves them out."""
    for item in items:
        if item.path.name.startswith("test_browser"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def ledger_dir(tmp_path_factory):
    """Runs are recorded in a temporary data directory for the whole session, never the developer's (the
    environment variable reaches the subprocesses the tests start, too)."""
    from playground import ledger

    path = tmp_path_factory.mktemp("playground-data")
    os.environ["PLAYGROUND_DATA_DIR"] = str(path)
    os.environ.pop("PLAYGROUND_DATABASE_URL", None)
    os.environ.pop("PLAYGROUND_RETENTION_DAYS", None)
    ledger.configure()
    yield path
    ledger.configure(enabled=False)


@pytest.fixture(scope="session")
def fake_hf():
    server = FakeHF()
    capture.install(server.transport())
    yield server
    server.close()


@pytest.fixture
def fake(fake_hf):
    from playground.reliability import HEALTH

    fake_hf.reset()
    HEALTH.clear()  # cooldowns are process-wide: no test inherits another's
    yield fake_hf
    fake_hf.reset()
    HEALTH.clear()


@pytest.fixture(scope="session")
def app(fake_hf):
    """The playground launched in this process (so its Hub and router calls reach the fake server), with the
    queue and concurrency it configures for itself, as in production."""
    import gradio.networking
    import httpx

    from playground.ui import CSS, build_app

    def url_ok(url: str) -> bool:  # Gradio's start-up check, with time for a first page on a busy machine (it allows 3 s)
        try:
            return httpx.head(url, timeout=60).status_code == 200
        except httpx.HTTPError:
            return False

    demo = build_app()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gradio.networking, "url_ok", url_ok)
        demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=_free_port(), css=CSS, quiet=True)
    yield demo
    demo.close()


@pytest.fixture(scope="session")
def client(app):
    from gradio_client import Client

    return Client(app.local_url, verbose=False)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def no_price_table_left():
    """Reading a chat model's providers caches the router's price table for the whole process: forgotten after
    the test, so later tests (History's "unknown" costs) start without one."""
    yield
    from playground import hub
    from playground.ledger import cost

    hub.clear_cache()
    cost.forget()
