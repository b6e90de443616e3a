"""Snippets reproduce the run: they execute against the fake router and never contain the token."""

from __future__ import annotations

import os

import pytest

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
