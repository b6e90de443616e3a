"""Snippets reproduce the run: they execute against the fake router and never contain the token; every client's
code for every task parses. (Each client's snippet run as a user runs it: ``test_snippets_run.py``.)"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from playground import handlers, snippets
from playground.handlers import snippet_for
from playground.tasks import TASKS
from tests.conftest import TOKEN


def _execute(code: str) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<snippet>", "exec"), {})
    return out.getvalue()


def test_text_classification_snippet_runs_and_prints_the_result(fake, monkeypatch):
    task = TASKS["text-classification"]
    code = snippet_for(task, TOKEN, "hf-inference", "", "", task.default_model, "main", "I like you", 2, "", "")
    assert TOKEN not in code
    assert 'os.environ["HF_TOKEN"]' in code and "top_k=2" in code
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert "POSITIVE" in _execute(code)


def test_chat_snippet_streams_with_the_conversation(fake, monkeypatch):
    task = TASKS["chat-completion"]
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    code = snippet_for(task, TOKEN, ":cheapest", "", "acme", "meta-llama/Llama-3.1-8B-Instruct", "main",
                       history, "Capital of France?", "Be brief.", "", "", 0.7, None, 64, "", None, "")
    assert '"meta-llama/Llama-3.1-8B-Instruct:cheapest"' in code and 'bill_to="acme"' in code
    assert TOKEN not in code
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert _execute(code) == "Paris is the capital of France."


def test_bad_parameters_give_a_comment_not_a_crash():
    task = TASKS["text-classification"]
    code = snippet_for(task, "", "auto", "", "", task.default_model, "main", "hi", None, "", "{bad json")
    assert code.startswith("# Fix the parameters first")


def test_chat_snippet_with_tools_and_a_schema_is_valid_python(fake, monkeypatch):
    task = TASKS["chat-completion"]
    message, system, tools, schema = task.examples[4][0], "", task.examples[3][2], task.examples[4][3]
    code = snippet_for(task, TOKEN, "together", "", "", "meta-llama/Llama-3.1-8B-Instruct", "main",
                       [], {"text": message, "files": []}, system, tools, schema, None, None, None, None, None, "")
    assert '"additionalProperties": False' in code and 'tools=[{"type": "function"' in code
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert _execute(code) == ""  # with tools, the model calls one: no text


def test_local_snippet_targets_the_running_local_server_and_runs():
    from playground import local_backend

    base = local_backend.ensure_running()
    task = TASKS["feature-extraction"]
    code = snippet_for(task, "", "local", "", "", "sentence-transformers/all-MiniLM-L6-v2", "main",
                       "hello", "", "", "", "")
    assert f'"{base}/models/sentence-transformers/all-MiniLM-L6-v2/pipeline/feature-extraction"' in code
    assert "<port>" not in code
    printed = _execute(code)
    assert printed.startswith("[[") and "e-0" in printed  # the numpy array of the embedding, printed


# ------------------------------------------------------------------------------------------ every client, every task

JS_MODULES = Path(__file__).parent / "js" / "node_modules"


def _tab_values(task, example) -> list:
    """A tab's values for a registry example: the inputs, every parameter left to the server, no extra JSON."""
    if task.renderer == "chat":
        message = example[0] if isinstance(example[0], dict) else {"text": example[0], "files": []}
        return [[], message, *example[1:], *(None for _ in task.params), ""]
    return [*example, *(None for _ in task.params), ""]


@pytest.fixture(scope="module")
def every_run(fake_hf):
    """Every task's first example run as its tab runs it (against the fake), and every client's code for it."""
    from tests.helpers import PROVIDER_FOR

    out = {}
    for task in TASKS.values():
        fake_hf.reset()
        header = (TOKEN, PROVIDER_FOR.get(task.id, "hf-inference"), "", "acme", task.default_model, "main")
        values = _tab_values(task, task.examples[0])
        if task.renderer == "chat":
            history, message, status, raw = list(handlers.run_chat(task, *header, *values))[-1]
            values[:2] = [history, message]
        else:
            _, status, raw = handlers.run_task(task, *header, *values)
        assert status.startswith("✅"), (task.id, status)
        codes = handlers.snippets_for_run(task, *header, *values, raw)
        out[task.id] = dict(zip((c.id for c in snippets.clients_for(task)), codes))
    return out


def test_every_client_writes_code_for_every_task_without_the_token(every_run):
    for task_id, codes in every_run.items():
        assert len(codes) == (7 if task_id == "chat-completion" else 5), task_id
        for client_id, code in codes.items():
            assert TOKEN not in code and "HF_TOKEN" in code, (task_id, client_id, code)
            assert "Run first" not in code and "could not be written" not in code, (task_id, client_id, code)
            assert "<N chars>" not in code, (task_id, client_id)  # every value the exchange cut was put back


def test_every_python_and_shell_snippet_parses(every_run, tmp_path):
    for task_id, codes in every_run.items():
        for client_id, code in codes.items():
            if client_id.startswith("python"):
                compile(code, f"<{task_id} {client_id}>", "exec")
            elif client_id == "curl":
                script = tmp_path / f"{task_id}.sh"
                script.write_text(code)
                done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
                assert done.returncode == 0, (task_id, code, done.stderr)


