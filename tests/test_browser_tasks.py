"""A user's journey through tabs of different modalities in a real browser, with screenshots for the README:
segment an image (masks and legend), hear speech, ask a table a question after editing a cell, and
generate a video after the slow-and-billed warning.
"""

from __future__ import annotations


from tests.browser import browser_page, open_task, pick_dropdown, run_example, shot
from tests.conftest import TOKEN



def test_journey_through_image_audio_table_and_video_tabs(app, fake):
    with browser_page(height=1100) as page:
        page.goto(app.local_url)
        page.get_by_label("Hugging Face token").fill(TOKEN)

        # Vision: the masks are drawn over the image, one colour each, with a legend
        panel = open_task(page, "Image segmentation")
        run_example(page, panel, "hf-inference")
        legend = panel.locator(".legend-item")
        legend.first.wait_for(timeout=90_000)
        assert legend.all_inner_texts() == ["sky", "road", "grey", "brown", "red", "yellow"]
        masks = panel.locator("img.mask")
        assert masks.count() == 6
        legend.filter(has_text="red").hover()  # hovering an entry shows that mask alone
        classes = [masks.nth(i).get_attribute("class") for i in range(6)]
        assert "active" in classes[4].split() and all("inactive" in c.split() for i, c in enumerate(classes) if i != 4)
        page.mouse.move(0, 0)
        panel.screenshot(path=shot("image-segmentation.png"))

        # Audio: the player shows the speech, and the browser decodes the file it serves
        panel = open_task(page, "Text to speech")
        run_example(page, panel, "fal-ai")
        panel.locator("[data-testid='waveform-Speech'], .waveform-container").first.wait_for(timeout=90_000)
        # the player's own download link (the tab has others: the raw exchange's, the extra parameters')
        player = panel.locator("[data-testid='waveform-Speech']").locator("xpath=ancestor::div[contains(@class, 'block')][1]")
        href = player.locator("a[download]").first.get_attribute("href")
        duration = page.evaluate("""async url => {
            const data = await (await fetch(url)).arrayBuffer();
            return (await new OfflineAudioContext(1, 1, 16000).decodeAudioData(data)).duration;
        }""", href)
        assert href.endswith(".wav") and abs(duration - 0.8) < 0.01
        panel.screenshot(path=shot("text-to-speech.png"))

        # Table: edit a cell, ask, and see the answer with the cell it came from highlighted
        panel = open_task(page, "Table question answering")
        pick_dropdown(page, "Provider", "hf-inference")
        panel.locator(".gallery-item, tr.tr-body").first.click()  # its example: a table and a question
        cell = panel.get_by_role("gridcell", name="36542").first
        cell.dblclick()
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.type("40000")
        page.keyboard.press("Enter")
        panel.get_by_role("button", name="Run", exact=True).click()
        panel.get_by_text("served by hf-inference").first.wait_for(timeout=90_000)
        assert panel.locator(".table-qa .answer").inner_text() == "AVERAGE > 40000"
        assert panel.locator(".table-qa td.used").all_inner_texts() == ["40000"]
        panel.screenshot(path=shot("table-question-answering.png"))
        # ...and its code, in every client: curl sends the edited table to the model's URL, the token from HF_TOKEN
        panel.get_by_text("Code (reproduces the last run").click()
        panel.get_by_role("tab", name="Shell · curl").click()
        curl = panel.locator(".code-snippet").filter(has_text="curl ").first.inner_text()
        assert ("'https://router.huggingface.co/hf-inference/models/google/tapas-base-finetuned-wtq'" in curl
                and '"40000"' in curl and "$HF_TOKEN" in curl and TOKEN not in curl)

        # Video: warned before Run that it is slow and billed; the video then plays
        panel = open_task(page, "Text to video")
        warning = panel.locator(".prose.billed-warning")
        assert warning.is_visible() and "Slow and billed" in warning.inner_text()
        run_example(page, panel, "fal-ai")
        video = panel.locator("video").first
        video.wait_for(state="attached", timeout=90_000)
        size = page.wait_for_function(
            "v => v.readyState >= 1 && [v.videoWidth, v.videoHeight]", arg=video.element_handle(), timeout=90_000).json_value()
        assert size == [160, 120]
        panel.screenshot(path=shot("text-to-video.png"))
        assert TOKEN not in page.content()


def test_chat_shows_reasoning_collapsed_and_tool_calls_as_json(app, fake):
    with browser_page(height=1100) as page:
        page.goto(app.local_url)
        page.get_by_label("Hugging Face token").fill(TOKEN)
        panel = open_task(page, "Chat")
        model = panel.get_by_label("Model", exact=True).first
        model.click()
        model.fill("deepseek-ai/DeepSeek-R1")
        page.keyboard.press("Enter")
        pick_dropdown(page, "Provider", "together · live")  # the providers serving the model, once it is picked
        panel.get_by_role("button", name="What's the weather like in Paris right now? (🛠️ tools)").click()
        panel.get_by_role("button", name="Send", exact=True).click()
        panel.get_by_text("1 tool call").first.wait_for(timeout=90_000)
        call = panel.locator(".message", has_text="🛠️ Tool call: get_weather").last
        assert '"city": "Paris"' in call.inner_text() and '"name": "get_weather"' in call.inner_text()
        panel.screenshot(path=shot("chat-tools.png"))
        thought = panel.get_by_text("The user asks for a capital. France's capital is Paris.")
        assert not thought.count()  # the reasoning is folded away once the reply came...
        panel.locator(".title", has_text="🧠 Reasoning").last.click()
        thought.last.wait_for(state="visible", timeout=30_000)  # ...and one click opens it
