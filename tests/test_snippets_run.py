"""Every client's snippet, run as shown, sends the request the playground sent.

For one task of each input kind (text, image, audio, chat streaming, table) the playground runs against the fake
server, the Code tabs are filled from that run as the page fills them (``handlers.snippets_for_run``), and each
snippet is executed: Python in a subprocess, JavaScript with Node and the npm packages of ``tests/js`` (installed by
``tests/setup_system.sh``), shell with curl. The snippets name the real hosts; only the environment differs: an
HTTPS proxy into the fake server and the test CA (``tests/fakes/tls_proxy.py``). The fake records what each one
sent, and the test compares it with what the playground sent: method, host, path, headers less the token (and
less the headers that name the client: user agent, accept, connection...), and body.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from playground import handlers, snippets
from playground.tasks import ASSETS, TASKS
from tests.conftest import TOKEN
from tests.fakes.server import HUB_HOSTS
from tests.fakes.tls_proxy import TLSProxy

JS = Path(__file__).parent / "js"
NODE, CURL = shutil.which("node") or "/usr/bin/node", shutil.which("curl") or "/usr/bin/curl"
RUNNERS = {"python": [sys.executable], "javascript": [NODE], "shell": ["bash"]}
SUFFIX = {"python": "py", "javascript": "mjs", "shell": "sh"}
# Headers every client sets its own way: they name the client or the connection, not the request.
CLIENT_HEADERS = {"user-agent", "accept", "accept-encoding", "accept-language", "connection", "content-length",
                  "transfer-encoding", "x-amzn-trace-id", "sec-fetch-mode"}


@pytest.fixture(scope="module")
def proxy(fake_hf, tmp_path_factory):
    if not (JS / "node_modules" / "@huggingface" / "inference").is_dir():
        pytest.fail("tests/js/node_modules is missing: run `bash tests/setup_system.sh` (make test does)")
    server = TLSProxy(fake_hf, tmp_path_factory.mktemp("test-ca"))
    yield server
    server.close()


@dataclass
class Seen:
    """A request as the fake received it, reduced to what must be the same whoever sends it."""

    method: str
    host: str
    path: str
    headers: dict[str, str]
    body: object
    token: str | None

    @classmethod
    def of(cls, received) -> Seen:
        headers = {k.lower(): v for k, v in received.headers.items()}
        token = headers.pop("authorization", None)
        headers = {k: v for k, v in headers.items() if k not in CLIENT_HEADERS and not k.startswith("x-stainless")}
        body: object = received.body
        if "json" in headers.get("content-type", ""):
            body = json.loads(received.body)
        return cls(received.method, received.host, received.path, headers, body, token)


def inference_request(fake) -> Seen:
    """The last request that sent something to a model (Hub lookups and a queue's polls left out)."""
    calls = [r for r in fake.received if r.host not in HUB_HOSTS and not r.path.startswith("/api/")]
    sending = [r for r in calls if r.method != "GET"] or calls
    assert sending, f"no inference request reached the fake: {[(r.method, r.path) for r in fake.received]}"
    return Seen.of(sending[-1])


def execute(client: snippets.Client, code: str, folder: Path, files: list[str], env: dict[str, str]) -> str:
    """Run a snippet as shown, in a folder holding the user's files (by their names)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copy(path, folder / Path(path).name)
    if client.language == "javascript":
        (folder / "node_modules").symlink_to(JS / "node_modules")
    script = folder / f"snippet.{SUFFIX[client.language]}"
    script.write_text(code)
    done = subprocess.run([*RUNNERS[client.language], script.name], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, f"{client.label} failed:\n{code}\n--- stderr:\n{done.stderr[-3000:]}"
    return done.stdout


def _environment(proxy: TLSProxy) -> dict[str, str]:
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    return {**keep, **proxy.environment(JS / "env-proxy.mjs"), "HF_TOKEN": TOKEN, "HF_HUB_DISABLE_TELEMETRY": "1",
            "PATH": f"{Path(CURL).parent}:{Path(NODE).parent}:{keep.get('PATH', '/usr/bin:/bin')}"}


def _values(task, inputs: tuple, **params) -> list:
    return [*inputs, *(params.get(spec.name) for spec in task.params), ""]


@dataclass
class Case:
    """One run of the playground, as a tab makes it (the header's values, then the tab's)."""

    task_id: str
    provider: str
    inputs: tuple
    params: dict
    model: str | None = None
    bill_to: str = ""
    files: tuple[str, ...] = ()
    printed: str = ""  # what every snippet's output contains


LONG_SYSTEM = "Answer in one short sentence, plainly, without lists. " * 12  # longer than the exchange keeps whole
CASES = {
    "text": Case("text-classification", "hf-inference", ("I like you. I love you",), {"top_k": 2}, bill_to="acme",
                 printed="POSITIVE"),
    "image": Case("image-classification", "hf-inference", (str(ASSETS / "street.png"),), {},
                  files=(str(ASSETS / "street.png"),), printed="label"),
    "audio": Case("automatic-speech-recognition", "hf-inference", (str(ASSETS / "hello.wav"),), {},
                  files=(str(ASSETS / "hello.wav"),), printed="text"),
    "chat": Case("chat-completion", "together",
                 ([], {"text": "What shapes do you see?", "files": [str(ASSETS / "shapes.png")]}, LONG_SYSTEM, "", ""),
                 {"temperature": 0.7, "max_tokens": 64}, model="Qwen/Qwen2.5-VL-7B-Instruct", bill_to="acme",
                 files=(str(ASSETS / "shapes.png"),)),
    "table": Case("table-question-answering", "hf-inference",
                  (TASKS["table-question-answering"].examples[0][0], "How many stars does the transformers repository have?"),
                  {}, printed="36542"),
}


def play(case: Case) -> tuple[tuple, list, str]:
    """Run the case as the tab does; returns (header values, the tab's values after the run, raw exchange JSON)."""
    task = TASKS[case.task_id]
    header = (TOKEN, case.provider, "", case.bill_to, case.model or task.default_model, "main")
    values = _values(task, case.inputs, **case.params)
    if task.renderer == "chat":
        history, message, status, raw = list(handlers.run_chat(task, *header, *values))[-1]
        values[:2] = [history, message]  # the page's Chatbot and message box after the run
    else:
        _, status, raw = handlers.run_task(task, *header, *values)
    assert status.startswith("✅"), status
    return header, values, raw


@pytest.mark.parametrize("kind", list(CASES))
def test_every_snippet_sends_the_request_the_playground_sent(kind, fake, proxy, tmp_path):
    case = CASES[kind]
    task = TASKS[case.task_id]
    header, values, raw = play(case)
    sent = inference_request(fake)
    assert sent.token == f"Bearer {TOKEN}"

    codes = handlers.snippets_for_run(task, *header, *values, raw)
    clients = snippets.clients_for(task)
    assert ("python-openai" in {c.id for c in clients}) == (kind == "chat")
    env = _environment(proxy)
    for client, code in zip(clients, codes, strict=True):
        assert TOKEN not in code and "HF_TOKEN" in code, client.label
        fake.reset()
        printed = execute(client, code, tmp_path / client.id, list(case.files), env)
        assert case.printed in printed, f"{client.label} printed {printed[:500]!r}"
        assert inference_request(fake) == sent, f"{client.label} sent another request than the playground:\n{code}"


def test_a_custom_endpoint_snippet_calls_the_endpoint(fake, proxy, tmp_path):
    """The endpoint's URL is in every snippet, and the request each one sends is the playground's."""
    task = TASKS["text-classification"]
    endpoint = f"{fake.url}/models/{task.default_model}"  # the fake answers there as an endpoint would
    header = (TOKEN, "custom", endpoint, "", task.default_model, "main")
    values = _values(task, ("I like you",), top_k=1)
    _, status, raw = handlers.run_task(task, *header, *values)
    assert status.startswith("✅"), status
    sent = inference_request(fake)
    env = _environment(proxy)
    for client, code in zip(snippets.clients_for(task), handlers.snippets_for_run(task, *header, *values, raw)):
        assert endpoint in code and TOKEN not in code, client.label
        fake.reset()
        execute(client, code, tmp_path / client.id, [], env)
        assert inference_request(fake) == sent, f"{client.label}:\n{code}"


@pytest.mark.parametrize("task_id, inputs, out", [
    ("text-to-image", ("An astronaut riding a horse on the moon",), "output.png"),
    ("text-to-speech", ("Hello world",), "output.flac"),
])
def test_a_media_answer_is_saved_to_a_file_by_every_client(task_id, inputs, out, fake, proxy, tmp_path):
    """An image, a sound: each snippet saves what the model answered to a file (never prints an object's repr)."""
    import io

    from PIL import Image

    from tests.fakes.answers import flac_bytes, tone
    from tests.fakes.server import _png

    task = TASKS[task_id]
    model = "facebook/mms-tts-eng" if task_id == "text-to-speech" else task.default_model
    header = (TOKEN, "hf-inference", "", "", model, "main")
    values = _values(task, inputs)
    _, status, raw = handlers.run_task(task, *header, *values)
    assert status.startswith("✅"), status
    env = _environment(proxy)
    for client, code in zip(snippets.clients_for(task), handlers.snippets_for_run(task, *header, *values, raw)):
        assert out in code, f"{client.label}:\n{code}"
        fake.reset()
        execute(client, code, tmp_path / client.id, [], env)
        saved = tmp_path / client.id / out
        assert saved.is_file(), f"{client.label} saved no {out}:\n{code}"
        if task_id == "text-to-image":  # the Python client gives a PIL image, saved again: the same pixels
            with Image.open(saved) as got, Image.open(io.BytesIO(_png())) as answered:
                assert got.size == answered.size, client.label
                assert list(got.convert("RGB").getdata()) == list(answered.convert("RGB").getdata()), client.label
        else:  # the sound as the model answered it, byte for byte
            assert saved.read_bytes() == flac_bytes(tone(0.8, 330.0)), client.label
