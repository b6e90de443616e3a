"""Compare: one input sent to 2 to 4 targets (or to every live provider of one model) at once, through the one
service path, and the answers set side by side and diffed in the way that fits the task.

    page (pages/compare.py)  ->  run_handler / chat_handler / providers_handler / vote_handler   (Gradio's values)
        ->  run_all(task, targets, inputs)     one thread per pane: handlers.task_request -> service.run
            chat_round(task, targets, ...)     one thread per pane: service.run_stream, merged as they stream
        ->  PaneRun per pane                   rendered output, status line (with cost), raw exchange, RunResult
        ->  diff_values / exchange_table / providers_table                    the views across panes
    blind mode: shuffled letters (``blind_order``), a vote (``record_vote``) into the ledger's votes table,
    ``leaderboard`` (win rate, Elo) and ``export_pairs`` (JSONL preference pairs) read back from it.

Every pane's run is a ledger record (source ``compare``), owned like a tab's run (``owners.run_fields``). A pane
that fails shows its own error; the others are not touched. Every pane's request carries the spend guard
(``spend_guard.Guard``, the page's budgets): a pane whose run would pass a budget is held back on the service path
and shows the guard's question; "Run anyway" sends the held-back panes alone, approved (``anyway=True``). Nothing here keeps runs: the session holds only
the last comparison's run ids, letters and names (for the vote) and a chat comparison's id (``chat_comparison``), and
the ledger holds the rest: a comparison reopens from its runs (``recorded``), its views derived as the live ones.
"""

from __future__ import annotations

import difflib
import inspect
import json
import math
import queue
import random
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import urlencode

import gradio as gr
import numpy as np

from . import handlers, hub, ledger, owners, service, spend_guard
from .errors import InputError, PlaygroundError
from .ledger import cost as ledger_cost
from .renderers import RENDERERS
from .service import CUSTOM, RunResult, StreamDelta
from .tasks import TASKS, Task, get_task

__all__ = [
    "MIN_PANES", "MAX_PANES", "MAX_PROVIDERS", "PaneTarget", "PaneRun", "run_pane", "run_all", "pane_status",
    "diff_kind", "diff_slots", "diff_values", "word_diff", "label_frame", "cosine_table", "exchange_table",
    "chat_round", "live_providers", "run_providers", "providers_table", "blind_order", "LETTERS", "vote_choices",
    "record_vote", "leaderboard", "export_pairs", "link_for", "linked_first_pane", "api_compare",
    "recorded", "reopened", "comparison_query", "snapshot_query", "blind_comparison",
]

MIN_PANES, MAX_PANES = 2, 4
MAX_PROVIDERS = 8  # "all providers of this model": one run per live provider, up to this many
PROVIDERS = "providers"  # the ledger's kind of such a comparison (``ledger_runs.comparison_kind``)
LETTERS = "ABCDEFGH"
STREAM_UPDATE_S = handlers.STREAM_UPDATE_S  # panes streaming at once are shown together, at this pace
ELO_K, ELO_START = 32.0, 1000.0

# How the answers of a task are compared, by its renderer.
_DIFF_KINDS = {
    "label": "labels", "similarity": "labels", "fill_mask": "labels", "answers": "labels",
    "text": "text", "chat": "text",
    "image": "images", "boxes": "images", "slider": "images", "segments": "images", "video": "images",
    "audio": "audio",
    "embedding": "embeddings",
}


# ------------------------------------------------------------------------------------------ one pane


@dataclass(frozen=True)
class PaneTarget:
    """Where one pane's run goes: model, provider (as the header's dropdown: a provider, a routing policy,
    ``custom`` with ``endpoint_url``, or ``local``), revision, and the task's parameter values followed by the
    extra-parameters JSON (as a tab's Parameters accordion holds them)."""

    model: str
    provider: str = "auto"
    endpoint_url: str = ""
    revision: str = "main"
    params: tuple = ()

    @property
    def name(self) -> str:
        where = (self.endpoint_url or CUSTOM) if self.provider == CUSTOM else self.provider
        return f"{self.model} · {where}"


@dataclass
class PaneRun:
    """One pane's answer: the run (None when the request could not be made), and what the pane shows."""

    index: int
    target: PaneTarget
    result: RunResult | None
    rendered: Any
    status: str
    raw: str
    ttft_s: float | None = None  # chat: seconds until the first token
    done_s: float | None = None  # chat: seconds until the last (both counted from the pane's start)
    history: list[dict[str, Any]] = field(default_factory=list)  # chat: the pane's conversation, as shown
    recorded_cost: tuple[float | None, str] | None = None  # a run reopened from the ledger: its cost as recorded

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.ok

    @property
    def cost(self) -> tuple[float | None, str]:
        if self.recorded_cost is not None:
            return self.recorded_cost
        if self.result is None:
            return None, "unknown: no request was sent"
        return ledger_cost.estimate(self.result)

    @property
    def tokens_per_s(self) -> float | None:
        """Chat: output tokens per second after the first token (None when the provider counted none)."""
        result = self.result
        completion = (result.usage or {}).get("completion_tokens") if result is not None else None
        if not completion or self.ttft_s is None or self.done_s is None or self.done_s <= self.ttft_s:
            return None
        return completion / (self.done_s - self.ttft_s)


def _cost_text(cost_usd: float | None) -> str:
    from .pages.history import cost_text

    return cost_text(cost_usd)


def pane_status(result: RunResult) -> str:
    """A pane's status line: the tab's (latency, model@sha, provider served, tokens) and the run's cost; for a run
    the spend guard held back, its question."""
    if result.held_back:
        return result.error.display()
    line = f"{result.status_line()} · cost {_cost_text(ledger_cost.estimate(result)[0])}"
    return line if result.ok else f"{line}\n\n{result.error.display()}"


def _input_error(index: int, target: PaneTarget, task: Task, err: PlaygroundError) -> PaneRun:
    raw = json.dumps({"exchanges": [], "error": err.to_dict()}, indent=2)
    return PaneRun(index, target, None, RENDERERS[task.renderer].empty, f"❌ {err.display()}", raw)


def run_pane(task: Task, index: int, target: PaneTarget, input_values: tuple, token: str | None = None,
             bill_to: str | None = None, owner: Any = None, session: str = "", advanced: tuple = (),
             guard: spend_guard.Guard | None = None, comparison_id: str = "", kind: str = "",
             source: str = "compare") -> PaneRun:
    """One pane's run through the one service path (recorded, source ``compare`` unless another page's ``source``,
    as pane ``index`` of ``comparison_id``, of ``kind``: "providers" or none; held back by the spend guard when it
    would pass ``guard``'s budget). Never raises."""
    try:
        request = handlers.task_request(task, token, target.provider, target.endpoint_url, bill_to, target.model,
                                        target.revision, (*input_values, *target.params), advanced, session, owner,
                                        source=source, guard=guard)
    except InputError as err:
        return _input_error(index, target, task, err)
    request.comparison_id, request.comparison_pane, request.comparison_kind = comparison_id, index, kind
    result = service.run(request)
    rendered, _, raw = handlers.shown(task, result)  # (shown() notes an unreadable answer in result.error)
    return PaneRun(index, target, result, rendered, pane_status(result), raw)


