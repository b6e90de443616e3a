"""Usage & cost in a real browser: two chat turns on the fake router, then the Usage page (its own route) shows
the day's estimated cost, priced from the router's table the chat tab's providers came with, and its plots."""

from __future__ import annotations

import json
import re
import secrets
from datetime import datetime, timezone

from playground import ledger
from playground.pages.usage import money
from tests.browser import browser_page, chat_status, pick_dropdown, shot, task_panel

# A Hub user of this test's own (the fake Hub's ``hf_as_<name>_…``): a checked token links the browser to its
# Hub user's runs, so the day's total must not count other tests' runs made as the shared fake user.
USER = f"usage{secrets.token_hex(4)}"
TOKEN = f"hf_as_{USER}_" + "u" * 24
SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct"  # the chat tab's default model; the fake router: together $0.06/$0.06


def test_two_chat_turns_then_the_days_cost_on_the_usage_page(app, fake):
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    with browser_page(height=1200) as page:
        page.goto(app.local_url)
        page.get_by_text(f"{SMOL} · text-generation").first.wait_for(timeout=90_000)
        page.get_by_label("Hugging Face token").fill(TOKEN)
        chat = task_panel(page)
        chat.locator(".providers-table").get_by_text("$0.06").first.wait_for(timeout=90_000)  # the router's prices
        pick_dropdown(page, "Provider", "together")
        chat.get_by_role("button", name="Parameters").click()  # shown, blank parameter boxes must still send nothing
        chat.get_by_placeholder("(server default)").first.wait_for(timeout=90_000)
        spent, tokens = 0.0, 0
        for turn, text in enumerate(("What is the capital of France?", "And of Italy?"), start=1):
            chat.get_by_placeholder("Ask anything").first.fill(text)
            chat.get_by_role("button", name="Send", exact=True).click()
            line = chat_status(chat, "together", replies=turn)  # (the two turns' lines can be the same)
            chat.locator(".message").filter(has_text=text).first.wait_for(timeout=90_000)  # the turn is in the chat
            prompt, completion = map(int, re.search(r"(\d+) in / (\d+) out tokens", line).groups())
            spent += (prompt + completion) * 0.06 / 1e6
            tokens += prompt + completion
        sent = [json.loads(r.body) for r in fake.received if r.path.endswith("/chat/completions") and r.body]
        assert sent and not {"temperature", "top_p", "seed"} & set(sent[-1]), sent[-1]  # blank boxes send nothing
        assert ledger.current().flush(10)  # written off the request path: wait for it before reading

        page.goto(app.local_url.rstrip("/") + "/usage")
        summary = page.locator(".usage-summary")
        summary.get_by_text(f"Today ({today})").first.wait_for(timeout=90_000)
        line = summary.locator("p").filter(has_text=f"Today ({today})").first.inner_text()
        assert line == f"Today ({today}): 2 calls · {tokens:,} tokens · {money(spent)} estimated · 0 errors", line
        for plot in (".usage-cost-per-day", ".usage-calls-per-day", ".usage-cost-by-model", ".usage-latency"):
            page.locator(f"{plot} canvas, {plot} svg").first.wait_for(timeout=90_000)
        plan = page.locator(".prose.usage-plan")  # the token line checked the token: its user's plan, from that answer
        plan.get_by_text(f"Plan of {USER}").first.wait_for(timeout=90_000)
        said = " ".join(plan.inner_text().split())
        assert f"Plan of {USER}: Free · included monthly credits: none: runs are paid with purchased pay-as-you-go " \
               "credits (per the Inference Providers pricing page as of 2025-11)" in said, said
        assert f"This month ({today[:7]}, UTC): {money(spent)} estimated, with no included credits." in said, said
        page.screenshot(path=shot("usage.png"), full_page=True)
        table = " ".join(page.locator(".usage-table").inner_text().split())
        assert f"together 2 0 {tokens} {money(spent)} 0 " in table, table  # provider, calls, errors, tokens, cost, unknown
        assert TOKEN not in page.content()
