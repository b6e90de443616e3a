"""Playwright in Debian's Chromium (never a downloaded browser), shared by the browser tests."""

from __future__ import annotations

import contextlib
import shutil
import time

import pytest

from playground.tasks import TASKS

# On a busy 2-core machine a page, or a tab built when first shown, can take long: waits are generous; a wait only
# lasts that long when something is wrong.
PAGE_TIMEOUT_MS = 90_000
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]


@contextlib.contextmanager
def browser_page(width: int = 1400, height: int = 1000):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium") and not __import__("os").path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def pick_dropdown(page, label: str, option_text: str) -> None:
    """Choose an option of a Gradio dropdown by its label (type to filter, then click the option)."""
    box = page.get_by_label(label, exact=True).first
    box.click()
    box.fill(option_text)
    page.get_by_role("option", name=option_text, exact=True).first.click()


def open_task(page, label: str):
    """Open a task's tab by its label, as a person does: its group's tab, then its own; then wait, as a person does,
    for its inputs to appear (a tab is built the first time it is shown). Returns the task's panel."""
    task = next(t for t in TASKS.values() if t.label == label)
    page.get_by_role("tab", name=task.group, exact=True).click()
    page.get_by_role("tab", name=label, exact=True).click()
    panel = task_panel(page)
    panel.get_by_role("button", name="Send" if task.renderer == "chat" else "Run", exact=True).wait_for()
    return panel


def run_example(page, panel, provider: str, example: int = 0) -> None:
    """Run the open task on one of its examples (a thumbnail or button for one input, a table row for several),
    served by ``provider``, and wait until its status line says so."""
    pick_dropdown(page, "Provider", provider)
    panel.locator(".gallery-item, tr.tr-body").nth(example).click()
    panel.get_by_role("button", name="Run", exact=True).click()
    panel.get_by_text(f"served by {provider}").first.wait_for(timeout=PAGE_TIMEOUT_MS)


def chat_status(panel, provider: str, previous: str = "", timeout: float = PAGE_TIMEOUT_MS / 1000,
                replies: int | None = None) -> str:
    """The status line of the chat turn just sent, once it has finished (served by ``provider``, with its token
    counts). ``replies``: the turn is done once the chat shows that many replies; otherwise once the line is no
    longer the previous turn's, ``previous`` (two turns can end with the same line: the fake router's token counts
    are fixed, and two runs can take the same milliseconds)."""
    status = panel.locator(".status-line").first
    bot = panel.locator(".message.bot")  # one per reply (the placeholder "…" of one in flight too)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = status.inner_text()
        new = bot.count() >= replies if replies is not None else line != previous
        if f"served by {provider}" in line and "tokens" in line and new:
            return line
        time.sleep(0.2)
    raise AssertionError(f"no new status line: {status.inner_text()!r}")


def _links(user: str) -> int:
    """How many browsers the ledger has linked to the Hub user."""
    import sqlalchemy as sa

    from playground import ledger
    from playground.ledger.schema import owner_users

    store = ledger.current()
    store.flush(10)
    with store._connect() as conn:
        return conn.execute(sa.select(sa.func.count()).where(owner_users.c.hub_user == user)).scalar()


def check_token(page, token: str, user: str) -> None:
    """Paste a token and have the token line check it (Enter: whoami), as a person does, then wait until the
    ledger has linked this browser to the token's Hub user (the step after the check writes it)."""
    before = _links(user)
    box = page.get_by_label("Hugging Face token")
    box.fill(token)
    box.press("Enter")
    page.locator(".token-status").get_by_text(f"Token of {user}").first.wait_for(timeout=PAGE_TIMEOUT_MS)
    end = time.monotonic() + PAGE_TIMEOUT_MS / 1000
    while _links(user) == before and time.monotonic() < end:
        time.sleep(0.2)


def open_history(page, app) -> str:
    """Go to the History page and wait for its count line; returns it."""
    page.goto(app.local_url.rstrip("/") + "/history")
    counts = page.locator(".prose.history-counts")
    counts.get_by_text("Runs", exact=False).or_(counts.get_by_text("No run", exact=False)).first.wait_for(
        timeout=PAGE_TIMEOUT_MS)
    return counts.inner_text()


def history_rows(page) -> list[list[str]]:
    """History's table rows, as the cells' texts."""
    rows = page.locator(".history-table [role=row]").all_inner_texts()[1:]  # (the first is the header)
    return [[cell.strip() for cell in row.split("\n") if cell.strip()] for row in rows]


def history_tasks(page) -> list[str]:
    """The task of each row of History's table, top to bottom."""
    return [cell for row in history_rows(page) for cell in row if cell in TASKS]


def task_panel(page):
    """The open task's panel (the visible tab panel inside the open group)."""
    return page.locator(".task-tabs > [role=tabpanel]").filter(visible=True).first


def shot(name: str) -> str:
    """Where a test's screenshot goes: ``docs/`` when UPDATE_SCREENSHOTS=1 (to refresh the README's
    pictures), otherwise a temporary folder, so a test run leaves the tree clean."""
    import os
    import tempfile
    from pathlib import Path

    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        folder = Path(__file__).resolve().parent.parent / "docs"
    else:
        folder = Path(tempfile.gettempdir()) / "playground-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / name)
