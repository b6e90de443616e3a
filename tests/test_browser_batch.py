"""The Batch page in a real browser: an example CSV through text classification to its accuracy and confusion
matrix and a download; a JSONL through two chat models; a pause and a resume (against the fake router)."""

from __future__ import annotations

import csv
import io
import time

from playground import ledger
from tests.browser import browser_page, pick_dropdown, shot
from tests.conftest import TOKEN
from tests.test_batch import CLASSIFY, labels, model_calls


def open_batch_page(page, app) -> None:
    page.goto(app.local_url.rstrip("/") + "/batch")
    page.get_by_role("heading", name="📦 Batch").wait_for(timeout=90_000)
    page.get_by_label("Hugging Face token").fill(TOKEN)
    page.get_by_label("Hugging Face token").press("Enter")  # the token goes to this tab's session state


def set_concurrency(page, n: int) -> None:
    page.get_by_text("Fixed inputs, parameters and concurrency").click()
    box = page.get_by_label("number input for Concurrency (requests at once, to start with)")
    box.fill(str(n))
    box.press("Enter")


def wait_for_text(locator, text: str, timeout: float = 90.0) -> str:
    locator = locator.first  # (a Markdown's class is on its wrapper and on its body)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        shown = locator.inner_text()
        if text in shown:
            return shown
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared in {locator.inner_text()!r}")


def test_a_csv_through_text_classification_to_accuracy_confusion_and_download(app, fake):
    fake.script(CLASSIFY, labels("POSITIVE", "NEGATIVE", "NEGATIVE", "NEGATIVE", "POSITIVE", "NEGATIVE",
                                 "POSITIVE", "POSITIVE"))
    fake.chaos(latency_s=0.15)
    with browser_page(height=1400) as page:
        open_batch_page(page, app)
        page.get_by_text("Reviews → sentiment (accuracy)").click()
        page.locator(".batch-preview").get_by_text("I loved this film, the acting was superb.").wait_for(timeout=90_000)
        plan = wait_for_text(page.locator(".batch-plan"), "8 requests")
        assert "Duration" in plan and "Cost" in plan
        set_concurrency(page, 1)  # one at a time: the scripted answers reach the rows in order
        page.locator(".batch-start").click()
        progress = page.locator(".batch-progress")
        first = wait_for_text(progress, "requests")
        assert "Running" in first or "Done" in first  # the bar and the counts show while it runs
        page.locator('[role="progressbar"]').wait_for(timeout=90_000)
        done = wait_for_text(progress, "Done")
        assert "8 / 8" in done and "8 ok" in done and "0 errors" in done
        checks = " ".join(wait_for_text(page.locator(".batch-checks"), "accuracy").split())
        assert "accuracy 75.0% (6/8)" in checks  # expected P N P N P N P N, answered P N N N P N P P
        page.locator(".batch-confusion canvas, .batch-confusion svg").first.wait_for(timeout=90_000)
        results = page.locator(".batch-results").first
        results.get_by_text("The soup was cold and far too salty.").wait_for(timeout=90_000)
        page.screenshot(path=shot("batch.png"), full_page=True)
        page.get_by_role("button", name="⬇️ Download the results").click()
        link = page.locator('.batch-export a[download="batch-results.csv"]').first
        link.wait_for(timeout=90_000)
        with page.expect_download() as download:
            link.click()
        rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
        assert [r["output"] for r in rows] == ["POSITIVE", "NEGATIVE", "NEGATIVE", "NEGATIVE", "POSITIVE", "NEGATIVE",
                                               "POSITIVE", "POSITIVE"]
        assert {r["status"] for r in rows} == {"ok"} and len(model_calls(fake)) == 8
        sent = {r.headers.get("authorization") or r.headers.get("Authorization") for r in model_calls(fake)}
        assert sent == {f"Bearer {TOKEN}"}  # the token pasted on this page, from its session state
        assert TOKEN not in page.content()


