"""Two app replicas on one PostgreSQL database (the README's "Run it for a team"): a run recorded by one is
listed by the other. Each replica is its own process (tests/replica.py); they share the database URL and
PLAYGROUND_OWNER_SECRET, as replicas behind a reverse proxy do."""

from __future__ import annotations

import os
import secrets
import time

import pytest

from tests import replica
from tests.test_ledger import postgres  # noqa: F401 - the session's PostgreSQL server
from tests.test_owners import as_user

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # two app processes and a browser
SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"


def _paste(page, token: str, user: str) -> None:
    box = page.get_by_label("Hugging Face token")
    box.fill(token)
    box.press("Enter")  # the token line checks it, and links this browser to the user
    page.locator(".token-status").get_by_text(f"Token of {user}").first.wait_for(timeout=120_000)
    page.wait_for_timeout(1000)


def test_a_run_recorded_by_one_replica_is_listed_by_the_other(fake_hf, postgres, tmp_path):  # noqa: F811
    from playground import ledger

    role = postgres.create_role()
    env = {**os.environ, "PLAYGROUND_DATABASE_URL": postgres.url(role), "FAKE_HF_URL": fake_hf.url,
           "PLAYGROUND_OWNER_SECRET": secrets.token_hex(32), "PLAYGROUND_DATA_DIR": str(tmp_path)}
    replicas = []
    try:
        replicas = [replica.start(env) for _ in range(2)]
        (one, one_url), (other, other_url) = replicas
        token = as_user("erin")
        from tests.browser import ARGS, CHROMIUM, open_task, pick_dropdown

        sync_api = pytest.importorskip("playwright.sync_api")
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                # erin runs a task on the first replica
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(one_url)
                _paste(page, token, "erin")
                panel = open_task(page, "Text classification")
                pick_dropdown(page, "Provider", "hf-inference")
                panel.get_by_label("Text", exact=True).fill("recorded by replica one")
                panel.get_by_role("button", name="Run", exact=True).click()
                panel.get_by_text("served by hf-inference").first.wait_for(timeout=120_000)
                store = ledger.Ledger(postgres.url(role))
                try:  # written by the first replica's writer, off the request path
                    end = time.monotonic() + 30
                    while time.monotonic() < end and not store.list_runs(ledger.Owner("", "erin")).total:
                        time.sleep(0.2)
                finally:
                    store.close()
                # ...and finds it in the other replica's History
                page.goto(other_url)
                _paste(page, token, "erin")
                page.goto(other_url.rstrip("/") + "/history")
                page.locator(".prose.history-counts").get_by_text("Runs 1–1 of 1").wait_for(timeout=120_000)
                page.locator(".history-table [role=row]").nth(1).get_by_text("text-classification").first.click()
                page.locator(".prose.history-run").get_by_text("recorded by replica one").first.wait_for(timeout=60_000)
            finally:
                browser.close()
    finally:
        for proc, _ in replicas:
            replica.stop(proc)
        postgres.drop_role(role)
