"""Playwright in Debian's Chromium (never a downloaded browser), shared by the browser tests."""

from __future__ import annotations

import contextlib
import shutil

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
