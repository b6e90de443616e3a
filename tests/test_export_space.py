"""Export as Space: the zip's files, then the exported app started in a subprocess against the fake server (through
the test HTTPS proxy, as the snippet tests run code written for the real hosts) and run once through gradio_client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from gradio_client import Client

from playground import export_space, handlers
from playground.tasks import TASKS
from tests.conftest import TOKEN
from tests.fakes.server import HUB_HOSTS
from tests.fakes.tls_proxy import TLSProxy

SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
CHAT_MODEL = "Qwen/Qwen2.5-7B-Instruct"


@pytest.fixture(scope="module")
def proxy(fake_hf, tmp_path_factory):
    server = TLSProxy(fake_hf, tmp_path_factory.mktemp("test-ca"))
    yield server
    server.close()


def unzip(path: str, folder: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder)
        return {name: archive.read(name).decode() for name in archive.namelist()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(folder: Path, proxy: TLSProxy) -> tuple[subprocess.Popen, str]:
    """``python app.py`` as a Space starts it (HF_TOKEN as its secret), on a free port; waits until it answers."""
    port = _free_port()
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    env = {**keep, **proxy.environment(), "HF_TOKEN": TOKEN, "HF_HUB_DISABLE_TELEMETRY": "1",
           "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1"}
    process = subprocess.Popen([sys.executable, "app.py"], cwd=folder, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the exported app exited:\n{process.stdout.read()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"http://127.0.0.1:{port}/"
        except OSError:
            time.sleep(0.3)
    process.kill()
    pytest.fail("the exported app did not start within 90 s")


def inference_calls(fake) -> list:
    return [r for r in fake.received if r.host not in HUB_HOSTS and not r.path.startswith("/api/")]


def test_zip_holds_app_requirements_and_space_readme(tmp_path):
    task = TASKS["text-classification"]
    files = unzip(export_space.space_zip(task, SST2, "hf-inference", {"top_k": 2}, folder=tmp_path), tmp_path / "x")
    assert set(files) == {"app.py", "requirements.txt", "README.md"}
    readme = files["README.md"]
    assert readme.startswith("---\n") and "\nsdk: gradio\n" in readme and "\napp_file: app.py\n" in readme
    assert f"sdk_version: {export_space.gradio.__version__}" in readme and "HF_TOKEN" in readme
    assert "gradio==" in files["requirements.txt"] and "huggingface_hub==" in files["requirements.txt"]
    assert 'os.environ.get("HF_TOKEN")' in files["app.py"] and "InferenceClient" in files["app.py"]
    compile(files["app.py"], "app.py", "exec")


def test_every_task_exports_an_app_that_compiles():
    for task in TASKS.values():
        files = export_space.space_files(task, task.default_model, "auto", {})
        compile(files["app.py"], f"{task.id}/app.py", "exec")


def test_export_handler_reads_the_tab_and_never_the_token(tmp_path):
    task = TASKS["text-classification"]
    params = [2 if spec.name == "top_k" else None for spec in task.params]
    path = export_space.export_handler(task.id)("hf-inference", "", "acme-corp", SST2, "I love it", *params, "")
    files = unzip(path, tmp_path)
    assert "'top_k': 2" in files["app.py"] and "'bill_to': 'acme-corp'" in files["app.py"]
    assert "'text': 'I love it'" in files["app.py"]  # the tab's text prefills the demo
    assert "billed to the organisation `acme-corp`" in files["README.md"]
    assert all(TOKEN not in text for text in files.values())


def test_bad_parameters_export_nothing_and_say_the_fix():
    task = TASKS["text-classification"]
    export = export_space.export_handler(task.id)
    with pytest.raises(export_space.gradio.Error, match="not valid JSON.*Write a JSON object"):
        export("hf-inference", "", "", SST2, "x", *[None] * len(task.params), "{oops")


def test_custom_endpoint_without_url_says_so():
    with pytest.raises(export_space.InputError, match="No endpoint URL"):
        export_space.space_files(TASKS["text-classification"], SST2, "custom", {})


def test_exported_text_classification_space_runs(fake, proxy, tmp_path):
    task = TASKS["text-classification"]
    unzip(export_space.space_zip(task, SST2, "hf-inference", {"top_k": 2}, folder=tmp_path), tmp_path / "space")
    process, url = start(tmp_path / "space", proxy)
    try:
        result = Client(url, verbose=False).predict("I like you. I love you", api_name="/predict")
    finally:
        process.terminate()
        process.wait(10)
    assert result[0]["label"] == "POSITIVE"
    [call] = inference_calls(fake)
    assert call.method == "POST" and call.path == f"/hf-inference/models/{SST2}"
    assert call.headers["authorization"] == f"Bearer {TOKEN}"  # the Space's HF_TOKEN secret
    assert handlers.json.loads(call.body)["parameters"] == {"top_k": 2}


def test_exported_chat_space_streams(fake, proxy, tmp_path):
    task = TASKS["chat-completion"]
    unzip(export_space.space_zip(task, CHAT_MODEL, "together", {"max_tokens": 64}, folder=tmp_path,
                                 inputs={"system": "Be brief."}), tmp_path / "space")
    process, url = start(tmp_path / "space", proxy)
    try:
        reply = Client(url, verbose=False).predict("Hello!", "Be brief.", api_name="/chat")
    finally:
        process.terminate()
        process.wait(10)
    [call] = inference_calls(fake)
    body = handlers.json.loads(call.body)
    assert call.path == "/together/v1/chat/completions" and body["max_tokens"] == 64 and body["stream"] is True
    assert body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello!"}]
    assert isinstance(reply, str) and reply