def run_all(task: Task, targets: list[PaneTarget], input_values: tuple, token: str | None = None,
            bill_to: str | None = None, owner: Any = None, session: str = "",
            advanced: tuple = (), guard: spend_guard.Guard | None = None,
            only: set[int] | None = None, comparison_id: str = "", kind: str = "",
            source: str = "compare") -> Iterator[PaneRun]:
    """Every pane's run at once (or the panes ``only`` names), one thread each, recorded as panes of one comparison
    (``comparison_id``, a new one when not given; of ``kind``, see ``run_pane``); yields each pane as it finishes
    (the fastest first)."""
    picked = [(i, t) for i, t in enumerate(targets) if only is None or i in only]
    comparison_id = comparison_id or uuid.uuid4().hex
    with ThreadPoolExecutor(max_workers=max(1, len(picked)), thread_name_prefix="compare") as pool:
        futures = [pool.submit(run_pane, task, i, t, tuple(input_values), token, bill_to, owner, session, advanced,
                               guard, comparison_id, kind, source) for i, t in picked]
        for future in as_completed(futures):
            yield future.result()


# ------------------------------------------------------------------------------------------ chat


def _chat_request(task: Task, index: int, target: PaneTarget, messages: list[dict[str, Any]], extras: tuple, token,
                  bill_to, owner, session, advanced, guard=None, comparison_id: str = "",
                  kind: str = "") -> service.RunRequest:
    request = handlers.task_request(task, token, target.provider, target.endpoint_url, bill_to, target.model,
                                    target.revision, (None, *extras, *target.params), advanced, session, owner,
                                    source="compare", guard=guard)
    request.inputs = {**request.inputs, "messages": messages}
    request.comparison_id, request.comparison_pane, request.comparison_kind = comparison_id, index, kind
    return request


def chat_round(task: Task, targets: list[PaneTarget], histories: list[list[dict[str, Any]]], message: str,
               extras: tuple = (), token: str | None = None, bill_to: str | None = None, owner: Any = None,
               session: str = "", advanced: tuple = (), guard: spend_guard.Guard | None = None,
               only: set[int] | None = None, comparison_id: str = "", kind: str = "") -> Iterator[list[PaneRun]]:
    """One user turn sent to every pane at once (or to the panes ``only`` names: the others keep their
    conversation, and their state has no status), each with its own history; the replies stream together. Every
    turn of one chat comparison is recorded with its ``comparison_id`` (a new one when not given) and each pane's
    number, so that the comparison reopens as a whole (``recorded``).
    ``extras`` are the chat's other inputs (system prompt, tools, schema). Yields every pane's state, at most
    every ``STREAM_UPDATE_S`` and once at the end (then every pane sent has its RunResult)."""
    message = (message or "").strip()
    asked = {"role": "user", "content": message}
    sent = [i for i in range(len(targets)) if only is None or i in only]
    states = [PaneRun(i, t, None, [*h, asked, {"role": "assistant", "content": "…"}], "⏳ Waiting for the first token…",
                      "", history=list(h)) if i in sent else PaneRun(i, t, None, list(h), None, None, history=list(h))
              for i, (t, h) in enumerate(zip(targets, histories))]
    if not message:
        err = InputError("The message is empty", "", "Type a message first.")
        for i in sent:
            states[i].rendered, states[i].status = list(states[i].history), f"❌ {err.display()}"
        yield states
        return
    events: queue.Queue = queue.Queue()
    comparison_id = comparison_id or uuid.uuid4().hex

    def pump(i: int) -> None:
        state, started = states[i], time.perf_counter()
        try:
            request = _chat_request(task, i, state.target, handlers.chat_messages(state.history) + [asked], extras,
                                    token, bill_to, owner, session, advanced, guard, comparison_id, kind)
            for event in service.run_stream(request):
                if isinstance(event, StreamDelta) and state.ttft_s is None:
                    state.ttft_s = time.perf_counter() - started
                elif isinstance(event, RunResult):
                    state.done_s = time.perf_counter() - started
                events.put((i, event))
        except InputError as err:
            events.put((i, err))
        except Exception as err:  # noqa: BLE001 - a pane's own failure, shown in its pane; the others go on
            events.put((i, PlaygroundError("This pane failed", f"{type(err).__name__}: {err}", "")))
        finally:
            events.put((i, None))

    threads = [threading.Thread(target=pump, args=(i,), name=f"compare-chat-{i}", daemon=True) for i in sent]
    for thread in threads:
        thread.start()
    running, shown_at, deltas = len(threads), 0.0, {}
    while running:
        i, event = events.get()
        state = states[i]
        if event is None:
            running -= 1
        elif isinstance(event, StreamDelta):
            deltas[i] = event
            state.rendered = [*state.history, asked, *handlers._reply_messages(
                event.so_far, event.reasoning, event.tool_calls, done=False)]
            state.status = f"⏳ Streaming… {len(event.so_far)} characters"
        elif isinstance(event, RunResult):
            last = deltas.get(i, StreamDelta("", ""))
            state.result, state.status, state.raw = event, pane_status(event), handlers.raw_json(event)
            if event.ok or event.output:  # (a run the spend guard held back has neither: the question shows)
                reply = f"{event.output or ''}{'' if event.ok else handlers.TRUNCATED}"
                state.rendered = [*state.history, asked,
                                  *handlers._reply_messages(reply, last.reasoning, last.tool_calls, done=True)]
            else:  # nothing arrived: the pane keeps its conversation as it was
                state.rendered = list(state.history)
        elif isinstance(event, PlaygroundError):
            state.rendered, state.status = list(state.history), f"❌ {event.display()}"
            state.raw = json.dumps({"exchanges": [], "error": event.to_dict()}, indent=2)
        if running and time.monotonic() - shown_at < STREAM_UPDATE_S:
            continue
        shown_at = time.monotonic()
        yield states
    for thread in threads:
        thread.join()


# ------------------------------------------------------------------------------------------ views across panes


def diff_kind(task: Task) -> str | None:
    """How the task's answers are compared: labels, text, images, audio, embeddings (None: side by side only)."""
    return _DIFF_KINDS.get(task.renderer)


def diff_slots(task: Task, n: int) -> int:
    """How many components the page builds for the task's diff (``diff_values`` gives as many values)."""
    return {"labels": 1, "text": n - 1, "images": 1, "audio": n, "embeddings": 1}.get(diff_kind(task), 0)


_WORDS = re.compile(r"\s+|[^\s]+")


def word_diff(base: str, other: str) -> list[tuple[str, str | None]]:
    """``other`` against ``base``, word by word, for gr.HighlightedText: unchanged text, ``removed`` words of
    ``base``, ``added`` words of ``other``."""
    a, b = _WORDS.findall(base or ""), _WORDS.findall(other or "")
    out: list[tuple[str, str | None]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("".join(b[j1:j2]), None))
            continue
        if i2 > i1:
            out.append(("".join(a[i1:i2]), "removed"))
        if j2 > j1:
            out.append(("".join(b[j1:j2]), "added"))
    return out


