"""The playground as an MCP server, through the ``mcp`` Python SDK over streamable HTTP: every task is a tool named
as its API endpoint, described from the registry, typed, with no token argument; the token travels in the client's
Authorization header. Text classification and chat are called against the fake server."""

from __future__ import annotations

import asyncio
import json

import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

from playground import mcp_tools
from playground.tasks import TASKS
from tests.conftest import TOKEN, _free_port

SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
CHAT_MODEL = "Qwen/Qwen2.5-7B-Instruct"


@pytest.fixture(scope="module")
def mcp_url(fake_hf):
    from playground.ui import CSS, build_app

    demo = build_app(mcp=True)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=_free_port(), css=CSS, quiet=True,
                mcp_server=True)
    yield demo.local_url.rstrip("/") + "/gradio_api/mcp/"
    demo.close()


def session(url: str, token: str | None, work):
    """Open an MCP session (the token as the client's header, when given) and run ``work(session)``."""

    async def main():
        headers = {"Authorization": f"Bearer {token}"} if token else None
        async with streamablehttp_client(url, headers=headers) as (read, write, _):
            async with ClientSession(read, write) as s:
                await s.initialize()
                return await work(s)

    return asyncio.run(main())


def test_every_task_is_a_tool_described_and_typed_from_the_registry(mcp_url):
    tools = {t.name: t for t in session(mcp_url, TOKEN, lambda s: _tools(s))}
    assert set(tools) == {task.api_name for task in TASKS.values()}  # no other tool: the page's Run endpoints are not
    tc = tools["text_classification"]
    assert tc.description.startswith(TASKS["text-classification"].description)
    props = tc.inputSchema["properties"]
    assert props["text"]["type"] == "string" and tc.inputSchema["required"] == ["text"]
    assert {"type": "integer"} in props["top_k"]["oneOf"] and "(1 to 100)" in props["top_k"]["description"]
    assert {"enum": ["sigmoid", "softmax", "none"]} in props["function_to_apply"]["oneOf"]
    assert props["model"]["default"] == TASKS["text-classification"].default_model
    chat = tools["chat_completion"].inputSchema["properties"]
    assert {"message", "system", "tools", "response_format", "temperature", "max_tokens"} <= set(chat)
    for tool in tools.values():  # the token is never an argument an agent could echo
        assert not {"token", "session_token", "authorization"} & set(tool.inputSchema["properties"])


async def _tools(s):
    return (await s.list_tools()).tools


def _call(name: str, arguments: dict):
    async def work(s):
        return await s.call_tool(name, arguments)

    return work


def test_text_classification_with_the_clients_token(mcp_url, fake):
    result = session(mcp_url, TOKEN, _call("text_classification", {"text": "I like you. I love you",
                                                                    "provider": "hf-inference", "top_k": 2}))
    assert not result.isError, result.content
    answer = json.loads(result.content[0].text)
    assert answer["output"][0]["label"] == "POSITIVE" and answer["provider"] == "hf-inference"
    [call] = [r for r in fake.received if r.path.startswith(f"/hf-inference/models/{SST2}")]
    assert call.headers["authorization"] == f"Bearer {TOKEN}"  # the MCP client's header reached the provider
    assert json.loads(call.body)["parameters"] == {"top_k": 2}
    assert TOKEN not in result.content[0].text


def test_chat_with_the_clients_token(mcp_url, fake):
    result = session(mcp_url, TOKEN, _call("chat_completion", {"message": "What is the capital of France?",
                                                                "model": CHAT_MODEL, "provider": "together",
                                                                "max_tokens": 32}))
    assert not result.isError, result.content
    answer = json.loads(result.content[0].text)
    assert isinstance(answer["output"], str) and answer["output"] and answer["provider"] == "together"
    [call] = [r for r in fake.received if r.path == "/together/v1/chat/completions"]
    body = json.loads(call.body)
    assert body["messages"][-1] == {"role": "user", "content": "What is the capital of France?"}
    assert body["max_tokens"] == 32 and call.headers["authorization"] == f"Bearer {TOKEN}"


def test_a_refused_token_is_the_tools_error_naming_the_fix(mcp_url, fake):
    bad = "hf_invalid" + "q" * 27
    result = session(mcp_url, bad, _call("text_classification", {"text": "hi", "provider": "hf-inference"}))
    assert result.isError and "401" in result.content[0].text and bad not in result.content[0].text


def test_env_variable_turns_mcp_on(monkeypatch):
    monkeypatch.delenv(mcp_tools.ENV, raising=False)
    assert not mcp_tools.enabled() and mcp_tools.enabled(True)
    monkeypatch.setenv(mcp_tools.ENV, "1")
    assert mcp_tools.enabled()
