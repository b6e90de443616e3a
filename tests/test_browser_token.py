"""A token pasted in the page stays in that tab: after two tasks and a chat, it is in none of the places Gradio keeps
or serves what a page sent (the browser's storages and cookies, the run history at ``/gradio_api/runs``, the
session's deep-link state, the page, ``/config``, the API docs) nor in the server's log. Gradio's run history
records the inputs of the public events a page runs: the only events the token is sent to (the token box's own,
which put it in the session's state) are private, so it can never be recorded. Kept in the suite so that
a Gradio upgrade cannot bring a leak back."""

from __future__ import annotations

import json
import logging
import time

import httpx

from tests.browser import browser_page, open_task, pick_dropdown
from tests.conftest import TOKEN

# Everything the page can reach in the browser's own storage, as one string.
BROWSER_STORAGE = """async () => {
    const dump = store => Object.fromEntries(Object.keys(store).map(k => [k, store.getItem(k)]));
    const indexed = [];
    for (const info of await indexedDB.databases()) {
        const db = await new Promise((ok, fail) => {
            const open = indexedDB.open(info.name); open.onsuccess = () => ok(open.result); open.onerror = fail;
        });
        for (const name of db.objectStoreNames) {
            const rows = await new Promise((ok, fail) => {
                const all = db.transaction(name).objectStore(name).getAll(); all.onsuccess = () => ok(all.result);
                all.onerror = fail;
            });
            indexed.push({db: info.name, store: name, rows});
        }
        db.close();
    }
    return JSON.stringify({local: dump(localStorage), session: dump(sessionStorage), indexed, cookie: document.cookie});
}"""