def _text(run: PaneRun) -> str:
    """A pane's answer as text (chat: the last reply)."""
    if run.result is None or run.result.output is None:
        return ""
    output = run.result.output
    return output if isinstance(output, str) else RENDERERS["text"].render(output, {})


def label_frame(runs: list[PaneRun], names: list[str]):
    """Scores per label and pane for the grouped bar chart (a pandas DataFrame: bar, label, score, pane). Each
    bar is one label of one pane (``"POSITIVE · 2"``), so the bars of one label stand together, coloured by pane."""
    import pandas as pd

    rows = []
    for run in sorted(runs, key=lambda r: r.index):
        if run.ok and isinstance(run.rendered, dict):
            key = names[run.index].split(".")[0]  # "1. model · provider" -> "1"; a blind letter stays itself
            rows += [{"bar": f"{label} · {key}", "label": label, "score": float(score), "pane": names[run.index]}
                     for label, score in run.rendered.items()]
    rows.sort(key=lambda r: (r["label"], r["bar"]))
    return pd.DataFrame(rows, columns=["bar", "label", "score", "pane"])


def _vector(run: PaneRun) -> np.ndarray | None:
    if not run.ok:
        return None
    arr = np.asarray(run.result.output, dtype="float64")
    if arr.size == 0:
        return None
    return arr.reshape(-1, arr.shape[-1])[0] if arr.ndim > 1 else arr.reshape(-1)


def cosine(a: np.ndarray, b: np.ndarray) -> float | None:
    if a.shape != b.shape:
        return None
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm else None


def cosine_table(runs: list[PaneRun], names: list[str]):
    """The cosine similarity of every two panes' embeddings (a different size: "–", with the sizes said)."""
    import pandas as pd

    vectors = {run.index: _vector(run) for run in runs}
    order = sorted(vectors)
    rows = []
    for i in order:
        row = {"": names[i]}
        for j in order:
            a, b = vectors[i], vectors[j]
            if a is None or b is None:
                row[names[j]] = "no embedding"
            else:
                value = cosine(a, b)
                row[names[j]] = f"{value:.4f}" if value is not None else f"– ({a.size} vs {b.size} dims)"
        rows.append(row)
    return pd.DataFrame(rows, columns=["", *(names[i] for i in order)])


def _picture(run: PaneRun) -> Any:
    """A pane's picture as the grid shows it (the renderers drew boxes and masks already)."""
    value = run.rendered
    if isinstance(value, tuple):  # before/after: the after
        return value[-1]
    if isinstance(value, dict) and value.get("__type__") == "update":  # segments: the image with its masks
        image, layers = value["value"]
        return _overlay(image, layers)
    return value


def _overlay(image, layers):
    from PIL import Image

    from .renderers import _PALETTE

    base = image.convert("RGB").copy()
    for k, (mask, _label) in enumerate(layers):
        colour = Image.new("RGB", base.size, _PALETTE[k % len(_PALETTE)])
        alpha = Image.fromarray((np.clip(np.asarray(mask, dtype="float32"), 0, 1) * 120).astype("uint8"))
        base.paste(colour, (0, 0), alpha.resize(base.size))
    return base


def diff_values(task: Task, runs: list[PaneRun], names: list[str]) -> list[Any]:
    """The values of the task's diff components (``diff_slots`` of them), from every pane's run."""
    kind, by_index = diff_kind(task), {run.index: run for run in runs}
    ordered = [by_index.get(i) for i in range(len(names))]
    if kind == "labels":
        return [label_frame(runs, names)]
    if kind == "text":
        first = ordered[0]
        base = _text(first) if first is not None else ""
        return [word_diff(base, _text(run)) if run is not None and run.ok and first is not None and first.ok else []
                for run in ordered[1:]]
    if kind == "images":
        return [[(_picture(run), names[run.index]) for run in ordered if run is not None and run.ok
                 and run.rendered is not None]]
    if kind == "audio":
        return [run.rendered if run is not None and run.ok else None for run in ordered]
    if kind == "embeddings":
        return [cosine_table(runs, names)]
    return []


_REQUEST_ID_HEADERS = ("x-request-id", "x-amzn-requestid", "x-amz-request-id", "request-id", "cf-ray", "x-trace-id")


def exchange_table(runs: list[PaneRun], names: list[str]):
    """The panes' HTTP exchanges side by side: the last call's status, provider header, request id and timing,
    and how many calls the run made (retries, failover)."""
    import pandas as pd

    columns = ["Pane", "HTTP status", "x-inference-provider", "Request id", "Call time", "Run time", "Calls", "Host"]
    rows = []
    for run in sorted(runs, key=lambda r: r.index):
        calls = [e for e in run.result.exchanges if not e.is_hub_lookup] if run.result is not None else []
        last = calls[-1] if calls else None
        headers = {k.lower(): v for k, v in (last.response_headers if last is not None else {}).items()}
        rid = next((headers[h] for h in _REQUEST_ID_HEADERS if h in headers), "–")
        rows.append([
            names[run.index],
            str(last.status) if last is not None and last.status is not None else (last.error if last else "no call"),
            headers.get("x-inference-provider", "–"), rid,
            f"{last.elapsed_s * 1000:.0f} ms" if last is not None and last.elapsed_s is not None else "–",
            f"{run.result.latency_s * 1000:.0f} ms" if run.result is not None else "–",
            str(len(calls)), last.host if last is not None else "–",
        ])
    return pd.DataFrame(rows, columns=columns)


# ------------------------------------------------------------------------------------------ all providers


def live_providers(task: Task, model: str, token: str | None = None) -> list[str]:
    """The live providers serving ``model`` for the task (the Hub's provider mapping), up to ``MAX_PROVIDERS``."""
    table = hub.model_providers((model or "").strip(), task.id, token=token)
    return [offer.provider for offer in table.live][:MAX_PROVIDERS]


def run_providers(task: Task, model: str, revision: str, providers: list[str], input_values: tuple, params: tuple,
                  token: str | None = None, bill_to: str | None = None, owner: Any = None, session: str = "",
                  advanced: tuple = (), guard: spend_guard.Guard | None = None) -> list[PaneRun]:
    """One run per provider at once (chat streams, for time to first token and tokens/s), in ``providers``' order;
    each held back by the spend guard when it would pass ``guard``'s budget. The runs are recorded as one comparison
    of kind "providers", which reopens as its table."""
    targets = [PaneTarget(model, p, "", revision, tuple(params)) for p in providers]
    comparison_id = uuid.uuid4().hex
    if task.renderer == "chat":
        message, *extras = input_values
        text = message.get("text", "") if isinstance(message, dict) else message
        runs: list[PaneRun] = []
        for runs in chat_round(task, targets, [[] for _ in targets], text, tuple(extras), token, bill_to, owner,
                               session, advanced, guard, comparison_id=comparison_id, kind=PROVIDERS):
            pass
        return runs
    return sorted(run_all(task, targets, input_values, token, bill_to, owner, session, advanced, guard,
                          comparison_id=comparison_id, kind=PROVIDERS), key=lambda r: r.index)


