"""Whose runs a browser sees, in real browsers: two profiles of one Hub user (the token pasted and checked in
each) see each other's runs in History; a third profile, another user's, sees none of them."""

from __future__ import annotations

import time

from playground import ledger
from tests.browser import ARGS, CHROMIUM, open_task, pick_dropdown
from tests.test_owners import as_user

import pytest


def _links(user: str) -> int:
    """How many browsers the ledger has linked to the Hub user."""
    import sqlalchemy as sa

    from playground.ledger.schema import owner_users

    store = ledger.current()
    store.flush(10)
    with store._connect() as conn:
        return conn.execute(sa.select(sa.func.count()).where(owner_users.c.hub_user == user)).scalar()


def _paste(page, token: str, user: str) -> None:
    before = _links(user)
    box = page.get_by_label("Hugging Face token")
    box.fill(token)
    box.press("Enter")  # the token line checks it (whoami)
    page.locator(".token-status").get_by_text(f"Token of {user}").first.wait_for(timeout=90_000)
    end = time.monotonic() + 60  # the link is written by the step after the check: wait for it, then go on
    while _links(user) == before and time.monotonic() < end:
        time.sleep(0.2)


def _history_counts(page, app) -> str:
    page.goto(app.local_url.rstrip("/") + "/history")
    counts = page.locator(".prose.history-counts")
    counts.get_by_text("Runs", exact=False).or_(counts.get_by_text("No run", exact=False)).first.wait_for(timeout=90_000)
    return counts.inner_text()


def test_two_profiles_of_one_hub_user_share_runs_and_another_user_sees_none(app, fake):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            laptop, desktop, stranger = (browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                                         for _ in range(3))
            laptop.goto(app.local_url)
            _paste(laptop, as_user("carol"), "carol")
            panel = open_task(laptop, "Text classification")
            pick_dropdown(laptop, "Provider", "hf-inference")
            panel.get_by_label("Text", exact=True).fill("carol wrote this on her laptop")
            panel.get_by_role("button", name="Run", exact=True).click()
            panel.get_by_text("served by hf-inference").first.wait_for(timeout=90_000)
            assert ledger.current().flush(10)

            desktop.goto(app.local_url)
            assert "No runs yet" in _history_counts(desktop, app)  # a new profile: nothing of carol's yet
            desktop.goto(app.local_url)
            _paste(desktop, as_user("carol"), "carol")  # carol's token, checked here too
            counts = _history_counts(desktop, app)
            assert "Runs 1–1 of 1" in counts and "Hub user carol" in counts, counts
            assert "text-classification" in desktop.locator(".history-table").inner_text()

            stranger.goto(app.local_url)
            _paste(stranger, as_user("dave"), "dave")
            counts = _history_counts(stranger, app)
            assert "No runs yet" in counts and "carol" not in stranger.content(), counts
        finally:
            browser.close()
