"""The Present page in a real browser: a three-step deck built from History runs, played live; the same deck played
with the fake router failing, shown as recorded and labelled so; played with the keyboard alone; and exported as one
HTML file that opens from a file:// URL with no server and steps with the arrow keys."""

from __future__ import annotations

import re
import secrets

import pytest

from playground import handlers, hub, ledger, owners, service
from playground.tasks import ASSETS, TASKS
from tests.browser import browser_page, pick_dropdown, shot

SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
VIT = "google/vit-base-patch16-224"
FLUX = "black-forest-labs/FLUX.1-schnell"
FAIL = (503, {"content-type": "application/json"}, b'{"error": "Service Unavailable"}')


@pytest.fixture
def user_runs(fake):
    """Three runs of a Hub user of this test's own (text in, an image in, an image out), oldest first: a browser
    that shows that user's token on the Present page sees them (a checked token links it to the user's runs)."""
    token = f"hf_as_present{secrets.token_hex(4)}_" + "p" * 24
    hub.check_token(token)
    somewhere = owners.load(None)[1]  # another browser made them

    def run(task_id, model, *values):
        task = TASKS[task_id]
        values = (*values, *[None] * (len(task.inputs) - len(values)), *[None] * len(task.params), "")
        result = service.run(handlers.task_request(task, token, "hf-inference", None, None, model, "main", values,
                                                   owner=somewhere))
        assert result.ok, result.error
        return result.run_id

    ids = [run("text-classification", SST2, "I love this demo"),
           run("image-classification", VIT, str(ASSETS / "street.png")),
           run("text-to-image", FLUX, "A red square on a projector")]
    assert ledger.current().flush(30)
    return token, ids


def _open(page, app, token: str) -> None:
    page.goto(app.local_url.rstrip("/") + "/present")
    page.get_by_label("Hugging Face token").fill(token)
    # checked: this browser is linked to its user. On a busy machine the page's own load step can land after the
    # check and put back the "no token" line (noted, not fixed): Enter again, as a person would
    for attempt in range(3):
        page.get_by_label("Hugging Face token").press("Enter")
        try:
            page.get_by_text("Token of").first.wait_for(timeout=30_000 if attempt < 2 else 90_000)
            return
        except Exception:  # noqa: BLE001 - the line was put back: check again
            if attempt == 2:
                raise


def _refreshed(page, text: str):
    """The runs list, refreshed until it holds ``text`` (the link to the user is written just after the token line)."""
    runs = page.locator(".present-runs")
    for _ in range(20):
        page.get_by_role("button", name="↻ Refresh the list").click()
        try:
            runs.get_by_text(text, exact=False).first.wait_for(timeout=3_000)
            break
        except Exception:  # noqa: BLE001 - not linked yet
            continue
    return runs


def _build_deck(page) -> None:
    """Refresh the runs list, check the three runs, add them, then put the oldest (text classification) first."""
    runs = _refreshed(page, "Text to image")
    for label in ("Text classification", "Image classification", "Text to image"):
        runs.locator("label").filter(has_text=label).first.click()
    page.get_by_role("button", name="Add the checked runs to the deck").click()
    table = page.locator(".present-steps")
    table.get_by_text("Text classification").first.wait_for(timeout=90_000)
    # in the order checked; then the last step up, and back down again (the step number follows the step moved)
    page.get_by_label("Step #").fill("3")
    for button, order, lands in (("↑ Up", ("Text classification", "Text to image", "Image classification"), 2),
                                 ("↓ Down", ("Text classification", "Image classification", "Text to image"), 3)):
        page.get_by_role("button", name=button).click()
        page.wait_for_function("order => { const r = [...document.querySelectorAll('.present-steps [role=row]')].slice(1);"
                               " return r.length === 3 && order.every((t, i) => r[i].innerText.includes(t)); }",
                               arg=list(order), timeout=90_000)
        assert page.get_by_label("Step #").input_value() == str(lands)


def _captions(page) -> str:
    return page.locator(".prose.present-caption").inner_text()


def _wait_caption(page, text: str, timeout: float = 90_000) -> str:
    page.locator(".prose.present-caption").get_by_text(text, exact=False).first.wait_for(timeout=timeout)
    return _captions(page)