def test_a_jsonl_through_two_chat_models(app, fake):
    with browser_page(height=1400) as page:
        open_batch_page(page, app)
        page.get_by_text("Prompts → chat").click()
        page.locator(".batch-preview").get_by_text("What is the capital of France?").wait_for(timeout=90_000)
        page.get_by_text("More models: a matrix of rows × models").click()
        page.get_by_label("One more model per line: model, provider, revision").fill("Qwen/Qwen2.5-7B-Instruct, together")
        wait_for_text(page.locator(".batch-plan"), "8 requests")  # 4 prompts × 2 models
        page.locator(".batch-start").click()
        done = wait_for_text(page.locator(".batch-progress"), "Done")
        assert "8 / 8" in done and "8 ok" in done
        checks = page.locator(".batch-checks")
        wait_for_text(checks, "Qwen/Qwen2.5-7B-Instruct · together")
        header = " ".join(checks.first.locator("th").all_inner_texts())
        assert "HuggingFaceTB/SmolLM2-135M-Instruct · auto" in header  # each check per model, side by side
        assert "exact match" in checks.first.inner_text()
        wait_for_text(page.locator(".batch-results"), "Paris")
        page.screenshot(path=shot("batch-matrix.png"), full_page=True)


def test_pause_then_resume_sends_every_row_once(app, fake):
    fake.chaos(latency_s=1.0)  # eight rows one at a time: eight seconds, time enough to pause
    with browser_page(height=1400) as page:
        open_batch_page(page, app)
        page.get_by_text("Reviews → sentiment (accuracy)").click()
        wait_for_text(page.locator(".batch-plan"), "8 requests")
        set_concurrency(page, 1)
        page.locator(".batch-start").click()
        progress = page.locator(".batch-progress")
        wait_for_text(progress, "Running")
        page.get_by_role("button", name="⏸ Pause").click()

        wait_for_text(progress, "Paused")
        time.sleep(0.6)  # the row in flight ends
        paused_at = len(model_calls(fake))
        time.sleep(1.2)
        assert len(model_calls(fake)) == paused_at < 8  # nothing is sent while paused
        page.screenshot(path=shot("batch-paused.png"), full_page=True)
        page.get_by_role("button", name="⏯ Resume").click()
        done = wait_for_text(progress, "Done")
        assert "8 / 8" in done
    assert len(model_calls(fake)) == 8
    assert ledger.current().flush(10)


def test_a_private_hub_dataset_loaded_with_the_keyboard_runs_to_done(app, fake):
    from playground import hub

    hub.clear_cache()
    with browser_page(height=1400) as page:
        open_batch_page(page, app)  # the token goes to this tab's session state: it reads the private dataset
        pick_dropdown(page, "Provider", "hf-inference")  # (the default model, SST-2, for text classification)
        opener = page.locator(".batch-hub button.label-wrap").first
        assert "From the Hub" in opener.inner_text()
        opener.focus()
        page.keyboard.press("Enter")  # the accordion opens from the keyboard
        repo = page.get_by_label("Dataset (repo id)")
        repo.wait_for(timeout=90_000)
        repo.focus()
        page.keyboard.type("acme-corp/private-tickets")
        page.keyboard.press("Enter")  # Enter in the repo box loads it (split: train, revision: main)
        wait_for_text(page.locator(".batch-hub-note"), "Read acme-corp/private-tickets")
        note = page.locator(".batch-hub-note").first.inner_text()
        assert "data/train-00000-of-00001.parquet" in note and "main" in note  # which file was read, and where
        page.locator(".batch-preview").get_by_text("My invoice is wrong, please fix it.").filter(visible=True).first.wait_for(timeout=90_000)
        wait_for_text(page.locator(".batch-info"), "2 rows")
        wait_for_text(page.locator(".batch-plan"), "2 requests")
        page.screenshot(path=shot("batch-hub.png"), full_page=True)
        page.locator(".batch-start").click()
        done = wait_for_text(page.locator(".batch-progress"), "Done")
        assert "2 / 2" in done and "2 ok" in done
        checks = " ".join(wait_for_text(page.locator(".batch-checks"), "accuracy").split())
        assert "accuracy 50.0% (1/2)" in checks  # the fake says POSITIVE; expected: the dataset's label column
        assert TOKEN not in page.content()
    sent = {r.headers.get("authorization") or r.headers.get("Authorization")
            for r in fake.received if "/datasets/acme-corp/private-tickets/" in r.path}
    assert sent == {f"Bearer {TOKEN}"}  # the tree, the HEAD and the download: the token pasted on this page
    hub.clear_cache()
