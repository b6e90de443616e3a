"""The Batch page's handlers (plain values in and out, no server) and one gradio_client round trip of its API."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest

from playground import batch, ledger, owners
from playground.pages import batch as page
from playground.tasks import ASSETS
from tests.conftest import TOKEN
from tests.fakes import answers

SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
REVIEWS = str(ASSETS / "batch_reviews.csv")


@pytest.fixture
def me():
    batch._GATES.clear()
    return owners.load(None)[1]


def fields(task="text-classification", model=SST2, provider="hf-inference", slots=("text",), expected="expected",
           fixed="", params="", concurrency=2, adaptive=True, more="", bundle=page.DEFAULT_BUNDLE):
    """The page's fields, in ``spec_from``'s order."""
    slots = [*slots, *[""] * (page.SLOTS - len(slots))]
    return [task, model, provider, "main", more, *slots, expected, fixed, params, concurrency, adaptive, bundle]


def shown_table(table) -> pd.DataFrame:
    """A table the page shows (the preview, the results: a Dataframe update, visible) as a frame."""
    assert table.visible is True, "the table is hidden"
    return pd.DataFrame(table.value["data"], columns=table.value["headers"])


def test_no_table_is_shown_until_it_has_rows_to_show():
    """Before a file is chosen and a batch ran, the preview and the results are hidden, not empty tables headed
    "1 2 3" (what Gradio shows for a table without columns); so is the confusion chart, empty until then."""
    import gradio as gr

    with gr.Blocks() as demo:
        page.build(demo)
    tables = {tuple(b.elem_classes): b for b in demo.blocks.values() if isinstance(b, gr.Dataframe)}
    for name in ("batch-preview", "batch-results"):
        assert tables[(name,)].visible is False, name
    (confusion,) = [b for b in demo.blocks.values() if isinstance(b, gr.BarPlot)]
    assert confusion.visible is False
    checks = next(b for b in demo.blocks.values() if isinstance(b, gr.Markdown) and "batch-checks" in b.elem_classes)
    assert "appear here once it runs" in checks.value
    # a file removed (or unreadable) hides the preview again, an unknown batch's results too
    assert page.load_file(None, "text-classification")[0].visible is False
    assert page._results_outputs(ledger.Owner("", None), "no-such-batch")[0].visible is False


def test_a_file_is_previewed_and_its_columns_mapped_from_the_registry():
    preview, info, columns, *rest = page.load_file(REVIEWS, "text-classification")
    slots, expected = rest[:page.SLOTS], rest[page.SLOTS]
    preview = shown_table(preview)
    assert list(preview.columns) == ["text", "expected"] and len(preview) == 8
    assert "8 rows" in info and columns == ["text", "expected"]
    assert slots[0].value == "text" and slots[0].visible and "Text" in slots[0].label
    assert all(not s.visible for s in slots[1:])  # text classification has one input
    assert expected.value == "expected"
    # question answering: two inputs, two pickers, relabelled from the registry
    qa = page.choose_task("question-answering", ["question", "context", "answer"])
    assert [s.value for s in qa[:2]] == ["question", "context"] and "Question" in qa[0].label


def test_rows_per_request_bundle_a_task_that_bundles_and_the_page_says_which(me):
    embed = dict(task="feature-extraction", model="sentence-transformers/all-MiniLM-L6-v2", expected="")
    assert page.spec_from(*fields(**embed)).bundle == page.DEFAULT_BUNDLE == 8
    plan = page.check_plan(me, None, None, REVIEWS, *fields(**embed))
    assert "8 requests" in plan and "up to 8 rows per request, so **1 router call**" in plan
    assert "router call" not in page.check_plan(me, None, None, REVIEWS, *fields(**embed, bundle=1))
    # a task that does not bundle sends one row per request, whatever the slider says: the note says so
    assert page.spec_from(*fields()).bundle == 1
    assert "router call" not in page.check_plan(me, None, None, REVIEWS, *fields())
    note = page.bundling_note()
    assert "Feature extraction (embeddings) on " in note and "hf-inference" in note and "the local backend" in note
    assert "text classification's keeps only the first answer" in note


def test_a_bad_file_says_why_and_the_page_goes_on(tmp_path):
    bad = tmp_path / "reviews.csv"
    bad.write_bytes("text\ncaf\u00e9\n".encode("latin-1"))
    preview, info, columns, *_ = page.load_file(str(bad), "text-classification")
    assert info.startswith("❌") and "not UTF-8" in info and columns == [] and preview.visible is False
    plan = page.check_plan(None, None, None, str(bad), *fields())
    assert plan.startswith("❌") and "not UTF-8" in plan


def test_the_plan_names_a_misspelled_column(me):
    plan = page.check_plan(me, None, None, REVIEWS, *fields(slots=("txet",)))
    assert "Column 'txet' is not in batch_reviews.csv" in plan
    assert "8 requests" in page.check_plan(me, None, None, REVIEWS, *fields())
    matrix = page.check_plan(me, None, None, REVIEWS, *fields(more=f"{SST2}, auto"))
    assert "16 requests" in matrix


def test_start_tick_until_done_then_results_and_download(fake, me):
    out = page.start_batch(me, TOKEN, None, None, None, REVIEWS, *fields())
    batch_id, progress = out[0], out[1]
    assert len(batch_id) == 32 and "Running" in progress
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        shown = page.tick(me, batch_id)
        if "Done" in shown[0]:
            break
        time.sleep(0.1)
    progress, bar, timer, start, pause, resume, cancel, table, checks, confusion, seen, listed = shown
    assert seen == 8
    assert "8 / 8" in progress and 'aria-valuenow="8"' in bar and timer.active is False
    assert start.interactive and not pause.interactive
    table = shown_table(table)
    assert len(table) == 8 and table["run"].str.startswith("[open](./?run=").all()
    assert "accuracy | 50.0% (4/8)" in checks  # the fake says POSITIVE to all
    assert confusion.visible is not False
    cells = pd.DataFrame(**{k: confusion.value[k] for k in ("columns", "data")}) if isinstance(confusion.value, dict) \
        else confusion.value
    assert set(cells["predicted"]) == {"POSITIVE"} and cells["count"].sum() == 8
    exported = page.export_results(me, batch_id, "jsonl")
    rows = [json.loads(line) for line in open(exported.value["path"])]
    assert len(rows) == 8 and rows[0]["output"] == "POSITIVE"
    assert listed.value == batch_id and "batch_reviews.csv" in listed.choices[0][0] and "done" in listed.choices[0][0]
    assert page.batch_choices(me, batch_id).choices == listed.choices


def test_pause_resume_and_cancel_from_the_page(fake, me):
    fake.chaos(latency_s=0.1)
    batch_id = page.start_batch(me, TOKEN, None, None, None, REVIEWS, *fields(concurrency=1))[0]
    shown = page.pause(me, batch_id)
    assert "Paused" in shown[0] and shown[4].interactive is False and shown[5].interactive  # Pause off, Resume on
    shown = page.resume(me, None, batch_id)  # the running job keeps its token: none needed to go on
    assert "Running" in shown[0]
    shown = page.cancel(me, batch_id)
    assert "Cancelled" in shown[0] and shown[5].interactive  # it can be resumed
    batch.job(owners.owner_of(me), batch_id).wait(10)


def test_your_batches_says_done_once_a_resumed_interrupted_batch_ends(fake, me):
    """The list of your batches is read again in the tick that shows the final counts: an interrupted batch
    resumed to the end is listed as done, not as interrupted."""
    fake.chaos(latency_s=0.1)
    owner = owners.owner_of(me)
    batch_id = page.start_batch(me, TOKEN, None, None, None, REVIEWS, *fields(concurrency=1))[0]
    page.cancel(me, batch_id)
    batch.job(owner, batch_id).wait(10)
    ledger.current().set_batch_state(owner, batch_id, "running")  # as a server killed mid-batch leaves it
    batch._JOBS.clear()  # ...and restarted: its job is gone
    fake.chaos()
    opened = page.open_batch(me, batch_id)
    assert "Interrupted" in opened[1] and "interrupted" in opened[-1].choices[0][0]
    shown = page.resume(me, TOKEN, batch_id)
    assert "Running" in shown[0]
    deadline = time.monotonic() + 30
    while "Done" not in shown[0] and time.monotonic() < deadline:
        time.sleep(0.1)
        shown = page.tick(me, batch_id, shown[-2])
    assert "8 / 8" in shown[0]
    listed = shown[-1]  # in the same tick as the final counts
    assert listed.value == batch_id and "batch_reviews.csv" in listed.choices[0][0]
    assert listed.choices[0][0].endswith("· done"), listed.choices


def test_a_start_without_a_file_says_what_to_do(me):
    out = page.start_batch(me, TOKEN, None, None, None, None, *fields())
    assert "No data file" in out[1] and out[2] == ""


def test_the_batch_api_starts_polls_and_fetches_results(client, fake):
    from gradio_client import Client

    api = Client(client.src, headers={"Authorization": f"Bearer {TOKEN}"}, verbose=False)
    started = api.predict(file_name="reviews.csv", data=(ASSETS / "batch_reviews.csv").read_text(),
                          task="text-classification", model=SST2, provider="hf-inference", api_name="/batch_start")
    assert "8 requests" in started["plan"]
    deadline = time.monotonic() + 30
    while (polled := api.predict(batch_id=started["batch_id"], api_name="/batch_poll"))["state"] != "done":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert polled["done"] == polled["ok"] == 8
    found = api.predict(batch_id=started["batch_id"], api_name="/batch_results")
    assert len(found["rows"]) == 8 and found["checks"][0]["accuracy"] == "50.0% (4/8)"
    assert TOKEN not in json.dumps(found)
    anonymous = Client(client.src, verbose=False)  # without the token, no batch is anyone's
    with pytest.raises(Exception, match="Authorization"):
        anonymous.predict(batch_id=started["batch_id"], api_name="/batch_poll")


def test_a_hub_dataset_loads_like_an_upload_with_the_tabs_token(fake, me):
    from playground import hub

    hub.clear_cache()
    refused, note, _, _ = page.load_hub(None, "acme-corp/private-tickets", "", "train", "", "main")
    assert not isinstance(refused, str) and note.startswith("❌") and "paste a token that can read it" in note  # no file
    file, note, copy, picker = page.load_hub(TOKEN, "acme-corp/private-tickets", "", "train", "", "main")
    sha = answers.dataset_commit("acme-corp/private-tickets", "main")
    assert file.endswith("acme-corp--private-tickets-train.parquet") and picker.choices == [("default", "default")]
    assert "Read [acme-corp/private-tickets]" in note and "`data/train-00000-of-00001.parquet`" in note
    assert f"at `main` (commit `{sha[:7]}`)" in note  # the commit read, short
    preview, info, columns, *rest = page.load_file(file, "text-classification")  # what the file's change does
    assert columns == ["text", "label"] and "2 rows" in info
    assert shown_table(preview)["text"].tolist()[0] == "My invoice is wrong, please fix it."
    assert rest[page.SLOTS].value == "label"  # the expected column, guessed by name
    assert "2 requests" in page.check_plan(me, None, None, file, *fields(expected="label"))
    assert TOKEN not in note + info
    # Start: the batch's record keeps where the data came from, and the copy on disk is deleted
    from gradio.utils import get_upload_folder

    assert Path(file).is_file() and Path(file).is_relative_to(get_upload_folder())  # (the only copy: Gradio's own)
    out = page.start_batch(me, TOKEN, None, None, copy, file, *fields(expected="label"))
    assert out[-1] is None and not Path(file).exists() and not Path(file).parent.exists()
    record = ledger.current().get_batch(owners.owner_of(me), out[0])
    assert record.spec["source"] == {"hub": "dataset", "repo_id": "acme-corp/private-tickets", "config": "",
                                     "split": "train", "revision": sha, "ref": "main",
                                     "files": ["data/train-00000-of-00001.parquet"]}
    assert record.data and batch.job(owners.owner_of(me), out[0]).wait(30)  # the batch holds the data itself
    assert "The data file is gone" in page.check_plan(me, None, None, file, *fields(expected="label"))
    # a copy loaded and replaced by another, or left when the session ends, is deleted too
    first, _, first_copy, _ = page.load_hub(TOKEN, "acme-corp/private-tickets", "", "train", "", "main")
    second, _, second_copy, _ = page.load_hub(TOKEN, "acme-corp/private-tickets", "", "train", "", "main", first_copy)
    assert not Path(first).exists() and Path(second).is_file()
    page.forget_copy(second_copy)  # (the session state's delete callback)
    assert not Path(second).exists()
    hub.clear_cache()


def test_an_upload_keeps_its_file_and_has_no_source(fake, me, tmp_path):
    own = tmp_path / "reviews.csv"
    own.write_bytes(Path(REVIEWS).read_bytes())
    out = page.start_batch(me, TOKEN, None, None, {"path": "/elsewhere/x.csv", "repo_id": "a/b"}, str(own), *fields())
    assert own.is_file() and not isinstance(out[-1], type(None))  # not a Hub copy: kept, the copy state unchanged
    assert ledger.current().get_batch(owners.owner_of(me), out[0]).spec["source"] == {}
    batch.job(owners.owner_of(me), out[0]).wait(30)


def test_the_config_picker_offers_the_dataset_card_s_configs_and_the_split_reads_its_files(fake, me):
    from playground import hub

    hub.clear_cache()
    picker = page.hub_configs(None, "playground-tests/carded", "main", "")  # the repo id typed, then left
    assert picker.choices == [("reviews", "reviews"), ("short", "short")] and picker.value == ""
    file, note, copy, picker = page.load_hub(None, "playground-tests/carded", "", "train", "", "main")
    assert picker.value == "reviews"  # the card's default, read
    assert "config **reviews**" in note and "`reviews/part-0.csv`, `reviews/part-1.csv`" in note
    assert "4 rows" in page.load_file(file, "text-classification")[1]
    _, note, _, picker = page.load_hub(None, "playground-tests/carded", "nope", "train", "", "main", copy)
    assert "has no config 'nope'" in note and "Configs (from its dataset card): short, reviews." in note
    assert picker.value == "nope" and len(picker.choices) == 2  # what was typed is kept, the choices offered
    asked = len(fake.received)
    page.hub_configs(None, "  ", "main", "")  # nothing typed: nothing asked
    assert len(fake.received) == asked
    page.forget_copy(copy)
    hub.clear_cache()


def test_the_batch_api_reads_a_hub_dataset_with_the_caller_s_token(client, fake):
    from gradio_client import Client

    from playground import hub

    hub.clear_cache()
    api = Client(client.src, headers={"Authorization": f"Bearer {TOKEN}"}, verbose=False)
    started = api.predict(file_name="", data="", task="text-classification", model=SST2, provider="hf-inference",
                          dataset="acme-corp/private-tickets", split="train", api_name="/batch_start")
    sha = answers.dataset_commit("acme-corp/private-tickets", "main")
    assert "2 requests" in started["plan"]
    assert started["source"] == {"hub": "dataset", "repo_id": "acme-corp/private-tickets", "config": "",
                                 "split": "train", "revision": sha, "ref": "main",
                                 "files": ["data/train-00000-of-00001.parquet"]}
    sent = {r.headers.get("authorization") or r.headers.get("Authorization")
            for r in fake.received if "/datasets/acme-corp/private-tickets" in r.path}
    assert sent == {f"Bearer {TOKEN}"}  # the info, the tree and the file: the caller's token, never the host's
    deadline = time.monotonic() + 30
    while (polled := api.predict(batch_id=started["batch_id"], api_name="/batch_poll"))["state"] != "done":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    found = api.predict(batch_id=started["batch_id"], api_name="/batch_results")
    assert polled["ok"] == 2 and found["checks"][0]["accuracy"] == "50.0% (1/2)"  # expected: its 'label' column
    with pytest.raises(Exception, match="has no 'validation' split"):
        api.predict(file_name="", data="", task="text-classification", model=SST2, dataset="playground-tests/reviews",
                    split="validation", api_name="/batch_start")
    with pytest.raises(Exception, match="not both"):
        api.predict(file_name="a.csv", data="text\nhi\n", task="text-classification", model=SST2,
                    dataset="playground-tests/reviews", api_name="/batch_start")
    hub.clear_cache()