def _difference(task: Task, first: PaneRun, run: PaneRun) -> str:
    """How a run's answer differs from the first provider's, in a few words."""
    if run is first:
        return "(reference)"
    if not (run.ok and first.ok):
        return "–"
    kind = diff_kind(task)
    if kind == "labels" and isinstance(run.rendered, dict) and isinstance(first.rendered, dict):
        top = lambda d: max(d, key=d.get) if d else None  # noqa: E731
        delta = max((abs(run.rendered.get(k, 0.0) - first.rendered.get(k, 0.0))
                     for k in {*run.rendered, *first.rendered}), default=0.0)
        same = "same top label" if top(run.rendered) == top(first.rendered) else \
            f"top label {top(run.rendered)} (first: {top(first.rendered)})"
        return f"{same}, largest score change {delta:.4f}"
    if kind == "embeddings":
        a, b = _vector(first), _vector(run)
        value = cosine(a, b) if a is not None and b is not None else None
        return f"cosine {value:.4f}" if value is not None else "different sizes"
    a, b = _answer_text(first), _answer_text(run)
    if a == b:
        return "identical"
    ratio = difflib.SequenceMatcher(None, a.split(), b.split(), autojunk=False).ratio()
    return f"{ratio:.0%} of words in common"


def _answer_text(run: PaneRun) -> str:
    if diff_kind(get_task(run.result.task)) == "text":
        return _text(run)
    return json.dumps(_plain(run.result.output), sort_keys=True, default=str)[:5000]


def _plain(value: Any) -> Any:
    from .renderers import to_jsonable

    try:
        return to_jsonable(value)
    except Exception:  # noqa: BLE001 - only for comparing two answers
        return repr(value)


def providers_table(task: Task, runs: list[PaneRun]):
    """One row per provider: latency, time to first token and tokens/s (chat), cost, the answer, and how it
    differs from the first provider's."""
    import pandas as pd

    columns = ["Provider", "Status", "Latency", "First token", "Tokens/s", "Cost", "Output", "Difference from first"]
    rows = []
    first = runs[0] if runs else None
    for run in runs:
        result = run.result
        ok = "✅" if run.ok else (f"{spend_guard.ASK_MARK} {result.error.title}: {result.error.message}"
                                 if result is not None and result.held_back else
                                 f"❌ {result.error.title}" if result is not None and result.error else
                                 run.status.splitlines()[0].replace("*", ""))
        output = _answer_text(run) if run.ok else ""
        tps = run.tokens_per_s
        rows.append([
            run.target.provider + (f" (served by {result.provider_served})" if result is not None and
                                   result.provider_served not in (None, run.target.provider) else ""),
            ok, f"{result.latency_s * 1000:.0f} ms" if result is not None else "–",
            f"{run.ttft_s * 1000:.0f} ms" if run.ttft_s is not None else "–",
            f"{tps:.1f}" if tps is not None else "–",
            _cost_text(run.cost[0]), output[:300] + ("…" if len(output) > 300 else ""),
            _difference(task, first, run),
        ])
    return pd.DataFrame(rows, columns=columns)


# ------------------------------------------------------------------------------------------ blind mode and votes


def blind_order(n: int, rng: random.Random | None = None) -> list[int]:
    """Which target each lettered pane shows: pane ``j`` (letter ``LETTERS[j]``) shows target ``order[j]``."""
    order = list(range(n))
    (rng or random.SystemRandom()).shuffle(order)
    return order


def vote_choices(n: int) -> list[tuple[str, str]]:
    """The vote buttons: (label, choice). Two panes: A better, B better, tie, both bad."""
    if n == 2:
        best = [("👈 A is better", "A"), ("👉 B is better", "B")]
    else:
        best = [(f"{LETTERS[j]} is best", LETTERS[j]) for j in range(n)]
    return [*best, ("🤝 Tie", "tie"), ("👎 " + ("Both are bad" if n == 2 else "All are bad"), "bad")]


def record_vote(owner_state: Any, task_id: str, choice: str, comparison: dict[str, Any]) -> str:
    """Store a blind vote in the ledger: the choice and, per letter, the target and the run it showed.
    Returns the reveal (markdown naming each letter's target). Raises gr.Error when it cannot be stored."""
    panes = (comparison or {}).get("panes") or []
    if not panes or comparison.get("voted"):
        raise gr.Error("Run a blind comparison first: there is nothing to vote on." if not panes else
                       "This comparison has its vote already: run again to vote again.")
    letters = [p["letter"] for p in panes]
    if choice not in (*letters, "tie", "bad"):
        raise gr.Error(f"Unknown vote {choice!r}: choose one of {', '.join(letters)}, tie or bad.")
    store = ledger.current()
    if store is None:
        raise gr.Error("Votes are kept in the run ledger, which is off on this server.")
    owner = owners.owner_of(owner_state)
    try:
        store.record_vote(owner, task_id, choice, [
            {k: p.get(k) for k in ("letter", "model", "provider", "endpoint_url", "revision", "run_id", "ok")}
            for p in panes])
    except ledger.LedgerError as err:
        raise gr.Error(f"The vote was not stored: {err}") from None
    comparison["voted"] = True
    said = {"tie": "a tie", "bad": "all bad"}.get(choice, f"{choice} better")
    lines = [f"**Your vote: {said}.** The panes were:"]
    lines += [f"- **{p['letter']}** = `{p['name']}`{' 🏆' if p['letter'] == choice else ''}" for p in panes]
    return "\n".join(lines)


def _pairs(vote: ledger.Vote) -> Iterator[tuple[str, str, float]]:
    """A vote as pairwise outcomes (target a, target b, a's score: 1 win, 0.5 tie): the winner beats every other;
    a tie or "all bad" ties every two."""
    names = {t["letter"]: _target_name(t) for t in vote.targets}
    if vote.choice in names:
        for letter, name in names.items():
            if letter != vote.choice:
                yield names[vote.choice], name, 1.0
        return
    letters = list(names)
    for i, a in enumerate(letters):
        for b in letters[i + 1:]:
            yield names[a], names[b], 0.5


def _target_name(target: dict[str, Any]) -> str:
    return PaneTarget(target.get("model") or "", target.get("provider") or "", target.get("endpoint_url") or "").name


