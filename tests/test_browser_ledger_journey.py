"""Issue 10's "Done when", as one journey in real browsers: a person runs three tasks (a priced chat, a text
classification, a text to image), reloads the page, finds the runs in History, reopens one, exports its card, opens
the card in a fresh browser profile and reruns it, and sees the day's cost on the Usage page: the sum of the
ledger's estimates for their runs, not zero."""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime, timezone

import pytest

from playground import ledger
from playground.pages.usage import money
from tests.browser import (ARGS, CHROMIUM, chat_status, check_token, history_tasks, open_history, open_task,
                           pick_dropdown, run_example, shot, task_panel)

# A Hub user of this journey's own (the fake Hub's ``hf_as_<name>_…``): the day's total counts only their runs.
USER = f"ledger{secrets.token_hex(4)}"
TOKEN = f"hf_as_{USER}_" + "l" * 24
QUESTION = "What is the capital of France?"


def _ledger_today(expect: int = 0) -> list[ledger.RunSummary]:
    """The user's runs recorded today (UTC), read from the ledger itself, once there are ``expect`` (a run is
    recorded off the request path, when its stream has ended: the page may show its status line a moment before)."""
    store = ledger.current()
    midnight = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    end = time.monotonic() + 30
    while True:
        assert store.flush(30)
        runs = store.list_runs(ledger.Owner("", USER), since=midnight, limit=100).runs
        if len(runs) >= expect or time.monotonic() > end:
            return runs
        time.sleep(0.2)


def test_three_tasks_history_reopen_card_in_a_fresh_profile_and_the_days_cost(app, fake, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 1100}, accept_downloads=True).new_page()
            page.goto(app.local_url)
            check_token(page, TOKEN, USER)

            # three tasks: a chat on together (priced from the router's table its providers came with), then two
            # tasks from their examples
            chat = open_task(page, "Chat")
            chat.locator(".providers-table").get_by_text("$0.06").first.wait_for(timeout=90_000)
            pick_dropdown(page, "Provider", "together")
            chat.get_by_placeholder("Ask anything").first.fill(QUESTION)
            chat.get_by_role("button", name="Send", exact=True).click()
            chat_status(chat, "together")
            run_example(page, open_task(page, "Text classification"), "hf-inference")
            run_example(page, open_task(page, "Text to image"), "hf-inference")
            assert ledger.current().flush(30)

            # the runs outlive the page: found in History
            page.reload()
            page.get_by_role("link", name="History").first.click()
            page.locator(".prose.history-counts").get_by_text("Runs 1–3 of 3").wait_for(timeout=90_000)
            assert history_tasks(page) == ["text-to-image", "text-classification", "chat-completion"]

            # the chat run: its detail, its card, then reopened in its tab
            page.locator(".history-table [role=row]").nth(3).get_by_text("chat-completion").first.click()
            detail = page.locator(".prose.history-run")
            detail.get_by_text(QUESTION).first.wait_for(timeout=90_000)
            page.screenshot(path=shot("ledger-journey-history.png"), full_page=True)
            with page.expect_download() as caught:
                page.get_by_role("button", name="Download run card").click()
            card_path = tmp_path / "card.json"
            caught.value.save_as(card_path)
            card = json.loads(card_path.read_text())
            assert card["task"] == "chat-completion" and card["provider"]["served"] == "together", card
            assert TOKEN not in card_path.read_text()
            page.get_by_text("Open in its tab").first.click()
            page.wait_for_url("**/?run=*", timeout=90_000)
            page.get_by_text("Reopened").first.wait_for(timeout=90_000)
            reopened = task_panel(page)
            reopened.locator(".message").filter(has_text=QUESTION).first.wait_for(timeout=90_000)
            assert page.get_by_label("Provider", exact=True).first.input_value() == "together"

            # a fresh browser profile (no storage): the card dropped on the page opens the chat, asked again
            fresh = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
            fresh.goto(app.local_url)
            check_token(fresh, TOKEN, USER)
            with fresh.expect_file_chooser() as chooser:
                fresh.get_by_role("button", name="Open a run card").click()
            chooser.value.set_files(str(card_path))
            fresh.get_by_text("Reopened").first.wait_for(timeout=90_000)
            chat = task_panel(fresh)
            chat.locator(".message").filter(has_text=QUESTION).first.wait_for(timeout=90_000)
            chat.get_by_role("button", name="↻ Retry the last message").click()
            _ledger_today(expect=4)  # the retried turn is recorded (its status line may read exactly as the first's:
            chat_status(chat, "together")  # the fake's token counts are fixed), and the page says whose it was

            # the day's cost on the dashboard: the sum of the ledger's estimates for the four runs
            runs = _ledger_today(expect=4)
            assert sorted(r.task for r in runs) == ["chat-completion", "chat-completion", "text-classification",
                                                    "text-to-image"], runs
            priced = [r.cost_usd for r in runs if r.cost_usd is not None]
            spent, tokens = sum(priced), sum(r.total_tokens or 0 for r in runs)
            assert len(priced) == 2 and spent > 0, runs
            fresh.goto(app.local_url.rstrip("/") + "/usage")
            summary = fresh.locator(".usage-summary")
            summary.get_by_text(f"Today ({today})").first.wait_for(timeout=90_000)
            line = summary.locator("p").filter(has_text=f"Today ({today})").first.inner_text()
            assert line == (f"Today ({today}): 4 calls · {tokens:,} tokens · {money(spent)} estimated · 0 errors · "
                            "2 runs of unknown cost (not in the sum)"), line
            fresh.locator(".usage-cost-per-day canvas, .usage-cost-per-day svg").first.wait_for(timeout=90_000)
            plan = fresh.locator(".prose.usage-plan")
            plan.get_by_text(f"Plan of {USER}").first.wait_for(timeout=90_000)
            fresh.screenshot(path=shot("ledger-journey-usage.png"), full_page=True)
            assert TOKEN not in fresh.content()
        finally:
            browser.close()
