"""How fast the playground page opens, against a minimal one-button Gradio page served in the same run.

Both pages are served at once (each its own process, as ``app.py`` would serve it, without the local engine) and
loaded alternately, playground then minimal, each load in a fresh browser context (a cold cache for both), in
Debian's Chromium with the flags of ``tests/browser.py``. For each load:

- **ready**: from the navigation until the first tab can be used (the playground: the open task's first input
  and its Run/Send button visible; the minimal page: its button visible);
- **page config**: the bytes of the HTML document (Gradio inlines the page's config in it) and of any
  ``/config`` the browser fetches, and the components and events that config declares;
- **tab switch** (playground only): for every task, the time from the click on its tab (its group's tab, then
  its own) until its first input and Run button are visible, measured inside the page.

Also printed: ``GET /config`` (every route's components, what ``gradio_client`` reads) and
``GET /config?page=`` (the main page's). Prints the medians, and the median of the pair ratios playground/minimal.

Where a tab's first showing spends its time (measured on 2 cores, Dec 2026, with Gradio 6.31): on the server a
tab's render takes 30-60 ms and answers ~50 KB, the same for the 2nd tab and the 29th; the rest is the browser.
Gradio's frontend keeps a loading status for every output of every event run so far and, on each status change of
any event, looks each one up from the root of the page's tree and reads the values of it and of everything inside
it. The tab rows (outputs of the ``?task=`` and ``?run=`` load steps) and each render's container were among them,
so every event walked every tab built so far: a tab took 0.6 s to open as the 2nd and 7-30 s as the 29th (CPU
profile of one: 2.2 s reading values, 0.9 s of tree look-ups). ``ui._progress_to_sink`` sends the hidden progress
of the page's events to one hidden component instead. And Gradio mounts a closed accordion's content only when it
opens, except in what ``gr.render`` builds: ``ui._accordion`` hides it there until it opens (a text-generation tab:
157 DOM nodes and 1 code editor instead of 426 and 7). The same walk covers the inputs of every event run so far
(Gradio 6.31 keeps a status for each of them too, for good): each tab's build added two (its pending-run state, read by a
fill step, and its model, read by the summary step), so after 28 tabs every status change looked up 61 components
from the root (about 450 ms of a late tab's 700 ms, CPU profile, Dec 2026). A build now reads a pending run itself
and adds a fill step only when there is one, and gives the summary step the model it was built with: 12 statuses
after 28 tabs. Two builds at once in one session also raced in Gradio (a tab left blank): builds run one at a time.
Still left: each tab's build is a server round trip and the mounting of its ~45 components; building the tabs in the
background once the page is ready was tried and measured no faster (a tab not shown is not mounted, so its click
still mounts it), and it cost 28 renders per page view and 25 KB of page config.

Run: .venv/bin/python bench/bench_page.py [--loads 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playground.tasks import TASKS  # noqa: E402
from tests.browser import ARGS, CHROMIUM  # noqa: E402

PLAYGROUND = """
from playground.ui import CSS, build_app
build_app().launch(server_name="127.0.0.1", server_port={port}, css=CSS, quiet=True)
"""
MINIMAL = """
import gradio as gr
with gr.Blocks() as demo:
    gr.Button("Go")