def leaderboard(owner_state: Any, task_id: str):
    """Per target: votes, wins, ties, win rate and an Elo score (K=32, from 1000, votes in time order), for the
    task's blind votes of this browser's owner."""
    import pandas as pd

    columns = ["Target", "Elo", "Win rate", "Votes", "Wins", "Ties / all bad", "Losses"]
    store = ledger.current()
    if store is None or not task_id:
        return pd.DataFrame([], columns=columns)
    votes = store.list_votes(owners.owner_of(owner_state), task=task_id)
    elo: dict[str, float] = {}
    counts: dict[str, dict[str, int]] = {}
    for vote in sorted(votes, key=lambda v: v.created):
        for name in map(_target_name, vote.targets):
            elo.setdefault(name, ELO_START)
            c = counts.setdefault(name, {"votes": 0, "wins": 0, "ties": 0, "losses": 0})
            c["votes"] += 1
        if vote.choice in {t["letter"] for t in vote.targets}:
            for t in vote.targets:
                counts[_target_name(t)]["wins" if t["letter"] == vote.choice else "losses"] += 1
        else:
            for t in vote.targets:
                counts[_target_name(t)]["ties"] += 1
        for a, b, score in _pairs(vote):
            expected = elo_expected(elo[a], elo[b])
            elo[a] += ELO_K * (score - expected)
            elo[b] -= ELO_K * (score - expected)
    rows = [[name, round(elo[name]), f"{c['wins'] / c['votes']:.0%}", c["votes"], c["wins"], c["ties"], c["losses"]]
            for name, c in counts.items()]
    rows.sort(key=lambda r: (-r[1], r[0]))
    return pd.DataFrame(rows, columns=columns)


def _prompt_of(run: ledger.Run) -> Any:
    """A run's input as a preference pair's prompt: the chat's messages, else its inputs' text."""
    inputs = run.inputs or {}
    if "messages" in inputs:
        return inputs["messages"]
    texts = [v for v in inputs.values() if isinstance(v, str)]
    return texts[0] if len(texts) == 1 else inputs


def _completion_of(run: ledger.Run) -> Any:
    output = run.output
    if isinstance(output, dict):
        for key in ("generated_text", "summary_text", "translation_text", "text"):
            if isinstance(output.get(key), str):
                return output[key]
    return output


def export_pairs(owner_state: Any, task_id: str | None = None) -> tuple[list[dict[str, Any]], int]:
    """The blind votes as preference pairs ``{"prompt", "chosen", "rejected"}`` (the winner's answer against each
    other's; ties and "all bad" give none), read from the runs the votes point to. Returns (pairs, how many pairs
    were skipped because a run is no longer in the history)."""
    store = ledger.current()
    if store is None:
        raise gr.Error("Votes are kept in the run ledger, which is off on this server.")
    owner = owners.owner_of(owner_state)
    store.flush(10.0)
    pairs, missing = [], 0
    for vote in store.list_votes(owner, task=task_id or None):
        by_letter = {t["letter"]: t for t in vote.targets}
        if vote.choice not in by_letter:
            continue
        winner = by_letter[vote.choice]
        chosen = store.get_run(owner, winner.get("run_id") or "")
        for letter, loser in by_letter.items():
            if letter == vote.choice:
                continue
            rejected = store.get_run(owner, loser.get("run_id") or "")
            if chosen is None or rejected is None:
                missing += 1
                continue
            pairs.append({"prompt": _prompt_of(chosen), "chosen": _completion_of(chosen),
                          "rejected": _completion_of(rejected), "task": vote.task,
                          "chosen_model": _target_name(winner), "rejected_model": _target_name(loser),
                          "vote_id": vote.id, "created": vote.created.isoformat()})
    return pairs, missing


# ------------------------------------------------------------------------------------------ a comparison kept


NOT_MINE = ("That comparison is not in this browser's history (deleted, or another browser's). A comparison opens in "
            "the browser that ran it; its owner can publish it from History as a read-only snapshot.")
NOT_PUBLISHED = "This comparison's snapshot is no longer published (its owner withdrew or deleted it)."


def comparison_query(comparison_id: str) -> str:
    """History's "Open the comparison": the Compare page (beside History) reopening it, for its owner."""
    return f"./compare?{urlencode({'comparison': comparison_id})}"


def snapshot_query(snapshot_id: str) -> str:
    """A published comparison's read-only link (the snapshot of its first pane), relative to History or Compare."""
    return f"./compare?{urlencode({'snapshot': snapshot_id})}"


def _pane_runs(runs: list[ledger.Run]) -> list[ledger.Run]:
    """A comparison's runs (pane by pane, each pane's in time order), one per pane as the page shows them: for "all
    providers of this model", every provider's run (up to ``MAX_PROVIDERS``); for panes, each pane's last run (a
    chat pane's last turn holds its whole conversation), up to ``MAX_PANES``."""
    if runs[0].comparison_kind == PROVIDERS:
        return runs[:MAX_PROVIDERS]
    last: dict[Any, ledger.Run] = {}
    for run in runs:
        last[run.comparison_pane] = run
    return list(last.values())[:MAX_PANES]


def recorded(runs: list[ledger.Run], store: ledger.Ledger, reader: ledger.Owner, snapshot: bool = False
             ) -> dict[str, Any]:
    """A comparison as its runs recorded it, as the page builds it (``pages.compare.layout_of``'s link): its task,
    the shared inputs (of its first pane's run), and per pane the target's values (``PANE_FIELDS``, parameters,
    extra JSON), the rendered output (a chat pane: its whole conversation), the status line and the raw exchange;
    the diffs and the exchange table, derived from the recorded runs as the live page derives them; for "all
    providers of this model", its table (one row per provider) and pane 1's target. Read from the ledger, nothing
    run again; ``snapshot``: read-only, for whoever has the link; a chat comparison reopened by its owner goes on
    as the same comparison (``chat``, the session's ``chat_comparison``)."""
    from .run_cards import card_of, header_values, recorded_output, result_of, tab_values

    task = get_task(runs[0].task)
    started = min(r.created for r in runs)
    runs = _pane_runs([r for r in runs if r.task == task.id])
    every = runs[0].comparison_kind == PROVIDERS
    k, p = len(task.inputs), len(task.params)
    again = "read-only" if snapshot else "send a message to go on" if task.renderer == "chat" else None
    panes, inputs, shown = [], None, []
    for j, run in enumerate(runs):
        card = {**card_of(run, store, reader), "snapshot": snapshot}
        model, revision, *rest = tab_values(task, card, again)
        provider, endpoint, _ = header_values(card)
        values, params, (extra, output, status, raw) = rest[:k], rest[k:k + p], rest[k + p:]
        inputs = values if inputs is None else inputs
        panes.append({"values": [model, provider, endpoint, revision, *params, extra],
                      "output": output, "status": status, "raw": raw})
        result = result_of(card)  # with its recorded exchanges, for the exchange table
        result.output = recorded_output(task, card) if result.ok else None  # for the diffs
        shown.append(PaneRun(j, PaneTarget(model, provider, endpoint, revision, (*params, extra)), result, output,
                             status, raw, recorded_cost=(run.cost_usd, run.cost_basis)))
    when = started.strftime("%Y-%m-%d %H:%M:%S")
    what = (f"“all providers of {runs[0].model}” ({len(shown)} providers)" if every else
            f"{'chat ' if task.renderer == 'chat' else ''}comparison of {len(panes)} panes")
    shows = ("every provider's run in the table below" if every else
             "every pane's conversation" if task.renderer == "chat" else "every pane")
    note = (f"📸 **Read-only snapshot** of a {what} run {when} UTC, published by its owner: {shows} as it was "
            "recorded." if snapshot else
            f"↩️ **Reopened** the {what} of {when} UTC from your History: {shows} as it was recorded. " +
            ("Send a message to go on." if task.renderer == "chat" and not every else "Press Run to run it again."))
    names = names_of([r.target for r in shown], False)
    if every:  # as the live run showed it: its table, pane 1's target
        panes, diffs, exchange, table = panes[:1], [], None, providers_table(task, shown)
    else:
        diffs = diff_values(task, shown, names) if len(shown) >= MIN_PANES else []
        exchange, table = exchange_table(shown, names), None
    chat = None
    if task.renderer == "chat" and not every and not snapshot:
        chat = {"id": runs[0].comparison_id, "targets": [list(pane["values"][:4]) for pane in panes]}
    return {"task": task.id, "n": max(MIN_PANES, len(panes)), "values": inputs or [], "panes": panes,
            "diffs": diffs, "exchange": exchange, "providers": table, "chat": chat, "readonly": snapshot,
            "note": note}


