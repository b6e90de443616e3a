"""Event handlers: module-level functions that take and return plain values (testable without a server).

Each tab's Run calls ``handler_for(task)``, a function whose signature names every input, so that
``gradio_client`` users call ``client.predict(text="...", api_name="/text_classification")``.
"""

from __future__ import annotations

import inspect
import json
from typing import Any, Iterator

import gradio as gr

from . import service
from .errors import InputError, PlaygroundError
from .params import parse_values
from .reliability import HEALTH, RetryPolicy
from .renderers import RENDERERS
from .snippets import python_snippet
from .service import RunRequest, RunResult, StreamDelta, Target
from .tasks import Task

__all__ = [
    "HEADER_ARGS", "ADVANCED_ARGS", "handler_for", "run_task", "run_chat", "status_markdown", "raw_json",
    "chat_messages", "reliability_settings", "cooldowns_markdown", "take_back_last_turn", "prepare_continue",
]

# Header fields shared by every tab, passed first to every handler.
HEADER_ARGS = ("token", "provider", "endpoint_url", "bill_to", "model", "revision")
# The Advanced accordion (retries, timeouts, failover), shared by every tab, passed last to every handler.
ADVANCED_ARGS = ("attempts", "backoff_base_s", "backoff_cap_s", "deadline_s", "connect_timeout_s", "read_timeout_s",
                 "stream_idle_timeout_s", "failover", "fallback_providers")
TRUNCATED = " ⚠️ [truncated]"  # marks a reply whose stream broke midway
CONTINUE_PROMPT = "Continue exactly where your last reply stopped, without repeating anything."


def reliability_settings(attempts=None, backoff_base_s=None, backoff_cap_s=None, deadline_s=None,
                         connect_timeout_s=None, read_timeout_s=None, stream_idle_timeout_s=None, failover=None,
                         fallback_providers=None) -> dict[str, Any]:
    """The Advanced accordion's values -> Target fields. A blank keeps the default; a bad value says so."""
    target, policy = Target(), RetryPolicy()

    def seconds(value, default, name):
        if value is None or value == "":
            return default
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = -1.0
        if number <= 0:
            raise InputError(f"{name} must be a positive number of seconds", f"Got {value!r}.", "Fix it in Advanced.")
        return number

    retry = RetryPolicy(
        attempts=max(1, int(attempts)) if attempts not in (None, "") else policy.attempts,
        base_s=seconds(backoff_base_s, policy.base_s, "Backoff base"),
        cap_s=seconds(backoff_cap_s, policy.cap_s, "Backoff cap"),
        deadline_s=seconds(deadline_s, policy.deadline_s, "Deadline"),
        failover=policy.failover if failover is None else bool(failover),
    )
    fallbacks = tuple(p.strip() for p in (fallback_providers or "").replace("\n", ",").split(",") if p.strip())
    return dict(
        retry=retry,
        connect_timeout=seconds(connect_timeout_s, target.connect_timeout, "Connect timeout"),
        timeout=seconds(read_timeout_s, target.timeout, "Read timeout"),
        idle_timeout=seconds(stream_idle_timeout_s, target.idle_timeout, "Stream idle timeout"),
        fallbacks=fallbacks,
    )


def cooldowns_markdown(token) -> str:
    """Providers cooling down for this token (rate limits) or for everyone (server errors)."""
    lines = HEALTH.describe((token or "").strip() or None)
    if not lines:
        return "No provider is cooling down."
    return "\n".join(f"- ⏸️ {line}" for line in lines)


def take_back_last_turn(history: list[dict[str, Any]] | None) -> tuple[list[dict[str, Any]], str]:
    """Retry: remove the last question and its (failed or truncated) reply; the question goes back in the box."""
    history = list(history or [])
    while history and history[-1].get("role") == "assistant":
        history.pop()
    question = _text_of(history.pop().get("content")) if history else ""
    return history, question


def prepare_continue(history: list[dict[str, Any]] | None) -> tuple[list[dict[str, Any]], str]:
    """Continue: keep the truncated reply (unmarked) and ask the model to go on from where it stopped."""
    history = [dict(m) for m in (history or [])]
    if history and history[-1].get("role") == "assistant":
        history[-1]["content"] = _text_of(history[-1].get("content")).removesuffix(TRUNCATED)
    return history, CONTINUE_PROMPT




def status_markdown(result: RunResult) -> str:
    line = result.status_line()
    return line if result.ok else f"{line}\n\n{result.error.display()}"


def raw_json(result: RunResult) -> str:
    return json.dumps(result.raw(), indent=2, ensure_ascii=False, default=str)


def _error_outputs(err: PlaygroundError) -> tuple[str, str]:
    return f"❌ {err.display()}", json.dumps({"exchanges": [], "error": err.to_dict()}, indent=2)


def _target(token, provider, endpoint_url, bill_to, settings: dict[str, Any] | None = None) -> Target:
    return Target(
        provider=(provider or "auto"),
        token=(token or "").strip() or None,
        endpoint_url=(endpoint_url or "").strip() or None,
        bill_to=(bill_to or "").strip() or None,
        **(settings or {}),
    )


