"""Issue 13's journey in a real browser: a new user runs a chat and a text-to-image, copies the curl and the
JavaScript snippets with the Code tabs' copy buttons, runs them against the same server (the fake router behind
the snippets' real hosts, through ``test_snippets_run``'s HTTPS proxy), and gets the same answer as the page.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from playground import snippets
from playground.tasks import TASKS
from tests.browser import ARGS, CHROMIUM, PAGE_TIMEOUT_MS, open_task, pick_dropdown, shot
from tests.conftest import TOKEN
from tests.fakes.server import CHAT_REPLY
from tests.test_snippets_run import _environment, execute, inference_request, proxy  # noqa: F401 - a fixture

pytestmark = pytest.mark.slow

CLIENTS = {c.label: c for task in ("chat-completion", "text-to-image") for c in snippets.clients_for(TASKS[task])}


def _copy(page, panel, label: str) -> str:
    """Open the run's Code accordion on ``label``'s tab and press its copy button; the clipboard's text."""
    code = panel.locator(".code-tabs")
    if not code.is_visible():
        panel.get_by_role("button", name="Code (reproduces the last run").first.click()
    code.get_by_role("tab", name=label).click()
    snippet = code.locator(".code-snippet").filter(visible=True).first
    snippet.get_by_text("HF_TOKEN").first.wait_for()  # filled from the run, not the placeholder
    page.evaluate("navigator.clipboard.writeText('')")
    snippet.hover()
    snippet.get_by_role("button", name="Copy").first.click()
    page.wait_for_function("async () => (await navigator.clipboard.readText()).length > 0")
    return page.evaluate("navigator.clipboard.readText()")


def _streamed_text(printed: str) -> str:
    """The reply a curl of a streamed chat printed: its server-sent events' content, joined."""
    text = ""
    for line in printed.splitlines():
        if line.startswith("data:") and line[5:].strip() != "[DONE]":
            for choice in json.loads(line[5:])["choices"]:
                text += (choice.get("delta") or {}).get("content") or ""
    return text


def test_chat_and_text_to_image_snippets_copied_from_the_page_give_the_same_answer(app, fake, proxy, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    env = _environment(proxy)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1200},
                                          permissions=["clipboard-read", "clipboard-write"])
            page = context.new_page()
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(app.local_url)
            page.get_by_label("Hugging Face token").fill(TOKEN)
            page.get_by_label("Hugging Face token").press("Enter")

            # a chat, typed and sent with Enter
            panel = open_task(page, "Chat")
            pick_dropdown(page, "Provider", "together")
            box = panel.get_by_placeholder("Ask anything").first
            box.fill("What is the capital of France?")
            box.press("Enter")
            panel.get_by_text("served by").first.wait_for(timeout=90_000)
            reply = panel.locator(".message.bot, [data-testid='bot']").last.inner_text().strip()
            assert reply == "".join(CHAT_REPLY)
            sent = inference_request(fake)

            curl = _copy(page, panel, "Shell · curl")
            assert TOKEN not in curl and "$HF_TOKEN" in curl
            fake.reset()
            assert _streamed_text(execute(CLIENTS["Shell · curl"], curl, tmp_path / "chat-curl", [], env)) == reply
            assert inference_request(fake) == sent

            js = _copy(page, panel, "JavaScript · @huggingface/inference")
            assert TOKEN not in js and "HF_TOKEN" in js
            fake.reset()
            printed = execute(CLIENTS["JavaScript · @huggingface/inference"], js, tmp_path / "chat-js", [], env)
            assert reply in printed.replace("\n", "")
            assert inference_request(fake) == sent
            page.screenshot(path=shot("snippets-chat.png"))

            # a text-to-image, from its example
            panel = open_task(page, "Text to image")
            pick_dropdown(page, "Provider", "hf-inference")
            panel.locator(".gallery-item, tr.tr-body").first.click()
            panel.get_by_role("button", name="Run", exact=True).click()
            panel.get_by_text("served by").first.wait_for(timeout=90_000)
            src = panel.locator("img").filter(visible=True).first.get_attribute("src")
            shown = bytes(page.evaluate("async u => Array.from(new Uint8Array(await (await fetch(u)).arrayBuffer()))",
                                        src))
            sent = inference_request(fake)
            for label, folder in (("Shell · curl", "image-curl"), ("JavaScript · @huggingface/inference", "image-js")):
                code = _copy(page, panel, label)
                assert TOKEN not in code and "HF_TOKEN" in code
                fake.reset()
                execute(CLIENTS[label], code, tmp_path / folder, [], env)
                assert inference_request(fake) == sent, label
                written = [f for f in (tmp_path / folder).iterdir() if f.suffix in (".png", ".jpg", ".jpeg", ".webp")]
                assert written, f"{label} wrote no image: {list((tmp_path / folder).iterdir())}"
                with Image.open(written[0]) as got, Image.open(io.BytesIO(shown)) as seen:
                    assert got.size == seen.size and list(got.convert("RGB").getdata()) == list(
                        seen.convert("RGB").getdata()), label
            page.screenshot(path=shot("snippets-image.png"))
        finally:
            browser.close()
