"""A new user's journey in a real browser: run text classification, see the label and the raw exchange; a link
that opens one task; every task's tab in view."""

from __future__ import annotations


from playground.tasks import GROUPS, TASKS
from tests.browser import browser_page, open_task, pick_dropdown, shot
from tests.conftest import TOKEN



def test_text_classification_in_the_browser(app, fake):
    with browser_page() as page:
        page.goto(app.local_url)
        page.get_by_label("Hugging Face token").fill(TOKEN)
        pick_dropdown(page, "Provider", "hf-inference")
        open_task(page, "Text classification")
        page.get_by_role("button", name="I like you. I love you").first.click()  # one-click example
        page.get_by_role("button", name="Run", exact=True).first.click()
        status = page.get_by_text("served by hf-inference")
        status.first.wait_for(timeout=90_000)
        assert page.get_by_text("POSITIVE").first.is_visible()
        page.screenshot(path=shot("screenshot.png"), full_page=True)
        raw = page.locator(".cm-content").filter(has_text="exchanges").first
        raw.wait_for(timeout=90_000)
        assert "https://router.huggingface.co/hf-inference/models/distilbert" in raw.inner_text()
        assert "Bearer [redacted]" in raw.inner_text()
        assert TOKEN not in page.content()


def test_a_link_opens_its_task_and_every_task_tab_is_in_view(app, fake):
    with browser_page(width=1024) as page:  # a small laptop window
        page.goto(app.local_url + "?task=object-detection")
        # the linked tab is built once the page has opened it: a round trip more than the first task
        page.get_by_text("facebook/detr-resnet-50 · object-detection").first.wait_for(timeout=90_000)
        assert page.locator("[role=tab][aria-selected=true]").filter(visible=True).all_inner_texts() == [
            "Vision", "Object detection"]
        for group in GROUPS:  # no tab hides behind "More tabs": a row too long wraps
            page.get_by_role("tab", name=group, exact=True).click()
            for task in (t for t in TASKS.values() if t.group == group):
                assert page.get_by_role("tab", name=task.label, exact=True).is_visible(), task.label
            assert not page.get_by_role("button", name="More tabs").filter(visible=True).count()