def reopened(owner_state: Any, comparison_id: str = "", snapshot_id: str = "") -> dict[str, Any]:
    """``/compare?comparison=<id>`` (one of this browser's comparisons) or ``?snapshot=<id>`` (a published one,
    anyone's): ``recorded``'s link. Raises PlaygroundError, with what to do, when it cannot be opened."""
    store = ledger.current()
    if store is None:
        raise PlaygroundError("Runs are not recorded on this server", "The ledger is off, so no comparison is kept.",
                              "")
    try:
        if snapshot_id:
            found = store.shared_comparison(snapshot_id)
            if not found or not found[0] or found[0][0].task not in TASKS:
                raise PlaygroundError("Not published", NOT_PUBLISHED, "Ask its owner for a new link.")
            return recorded(found[0], store, found[1], snapshot=True)
        owner = owners.owner_of(owner_state)
        runs = store.comparison(owner, comparison_id)
    except ledger.LedgerError as err:
        raise PlaygroundError("The comparison cannot be read", str(err), "") from None
    if not runs or runs[0].task not in TASKS:
        raise PlaygroundError("Not in this browser's history", NOT_MINE, "")
    return recorded(runs, store, owner)


# ------------------------------------------------------------------------------------------ links from the tabs


def link_for(task_id: str, model: str | None = None, provider: str | None = None, **inputs: Any) -> str:
    """``compare?task=…&model=…&provider=…&<input>=…``: the Compare page with the tab's task, target and text
    inputs as pane 1 (relative to the playground page)."""
    query = {"task": task_id, **({"model": model} if model else {}), **({"provider": provider} if provider else {}),
             **{k: v for k, v in inputs.items() if isinstance(v, str) and v}}
    return f"compare?{urlencode(query)}"


def linked_first_pane(query: dict[str, str]) -> dict[str, Any]:
    """What a link to the Compare page asks for: task, pane 1's model, provider and revision, and text inputs
    by name. Unknown tasks and inputs are left out."""
    task = TASKS.get((query.get("task") or "").strip().replace("_", "-"))
    if task is None:
        return {}
    names = {spec.name for spec in task.inputs if spec.kind in ("text", "lines", "chat")}
    out: dict[str, Any] = {"task": task.id}
    for key in ("model", "provider", "revision"):
        if (query.get(key) or "").strip():
            out[key] = query[key].strip()
    out["inputs"] = {k: v for k, v in query.items() if k in names and isinstance(v, str)}
    return out


# ------------------------------------------------------------------------------------------ the API


def api_compare(task: str, inputs: dict[str, Any], targets: list[dict[str, Any]], token: str | None = None,
                request: gr.Request = None) -> list[dict[str, Any]]:
    """``/compare``: one task's ``inputs`` (by input name) sent to every target at once (``{"model", "provider",
    "endpoint_url", "revision", "parameters"}``, 2 to ``MAX_PROVIDERS``); one result per target, in order:
    ``{"target", "ok", "status", "output", "error", "run_id", "latency_ms", "provider_served"}``."""
    spec = TASKS.get((task or "").strip().replace("_", "-"))
    if spec is None:
        raise gr.Error(f"Unknown task {task!r}. Tasks: {', '.join(TASKS)}.")
    if spec.renderer == "chat":
        raise gr.Error("Chat comparisons stream: use the Compare page, or call /chat_completion once per target.")
    if not isinstance(targets, list) or not 1 <= len(targets) <= MAX_PROVIDERS:
        raise gr.Error(f"Give 1 to {MAX_PROVIDERS} targets, each {{'model': ..., 'provider': ...}}.")
    inputs = inputs or {}
    values = tuple(inputs.get(s.name) for s in spec.inputs)
    panes = []
    for t in targets:
        params = (t or {}).get("parameters") or {}
        given = tuple(params.get(p.name) for p in spec.params)
        rest = {k: v for k, v in params.items() if k not in {p.name for p in spec.params}}
        panes.append(PaneTarget(str(t.get("model") or spec.default_model), str(t.get("provider") or "auto"),
                                str(t.get("endpoint_url") or ""), str(t.get("revision") or "main"),
                                (*given, json.dumps(rest) if rest else "")))
    token = handlers.request_token(token, None, request)
    session = getattr(request, "session_hash", "") or ""
    runs = sorted(run_all(spec, panes, values, token, None, None, session), key=lambda r: r.index)
    return [{"target": r.target.name, "ok": r.ok, "status": r.status,
             "output": _plain(r.result.output) if r.ok else None,
             "error": r.result.error.to_dict() if r.result is not None and r.result.error else
             (None if r.ok else {"title": r.status}),
             "run_id": r.result.run_id if r.result is not None else None,
             "latency_ms": round(r.result.latency_s * 1000, 1) if r.result is not None else None,
             "provider_served": r.result.provider_served if r.result is not None else None} for r in runs]


# ------------------------------------------------------------------------------------------ Gradio handlers


def signed(fn: Callable, names: list[str]) -> Callable:
    """``fn(*args)`` with a signature naming its inputs and asking Gradio for the gr.Request (passed last)."""
    params = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None) for n in names]
    params.append(inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                                    annotation=gr.Request))
    fn.__signature__ = inspect.Signature(params)
    fn.__annotations__ = {"request": gr.Request}
    return fn


PANE_FIELDS = ("model", "provider", "endpoint_url", "revision")


def pane_width(task: Task) -> int:
    """How many values one pane's target takes: model, provider, endpoint URL, revision, parameters, extra JSON."""
    return len(PANE_FIELDS) + len(task.params) + 1


