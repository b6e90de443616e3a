"""Whose runs a browser sees, in real browsers: two profiles of one Hub user (the token pasted and checked in
each) see each other's runs in History; a third profile, another user's, sees none of them."""

from __future__ import annotations

from playground import ledger
from tests.browser import ARGS, CHROMIUM, check_token, open_history, open_task, pick_dropdown
from tests.test_owners import as_user

import pytest


def test_two_profiles_of_one_hub_user_share_runs_and_another_user_sees_none(app, fake):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            laptop, desktop, stranger = (browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                                         for _ in range(3))
            laptop.goto(app.local_url)
            check_token(laptop, as_user("carol"), "carol")
            panel = open_task(laptop, "Text classification")
            pick_dropdown(laptop, "Provider", "hf-inference")
            panel.get_by_label("Text", exact=True).fill("carol wrote this on her laptop")
            panel.get_by_role("button", name="Run", exact=True).click()
            panel.get_by_text("served by hf-inference").first.wait_for(timeout=90_000)
            assert ledger.current().flush(10)

            desktop.goto(app.local_url)
            assert "No runs yet" in open_history(desktop, app)  # a new profile: nothing of carol's yet
            desktop.goto(app.local_url)
            check_token(desktop, as_user("carol"), "carol")  # carol's token, checked here too
            counts = open_history(desktop, app)
            assert "Runs 1–1 of 1" in counts and "Hub user carol" in counts, counts
            assert "text-classification" in desktop.locator(".history-table").inner_text()

            stranger.goto(app.local_url)
            check_token(stranger, as_user("dave"), "dave")
            counts = open_history(stranger, app)
            assert "No runs yet" in counts and "carol" not in stranger.content(), counts
        finally:
            browser.close()
