"""The pickers in a real browser: search a model by part of its name, see its providers and prices, pin a tag,
run, and see ``model@sha`` in the status line."""

from __future__ import annotations


import pytest

from playground import hub
from tests.browser import browser_page, task_panel, shot
from tests.conftest import TOKEN
from tests.fakes.server import history

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


@pytest.fixture
def fresh_cache():
    hub.clear_cache()
    yield
    hub.clear_cache()


def test_pick_model_provider_and_tag_then_run(app, fake, fresh_cache):
    v1 = history(LLAMA)[1]["id"]
    with browser_page(height=1300) as page:
        page.goto(app.local_url)
        # the open tab's default model is summarised once the page has loaded
        page.get_by_text("HuggingFaceTB/SmolLM2-135M-Instruct · text-generation").first.wait_for(timeout=90_000)
        token = page.get_by_label("Hugging Face token")
        token.fill(TOKEN)
        token.press("Enter")  # the token is checked
        page.get_by_text("Token of tester").first.wait_for(timeout=90_000)
        assert TOKEN not in page.content()

        # type part of a name: the Hub is searched; pick the model it found
        chat = task_panel(page)  # Chat is open on arrival
        box = chat.get_by_label("Model", exact=True)
        box.click()
        box.fill("")
        box.press_sequentially("Llama-3.1", delay=40)
        page.get_by_role("option", name=f"{LLAMA} · 🔑 gated").first.click()

        # its summary, providers and prices; the provider dropdown offers those serving it, with prices
        page.get_by_text("llama3.1").first.wait_for(timeout=90_000)
        page.get_by_text(":fastest picks together now").first.wait_for(timeout=90_000)
        assert page.get_by_text("$0.05").first.is_visible() and page.get_by_text("142 tok/s").first.is_visible()
        provider = page.get_by_label("Provider", exact=True).first
        provider.click()
        provider.fill("together")
        page.get_by_role("option", name="together · live · $0.18 in / $0.18 out per 1M").click()

        # pin a tag: resolved to its commit, and main has moved past it
        revision = chat.get_by_label("Revision", exact=True)
        revision.click()
        page.get_by_role("option", name=f"v1.0 · tag · {v1[:7]}").click()
        page.get_by_text(f"→ commit {v1[:7]}").first.wait_for(timeout=90_000)
        assert page.get_by_text("main has moved 1 commit past v1.0").first.is_visible()
        assert page.get_by_text("cannot be pinned to a commit").first.is_visible()

        chat.get_by_placeholder("Ask anything").first.fill("What is the capital of France?")
        chat.get_by_role("button", name="Send", exact=True).click()
        status = page.get_by_text(f"{LLAMA}@{v1[:7]}")
        status.first.wait_for(timeout=90_000)
        assert "served by together" in status.first.inner_text()
        page.screenshot(path=shot("pickers.png"), full_page=True)
        assert TOKEN not in page.content()
    # the revision was resolved before the inference call, which went to together
    paths = [r.path for r in fake.received]
    assert any(p.startswith(f"/api/models/{LLAMA}/revision/v1.0") for p in paths)
    assert "/together/v1/chat/completions" in paths or any("chat/completions" in p for p in paths)


def test_model_card_examples_fill_the_inputs_in_one_click(app, fake, fresh_cache):
    visible = lambda locator: locator.filter(visible=True).first  # noqa: E731  (the open tab's, not a hidden one's)
    with browser_page() as page:
        page.goto(app.local_url)
        # the open tab's default model brings its card's examples, beside the registry's
        card = visible(page.locator(".card-examples"))
        card.get_by_text("What is 84 * 3 / 2?").wait_for(timeout=90_000)

        # another model: its examples replace them
        box = visible(page.get_by_label("Model", exact=True))
        box.click()
        box.fill(LLAMA)
        page.keyboard.press("Enter")
        card.get_by_text("Programming assistant").wait_for(timeout=90_000)
        assert not card.get_by_text("What is 84 * 3 / 2?").count()

        # one click fills the message and the system prompt
        card.get_by_text("Programming assistant").click()
        message = visible(page.get_by_placeholder("Ask anything"))
        page.wait_for_function("el => el.value.startsWith('Write a function')", arg=message.element_handle(), timeout=90_000)
        assert message.input_value() == "Write a function that computes the nth fibonacci number."
        system = visible(page.get_by_label("System prompt", exact=True))
        assert system.input_value() == ("You are a helpful and honest code and programming assistant. "
                                        "Please, respond concisely and truthfully.")
