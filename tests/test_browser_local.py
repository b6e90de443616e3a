"""First run on a fresh machine: no token, no network; the chat reply streams in from the local backend."""

from __future__ import annotations

import time

from tests.browser import browser_page, task_panel, shot



def test_no_token_chat_streams_from_the_local_backend(app):
    with browser_page() as page:
        page.goto(app.local_url)
        page.get_by_text("No token found").first.wait_for(timeout=20_000)
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