def test_a_three_step_deck_built_from_history_played_live_then_with_the_router_failing(app, fake, user_runs):
    token, ids = user_runs
    with browser_page(height=1100) as page:
        _open(page, app, token)
        _build_deck(page)
        page.screenshot(path=shot("present-editor.png"), full_page=True)
        page.get_by_role("button", name="▶ Present").click()
        stage = page.locator(".present-stage")
        stage.get_by_text("step 1 / 3").first.wait_for(timeout=90_000)
        assert page.get_by_label("Hugging Face token").is_hidden()  # no token box on the stage
        assert "I love this demo" in stage.inner_text()
        _wait_caption(page, "not played yet")

        # live, step by step, with the buttons
        played = []
        for step in (1, 2, 3):
            stage.get_by_text(f"step {step} / 3").first.wait_for(timeout=90_000)
            page.get_by_role("button", name="▶ Run live (Enter)").click()
            caption = _wait_caption(page, "live, just now")
            assert "recorded" not in caption, caption
            played.append(caption)
            if step == 2:
                page.screenshot(path=shot("present-live.png"), full_page=True)
            if step < 3:
                page.get_by_role("button", name="Next (→) ›").click()
        assert "Text classification" in played[0] and "Image classification" in played[1] and "Text to image" in played[2]
        assert stage.locator(".present-result img").first.is_visible()  # the generated image, large
        assert token not in page.content()

        # the router fails: the same deck shows each step's recording, labelled so
        fake.chaos(fault_rate=1.0, fault=FAIL)
        # back to step 1, one step at a time, as the presenter sees each (a press while the stage is still
        # changing is dropped: Gradio runs a button's event once at a time)
        page.get_by_role("button", name="‹ Previous (←)").click()
        stage.get_by_text("step 2 / 3").first.wait_for(timeout=90_000)
        page.get_by_role("button", name="‹ Previous (←)").click()
        stage.get_by_text("step 1 / 3").first.wait_for(timeout=90_000)
        page.get_by_role("button", name="▶ Run live (Enter)").click()
        caption = _wait_caption(page, "the live run failed")
        assert re.search(r"recorded on \d{4}-\d\d-\d\d \d\d:\d\d UTC; the live run failed: ", caption), caption
        assert "live, just now" not in caption
        page.locator(".present-result").get_by_text("POSITIVE").first.wait_for(timeout=90_000)  # the recorded result
        page.screenshot(path=shot("present-recorded.png"), full_page=True)
        page.get_by_role("button", name="Leave (Esc)").click()
        page.locator(".present-steps").wait_for(state="visible", timeout=90_000)


def test_keyboard_only_playback_and_the_exported_html_with_no_server(app, fake, user_runs, tmp_path):
    token, ids = user_runs
    with browser_page(height=1100) as page:
        _open(page, app, token)
        _build_deck(page)
        page.get_by_role("button", name="▶ Present").click()
        stage = page.locator(".present-stage")
        stage.get_by_text("step 1 / 3").first.wait_for(timeout=90_000)
        page.locator("body").click(position={"x": 5, "y": 5})  # no box has the focus: the keys drive the stage
        page.keyboard.press("Enter")
        _wait_caption(page, "live, just now")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")  # pressed while the first → is still landing: kept and run after it
        stage.get_by_text("step 3 / 3").first.wait_for(timeout=90_000)
        page.keyboard.press("r")
        caption = _wait_caption(page, "recorded on")
        assert "live" not in caption, caption
        page.keyboard.press("ArrowLeft")
        stage.get_by_text("step 2 / 3").first.wait_for(timeout=90_000)
        page.keyboard.press("Enter")
        _wait_caption(page, "live, just now")
        page.screenshot(path=shot("present-keyboard.png"), full_page=True)
        page.keyboard.press("Escape")
        page.locator(".present-steps").wait_for(state="visible", timeout=90_000)
        assert stage.is_hidden()

        # export: one HTML file
        page.get_by_role("button", name="⬇️ Export as one HTML file").click()
        link = page.locator(".present-export a").first
        link.wait_for(timeout=90_000)
        with page.expect_download() as caught:
            link.click()
        path = tmp_path / "deck.html"
        caught.value.save_as(path)
    text = path.read_text()
    assert token not in text and "data:image/png;base64," in text and "http://127.0.0.1" not in text

    # opened from file:// with no server: a fresh browser, every request but the file itself refused
    with browser_page(height=900) as page:
        outside = []
        page.route(re.compile(r"^(?!file:).*"), lambda route: (outside.append(route.request.url), route.abort()))
        page.goto(path.as_uri())
        visible = page.locator("section.step:not([hidden])")
        assert "Step 1 / 3" in visible.inner_text() and "I love this demo" in visible.inner_text()
        page.keyboard.press("ArrowRight")
        assert "Step 2 / 3" in visible.inner_text()
        assert page.locator("section.step:not([hidden]) img").first.evaluate("i => i.naturalWidth > 0")
        page.keyboard.press("ArrowRight")
        assert "Step 3 / 3" in visible.inner_text() and "recorded on" in visible.inner_text()
        page.screenshot(path=shot("present-export.png"), full_page=True)
        page.keyboard.press("ArrowLeft")
        assert "Step 2 / 3" in visible.inner_text()
        assert outside == []


