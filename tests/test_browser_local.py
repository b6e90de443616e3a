"""First run on a fresh machine: no token, no network; the chat reply streams in from the local backend."""

from __future__ import annotations

import time

from tests.browser import browser_page, task_panel, shot



def test_no_token_chat_streams_from_the_local_backend(app):
    with browser_page() as page:
        page.goto(app.local_url)
        page.get_by_text("No token found").first.wait_for(timeout=90_000)
        assert "local" in page.get_by_label("Provider", exact=True).first.input_value().lower()
        # a new user lands on Chat: nothing to click first
        assert page.get_by_role("tab", name="Chat", exact=True).get_attribute("aria-selected") == "true"
        box = task_panel(page).get_by_placeholder("Ask anything")
        box.fill("Name three colours.")
        box.press("Enter")
        bot = page.locator("[data-testid='bot']").last
        seen: list[str] = []
        deadline = time.time() + 120
        while time.time() < deadline:
            if bot.count():
                text = bot.inner_text().strip()
                if text and text != "…" and (not seen or seen[-1] != text):
                    seen.append(text)
            if page.get_by_text("served by local").count():
                break
            time.sleep(0.05)
        assert page.get_by_text("served by local").count(), "the reply never finished"
        final = bot.inner_text().strip()
        assert final and final != "…"
        assert len(seen) >= 2, f"the reply did not stream in: {seen}"  # it grew while we watched
        assert "SmolLM2-135M-Instruct" in page.content()
        page.screenshot(path=shot("local-chat.png"), full_page=True)


def test_engine_crash_mid_reply_shows_in_the_tab_and_the_next_message_is_answered(app):
    """SIGILL the engine process while a reply streams in: the page says what happened, keeps the partial
    reply, and the next message is answered by the restarted engine. The app (this process) lives on."""
    import os
    import signal

    from playground import local_backend

    with browser_page() as page:
        page.goto(app.local_url)
        page.get_by_text("No token found").first.wait_for(timeout=90_000)
        panel = task_panel(page)
        # A reply long enough to be still streaming when the engine is killed, even when the browser lags the
        # server on a busy machine: 256 tokens (the default) take about 3 s here.
        panel.get_by_role("button", name="Parameters").click()
        most = panel.get_by_label("max tokens", exact=True).first
        most.fill("4000")
        most.press("Enter")
        box = panel.get_by_placeholder("Ask anything")
        box.fill("Count from 1 to 3000, one number per line, then write a long story about a lighthouse keeper.")
        box.press("Enter")
        bot = page.locator("[data-testid='bot']").last
        deadline = time.time() + 120
        while time.time() < deadline:
            if page.get_by_text("Streaming…").count() and bot.count() and len(bot.inner_text().strip()) > 40:
                break
            time.sleep(0.03)
        else:
            page.screenshot(path=shot("local-engine-crash-failed.png"), full_page=True)
            raise AssertionError(f"the reply never streamed: {bot.inner_text() if bot.count() else None!r}")
        os.kill(local_backend.pid(), signal.SIGILL)
        said = page.get_by_text("The local engine stopped: SIGILL").filter(visible=True).first
        said.wait_for(timeout=90_000)
        assert "it is restarting" in said.inner_text()
        partial = page.locator("[data-testid='bot']").last.inner_text()
        assert len(partial.strip()) > 40 and "[truncated]" in partial, "the partial reply was not kept"
        page.screenshot(path=shot("local-engine-crash.png"), full_page=True)

        replies = page.locator("[data-testid='bot']").count()
        box.fill("Say hello.")
        box.press("Enter")
        status = page.get_by_text("served by local").filter(visible=True).first
        status.wait_for(timeout=120_000)
        # the status line can show before the chat draws the new reply: wait for it, then read it
        page.wait_for_function("n => document.querySelectorAll(\"[data-testid='bot']\").length > n", arg=replies,
                               timeout=90_000)
        answer = page.locator("[data-testid='bot']").last.inner_text().strip()
        assert answer and "[truncated]" not in answer, (
            f"{answer!r}; the status line: {status.inner_text()!r}; every reply: "
            f"{page.locator('[data-testid=bot]').all_inner_texts()!r}; every question: "
            f"{page.locator('[data-testid=user]').all_inner_texts()!r}")