def test_every_javascript_snippet_parses_and_calls_a_method_the_library_has(every_run, tmp_path):
    """One Node process parses every module and checks each @huggingface/inference method exists."""
    if not JS_MODULES.is_dir():
        pytest.fail("tests/js/node_modules is missing: run `bash tests/setup_system.sh` (make test does)")
    sources = {f"{t}/{c}": code for t, codes in every_run.items() for c, code in codes.items() if c.startswith("js")}
    methods = sorted({snippets._camel(TASKS[t].method) for t in every_run} - {"chatCompletion"} | {"chatCompletionStream"})
    (tmp_path / "sources.json").write_text(json.dumps(sources))
    (tmp_path / "node_modules").symlink_to(JS_MODULES)
    (tmp_path / "check.mjs").write_text("""
import vm from "node:vm";
import { readFileSync } from "node:fs";
import { InferenceClient } from "@huggingface/inference";
const problems = [];
for (const [name, source] of Object.entries(JSON.parse(readFileSync("sources.json", "utf8")))) {
    try { new vm.SourceTextModule(source); } catch (err) { problems.push(`${name}: ${err}`); }
}
const client = new InferenceClient("hf_x");
for (const method of %s) if (typeof client[method] !== "function") problems.push(`no method ${method}`);
console.log(JSON.stringify(problems));
""" % json.dumps(methods))
    node = shutil.which("node") or "/usr/bin/node"
    done = subprocess.run([node, "--experimental-vm-modules", "--no-warnings", "check.mjs"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_files_are_read_from_the_users_file_by_its_name(every_run):
    codes, name = every_run["image-classification"], Path(TASKS["image-classification"].examples[0][0]).name
    assert f'Path("{name}").read_bytes()' in codes["python-huggingface_hub"]
    assert f'data=Path("{name}").read_bytes()' in codes["python-requests"]
    assert f'await readFile("{name}")' in codes["js-fetch"]
    assert f"--data-binary @'{name}'" in codes["curl"]
    chat = every_run["chat-completion"]
    assert all("shapes.png" not in code for code in chat.values())  # the first chat example attaches nothing
    vqa = every_run["visual-question-answering"]["curl"]  # a file inside JSON: base64 by the shell, at run time
    assert "$(base64 < 'street.png' | tr -d '\\n')" in vqa and "<<EOF" in vqa


def _call(provider="together", revision="main", **kw):
    task = TASKS["chat-completion"]
    wire = snippets.Wire("POST", "https://router.huggingface.co/together/v1/chat/completions",
                         {"content-type": "application/json"},
                         {"model": "m-Turbo", "messages": [{"role": "user", "content": "Hi"}], "stream": True})
    return snippets.Call(task, "m", provider, {"messages": []}, {}, revision=revision, wire=wire, **kw)


@pytest.mark.parametrize("provider, why", [
    ("together", "serverless providers run their own deployment"),
    ("custom", "an endpoint runs the revision it was deployed with"),
    ("local", "the local backend runs the one revision it has loaded"),
])
def test_a_revision_that_cannot_be_pinned_is_said_in_every_snippet(provider, why):
    call = _call(provider, "v1.0", endpoint_url="https://e.example/v1", local_url="http://127.0.0.1:9")
    for client_id, code in snippets.snippets(call).items():
        assert f"Revision v1.0: it cannot be pinned here: {why}" in code, client_id
    assert not any("Revision" in code for code in snippets.snippets(_call()).values())


def test_the_raw_exchange_gives_back_long_text_and_files_by_path(tmp_path):
    image = tmp_path / "cat.png"
    image.write_bytes(b"\x89PNG" + bytes(range(256)) * 4)
    long = "word " * 200
    raw = {"exchanges": [{"request": {
        "method": "POST", "url": "https://router.huggingface.co/v1/chat/completions",
        "headers": {"authorization": "Bearer [redacted]", "x-hf-bill-to": "acme", "user-agent": "x"},
        "body": {"messages": [{"role": "user", "content": [
            {"type": "text", "text": long.strip()[:512] + f"… <{len(long.strip())} chars>"},
            {"type": "image_url", "image_url": {"url": f"<data:image/jpeg;base64, {23 + 4 * -(-1028 // 3)} chars>"}},
        ]}]}}, "response": {"status": 200, "headers": {"content-type": "text/event-stream"}}}]}
    wire = snippets.wire_from_raw(json.dumps(raw), texts=[long], files=[str(image)])
    content = wire.body["messages"][0]["content"]
    assert content[0]["text"] == long.strip()
    assert content[1]["image_url"]["url"] == snippets.File(str(image), "data-url", "image/jpeg")
    assert wire.headers == {"x-hf-bill-to": "acme"} and wire.authorized and wire.answer == "event-stream"
    assert not wire.unresolved
    unknown = snippets.wire_from_raw(json.dumps(raw), texts=[], files=[])
    assert len(unknown.unresolved) == 2
