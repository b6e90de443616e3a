"""Token preflight and Export as Space in a real browser: a token that cannot read gated models is told so before
any run, on the token line and on the gated model it picks; the tab's Export as Space downloads a zip of that task
with that model, provider and parameters."""

from __future__ import annotations

import zipfile

import pytest

from playground import hub
from tests.browser import browser_page, open_task, pick_dropdown, shot

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
NO_GATE = "hf_nogate" + "g" * 28


@pytest.fixture
def fresh_cache():
    hub.clear_cache()
    yield
    hub.clear_cache()


def test_preflight_says_what_the_token_may_do_before_any_run(app, fake, fresh_cache):
    with browser_page(height=1200) as page:
        page.goto(app.local_url)
        page.get_by_label("Hugging Face token").wait_for(timeout=90_000)
        page.get_by_label("Hugging Face token").fill(NO_GATE)
        page.get_by_text("Token of tester").first.wait_for(timeout=90_000)
        line = page.locator(".token-status").first.inner_text()
        assert "may call Inference Providers" in line and "cannot read gated models" in line
        assert "✅ acme-corp" in line and "reading-club (not on a Team or Enterprise plan)" in line
        pick_dropdown(page, "Provider", "together")
        chat = open_task(page, "Chat")
        box = chat.get_by_label("Model", exact=True)
        box.click()
        box.fill(LLAMA)
        box.press("Enter")
        page.get_by_text("this token has no access").first.wait_for(timeout=90_000)
        page.screenshot(path=shot("preflight.png"), full_page=True)
        assert NO_GATE not in page.content()
    assert not [r for r in fake.received if "chat/completions" in r.path]  # said before any run


def test_export_as_space_downloads_the_tab_as_a_space(app, fake, fresh_cache, tmp_path):
    with browser_page(height=1200) as page:
        page.goto(app.local_url)
        page.get_by_label("Hugging Face token").wait_for(timeout=90_000)
        pick_dropdown(page, "Provider", "hf-inference")
        panel = open_task(page, "Text classification")
        panel.get_by_role("button", name="Parameters").click()
        top_k = panel.get_by_label("top k").first  # a text box (blank: the server default), labelled with its help
        top_k.fill("three")  # a value that cannot be sent: nothing is exported, and the page says why
        panel.get_by_role("button", name="⬇️ Export as Space").click()
        page.get_by_text("Export as Space: nothing exported. Parameter 'top_k' is invalid").first.wait_for(timeout=90_000)
        top_k.fill("3")  # and at once, Export: the zip is made from the values as they are when it is pressed
        with page.expect_download(timeout=90_000) as caught:
            panel.get_by_role("button", name="⬇️ Export as Space").click()
        path = tmp_path / caught.value.suggested_filename
        caught.value.save_as(path)
        page.screenshot(path=shot("export-space.png"))
    assert path.name == "space-text-classification-distilbert-base-uncased-finetuned-sst-2-english.zip"
    with zipfile.ZipFile(path) as archive:
        app_py = archive.read("app.py").decode()
        assert set(archive.namelist()) == {"app.py", "requirements.txt", "README.md"}
    assert f"'model': '{SST2}'" in app_py and "'provider': 'hf-inference'" in app_py
    assert "'top_k': 3" in app_py


@pytest.fixture
def signin_app(fake_hf):
    """The playground with sign-in on locally (Gradio's stand-in), the machine logged in with HF_TOKEN."""
    from playground import signin
    from playground.ui import CSS, build_app
    from tests.conftest import TOKEN, _free_port

    saved = pytest.MonkeyPatch()
    saved.setenv(signin.ENV, "1")
    saved.setenv("HF_TOKEN", TOKEN)
    hub.clear_cache()
    demo = build_app()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=_free_port(), css=CSS, quiet=True)
    yield demo
    demo.close()
    saved.undo()
    hub.clear_cache()


def test_sign_in_with_the_local_stand_in(signin_app, fake):
    from tests.conftest import TOKEN

    with browser_page(height=900) as page:
        page.goto(signin_app.local_url)
        page.get_by_text("sign in with Hugging Face").first.wait_for(timeout=90_000)  # the line invites it
        page.get_by_role("button", name="Sign in with Hugging Face").click()
        page.get_by_text("Signed in as tester").first.wait_for(timeout=90_000)
        assert page.get_by_text("local stand-in").first.is_visible()
        assert page.get_by_role("button", name="Sign out (tester)").is_visible()
        page.screenshot(path=shot("sign-in.png"))
        assert TOKEN not in page.content() and "mock-oauth-token" not in page.content()