demo.launch(server_name="127.0.0.1", server_port={port}, quiet=True)
"""

# Inside the page: are the open task's input (by its label) and its Run/Send button visible, in the panel that shows
# the task's description (``text``: so that the panel of the task shown before, with the same input, is not taken)?
SHOWN_JS = """([label, button, text]) => {
    const visible = el => !!el && el.offsetParent !== null && el.getBoundingClientRect().height > 0;
    const panel = [...document.querySelectorAll('.task-tabs > [role=tabpanel]')].find(visible);
    if (!panel || !panel.innerText.includes(text)) return false;
    const own = el => [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
    const named = [...panel.querySelectorAll('*')]
        .some(el => (own(el) === label || el.getAttribute('aria-label') === label) && visible(el));
    return named && [...panel.querySelectorAll('button')].some(b => visible(b) && b.innerText.trim() === button);
}"""
# Inside the page: click the tabs named, then poll every frame until SHOWN_JS; the milliseconds from the first click.
SWITCH_JS = """async ([tabs, label, button, text]) => {
    const shown = %s;
    const visible = el => !!el && el.offsetParent !== null && el.getBoundingClientRect().height > 0;
    const tab = name => [...document.querySelectorAll('button[role=tab]')].find(b => visible(b) && b.innerText.trim() === name);
    const start = performance.now();
    for (const name of tabs) {  // a group's task tabs appear once the group's panel is shown
        while (!tab(name)) {
            if (performance.now() - start > 60000) throw new Error('no tab ' + name);
            await new Promise(r => requestAnimationFrame(r));
        }
        tab(name).click();
    }
    while (!shown([label, button, text])) {
        if (performance.now() - start > 60000) return null;  // not shown within a minute
        await new Promise(r => requestAnimationFrame(r));
    }
    return performance.now() - start;
}""" % SHOWN_JS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(source: str, data_dir: str, attempts: int = 3) -> tuple[subprocess.Popen, str]:
    """Start a page's server; again when it gives up at start (on a loaded machine Gradio's own check that
    localhost answers can time out, and it then exits)."""
    for attempt in range(attempts):
        try:
            return _serve(source, data_dir)
        except SystemExit as err:
            if attempt == attempts - 1:
                raise
            print(f"(the server did not start, trying again: {str(err).splitlines()[-1]})", flush=True)
    raise AssertionError("unreachable")


def _serve(source: str, data_dir: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env.update(HF_TOKEN_PATH="/nonexistent", HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               PLAYGROUND_DATA_DIR=data_dir, PYTHONPATH=str(ROOT))
    log = open(Path(data_dir) / f"server-{port}.log", "w+")
    process = subprocess.Popen([sys.executable, "-c", source.format(port=port)], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            log.seek(0)
            raise SystemExit(f"the server exited with {process.returncode}:\n{log.read()[-3000:]}")
        time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not answer within 900 s")


def _first_input_label(task) -> str:
    return "Message" if task.renderer == "chat" else task.inputs[0].label


def _button(task) -> str:
    return "Send" if task.renderer == "chat" else "Run"


def _shown_args(task) -> list[str]:
    return [_first_input_label(task), _button(task), task.description[:16]]


def one_load(browser, url: str, playground: bool, switches: bool) -> dict:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    sizes: dict[str, int] = {}

    def on_response(response):
        path = response.url.split("?")[0].removeprefix(url.rstrip("/"))
        if response.request.resource_type == "document" or path.rstrip("/").endswith("/config"):
            try:
                sizes[response.url] = len(response.body())
            except Exception:  # noqa: BLE001 - a response without a body (a redirect)
                pass

    page.on("response", on_response)
    try:
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        if playground:
            first = next(iter(TASKS.values()))
            page.wait_for_function(SHOWN_JS, arg=_shown_args(first), polling="raf",
                                   timeout=120_000)
        else:
            page.get_by_role("button", name="Go", exact=True).wait_for(state="visible", timeout=120_000)
        ready = time.perf_counter() - started
        counts = page.evaluate("() => [window.gradio_config.components.length, window.gradio_config.dependencies.length]")
        result = {"ready_s": ready, "bytes": sum(sizes.values()), "components": counts[0], "events": counts[1],
                  "switch_ms": {}}
        if playground and switches:
            page.wait_for_timeout(500)  # the page's load events settle
            opened_group = next(iter(TASKS.values())).group
            for task in TASKS.values():
                tabs = ([] if task.group == opened_group else [task.group]) + [task.label]
                opened_group = task.group
                shown = page.evaluate(SWITCH_JS, [tabs, *_shown_args(task)])
                if shown is None:
                    print(f"  {task.label}: inputs not shown within 60 s", flush=True)
                result["switch_ms"][task.id] = float("inf") if shown is None else shown
        return result
    finally:
        context.close()


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5, help="loads of each page (default 5)")
    parser.add_argument("--switch-loads", type=int, default=3, help="of those, loads that also switch tabs")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="bench-page-")
    servers = [serve(PLAYGROUND, data_dir), serve(MINIMAL, data_dir)]
    (_, play_url), (_, mini_url) = servers
    try:
        config_all = len(httpx.get(play_url + "config", timeout=60).content)
        config_page = len(httpx.get(play_url + "config", params={"page": ""}, timeout=60).content)
        mini_config = len(httpx.get(mini_url + "config", timeout=60).content)
        play, mini = [], []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                one_load(browser, play_url, True, False)  # warm both servers (first-request imports)
                one_load(browser, mini_url, False, False)
                for i in range(args.loads):
                    play.append(one_load(browser, play_url, True, i < args.switch_loads))
                    mini.append(one_load(browser, mini_url, False, False))
                    slowest = max(play[-1]["switch_ms"].items(), key=lambda kv: kv[1], default=("-", 0))
                    print(f"load {i + 1}: playground ready {play[-1]['ready_s']:.2f} s "
                          f"({play[-1]['bytes'] / 1024:.0f} KB) | minimal {mini[-1]['ready_s']:.2f} s "
                          f"({mini[-1]['bytes'] / 1024:.0f} KB)"
                          + (f" | slowest switch {slowest[0]} {slowest[1]:.0f} ms" if play[-1]["switch_ms"] else ""),
                          flush=True)
            finally:
                browser.close()
    finally:
        for process, _ in servers:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()

    med = statistics.median
    ratios = [a["ready_s"] / b["ready_s"] for a, b in zip(play, mini)]
    print()
    print(f"ready (median of {args.loads}): playground {med(r['ready_s'] for r in play):.2f} s, "
          f"minimal {med(r['ready_s'] for r in mini):.2f} s; ratio playground/minimal {med(ratios):.2f}x "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f}; goal <= 1.30x)")
    print(f"page document + /config fetched: playground {med(r['bytes'] for r in play) / 1024:.0f} KB, "
          f"minimal {med(r['bytes'] for r in mini) / 1024:.0f} KB")
    print(f"GET /config?page= (the main page): {config_page / 1024:.0f} KB (goal <= 250 KB); "
          f"GET /config (every route): {config_all / 1024:.0f} KB; minimal page's /config {mini_config / 1024:.1f} KB")
    print(f"components / events in the page's config: playground {play[0]['components']} / {play[0]['events']}, "
          f"minimal {mini[0]['components']} / {mini[0]['events']}")
    switched = [r["switch_ms"] for r in play if r["switch_ms"]]
    if switched:
        per_task = {t: med(s[t] for s in switched) for t in switched[0]}
        every = [v for s in switched for v in s.values()]
        worst = max(per_task.items(), key=lambda kv: kv[1])
        print(f"tab switch until inputs shown, over {len(per_task)} tasks x {len(switched)} loads: median "
              f"{med(every):.0f} ms, slowest task (its median) {worst[0]} {worst[1]:.0f} ms, max {max(every):.0f} ms "
              f"(goal <= 300 ms)")
    if args.json:
        args.json.write_text(json.dumps({"playground": play, "minimal": mini, "ratios": ratios,
                                         "config_all": config_all, "config_page": config_page}, indent=1))


if __name__ == "__main__":
    main()