def _split(task: Task, values: tuple[Any, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    n_in, n_par = len(task.inputs), len(task.params)
    inputs = {spec.name: value for spec, value in zip(task.inputs, values[:n_in])}
    extra_json = values[n_in + n_par] if len(values) > n_in + n_par else None
    params = parse_values(task.params, list(values[n_in : n_in + n_par]), extra_json)
    return inputs, params


def run_task(task: Task, token, provider, endpoint_url, bill_to, model, revision, *values,
             advanced: tuple = ()) -> tuple[Any, str, str]:
    """Run a non-streaming task; returns (rendered output, status markdown, raw exchange JSON)."""
    renderer = RENDERERS[task.renderer]
    try:
        inputs, params = _split(task, values)
        settings = reliability_settings(*advanced)
    except InputError as err:
        status, raw = _error_outputs(err)
        return renderer.empty, status, raw
    request = RunRequest(task.id, model, inputs, params, revision or "main",
                         _target(token, provider, endpoint_url, bill_to, settings))
    result = service.run(request)
    if not result.ok:
        return renderer.empty, status_markdown(result), raw_json(result)
    try:
        rendered = renderer.render(result.output, result.inputs)
    except Exception as err:  # an answer of an unexpected shape: say so, keep the raw exchange
        result.error = InputError("The answer could not be displayed", f"{type(err).__name__}: {err}", "See the raw exchange.")
        return renderer.empty, status_markdown(result), raw_json(result)
    return rendered, status_markdown(result), raw_json(result)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict) and part.get("type", "text") == "text")
    if isinstance(content, dict):
        return content.get("text", "")
    return ""


def chat_messages(history: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    """Chatbot history (Gradio's normalised messages) -> OpenAI-style messages."""
    out = []
    for msg in history or []:
        text = _text_of(msg.get("content"))
        if msg.get("role") in ("user", "assistant") and text:
            out.append({"role": msg["role"], "content": text})
    return out


def run_chat(task: Task, token, provider, endpoint_url, bill_to, model, revision, history, message, system, *values,
             advanced: tuple = ()) -> Iterator[tuple]:
    """Stream a chat reply; yields (history, message box, status, raw). A failure loses nothing."""
    history = [{"role": m["role"], "content": _text_of(m.get("content"))} for m in (history or [])]
    message = message or ""
    try:
        if not message.strip():
            raise InputError("The message is empty", "", "Type a message first.")
        _, params = _split(task, (None, None, *values))
        settings = reliability_settings(*advanced)
    except InputError as err:
        status, raw = _error_outputs(err)
        yield history, message, status, raw
        return
    messages = chat_messages(history) + [{"role": "user", "content": message.strip()}]
    shown = history + [{"role": "user", "content": message.strip()}, {"role": "assistant", "content": "…"}]
    yield shown, "", "⏳ Waiting for the first token…", gr.skip()
    request = RunRequest(task.id, model, {"messages": messages, "system": system}, params, revision or "main",
                         _target(token, provider, endpoint_url, bill_to, settings))
    for event in service.run_stream(request):
        if isinstance(event, StreamDelta):
            shown[-1]["content"] = event.so_far
            yield shown, "", f"⏳ Streaming… {len(event.so_far)} characters", gr.skip()
            continue
        result: RunResult = event
        if result.ok:
            shown[-1]["content"] = result.output or ""
            yield shown, "", status_markdown(result), raw_json(result)
        elif result.output:  # cut midway: keep what arrived, marked
            shown[-1]["content"] = f"{result.output}{TRUNCATED}"
            yield shown, "", status_markdown(result), raw_json(result)
        else:  # nothing arrived: give the message back so nothing is lost
            yield history, message, status_markdown(result), raw_json(result)


def snippet_for(task: Task, token, provider, endpoint_url, bill_to, model, revision, *values) -> str:
    """Python code reproducing the run (the token is read from HF_TOKEN, never copied)."""
    if task.renderer == "chat":
        history, message, system, *rest = values
        values = (None, None, *rest)
    try:
        inputs, params = _split(task, values)
    except InputError as err:
        return f"# Fix the parameters first: {err.title}\n"
    if task.renderer == "chat":
        inputs = {"messages": chat_messages(history) + ([{"role": "user", "content": message}] if message else []),
                  "system": system}
    return python_snippet(task, (model or "").strip(), provider or "auto", inputs, params,
                          endpoint_url=endpoint_url, bill_to=bill_to)


def handler_for(task: Task):
    """The Run handler of a task's tab, with a signature naming every input (for the API docs)."""
    names = [*HEADER_ARGS]
    if task.renderer == "chat":
        names += ["history", "message", "system"]
        body = run_chat
    else:
        names += [spec.name for spec in task.inputs]
        body = run_task
    names += [spec.name for spec in task.params] + ["extra_parameters", *ADVANCED_ARGS]
    n = len(ADVANCED_ARGS)  # the Advanced accordion's values come last

    if task.renderer == "chat":
        def handler(*args):
            yield from body(task, *args[:-n], advanced=args[-n:])
    else:
        def handler(*args):
            return body(task, *args[:-n], advanced=args[-n:])

    handler.__name__ = task.api_name
    # Every argument defaults to None, so API callers give only what they need (the component's own
    # initial value is the default the client sends).
    handler.__signature__ = inspect.Signature(
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None) for n in names]
    )
    return handler