def _save_notes(page, step: int, notes: str) -> None:
    """Write a step's speaker notes in the editor and keep them (the Step # box reloads the notes box when it changes:
    type the notes after that has landed, so retry until the table shows them)."""
    page.get_by_label("Step #").fill(str(step))
    page.get_by_label("Step #").press("Tab")
    box = page.get_by_label("Speaker notes of this step (N shows them on the stage)")
    for _ in range(10):
        box.fill(notes)
        page.get_by_role("button", name="Save notes").click()
        try:
            page.wait_for_function("([n, t]) => { const r = [...document.querySelectorAll('.present-steps [role=row]')];"
                                   " return r.length > n && r[n].innerText.includes(t); }", arg=[step, notes],
                                   timeout=15_000)
            return
        except Exception:  # noqa: BLE001 - the notes box was reloaded under the typing: again
            continue
    raise AssertionError("the speaker notes were not saved")


def _notes(page):
    return page.locator(".present-stage .prose.present-notes")


def test_the_n_key_toggles_the_speaker_notes_then_a_read_only_link_opens_in_another_browser(app, fake, user_runs):
    """The owner notes step 1, drops step 3, presents (N shows the notes, N again hides them) and shares the deck;
    another browser (dark theme) opens the link: it steps through the deck's recordings, with no editor, no run of
    the owner left out of the deck, no speaker notes and no token anywhere in the page."""
    token, ids = user_runs
    with browser_page(height=1100) as page:
        _open(page, app, token)
        _build_deck(page)  # leaves Step # at 3: the text-to-image step, removed now
        page.get_by_role("button", name="Remove").click()
        page.wait_for_function("() => [...document.querySelectorAll('.present-steps [role=row]')].length === 3",
                               timeout=90_000)  # the header and two steps
        assert "A red square" not in page.locator(".present-steps").inner_text()
        _save_notes(page, 1, "Mention the sentiment score")

        page.get_by_role("button", name="▶ Present").click()
        stage = page.locator(".present-stage")
        stage.get_by_text("step 1 / 2").first.wait_for(timeout=90_000)
        _wait_caption(page, "not played yet")
        page.locator("body").click(position={"x": 5, "y": 5})
        notes = _notes(page)
        assert notes.is_hidden()  # the notes are the presenter's: hidden until N
        page.keyboard.press("n")
        notes.get_by_text("Mention the sentiment score").wait_for(state="visible", timeout=90_000)
        page.screenshot(path=shot("present-notes.png"), full_page=True)
        page.keyboard.press("N")
        notes.wait_for(state="hidden", timeout=90_000)
        page.keyboard.press("n")  # on again, and they follow the step: step 2 has none
        notes.get_by_text("Mention the sentiment score").wait_for(state="visible", timeout=90_000)
        page.keyboard.press("ArrowRight")
        stage.get_by_text("step 2 / 2").first.wait_for(timeout=90_000)
        page.wait_for_function("() => !document.querySelector('.present-stage .prose.present-notes')"
                               ".innerText.includes('Mention the sentiment')", timeout=90_000)
        page.keyboard.press("Escape")
        page.locator(".present-steps").wait_for(state="visible", timeout=90_000)

        page.get_by_role("button", name="🔗 Share a read-only link").click()
        page.wait_for_function("() => /present\\?deck=[0-9a-f]{32}/.test(document.querySelector('.present-link textarea, "
                               ".present-link input').value)", timeout=90_000)
        link = page.locator(".present-link").locator("textarea, input").first.input_value()

        # a second browser context: nobody's cookies, no token, the dark theme
        reader_context = page.context.browser.new_context(viewport={"width": 1400, "height": 1000})
        reader = reader_context.new_page()
        reader.set_default_timeout(90_000)
        reader.goto(app.local_url.rstrip("/") + "/" + link + "&__theme=dark")
        shared = reader.locator(".present-stage")
        shared.get_by_text("step 1 / 2").first.wait_for(timeout=90_000)
        _wait_caption(reader, "recorded on")
        assert "I love this demo" in shared.inner_text()
        reader.locator(".present-result").get_by_text("POSITIVE").first.wait_for(timeout=90_000)
        reader.screenshot(path=shot("present-shared-dark.png"), full_page=True)
        # no editor: no token box, no deck picker, no runs, no steps table, no buttons that change the deck
        for gone in ("▶ Run live (Enter)", "Add the checked runs to the deck", "Save notes", "Remove",
                     "🔗 Share a read-only link", "🗑️ Delete deck", "➕ New deck"):
            assert reader.get_by_role("button", name=gone).filter(visible=True).count() == 0, gone
        assert reader.get_by_label("Hugging Face token").is_hidden()
        assert reader.locator(".present-steps").is_hidden() and reader.locator(".present-runs").is_hidden()
        reader.locator("body").click(position={"x": 5, "y": 5})
        reader.keyboard.press("n")  # a reader gets no speaker notes, even with N
        reader.keyboard.press("ArrowRight")
        shared.get_by_text("step 2 / 2").first.wait_for(timeout=90_000)
        _wait_caption(reader, "Image classification")
        assert "recorded on" in _captions(reader) and "live, just now" not in _captions(reader)
        reader.keyboard.press("Enter")  # no live run for a reader: the recording again
        reader.keyboard.press("ArrowLeft")
        shared.get_by_text("step 1 / 2").first.wait_for(timeout=90_000)
        reader.keyboard.press("Escape")  # a reader has no editor to go back to: the stage stays
        shared.get_by_text("step 1 / 2").first.wait_for(timeout=90_000)
        content = reader.content()
        assert token not in content and "hf_as_present" not in content
        assert "A red square on a projector" not in content  # the owner's run left out of the deck
        assert "Mention the sentiment score" not in content  # the presenter's notes
        assert shared.is_visible()
        reader_context.close()