def targets_of(task: Task, n: int, values: tuple) -> list[PaneTarget]:
    """The panes' targets from their components' values (``pane_width`` values each, pane after pane)."""
    width, out = pane_width(task), []
    for i in range(n):
        model, provider, endpoint, revision, *params = values[i * width:(i + 1) * width]
        out.append(PaneTarget((model or "").strip(), provider or "auto", (endpoint or "").strip(),
                              (revision or "main").strip() or "main", tuple(params)))
    return out


def names_of(targets: list[PaneTarget], blind: bool) -> list[str]:
    if blind:
        return [LETTERS[j] for j in range(len(targets))]
    return [f"{i + 1}. {t.model.rsplit('/', 1)[-1]} · {t.provider}" for i, t in enumerate(targets)]


def blind_comparison(task: Task, targets: list[PaneTarget], order: list[int], runs: dict[int, PaneRun]
                     ) -> dict[str, Any]:
    """What the session keeps of the last blind comparison, for the vote (``record_vote``): per letter, its target
    and run. The Present page's blind steps keep the same (``decks``), so their votes count here too."""
    panes = []
    for j, i in enumerate(order):
        t, run = targets[i], runs.get(i)
        panes.append({"letter": LETTERS[j], "name": t.name, "model": t.model, "provider": t.provider,
                      "endpoint_url": t.endpoint_url, "revision": t.revision,
                      "run_id": run.result.run_id if run is not None and run.result is not None else None,
                      "ok": bool(run is not None and run.ok),
                      "status": run.status if run is not None else "", "raw": run.raw if run is not None else ""})
    return {"task": task.id, "panes": panes, "voted": False}


HIDDEN_STATUS = "🙈 Hidden until you vote"
# a blind pane held back: the guard's reason names the target's prices, so it waits for the vote
BLIND_HELD = (f"{spend_guard.ASK_MARK} **{spend_guard.QUESTION_TITLE}** (its estimate names the target: hidden until "
              "you vote). Press **Run anyway** to send it.")
GUARD_FIELDS = ("budget", "spend_guard")  # the page's session states after the header: never API arguments


def guard_for(budget: Any, state: Any, anyway: bool = False) -> spend_guard.Guard:
    """The Guard of a comparison's runs: the page's budgets and session start; "Run anyway" approves the panes it
    sends (held back the last time) at once."""
    since = state.get("since_ms") if isinstance(state, dict) else None
    budget = budget if isinstance(budget, spend_guard.Budget) else spend_guard.Budget()
    return spend_guard.Guard(budget, since, approved=anyway and budget.any)


def held_panes(runs: dict[int, PaneRun]) -> list[int]:
    """The targets whose run the spend guard held back."""
    return sorted(i for i, r in runs.items() if r.result is not None and r.result.held_back)


def run_handler(task: Task, n: int, anyway: bool = False) -> Callable:
    """The Run button of a non-chat comparison of ``n`` panes (``anyway``: the "Run anyway" button, which sends
    only the panes held back by the spend guard last time, approved, and keeps the others). Inputs: session token,
    owner, bill-to, budget, guard state, the last comparison kept (``kept``), blind, the shared inputs, then each
    pane's target. Outputs: each pane's (title, output, status, raw), the exchange table, the diff components, the
    comparison kept for the vote, the vote row, the reveal, ``kept`` and the Run anyway button."""
    k, slots = len(task.inputs), diff_slots(task, n)

    def handler(*args):
        *args, request = args
        session_token, owner, bill_to, budget, guard_state, kept, blind, *values = args
        inputs, targets = tuple(values[:k]), targets_of(task, n, tuple(values[k:]))
        token = handlers.request_token(None, session_token, request)
        session = getattr(request, "session_hash", "") or ""
        kept = kept if anyway and isinstance(kept, dict) and kept.get("held") else None
        if anyway and kept is None:
            raise gr.Error("No pane is waiting for the spend guard: press Run.")
        blind = kept["blind"] if kept else bool(blind)
        order = kept["order"] if kept else (blind_order(n) if blind else list(range(n)))
        only = set(kept["held"]) if kept else set(range(n))
        slot_of = {target: slot for slot, target in enumerate(order)}  # target index -> the pane showing it
        names = names_of(targets, bool(blind))
        titles = [f"### {names[j]}" if blind else f"### Pane {j + 1}" for j in range(n)]
        panes: list[Any] = []
        for j in range(n):
            sent = order[j] in only
            panes += ([titles[j], RENDERERS[task.renderer].empty, "⏳ Running…", ""] if sent else [gr.skip()] * 4)
        tail = [None, *([gr.skip()] * slots), None, gr.Row(visible=False), "", gr.skip(), gr.Button(visible=False)]
        yield [*panes, *tail]
        done: dict[int, PaneRun] = dict(kept["runs"]) if kept else {}
        comparison_id = kept.get("comparison_id") if kept else uuid.uuid4().hex  # "Run anyway": the same comparison
        for run in run_all(task, targets, inputs, token, bill_to, owner, session,
                           guard=guard_for(budget, guard_state, anyway), only=only, comparison_id=comparison_id):
            done[run.index] = run
            j = slot_of[run.index]
            status = f"{HIDDEN_STATUS} · {run.result.latency_s * 1000:.0f} ms" if blind and run.result else run.status
            if blind and run.result is not None and run.result.held_back:
                status = BLIND_HELD
            elif blind and not run.ok:
                status = f"❌ This pane failed ({HIDDEN_STATUS.lower()[2:]})"
            panes[4 * j + 1: 4 * j + 4] = [run.rendered, status, "" if blind else run.raw]
            yield [*panes, *([gr.skip()] * len(tail))]
        shown = [PaneRun(slot_of[r.index], r.target, r.result, r.rendered, r.status, r.raw) for r in done.values()]
        table = exchange_table(shown, names)
        if blind:  # the table would name the providers: kept for the reveal
            table = table.drop(columns=["x-inference-provider", "Host"])
        held = held_panes(done)
        comparison = blind_comparison(task, targets, order, done) if blind else None
        kept = {"held": held, "runs": done, "order": order, "blind": blind, "comparison_id": comparison_id} if held \
            else None
        yield [*panes, table, *diff_values(task, shown, names), comparison,
               gr.Row(visible=bool(blind) and not held), "", kept, gr.Button(visible=bool(held))]

    names = ["session_token", "owner", "bill_to", *GUARD_FIELDS, "kept", "blind", *(s.name for s in task.inputs)]
    for i in range(n):
        names += [f"{f}_{i + 1}" for f in (*PANE_FIELDS, *(p.name for p in task.params), "extra_parameters")]
    return signed(handler, names)


def vote_handler(n: int, choice: str) -> Callable:
    """A vote button: store the vote, reveal the names (titles, status lines, raw exchanges), refresh the
    leaderboard. Inputs: owner, the comparison. Outputs: reveal, vote row, each pane's (title, status, raw),
    leaderboard."""

    def handler(owner_state, comparison):
        reveal = record_vote(owner_state, (comparison or {}).get("task", ""), choice, comparison)
        panes = []
        for p in comparison["panes"]:
            panes += [f"### {p['letter']} = {p['name']}", p["status"], p["raw"]]
        gr.Info("Vote recorded. The names are revealed.")
        return [reveal, gr.Row(visible=False), *panes, comparison, leaderboard(owner_state, comparison["task"])]

    return handler


