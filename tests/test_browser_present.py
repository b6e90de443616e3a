"""The Present page in a real browser: a three-step deck built from History runs, played live; the same deck played
with the fake router failing, shown as recorded and labelled so; played with the keyboard alone; and exported as one
HTML file that opens from a file:// URL with no server and steps with the arrow keys."""

from __future__ import annotations

import re
import secrets

import pytest

from playground import handlers, hub, ledger, owners, service
from playground.tasks import ASSETS, TASKS
from tests.browser import browser_page, shot

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
    page.get_by_label("Hugging Face token").press("Enter")
    page.get_by_text("Token of").first.wait_for(timeout=60_000)  # checked: this browser is linked to its user


def _build_deck(page) -> None:
    """Refresh the runs list, check the three runs, add them, then put the oldest (text classification) first."""
    runs = page.locator(".present-runs")
    for _ in range(20):  # the link to the user is written just after the token line: refresh until it shows
        page.get_by_role("button", name="↻ Refresh the list").click()
        try:
            runs.get_by_text("Text to image", exact=False).first.wait_for(timeout=3_000)
            break
        except Exception:  # noqa: BLE001 - not linked yet
            continue
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
        page.locator(".present-result").get_by_text("POSITIVE").first.wait_for(timeout=10_000)  # the recorded result
        page.screenshot(path=shot("present-recorded.png"), full_page=True)
        page.get_by_role("button", name="Leave (Esc)").click()
        page.locator(".present-steps").wait_for(state="visible", timeout=10_000)


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
        stage.get_by_text("step 2 / 3").first.wait_for(timeout=90_000)
        page.keyboard.press("ArrowRight")
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
        page.locator(".present-steps").wait_for(state="visible", timeout=10_000)
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
