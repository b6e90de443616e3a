"""The run ledger's journey in a real browser: run three tasks, reload, find the runs in History, reopen one (its
tab filled), download its card and the exported history (neither holds the token); a second browser profile sees
none of the first's runs, and opens the card there, filled and ready to run again; once the same token is checked
there, that profile is linked to the token's Hub user (``owners``) and sees the user's runs from both profiles."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from playground import ledger
from tests.browser import (ARGS, CHROMIUM, history_rows, history_tasks, open_history, open_task, run_example, shot,
                           task_panel)


# A Hub user of this module's own (the fake Hub's ``hf_as_<name>_…``): a checked token links the browser to its Hub
# user's runs, so History must not list other tests' runs made as the shared fake user.
TOKEN = f"hf_as_journey{secrets.token_hex(4)}_" + "j" * 24


def test_three_runs_found_in_history_reopened_and_carried_to_another_profile(app, fake, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            first = browser.new_context(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
            page = first.new_page()
            page.goto(app.local_url)
            page.get_by_label("Hugging Face token").fill(TOKEN)
            run_example(page, open_task(page, "Text classification"), "hf-inference")
            run_example(page, open_task(page, "Image classification"), "hf-inference")
            run_example(page, open_task(page, "Token classification (NER)"), "hf-inference")
            ledger.current().flush()

            page.reload()  # the runs outlive the page
            page.get_by_role("link", name="History").first.click()
            page.locator(".prose.history-counts").get_by_text("Runs 1–3 of 3").wait_for(timeout=90_000)
            rows = history_rows(page)
            assert history_tasks(page) == ["token-classification", "image-classification", "text-classification"], rows
            assert all({"✅ ok", "unknown", "hf-inference"} <= set(r) for r in rows), rows

            # the text classification run: its detail, its card
            page.locator(".history-table [role=row]").nth(3).get_by_text("text-classification").first.click()
            detail = page.locator(".prose.history-run")
            detail.get_by_text("Text classification").first.wait_for(timeout=90_000)
            assert "I like you. I love you" in detail.inner_text()
            page.screenshot(path=shot("history.png"), full_page=True)
            with page.expect_download() as caught:
                page.get_by_role("button", name="Download run card").click()
            card_path = tmp_path / "card.json"
            caught.value.save_as(card_path)
            card_text = card_path.read_text()
            card = json.loads(card_text)
            assert card["task"] == "text-classification" and card["request"]["inputs"]["text"] == "I like you. I love you"
            assert TOKEN not in card_text

            # the filtered history, exported
            page.get_by_label("Search").fill("love")
            page.get_by_label("Search").press("Enter")
            page.locator(".prose.history-counts").get_by_text("Runs 1–1 of 1").wait_for(timeout=90_000)
            page.get_by_role("button", name="Export the filtered history").click()
            link = page.locator("a[href*='history.jsonl']").first
            link.wait_for(timeout=90_000)
            with page.expect_download() as caught:
                link.click()
            exported = Path(caught.value.path()).read_text()
            assert [json.loads(line)["task"] for line in exported.splitlines()] == ["text-classification"]
            assert TOKEN not in exported

            # reopened in its tab (the search closed the detail: select the run again): the task open, its
            # input, model and provider restored
            page.locator(".history-table [role=row]").nth(1).get_by_text("text-classification").first.click()
            detail.get_by_text("Text classification").first.wait_for(timeout=90_000)
            page.get_by_text("Open in its tab").first.click()
            page.wait_for_url("**/?run=*", timeout=90_000)
            page.get_by_text("Reopened").first.wait_for(timeout=90_000)
            assert page.locator("[role=tab][aria-selected=true]").filter(visible=True).all_inner_texts() == [
                "Text analysis", "Text classification"]
            panel = task_panel(page)
            assert panel.get_by_label("Text", exact=True).input_value() == "I like you. I love you"
            assert page.get_by_label("Provider", exact=True).first.input_value() == "hf-inference"
            page.screenshot(path=shot("history-reopened.png"))  # the page: a panel still settling cannot be shot

            # another browser profile: none of these runs, and not the run by its link either
            other = browser.new_context(viewport={"width": 1400, "height": 1100})
            stranger = other.new_page()
            open_history(stranger, app)
            assert "No runs yet" in stranger.locator(".prose.history-counts").inner_text()
            assert not history_tasks(stranger)
            stranger.goto(app.local_url.rstrip("/") + f"/?run={card['id']}")
            stranger.get_by_text("not in this browser's history").first.wait_for(timeout=90_000)
            assert stranger.get_by_text("Reopened").count() == 0

            # ...but the card, dropped on the page, opens its tab filled: run it again
            with stranger.expect_file_chooser() as chooser:
                stranger.get_by_role("button", name="Open a run card").click()
            chooser.value.set_files(str(card_path))
            stranger.get_by_text("Reopened").first.wait_for(timeout=90_000)
            panel = task_panel(stranger)
            assert panel.get_by_label("Text", exact=True).input_value() == "I like you. I love you"
            stranger.get_by_label("Hugging Face token").fill(TOKEN)
            panel.get_by_role("button", name="Run", exact=True).click()
            panel.get_by_text("served by hf-inference").first.wait_for(timeout=90_000)
            ledger.current().flush()
            open_history(stranger, app)
            # the run just made, then the three of the first profile: the same Hub user's (the checked token)
            assert history_tasks(stranger) == ["text-classification", "token-classification", "image-classification",
                                        "text-classification"]
        finally:
            browser.close()


def test_the_tab_downloads_the_card_of_its_last_run(app, fake, tmp_path):
    """A run's card, from its own tab: no trip to History."""
    from tests.browser import browser_page

    with browser_page(height=1200) as page:
        page.context.set_default_timeout(90_000)
        page.goto(app.local_url)
        page.get_by_label("Hugging Face token").fill(TOKEN)
        panel = open_task(page, "Text classification")
        panel.get_by_role("button", name="⬇️ Run card").click()  # before any run: says so, downloads nothing
        page.get_by_text("No run card yet: run the task first").first.wait_for(timeout=90_000)
        run_example(page, panel, "hf-inference")
        with page.expect_download(timeout=90_000) as caught:
            panel.get_by_role("button", name="⬇️ Run card").click()
        path = tmp_path / caught.value.suggested_filename
        caught.value.save_as(path)
    text = path.read_text()
    card = json.loads(text)
    assert path.name == f"run-{card['id']}.json"
    assert card["task"] == "text-classification" and card["request"]["inputs"]["text"] == "I like you. I love you"
    assert TOKEN not in text
