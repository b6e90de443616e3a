"""The spend guard in a real browser: budgets in Advanced settings (kept across a reload), a chat turn whose
estimate would pass the session's budget asks first, and "Run anyway" sends it."""

from __future__ import annotations

import pytest

from playground import ledger
from tests.browser import browser_page, pick_dropdown, shot, task_panel
from tests.conftest import TOKEN

SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct"  # the chat tab's default model; the fake router: together $0.06/$0.06


def test_a_turn_past_the_session_budget_asks_first_and_run_anyway_sends_it(app, fake):
    with browser_page(height=1300) as page:
        page.goto(app.local_url)
        page.get_by_text(f"{SMOL} · text-generation").first.wait_for(timeout=90_000)
        page.get_by_text("Advanced: retries, timeouts, failover").click()
        budget = page.get_by_label("Spend guard: budget per session (USD)")
        budget.fill("0.00001")  # one turn is about $0.0000012 spent, estimated at about $0.000016 (the 256 max tokens out)
        budget.press("Tab")
        page.wait_for_function("() => localStorage.getItem('hf-playground-spend-guard') !== null",
                               timeout=90_000)  # kept in this browser (encrypted by Gradio: its presence is seen)
        page.reload()  # the budget is this browser's preference
        page.get_by_text(f"{SMOL} · text-generation").first.wait_for(timeout=90_000)
        page.get_by_text("Advanced: retries, timeouts, failover").click()
        page.wait_for_function("""() => [...document.querySelectorAll('.spend-guard input')]
                                  .some(i => i.value === '0.00001')""", timeout=90_000)
        page.get_by_label("Hugging Face token").fill(TOKEN)
        chat = task_panel(page)
        chat.locator(".providers-table").get_by_text("$0.06").first.wait_for(timeout=90_000)  # the price table
        pick_dropdown(page, "Provider", "together")
        chat.get_by_placeholder("Ask anything").first.fill("What is the capital of France?")
        chat.get_by_role("button", name="Send", exact=True).click()
        status = chat.locator(".status-line").first
        status.get_by_text("Not run yet: the spend guard asks first").wait_for(timeout=90_000)
        assert "session budget of $0.00001" in status.inner_text()
        anyway = chat.get_by_role("button", name="Run anyway")
        anyway.wait_for(timeout=90_000)
        chat.screenshot(path=shot("spend-guard.png"))
        assert ledger.current().flush(10)
        anyway.click()
        status.get_by_text("served by together").wait_for(timeout=90_000)
        chat.locator(".message").filter(has_text="What is the capital of France?").first.wait_for(timeout=90_000)
        anyway.wait_for(state="hidden", timeout=90_000)