def test_a_step_typed_in_the_editor_plays_live_and_says_plainly_when_it_fails(app, fake, user_runs):
    """A step that is no past run: typed in the editor (a text task, its text), it opens with no recording; with the
    router failing, Enter says the live run failed and there is no recording to fall back to; once a live run
    succeeds, that run is the step's recording: R shows it, and a failing live run falls back to it, labelled so."""
    token, ids = user_runs
    with browser_page(height=1300) as page:
        _open(page, app, token)
        page.get_by_text("✍️ Or type in a new step (text tasks only)").click()
        typed = page.locator(".present-typed")
        pick_dropdown(page, "Task (text tasks)", "Text classification")  # its boxes follow: one, "Text"
        typed.get_by_label("Text", exact=True).fill("Typed in on the day")
        typed.get_by_label("Speaker notes of the new step").fill("Say it was typed")
        page.get_by_role("button", name="Add this step to the deck").click()
        page.wait_for_function("() => [...document.querySelectorAll('.present-steps [role=row]')].some("
                               "r => r.innerText.includes('typed in, no recording'))", timeout=90_000)
        page.screenshot(path=shot("present-typed.png"), full_page=True)
        page.get_by_role("button", name="▶ Present").click()
        stage = page.locator(".present-stage")
        stage.get_by_text("step 1 / 1").first.wait_for(timeout=90_000)
        assert "Typed in on the day" in stage.inner_text()
        _wait_caption(page, "no recording: press Enter to run it live")
        page.locator("body").click(position={"x": 5, "y": 5})
        fake.chaos(fault_rate=1.0, fault=FAIL)
        page.keyboard.press("r")  # its recording: there is none, and the stage says so
        caption = _wait_caption(page, "has never been recorded")
        page.keyboard.press("Enter")
        caption = _wait_caption(page, "the live run failed")
        assert "has never been recorded, so there is no recording to show" in caption and "recorded on" not in caption
        assert page.locator(".present-result").get_by_text("POSITIVE").count() == 0  # no result pretended
        fake.chaos(fault_rate=0.0)
        page.keyboard.press("Enter")
        caption = _wait_caption(page, "live, just now")
        assert "recorded" not in caption, caption
        page.locator(".present-result").get_by_text("POSITIVE").first.wait_for(timeout=90_000)
        # that live run is the step's recording now: R shows it, and so does a live run that fails
        fake.chaos(fault_rate=1.0, fault=FAIL)
        page.keyboard.press("r")
        caption = _wait_caption(page, "recorded on")
        assert "never been recorded" not in caption and "live" not in caption, caption
        page.locator(".present-result").get_by_text("POSITIVE").first.wait_for(timeout=90_000)
        page.keyboard.press("Enter")
        caption = _wait_caption(page, "the live run failed")
        assert "recorded on" in caption and "never been recorded" not in caption, caption
        assert token not in page.content()


