"""Three people on one playground at once, each in their own browser: two chat replies stream side by side and an
image is made meanwhile. Nobody waits for anybody, and each gets their own answer (never another's)."""

from __future__ import annotations

import pytest

import json
import time

from tests.browser import ARGS, CHROMIUM, open_task, pick_dropdown, shot

# Two people's tokens (fakes, built at run time): each is answered its own story, slowly.
ALICE, BOB = ("hf_" + name + "Concurrent" + "x" * 20 for name in ("Alice", "Bob"))
PIECES = 30  # chunks per reply, one every PAUSE_S: each reply streams for about 6 s
PAUSE_S = 0.2


def _slow_reply(word: str):
    def events():
        for i in range(PIECES):
            time.sleep(PAUSE_S)
            chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": "m",
                     "choices": [{"index": 0, "delta": {"role": "assistant", "content": f"{word}{i} "},
                                  "finish_reason": None}]}
            yield f"data: {json.dumps(chunk)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    return 200, {"content-type": "text/event-stream"}, events()


def _person(browser, app, token: str):
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(90_000)
    page.goto(app.local_url)
    page.get_by_label("Hugging Face token").fill(token)
    page.get_by_label("Hugging Face token").press("Enter")  # the token is checked on Enter or when the box is left
    try:
        page.get_by_text("Token of tester").first.wait_for(timeout=90_000)
    except Exception:
        page.screenshot(path=shot("concurrency-token-failed.png"), full_page=True)
        raise
    pick_dropdown(page, "Provider", "together")
    return page


def test_two_chats_stream_while_a_third_person_makes_an_image(app, fake):
    from playwright.sync_api import sync_playwright

    fake.script("/chat/completions", [_slow_reply("alice")], token=ALICE)
    fake.script("/chat/completions", [_slow_reply("bob")], token=BOB)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            chats = []
            for token in (ALICE, BOB):
                page = _person(browser, app, token)
                panel = open_task(page, "Chat")
                panel.get_by_placeholder("Ask anything").first.fill("Tell me a story.")
                chats.append((page, panel))
            artist = _person(browser, app, "hf_" + "Carol" + "x" * 30)
            pick_dropdown(artist, "Provider", "hf-inference")
            image = open_task(artist, "Text to image")
            image.locator("textarea").first.fill("A lighthouse in a storm")

            for _, panel in chats:
                panel.get_by_role("button", name="Send", exact=True).click()
            for _, panel in chats:  # both replies are on their way, side by side
                panel.get_by_text("Streaming…").first.wait_for(timeout=90_000)
            image.get_by_role("button", name="Run", exact=True).click()
            image.get_by_text("served by hf-inference").first.wait_for(timeout=90_000)
            assert image.locator("img").count() >= 1
            # the image came while both chats were still streaming: neither waited for the other, nor it for them
            streaming = [panel.get_by_text("Streaming…").count() for _, panel in chats]
            assert all(streaming), f"a chat finished before the image was made: {streaming}"
            artist.screenshot(path=shot("concurrency-image.png"))
            chats[0][0].screenshot(path=shot("concurrency-alice.png"))

            for (page, panel), mine, theirs in zip(chats, ("alice", "bob"), ("bob", "alice")):
                panel.get_by_text("served by together").first.wait_for(timeout=90_000)
                reply = panel.locator(".message.bot, [data-testid=bot]").last.inner_text()
                assert f"{mine}{PIECES - 1}" in reply, reply
                assert theirs not in reply, f"{mine}'s chat shows {theirs}'s reply"
        finally:
            browser.close()