class _Log(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _run(panel, provider: str) -> None:
    panel.get_by_role("button", name="Run", exact=True).click()
    panel.get_by_text(f"served by {provider}").first.wait_for(timeout=90_000)


def test_the_pasted_token_is_kept_nowhere(app, fake, capfd):
    log = _Log()
    root, level = logging.getLogger(), logging.getLogger().level
    root.addHandler(log)
    root.setLevel(logging.DEBUG)  # everything any library logs, not only what reaches the console by default
    joins: list[dict] = []  # every event the page ran: its function, its inputs, its session
    try:
        with browser_page(height=1100) as page:
            page.on("request", lambda r: joins.append(json.loads(r.post_data))
                    if "/queue/join" in r.url and r.post_data else None)
            page.goto(app.local_url)
            page.get_by_text("No token found").first.wait_for(timeout=90_000)
            page.get_by_label("Hugging Face token").fill(TOKEN)
            page.get_by_text("Token of tester").first.wait_for(timeout=90_000)
            # no token on this machine: the page started on Local, and the checked token moved it to auto (said so)
            page.get_by_text("runs now go to Inference Providers (auto)").first.wait_for(timeout=90_000)
            assert page.get_by_label("Provider", exact=True).first.input_value().startswith("Auto")
            pick_dropdown(page, "Provider", "hf-inference")

            panel = open_task(page, "Text classification")
            panel.get_by_role("button", name="I like you. I love you").first.click()
            _run(panel, "hf-inference")
            panel = open_task(page, "Summarization")
            panel.locator(".gallery-item, tr.tr-body").first.click()
            _run(panel, "hf-inference")
            panel = open_task(page, "Chat")
            pick_dropdown(page, "Provider", "together")
            panel.get_by_placeholder("Ask anything").first.fill("What is the capital of France?")
            panel.get_by_role("button", name="Send", exact=True).click()
            panel.get_by_text("served by together").first.wait_for(timeout=90_000)

            assert page.get_by_label("Hugging Face token").input_value() == TOKEN  # still there, for the next run

            # what the server keeps for this session, as "Share via link" (gr.DeepLinkButton) would save and serve it
            (session,) = {join["session_hash"] for join in joins}
            link = httpx.get(f"{app.local_url}gradio_api/deep_link", params={"session_hash": session}).json()
            assert link, "the session's state could not be saved as a deep link"
            linked_page = httpx.get(app.local_url, params={"deep_link": link}).text
            assert "Hugging Face token" in linked_page  # the page that link opens, with the session's values
            assert TOKEN not in linked_page, "the token is in the session's deep-link state"

            # Gradio's run history is on, and records a public event's inputs: no event the token was sent to is
            # public (and the page did send it: to the token box's own events, private)
            config = httpx.get(app.local_url + "config").json()
            assert config.get("run_history") is not False, "Gradio's run history is off: this check proves nothing"
            visibility = {d["id"]: d["api_visibility"] for d in config["dependencies"]}
            carried = [join["fn_index"] for join in joins if TOKEN in json.dumps(join["data"])]
            assert carried, "the page never sent the token: the pasted token was not taken"
            assert all(visibility.get(fn) == "private" for fn in carried), "an event that carries the token is public"
            stored = page.evaluate(BROWSER_STORAGE)
            assert TOKEN not in stored, "the token is in the browser's storage"
            assert TOKEN not in json.dumps(page.context.cookies()), "the token is in a cookie"
            assert TOKEN not in page.content(), "the token is in the page's HTML"

            page.goto(f"{app.local_url}gradio_api/runs")
            page.get_by_test_id("run-history").first.wait_for(timeout=90_000)
            assert TOKEN not in page.content(), "the token is on the run history page"
            assert TOKEN not in page.evaluate(BROWSER_STORAGE)

        for path in ("config", "gradio_api/info", "gradio_api/info?all_endpoints=true"):
            assert TOKEN not in httpx.get(app.local_url + path).text, f"the token is in /{path}"
    finally:
        root.removeHandler(log)
        root.setLevel(level)
    out, err = capfd.readouterr()
    assert TOKEN not in "\n".join([*log.lines, out, err]), "the token is in the server's log"


SWITCHED = "Provider switched from Local to auto"


def _filled_without_focus(page, token: str) -> None:
    """The token put in the box as a password manager fills it: its value and an input event, the box never focused
    (so no blur follows, whose check would write the line again). Filled again if the page was not yet listening."""
    box = page.get_by_label("Hugging Face token")
    for _ in range(3):
        box.evaluate("(el, t) => { el.value = t; el.dispatchEvent(new Event('input', {bubbles: true})); }", token)
        try:
            page.get_by_text("Token of tester").first.wait_for(timeout=20_000)
            return
        except Exception:  # noqa: BLE001 - Playwright's timeout: fill again
            box.evaluate("el => { el.value = ''; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    raise AssertionError("the token line never checked the token")


def test_a_provider_picked_by_hand_after_the_switch_is_no_longer_said_to_be_switched(app, fake):
    """The checked token moved the provider from Local to auto, and the token line said so; the person picks Local
    again: the line still names the token's user, and no longer says the provider was switched."""
    with browser_page(height=1100) as page:
        page.goto(app.local_url)
        page.get_by_text("No token found").first.wait_for(timeout=90_000)
        _filled_without_focus(page, TOKEN)
        page.get_by_text(SWITCHED).first.wait_for(timeout=90_000)
        assert page.get_by_label("Provider", exact=True).first.input_value().startswith("Auto")
        pick_dropdown(page, "Provider", "Local (this machine, no token needed)")
        page.get_by_text(SWITCHED).first.wait_for(state="detached", timeout=90_000)
        line = page.locator(".token-status").first.inner_text()
        assert "Token of tester" in line and "may call Inference Providers" in line
        assert page.get_by_label("Provider", exact=True).first.input_value().startswith("Local")


def test_a_checked_token_moves_the_batch_page_provider_from_local_to_auto(app, fake):
    """The Batch page starts on Local with no token, as the playground does; a token checked there moves its provider
    to auto and says so (before, it stayed on Local and a batch started after pasting a token ran on this machine)."""
    with browser_page(height=1100) as page:
        page.goto(app.local_url.rstrip("/") + "/batch")
        provider = page.get_by_label("Provider", exact=True).first
        provider.wait_for(timeout=90_000)
        assert provider.input_value().startswith("Local")
        _filled_without_focus(page, TOKEN)
        page.get_by_text(SWITCHED).first.wait_for(timeout=90_000)
        assert provider.input_value().startswith("Auto")


def test_a_run_reopened_on_the_local_backend_stays_there_when_a_token_is_checked(app, fake, tmp_path):
    """A run card of a run made on this machine, dropped on the page, sets the provider to Local as chosen, as a pick
    by hand: a token pasted and checked after it does not move it to auto."""
    from playground import owners, run_cards
    from playground.service import LOCAL
    from playground.tasks import TASKS
    from tests.browser import check_token
    from tests.test_run_cards import card_of_run, send

    me = owners.load(None)[1]
    send("text-classification", me, provider="hf-inference", model=TASKS["text-classification"].default_model,
         text="made on this machine")
    card = card_of_run(me)
    card["provider"]["asked"] = LOCAL
    path = tmp_path / "run-local.json"
    path.write_text(run_cards.dumps(card), encoding="utf-8")
    with browser_page(height=1100) as page:
        page.goto(app.local_url)
        page.get_by_text("No token found").first.wait_for(timeout=90_000)
        with page.expect_file_chooser() as chooser:
            page.get_by_role("button", name="Open a run card").click()
        chooser.value.set_files(str(path))
        page.get_by_text("Reopened").first.wait_for(timeout=90_000)
        assert page.get_by_label("Provider", exact=True).first.input_value().startswith("Local")
        check_token(page, TOKEN, "tester")  # pasted and checked: the step after it has linked this browser...
        time.sleep(1.0)  # ...and answered (the provider's move comes with that answer)
        assert page.get_by_text(SWITCHED).count() == 0
        assert page.get_by_label("Provider", exact=True).first.input_value().startswith("Local")