ROBERTA = "cardiffnlp/twitter-roberta-base-sentiment-latest"
LABELS = [[{"label": "POSITIVE", "score": 0.75}, {"label": "NEGATIVE", "score": 0.25}]]
BLIND_ROW = ("() => [...document.querySelectorAll('.present-steps [role=row]')].some("
             "r => r.innerText.includes('Blind: Text classification'))")


def test_a_blind_step_played_with_the_keyboard_its_vote_counts_in_compares_leaderboard(app, fake, user_runs):
    """A comparison from History (SST2 against roberta, run by the token's user) added as a blind step: the stage shows
    A and B with no names and no model caption; with the keyboard alone it runs live (Enter), takes a vote (A), reveals
    the names, and the vote shows in /compare's leaderboard. The same step in the dark theme, from its recording."""
    import json

    from playground import compare

    token, ids = user_runs
    fake.script(f"/hf-inference/models/{ROBERTA}", [(200, {"content-type": "application/json"},
                                                     json.dumps(LABELS).encode())] * 10)
    task = TASKS["text-classification"]
    targets = [compare.PaneTarget(m, "hf-inference", params=(*[None] * len(task.params), "")) for m in (SST2, ROBERTA)]
    assert all(r.ok for r in compare.run_all(task, targets, ("Blind demo text",), token, None, owners.load(None)[1]))
    assert ledger.current().flush(30)
    with browser_page(height=1200) as page:
        _open(page, app, token)
        runs = _refreshed(page, "compare pane 2")
        runs.locator("label").filter(has_text="compare pane 2").first.click()
        page.get_by_role("button", name="⚖️ Add the checked comparison as a blind step").click()
        page.wait_for_function(BLIND_ROW, timeout=90_000)
        page.get_by_role("button", name="▶ Present").click()
        stage = page.locator(".present-stage")
        stage.get_by_text("step 1 / 1").first.wait_for(timeout=90_000)
        _wait_caption(page, "blind comparison of 2 targets")

        page.locator("body").click(position={"x": 5, "y": 5})  # the keyboard alone from here
        page.keyboard.press("Enter")
        caption = _wait_caption(page, "live, just now")
        titles = page.locator(".prose.present-blind-title")
        titles.nth(1).wait_for(timeout=90_000)
        assert [t.strip() for t in titles.all_inner_texts()] == ["A", "B"]
        assert "Blind demo text" in stage.inner_text()
        assert SST2 not in stage.inner_text() and ROBERTA not in stage.inner_text()  # no names, no model caption
        assert "vote with the keys" in caption and "T a tie" in caption
        vote = page.locator(".present-vote")
        vote.get_by_text("Vote with a key").wait_for(timeout=90_000)
        page.screenshot(path=shot("present-blind.png"), full_page=True)
        first = stage.locator(".present-blind-pane").first.inner_text()
        winner = ROBERTA if "75%" in first else SST2  # A is whichever target the shuffle put first
        page.keyboard.press("a")
        reveal = page.locator(".prose.present-reveal")
        reveal.get_by_text("🏆").wait_for(timeout=90_000)
        assert f"A = {winner} · hf-inference" in reveal.inner_text().replace("`", "")
        page.wait_for_function("() => document.querySelector('.present-blind-title').innerText.includes(' = ')",
                               timeout=90_000)
        assert winner in titles.first.inner_text() and vote.is_hidden()
        page.screenshot(path=shot("present-blind-revealed.png"), full_page=True)

        # the same step in the dark theme, from its recording (R): names hidden again, the vote keys offered
        page.goto(app.local_url.rstrip("/") + "/present?__theme=dark")
        page.wait_for_function(BLIND_ROW, timeout=90_000)  # the page reopened on this browser's deck
        page.get_by_role("button", name="▶ Present").click()
        _wait_caption(page, "blind comparison of 2 targets")
        page.locator("body").click(position={"x": 5, "y": 5})
        page.keyboard.press("r")
        _wait_caption(page, "recorded on")
        titles.nth(1).wait_for(timeout=90_000)
        assert [t.strip() for t in titles.all_inner_texts()] == ["A", "B"]
        page.screenshot(path=shot("present-blind-dark.png"), full_page=True)

        # the vote counts in Compare's leaderboard (this browser's votes)
        page.goto(app.local_url.rstrip("/") + "/compare")
        page.get_by_text("Blind votes: leaderboard and preference pairs").click()
        from tests.test_browser_compare import wait_for_rows

        rows = wait_for_rows(page.locator(".compare-leaderboard"), winner)
        assert any(winner in r and "100%" in r and "1016" in r for r in rows), rows
        assert token not in page.content()
