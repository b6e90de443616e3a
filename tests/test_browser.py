"""A new user's journey in a real browser: run text classification, see the label and the raw exchange."""

from __future__ import annotations

from pathlib import Path

from tests.browser import browser_page, pick_dropdown
from tests.conftest import TOKEN

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_text_classification_in_the_browser(app, fake):
    with browser_page() as page:
        page.goto(app.local_url)
        page.get_by_label("Hugging Face token").fill(TOKEN)
        pick_dropdown(page, "Provider", "hf-inference")
        page.get_by_role("tab", name="Text classification").click()
        page.get_by_role("button", name="I like you. I love you").first.click()  # one-click example
        page.get_by_role("button", name="Run", exact=True).first.click()
        status = page.get_by_text("served by hf-inference")
        status.first.wait_for(timeout=20_000)
        assert page.get_by_text("POSITIVE").first.is_visible()
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / "screenshot.png"), full_page=True)
        raw = page.locator(".cm-content").filter(has_text="exchanges").first
        raw.wait_for(timeout=10_000)
        assert "https://router.huggingface.co/hf-inference/models/distilbert" in raw.inner_text()
        assert "Bearer [redacted]" in raw.inner_text()
        assert TOKEN not in page.content()
