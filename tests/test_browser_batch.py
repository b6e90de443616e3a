"""The Batch page in a real browser: an example CSV through text classification to its accuracy and confusion
matrix and a download; a JSONL through two chat models; a pause and a resume; an app killed mid-batch and
started again, which resumes without sending a recorded row again (against the fake router)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import time
from collections import Counter

from playground import ledger
from tests import replica
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
        wait_for_text(page.locator(".batch-checks"), "appear here once it runs")
        # before a file and a batch: no empty table headed "1 2 3", no empty chart
        assert page.locator(".batch-preview, .batch-results, .batch-confusion").filter(visible=True).count() == 0
        page.screenshot(path=shot("batch-empty.png"), full_page=True)
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


def test_embeddings_go_eight_rows_to_a_request_and_each_row_is_its_own_run(app, fake, tmp_path):
    texts = [f"Sentence number {i} to embed." for i in range(20)]
    data = tmp_path / "sentences.csv"
    data.write_text("text\n" + "\n".join(texts) + "\n")
    with browser_page(height=1400) as page:
        open_batch_page(page, app)
        pick_dropdown(page, "Task", "Feature extraction (embeddings)")
        pick_dropdown(page, "Provider", "hf-inference")
        page.locator(".batch-file input[type=file]").set_input_files(str(data))
        plan = wait_for_text(page.locator(".batch-plan"), "router calls")
        assert "20 requests" in plan and "up to 8 rows per request, so 3 router calls" in " ".join(plan.split())
        page.get_by_text("Fixed inputs, parameters and concurrency").click()
        note = page.locator(".batch-bundling").first
        assert "Feature extraction (embeddings) on" in note.inner_text() and "hf-inference" in note.inner_text()
        page.screenshot(path=shot("batch-bundling.png"), full_page=True)
        page.locator(".batch-start").click()
        done = wait_for_text(page.locator(".batch-progress"), "Done")
        assert "20 / 20" in done and "20 ok" in done
        wait_for_text(page.locator(".batch-results"), texts[-1])
    calls = [r for r in fake.received if r.method == "POST" and "/pipeline/feature-extraction" in r.path]
    assert sorted(len(json.loads(c.body)["inputs"]) for c in calls) == [4, 8, 8]
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


def _batch_runs(data_dir) -> list[tuple[str, str]]:
    """(row key, status) of every batch run in the ledger file of an app's data directory, read directly (the app
    that wrote them may be dead)."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(f"file:{data_dir / ledger.DATABASE_FILE}?mode=ro", uri=True)) as db:
        return db.execute("SELECT batch_row, status FROM ledger_runs WHERE batch_id IS NOT NULL").fetchall()


def _sent(fake) -> Counter:
    """How many times the fake router was sent each text (the rows' inputs)."""
    return Counter(json.loads(r.body)["inputs"] for r in model_calls(fake))


def test_an_app_killed_mid_batch_resumes_after_a_restart_without_sending_a_recorded_row_again(fake, tmp_path):
    """The app runs in its own process on its own data directory; it is killed (SIGKILL: no clean shutdown) after
    some rows are recorded, and started again on the same directory and port (the same origin: the browser keeps
    its owner key). The batch is listed as interrupted, opened and resumed.

    What the code promises: a row whose run is in the ledger is never sent again. A row in flight at the kill, or
    finished but not yet written (the ledger writes off the request path, within ~50 ms), has no record: it is
    sent again, so it may reach the router twice. Every row ends with exactly one run in the ledger."""
    rows = 12
    texts = [f"Review number {i}: the film was fine." for i in range(rows)]
    data = tmp_path / "twelve.csv"
    data.write_text("text\n" + "\n".join(texts) + "\n")
    home = tmp_path / "app-data"
    env = {**os.environ, "FAKE_HF_URL": fake.url, "PLAYGROUND_DATA_DIR": str(home)}
    env.pop("PLAYGROUND_OWNER_SECRET", None)  # the owner key is signed with the secret kept in the data directory
    fake.chaos(latency_s=1.0)  # two rows at a time, one second each: six seconds, time enough to kill it midway
    port = replica.free_port()
    proc, url = replica.start(env, port)
    try:
        with browser_page(height=1400) as page:
            page.goto(url.rstrip("/") + "/batch")
            page.get_by_role("heading", name="📦 Batch").wait_for(timeout=90_000)
            _paste_token(page)
            pick_dropdown(page, "Provider", "hf-inference")
            page.locator(".batch-file input[type=file]").set_input_files(str(data))
            wait_for_text(page.locator(".batch-plan"), f"{rows} requests")
            set_concurrency(page, 2)
            page.locator(".batch-start").click()
            wait_for_text(page.locator(".batch-progress"), "Running")
            end = time.monotonic() + 90
            while len(_batch_runs(home)) < 4 and time.monotonic() < end:
                time.sleep(0.05)
            proc.kill()  # SIGKILL, mid-batch
            proc.wait(timeout=30)
            recorded = {key for key, status in _batch_runs(home)}
            sent_before = _sent(fake)
            assert 4 <= len(recorded) < rows, recorded
            assert all(sent_before[texts[int(k.split(":")[0])]] == 1 for k in recorded)

            proc, url = replica.start(env, port)  # the same data directory, the same origin
            page.goto(url.rstrip("/") + "/batch")
            page.get_by_role("heading", name="📦 Batch").wait_for(timeout=90_000)
            _paste_token(page)  # the token was in the dead process's memory only: pasted again
            listed = page.locator(".batch-list input").first  # this browser's batches, the newest chosen
            end = time.monotonic() + 90
            while "interrupted" not in listed.input_value() and time.monotonic() < end:
                time.sleep(0.1)
            assert "twelve.csv" in listed.input_value() and "interrupted" in listed.input_value()
            page.get_by_role("button", name="Open", exact=True).click()
            progress = page.locator(".batch-progress")
            shown = wait_for_text(progress, "Interrupted")
            assert f"{len(recorded)} / {rows}" in shown  # counted from the ledger
            page.screenshot(path=shot("batch-interrupted.png"), full_page=True)
            page.get_by_role("button", name="⏯ Resume").click()
            done = wait_for_text(progress, "Done")
            assert f"{rows} / {rows}" in done and f"{rows} ok" in done
            end = time.monotonic() + 30  # Your batches: read again in the tick that showed the final counts
            while not listed.input_value().endswith("· done") and time.monotonic() < end:
                time.sleep(0.1)
            assert "twelve.csv" in listed.input_value() and listed.input_value().endswith("· done")
            wait_for_text(page.locator(".batch-results"), texts[-1])
            page.screenshot(path=shot("batch-resumed.png"), full_page=True)
    finally:
        replica.stop(proc)
    runs = _batch_runs(home)
    assert sorted(key for key, _ in runs) == sorted(f"{i}:0" for i in range(rows))  # one run per row, none twice
    assert {status for _, status in runs} == {"ok"}
    sent = _sent(fake)
    assert set(sent) == set(texts)
    for key in recorded:  # recorded before the kill: sent once, never again
        assert sent[texts[int(key.split(":")[0])]] == 1, key
    again = {text for text, n in sent.items() if n > 1}
    assert all(n <= 2 for n in sent.values())
    assert again <= {texts[i] for i in range(rows) if f"{i}:0" not in recorded}  # only rows the ledger did not hold


def _paste_token(page) -> None:
    box = page.get_by_label("Hugging Face token")
    box.fill(TOKEN)
    box.press("Enter")
    page.locator(".token-status").get_by_text("Token of").first.wait_for(timeout=90_000)