def chat_comparison(kept: Any, targets: list[PaneTarget]) -> dict[str, Any]:
    """The chat comparison a turn belongs to (the session's ``{"id", "targets"}``): the one kept, while the panes'
    targets (model, provider, endpoint, revision) stay as they were; else a new one. Clearing the conversations
    forgets it (the page's Clear), so the next turn starts a new comparison."""
    now = [[t.model, t.provider, t.endpoint_url, t.revision] for t in targets]
    if isinstance(kept, dict) and kept.get("id") and kept.get("targets") == now:
        return kept
    return {"id": uuid.uuid4().hex, "targets": now}


def chat_handler(task: Task, n: int, anyway: bool = False) -> Callable:
    """Send of a chat comparison: the message to every pane, each with its own history, streaming together
    (``anyway``: the "Run anyway" button, which sends the last message again to the panes the spend guard held back,
    approved, and leaves the others). Every turn is recorded as part of the chat comparison kept in the session
    (``chat_comparison``), which reopens from History as a whole. Inputs: session token, owner, bill-to, budget,
    guard state, ``kept`` (the panes held back and their message), the chat comparison, the message, system prompt,
    each pane's target, each pane's conversation. Outputs: each pane's (conversation, status, raw), the message box,
    the exchange table, the reply diffs, ``kept``, the Run anyway button and the chat comparison."""
    extras = len(task.inputs) - 1

    def handler(*args):
        *args, request = args
        session_token, owner, bill_to, budget, guard_state, kept, chat, message, *rest = args
        extra_values, rest = tuple(rest[:extras]), rest[extras:]
        width = pane_width(task)
        targets = targets_of(task, n, tuple(rest[:n * width]))
        histories = [list(h or []) for h in rest[n * width:]]
        kept = kept if anyway and isinstance(kept, dict) and kept.get("held") else None
        if anyway and kept is None:
            raise gr.Error("No pane is waiting for the spend guard: send a message.")
        text = kept["message"] if kept else (message.get("text", "") if isinstance(message, dict) else (message or ""))
        only = set(kept["held"]) if kept else None
        token = handlers.request_token(None, session_token, request)
        session = getattr(request, "session_hash", "") or ""
        names = names_of(targets, False)
        chat = chat_comparison(chat, targets)
        states: list[PaneRun] = []
        sent = lambda s: only is None or s.index in only  # noqa: E731
        tail = [gr.skip()] * (1 + diff_slots(task, n) + 2)
        for states in chat_round(task, targets, histories, text, extra_values, token, bill_to, owner, session,
                                 guard=guard_for(budget, guard_state, anyway), only=only, comparison_id=chat["id"]):
            panes = [v for s in states for v in ((s.rendered, s.status, s.raw or gr.skip()) if sent(s)
                                                 else (gr.skip(),) * 3)]
            yield [*panes, "" if not anyway else gr.skip(), *tail, chat]
        finished = {s.index: s for s in states if s.result is not None}
        if kept:  # the panes not sent again keep their last turn, for the table and the diffs
            finished = {**kept["runs"], **finished}
        ok = any(s.ok for s in finished.values())
        held = held_panes(finished)
        panes = [v for s in states for v in ((s.rendered, s.status, s.raw) if sent(s) else (gr.skip(),) * 3)]
        merged = [finished.get(s.index, s) for s in states]
        kept = {"held": held, "message": text, "runs": finished} if held else None
        box = gr.skip() if anyway else ("" if ok else text)
        yield [*panes, box, exchange_table(list(finished.values()), names), *diff_values(task, merged, names),
               kept, gr.Button(visible=bool(held)), chat]

    names = ["session_token", "owner", "bill_to", *GUARD_FIELDS, "kept", "chat_comparison", "message",
             *(s.name for s in task.inputs[1:])]
    for i in range(n):
        names += [f"{f}_{i + 1}" for f in (*PANE_FIELDS, *(p.name for p in task.params), "extra_parameters")]
    names += [f"conversation_{i + 1}" for i in range(n)]
    return signed(handler, names)


def providers_handler(task: Task) -> Callable:
    """"All providers of this model": pane 1's model, revision and parameters, sent to each live provider of the
    model, each held back by the spend guard when it would pass the budget. Inputs: session token, owner, bill-to,
    budget, guard state, the shared inputs, pane 1's target. Output: the table."""
    k = len(task.inputs)

    def handler(*args):
        *args, request = args
        session_token, owner, bill_to, budget, guard_state, *values = args
        inputs, (target,) = tuple(values[:k]), targets_of(task, 1, tuple(values[k:k + pane_width(task)]))
        token = handlers.request_token(None, session_token, request)
        if not target.model:
            raise gr.Error("Pick a model in pane 1 first.")
        message = inputs[0].get("text", "") if isinstance(inputs[0], dict) else inputs[0]
        if task.renderer == "chat" and not (message or "").strip():
            raise gr.Error("Type the message to send to every provider first.")
        try:
            providers = live_providers(task, target.model, token)
        except PlaygroundError as err:
            raise gr.Error(f"The providers of {target.model} could not be read: {err.title}. {err.fix}") from None
        if not providers:
            raise gr.Error(f"No inference provider serves {target.model} for {task.label.lower()} now.")
        gr.Info(f"Running {target.model} on {len(providers)} provider{'s' * (len(providers) > 1)}: "
                f"{', '.join(providers)}.")
        runs = run_providers(task, target.model, target.revision, providers, inputs, target.params, token, bill_to,
                             owner, getattr(request, "session_hash", "") or "", guard=guard_for(budget, guard_state))
        return providers_table(task, runs)

    names = ["session_token", "owner", "bill_to", *GUARD_FIELDS, *(s.name for s in task.inputs),
             *(f"{f}_1" for f in (*PANE_FIELDS, *(p.name for p in task.params), "extra_parameters"))]
    return signed(handler, names)


def export_handler(owner_state: Any, task_id: str | None) -> str:
    """The task's blind votes as a JSONL file of preference pairs (its path)."""
    import tempfile
    from pathlib import Path

    from .capture import redact_text

    pairs, missing = export_pairs(owner_state, task_id)
    path = Path(tempfile.mkdtemp(prefix="playground-votes-")) / f"preference-pairs-{task_id or 'all'}.jsonl"
    path.write_text(redact_text("".join(json.dumps(p, ensure_ascii=False, default=str) + "\n" for p in pairs)),
                    encoding="utf-8")
    note = f" ({missing} skipped: their runs were deleted from History)" if missing else ""
    gr.Info(f"{len(pairs)} preference pair{'s' * (len(pairs) != 1)} exported{note}.")
    return str(path)


def elo_expected(a: float, b: float) -> float:
    """The Elo expectation of a against b."""
    return 1 / (1 + math.pow(10, (b - a) / 400))
