"""The named API endpoints keep their ``gradio_client`` signatures, and the page stays small whatever is added.

``tests/fixtures/api_signatures.json`` is ``Client.view_api(return_format="dict")`` of the app as it was before the
task tabs were built on first showing (every tab built with the page, each Run its task's endpoint): the endpoints
are now declared on their own route, and must not change for an API caller. Regenerate it only for a deliberate
change of an endpoint (``UPDATE_API_SIGNATURES=1``, on the app with every tab built), and say so in the commit.
(Last: main at c3e8e21, with the spend guard's budgets and blank number boxes, less its /new_session… endpoints:
load steps Gradio made public for a ``gr.State`` made by a function, one per route, with no parameters. Since:
/batch_start alone, re-read from the app: five parameters with defaults at its end, for a Hub dataset.)
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import httpx
import pytest

from playground import snippets
from playground.tasks import GROUPS, TASKS

FIXTURE = Path(__file__).parent / "fixtures" / "api_signatures.json"
PAGE_CONFIG_LIMIT = 250 * 1024  # bytes of the main page's config (issue 14)
_UNLABELLED = re.compile(r"^(value|parameter)_\d+$")  # Gradio labels an unlabelled field by its component id


def _comparable(api: dict) -> dict:
    """The signatures, with the placeholder labels Gradio makes from component ids (which depend on how many
    components were made before) made equal: a caller passes returns by position, never by that label."""
    api = json.loads(json.dumps(api))
    for endpoint in api["named_endpoints"].values():
        for field in endpoint["parameters"] + endpoint["returns"]:
            if _UNLABELLED.match(field.get("label") or ""):
                field["label"] = "(unlabelled)"
    return api


def test_every_task_endpoint_keeps_its_gradio_client_signature(client):
    api = client.view_api(print_info=False, return_format="dict")
    if os.environ.get("UPDATE_API_SIGNATURES") == "1":
        FIXTURE.write_text(json.dumps(api, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    expected = _comparable(json.loads(FIXTURE.read_text()))
    # every task is an endpoint (besides the pages' own: /compare, /batch_start...)
    assert {f"/{t.api_name}" for t in TASKS.values()} <= set(api["named_endpoints"])
    got = _comparable(api)
    for name, signature in expected["named_endpoints"].items():
        assert got["named_endpoints"][name] == signature, name
    assert got == expected


def test_the_page_config_stays_under_its_bound_as_tasks_are_added(app):
    """The page's config (what Gradio inlines in the page, and serves as ``/config?page=``) holds the header, the
    tab rows and the first task, whatever the number of tasks: each further task costs a tab, a flag and an event."""
    page = httpx.get(app.local_url + "config", params={"page": ""}, timeout=60)
    assert page.status_code == 200
    assert len(page.content) <= PAGE_CONFIG_LIMIT, f"{len(page.content) / 1024:.0f} KB"
    config = page.json()
    # No task but the first has its fields in the page: its Run events are built when its tab is first shown.
    runs = [c for c in config["components"] if c["type"] == "button" and c["props"].get("value") in ("Run", "Send")]
    assert len(runs) == 1, "tasks' tabs are built with the page"
    assert len([c for c in config["components"] if c["type"] == "tabitem"]) == len(TASKS) + len(GROUPS) + len(
        snippets.clients_for(next(iter(TASKS.values()))))  # every task's tab is there, to be opened
    # ...nor any endpoint: those are on /api, whose config is not the page's
    assert not [d for d in config["dependencies"] if d.get("api_visibility") == "public"]
    document = httpx.get(app.local_url, timeout=60)
    assert len(document.content) <= PAGE_CONFIG_LIMIT + 30 * 1024  # the config, the API info and the template


def test_the_page_config_grows_by_a_small_step_per_task(tmp_path):
    """Adding a task costs the page about 3 KB (its tab, its "opened" flag and pending-run state, the events that
    build it), not a tab's worth (about 40 KB): ten more tasks and the page is still under its bound. Measured in a
    fresh interpreter with no token, as a new deployment builds the page: in the suite's process, what earlier tests
    left in the module caches made it about 2 KB larger."""
    import subprocess
    import sys

    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "HF_TOKEN_PATH": str(tmp_path / "none"),
           "PLAYGROUND_DATA_DIR": str(tmp_path / "data"), "GRADIO_ANALYTICS_ENABLED": "False"}
    done = subprocess.run([sys.executable, "-c", "from tests.test_ui_api import _page_sizes; print(*_page_sizes())"],
                          cwd=Path(__file__).parent.parent, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    base, more, extra = map(int, done.stdout.split()[-3:])
    assert (more - base) / extra < 3.5 * 1024, f"{(more - base) / extra:.0f} bytes per task"
    assert more <= PAGE_CONFIG_LIMIT, f"{more} bytes"


def _page_sizes() -> tuple[int, int, int]:
    """The main page's config, in bytes, as built; then with ten tasks more (copies of ten); and how many more."""
    from playground import tasks, ui

    def page_bytes() -> int:
        demo = ui.build_app()
        config = demo.get_config_file()
        page = config["page"][""]
        ids, deps = set(page["components"]), set(page["dependencies"])
        return len(json.dumps([c for c in config["components"] if c["id"] in ids], default=str)) + len(
            json.dumps([d for d in config["dependencies"] if d["id"] in deps], default=str))

    base = page_bytes()
    extra = {f"{task_id}-copy": _copy(task, f"{task_id}-copy") for task_id, task in list(TASKS.items())[1:11]}
    tasks.TASKS = ui.TASKS = {**TASKS, **extra}
    return base, page_bytes(), len(extra)


def _copy(task, task_id):
    from dataclasses import replace

    return replace(task, id=task_id, label=f"{task.label} (copy)")
