"""Event handlers: module-level functions that take and return plain values (testable without a server).

Each tab's Run calls ``handler_for(task)``, a function whose signature names every input, so that
``gradio_client`` users call ``client.predict(text="...", api_name="/text_classification")``.
"""

from __future__ import annotations

import inspect
import json
import mimetypes
import time
from typing import Any, Iterator

import gradio as gr

from . import concurrency, owners, pickers, public_mode, service, signin, snippets, spend_guard
from .errors import AnswerShapeError, InputError, PlaygroundError
from .params import parse_values
from .reliability import HEALTH, RetryPolicy
from .renderers import RENDERERS
from .service import InLine, RunRequest, RunResult, StreamDelta, Target
from .tasks import TASKS, Task

__all__ = [
    "HEADER_ARGS", "ADVANCED_ARGS", "GUARD_ARGS", "handler_for", "task_request", "shown", "run_task", "run_chat", "status_markdown", "raw_json", "token_kept",
    "request_token",
    "chat_messages", "reliability_settings", "cooldowns_markdown", "take_back_last_turn", "prepare_continue",
    "describe_tools", "check_structured", "snippet_for", "snippets_for_run",
]

# Header fields shared by every tab, passed first to every handler.
HEADER_ARGS = ("token", "provider", "endpoint_url", "bill_to", "model", "revision")
# The Advanced accordion (retries, timeouts, failover), shared by every tab, passed last to every handler.
ADVANCED_ARGS = ("attempts", "backoff_base_s", "backoff_cap_s", "deadline_s", "connect_timeout_s", "read_timeout_s",
                 "stream_idle_timeout_s", "failover", "fallback_providers")
# The spend guard's budgets (USD; empty: none), after the Advanced values (``spend_guard``).
GUARD_ARGS = ("budget_session_usd", "budget_day_usd")
TRUNCATED = " ⚠️ [truncated]"  # marks a reply whose stream broke midway
# A streamed reply is shown at most every STREAM_UPDATE_S (its first piece at once, all of it at the end): each
# update costs Gradio a round of processing, which many people streaming at once need for their first tokens.
STREAM_UPDATE_S = 0.05
CONTINUE_PROMPT = "Continue exactly where your last reply stopped, without repeating anything."


def token_kept(check):
    """The handler of the token box's events, around ``check`` (the token line's report on the token).

    The page never sends the box's value as the box's own: ``ui`` sends it in a carrier that this handler empties
    in the same event, and keeps the token in the tab's session state (a ``gr.State``, held on the server). So the
    value is in no component that Gradio keeps or serves again (the session's deep-link state, the run history and
    its replays). Returns (session token, emptied carrier, *check's outputs)."""
    def kept(_box, token):
        token = (token or "").strip() or None
        return token, "", *check(token)

    return kept


def token_checked(token: str | None, owner_state: Any, provider: str | None, picked: bool | None) -> tuple:
    """The playground page's step after each token step (``ui._build_token``): the browser linked to
    the token's Hub user (``owners.link_checked``), and the provider picker as ``pickers.provider_after_token`` says,
    read as it is once the check has landed, so a provider picked while the Hub was asked is never moved; when it
    moves, the token line written again from the check's cached answer with the sentence saying so (never from the
    line as the page showed it: another token step's answer may still be on its way). Returns (token line, provider
    picker)."""
    owners.link_checked(token, owner_state)
    note, moved = pickers.provider_after_token(token, provider, picked)
    if not note:
        return gr.skip(), gr.skip()
    line, _ = pickers.token_status(token)
    return f"{line}\n\n{note}", moved


def request_token(token: str | None, session_token: str | None = None, request: Any = None) -> str | None:
    """The token a run sends: the API caller's ``token=``, else the one pasted in this tab, else the signed-in
    visitor's (``signin``), else the request's ``Authorization: Bearer hf_…`` header. A header that is not a
    Hugging Face token (a proxy's in front of the app) is not sent on."""
    for given in (token, session_token, signin.token_of(request)):
        if (given or "").strip():
            return given.strip()
    headers = getattr(request, "headers", None) or {}
    scheme, _, value = (headers.get("authorization") or "").strip().partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value.startswith("hf_") else None


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


def _local_loading(task: Task, provider: str | None, model: str | None) -> str | None:
    """What to show while the local backend loads this model on first use (None when nothing loads)."""
    if provider != service.LOCAL:
        return None
    try:
        service.local_model(task, (model or "").strip())
    except PlaygroundError:
        return None  # the run itself says why
    from . import local_backend

    if local_backend.load_state(model.strip()) == "ready":
        return None
    return f"⏳ Loading {model.strip()} on this machine (first use only; it stays loaded)…"


def _warm_local(model: str) -> None:
    from . import local_backend

    try:
        local_backend.warm(model.strip())
    except Exception:  # noqa: BLE001 - the run that follows reports the failure through the one translation
        pass


def task_request(task: Task, token, provider, endpoint_url, bill_to, model, revision, values: tuple,
                 advanced: tuple = (), session: str = "", owner: Any = None, source: str = "tab",
                 address: str = "", guard: spend_guard.Guard | None = None) -> RunRequest:
    """The RunRequest of a non-streaming run from a tab's values (or a Compare pane's), asked from ``source``, with
    the spend guard's ``guard`` (the service holds the run back if it would pass the budget). Raises InputError
    for a parameter or an Advanced value that cannot be read."""
    inputs, params = _split(task, values)
    settings = reliability_settings(*advanced)
    return RunRequest(task.id, model, inputs, params, revision or "main",
                      _target(token, provider, endpoint_url, bill_to, settings), session=session,
                      address=address, guard=guard, **owners.run_fields(owner, source, token))


def shown(task: Task, result: RunResult) -> tuple[Any, str, str]:
    """A finished run as a tab shows it: (rendered output, status markdown, raw exchange JSON)."""
    renderer = RENDERERS[task.renderer]
    if not result.ok:
        return renderer.empty, status_markdown(result), raw_json(result)
    try:
        rendered = renderer.render(result.output, result.inputs)
    except Exception as err:  # an answer of an unexpected shape: say so, keep the raw exchange
        result.error = AnswerShapeError(  # the answer's problem, never the input's
            "The answer could not be displayed", f"{type(err).__name__}: {err}",
            "The answer is kept in the raw exchange; please report this with it.")
        return renderer.empty, status_markdown(result), raw_json(result)
    return rendered, status_markdown(result), raw_json(result)


def run_task(task: Task, token, provider, endpoint_url, bill_to, model, revision, *values,
             advanced: tuple = (), progress: gr.Progress | None = None, session: str = "", address: str = "",
             owner: Any = None, budget: spend_guard.Budget = spend_guard.Budget(),
             guard: Any = None) -> tuple[Any, str, str]:
    """Run a non-streaming task; returns (rendered output, status markdown, raw exchange JSON). A run the spend
    guard holds back (``budget``, the session's ``guard`` state, checked on the service path) leaves the last
    result and asks instead."""
    try:
        request = task_request(task, token, provider, endpoint_url, bill_to, model, revision, values, advanced,
                               session, owner, address=address, guard=spend_guard.guard_of(budget, guard))
    except InputError as err:
        status, raw = _error_outputs(err)
        return RENDERERS[task.renderer].empty, status, raw
    note = _local_loading(task, provider, model)
    if note and progress is not None:
        progress(0.05, desc=note)
        _warm_local(model)
    in_line = None if progress is None else lambda ahead: progress(0, desc=concurrency.in_line(ahead))
    result = service.run(request, on_wait=in_line)
    if result.held_back:
        return gr.skip(), result.error.display(), gr.skip()
    return shown(task, result)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part if isinstance(part, str) else part.get("text", "") for part in content
                       if isinstance(part, str) or (isinstance(part, dict) and part.get("type", "text") == "text"))
    if isinstance(content, dict):
        return content.get("text", "")
    return ""


def _files_of(content: Any) -> list[str]:
    """Paths of the files in a Chatbot message (``{"type": "file", "file": {"path"}}`` or ``{"path"}`` parts)."""
    parts = content if isinstance(content, list) else [content]
    paths = []
    for part in parts:
        if isinstance(part, dict):
            file = part.get("file") if isinstance(part.get("file"), dict) else part
            if file.get("path"):
                paths.append(file["path"])
    return paths


def _user_content(text: str, files: list[str]) -> str | list[dict[str, Any]]:
    """A user turn as sent: plain text, or text and image parts (the service checks and inlines the images)."""
    if not files:
        return text
    return [*([{"type": "text", "text": text}] if text else []),
            *({"type": "image_url", "image_url": {"url": path}} for path in files)]


def chat_messages(history: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Chatbot history (Gradio's normalised messages) -> OpenAI-style messages. Titled blocks (reasoning, tool
    calls, schema checks) and the mark of a truncated reply are shown, never sent back. Gradio shows a turn's text and images as separate
    messages: consecutive messages of one role are joined back into one turn."""
    turns: list[tuple[str, str, list[str]]] = []
    for msg in history or []:
        if (msg.get("metadata") or {}).get("title") or msg.get("role") not in ("user", "assistant"):
            continue
        text = _text_of(msg.get("content")).strip()
        if msg["role"] == "assistant":  # the page's mark of a reply cut midway is shown, never sent back
            text = text.removesuffix(TRUNCATED.strip()).rstrip()
        files = _files_of(msg.get("content")) if msg["role"] == "user" else []
        if not (text or files):
            continue
        if turns and turns[-1][0] == msg["role"]:
            role, before, before_files = turns.pop()
            text, files = "\n\n".join(t for t in (before, text) if t), before_files + files
        turns.append((msg["role"], text, files))
    return [{"role": role, "content": _user_content(text, files)} for role, text, files in turns]


def describe_tools(tools_json: str | None) -> str:
    """The declared tools as a person reads them: ``get_weather(city, unit)`` and what each does."""
    spec = next(s for s in TASKS["chat-completion"].inputs if s.kind == "tools")
    try:
        tools = service.prepare_input(spec, tools_json)
    except InputError as err:
        return f"⚠️ {err.title}: {err.detail}"
    if not tools:
        return "No tools declared: the model answers in text."
    lines = []
    for tool in tools:
        fn = tool["function"]
        params = (fn.get("parameters") or {}).get("properties") or {}
        required = set((fn.get("parameters") or {}).get("required") or [])
        args = ", ".join(f"{name}{'' if name in required else '?'}" for name in params)
        lines.append(f"- `{fn['name']}({args})` {fn.get('description', '')}".rstrip())
    return "**Declared tools** (the model may call them; nothing is executed here):\n" + "\n".join(lines)


def _tool_call_json(call: dict[str, str]) -> str:
    try:
        arguments: Any = json.loads(call["arguments"]) if call["arguments"].strip() else {}
    except json.JSONDecodeError:
        arguments = call["arguments"]  # still streaming, or not JSON: shown as it came
    return json.dumps({"id": call["id"], "name": call["name"], "arguments": arguments}, indent=2, ensure_ascii=False)


def check_structured(reply: str, response_format: dict[str, Any] | None) -> tuple[bool, str, str] | None:
    """Validate a structured-output reply against the schema asked for: (ok, title, markdown body), or None."""
    import jsonschema

    if not response_format:
        return None
    try:
        parsed = json.loads(reply)
    except json.JSONDecodeError as err:
        return False, "❌ The reply is not valid JSON", f"{err.msg} at line {err.lineno}, column {err.colno}."
    pretty = f"```json\n{json.dumps(parsed, indent=2, ensure_ascii=False)}\n```"
    schema = (response_format.get("json_schema") or {}).get("schema")
    if not schema:
        return True, "✅ Valid JSON (parsed)", pretty
    errors = sorted(jsonschema.validators.validator_for(schema)(schema).iter_errors(parsed), key=lambda e: list(e.path))
    if not errors:
        return True, "✅ Matches the schema (parsed)", pretty
    where = lambda e: "/".join(str(p) for p in e.path) or "(root)"  # noqa: E731
    problems = "\n".join(f"- `{where(e)}`: {e.message}" for e in errors[:10])
    return False, "❌ Does not match the schema", f"{problems}\n\n{pretty}"


def _reply_messages(text: str, reasoning: str, calls: list[dict[str, str]], done: bool,
                    check: tuple[bool, str, str] | None = None) -> list[dict[str, Any]]:
    """The assistant's turn as shown: reasoning (collapsible), the reply, each tool call as JSON, the schema check."""
    shown: list[dict[str, Any]] = []
    if reasoning:
        thinking = not done and not text and not calls
        shown.append({"role": "assistant", "content": reasoning,
                      "metadata": {"title": "🧠 Reasoning", "status": "pending" if thinking else "done"}})
    if text or not (calls or reasoning) or not done:
        shown.append({"role": "assistant", "content": text or ("" if done else "…")})
    for call in calls:
        shown.append({"role": "assistant", "content": f"```json\n{_tool_call_json(call)}\n```",
                      "metadata": {"title": f"🛠️ Tool call: {call['name'] or '…'}"}})
    if check is not None:
        shown.append({"role": "assistant", "content": check[2], "metadata": {"title": check[1]}})
    return shown


_EMPTY_MESSAGE = {"text": "", "files": []}
# The raw exchange while a reply streams: empty until the run ends. Not ``gr.skip()``: Gradio answers a skip (a prop
# update) by building a new output component, here a Code block, for every chunk of every stream, which with 50
# people streaming at once cost their first tokens about a tenth of the app's CPU.
_RAW_WHILE_STREAMING = ""


def _message_parts(message: Any) -> tuple[str, list[str]]:
    """The message box's value (``{"text", "files"}``, or text from API callers) -> (text, image paths)."""
    if isinstance(message, dict):
        files = [f.get("path") if isinstance(f, dict) else f for f in message.get("files") or []]
        return (message.get("text") or "").strip(), [f for f in files if f]
    return (message or "").strip(), []


def run_chat(task: Task, token, provider, endpoint_url, bill_to, model, revision, history, message, *values,
             advanced: tuple = (), session: str = "", address: str = "", owner: Any = None,
             budget: spend_guard.Budget = spend_guard.Budget(), guard: Any = None) -> Iterator[tuple]:
    """Stream a chat reply; yields (history, message box, status, raw). A failure loses nothing."""
    history = list(history or [])
    text, files = _message_parts(message)
    try:
        if not text and not files:
            raise InputError("The message is empty", "", "Type a message first.")
        inputs, params = _split(task, (None, *values))
        settings = reliability_settings(*advanced)
    except InputError as err:
        status, raw = _error_outputs(err)
        yield history, message, status, raw
        return
    messages = chat_messages(history) + [{"role": "user", "content": _user_content(text, files)}]
    request = RunRequest(task.id, model, {**inputs, "messages": messages}, params, revision or "main",
                         _target(token, provider, endpoint_url, bill_to, settings), session=session, address=address,
                         guard=spend_guard.guard_of(budget, guard), **owners.run_fields(owner, "chat", token))
    asked = {"role": "user", "content": [text, *({"path": f} for f in files)] if files else text}
    shown = [*history, asked, {"role": "assistant", "content": "…"}]
    note = _local_loading(task, provider, model)
    if note:
        yield shown, _EMPTY_MESSAGE, note, _RAW_WHILE_STREAMING
        _warm_local(model)
    # The request goes out now, while the page draws the wait: with many people starting at once, a request sent
    # only after that round of Gradio's processing would reach the provider late.
    stream = concurrency.Prefetched(service.run_stream(request), name="chat-stream")
    try:
        yield shown, _EMPTY_MESSAGE, "⏳ Waiting for the first token…", _RAW_WHILE_STREAMING
        last, shown_at = StreamDelta("", ""), 0.0
        for event in stream:
            if isinstance(event, InLine):  # another reply is being generated by the local engine: say where we stand
                status = concurrency.in_line(event.ahead) if event.ahead else "⏳ Waiting for the first token…"
                yield shown, _EMPTY_MESSAGE, status, _RAW_WHILE_STREAMING
                continue
            if isinstance(event, StreamDelta):
                last = event
                if time.monotonic() - shown_at < STREAM_UPDATE_S:
                    continue  # the next update shows this piece too
                shown_at = time.monotonic()
                shown = [*history, asked, *_reply_messages(event.so_far, event.reasoning, event.tool_calls, done=False)]
                progress = f"{len(event.so_far)} characters" if event.so_far or not event.reasoning else "reasoning"
                yield shown, _EMPTY_MESSAGE, f"⏳ Streaming… {progress}", _RAW_WHILE_STREAMING
                continue
            result: RunResult = event
            if result.held_back:  # the spend guard asks first: the message goes back in the box, for "Run anyway"
                yield history, message, result.error.display(), gr.skip()
                return
            status = status_markdown(result)
            if result.ok:
                check = check_structured(result.output or "", result.inputs.get("response_format"))
                if check is not None:
                    status += f" · {check[1]}"
                if last.tool_calls:
                    status += f" · {len(last.tool_calls)} tool call{'s' if len(last.tool_calls) > 1 else ''}"
                reply = _reply_messages(result.output or "", last.reasoning, last.tool_calls, done=True, check=check)
                yield [*history, asked, *reply], _EMPTY_MESSAGE, status, raw_json(result)
            elif result.output or last.reasoning or last.tool_calls:  # cut midway: keep what arrived, marked
                reply = _reply_messages(f"{result.output or ''}{TRUNCATED}", last.reasoning, last.tool_calls, done=True)
                yield [*history, asked, *reply], _EMPTY_MESSAGE, status, raw_json(result)
            else:  # nothing arrived: give the message back so nothing is lost
                yield history, message, status, raw_json(result)
    finally:
        stream.close()


def _snippet_call(task: Task, provider, endpoint_url, bill_to, model, revision, values: tuple,
                  raw: str | None = None) -> snippets.Call:
    """The run as the snippets reproduce it: the tab's values (files by path) and, once it ran, its captured request
    (``raw``, the raw exchange's JSON). Raises InputError."""
    history = message = None
    if task.renderer == "chat":
        history, message, *rest = values
        values = (None, *rest)
    inputs, params = _split(task, values)
    texts = [v for v in inputs.values() if isinstance(v, str)]
    files: list[str] = []
    for spec in task.inputs:  # structured inputs as InferenceClient takes them, files by path
        value = inputs.get(spec.name)
        if spec.kind in ("table", "tools", "schema") and value is not None:
            inputs[spec.name] = service.prepare_input(spec, value)
            if inputs[spec.name] is None:
                del inputs[spec.name]
        elif spec.kind in ("image", "audio") and value:
            path = value.get("path") if isinstance(value, dict) else str(value)
            files.append(path)
            inputs[spec.name] = snippets.File(path)
    if task.renderer == "chat":
        text, attached = _message_parts(message)
        images = [snippets.File(f, "data-url", mimetypes.guess_type(f)[0] or "image/png") for f in attached]
        turn = [{"role": "user", "content": _user_content(text, images)}] if text or images else []
        inputs["messages"] = chat_messages(history) + turn
        for msg in history or []:
            texts.append(_text_of(msg.get("content")))
            files += _files_of(msg.get("content"))
        texts.append(text)
        files += attached
    local_url = None
    if provider == service.LOCAL:  # the running local server's address (never started just for a snippet)
        from . import local_backend

        local_url = local_backend.base_url()
    wire = snippets.wire_from_raw(raw, texts, files) if raw else None
    return snippets.Call(task, (model or "").strip(), provider or "auto", inputs, params,
                         revision=(revision or "main").strip() or "main", endpoint_url=endpoint_url,
                         bill_to=(bill_to or "").strip() or None, local_url=local_url, wire=wire)


def snippet_for(task: Task, token, provider, endpoint_url, bill_to, model, revision, *values) -> str:
    """Python (huggingface_hub) code reproducing the run from the tab's values (the token is read from HF_TOKEN,
    never copied)."""
    try:
        call = _snippet_call(task, provider, endpoint_url, bill_to, model, revision, values)
    except InputError as err:
        return f"# Fix the parameters first: {err.title}\n"
    return snippets.python_huggingface_hub(call)


def snippets_for_run(task: Task, token, provider, endpoint_url, bill_to, model, revision, *values) -> tuple[str, ...]:
    """Every client's code reproducing the last run (``snippets.clients_for(task)``, in order), from the tab's values
    and the raw exchange's JSON, passed last. The token is read from HF_TOKEN, never copied."""
    *values, raw = values
    clients = snippets.clients_for(task)
    mark = lambda client: "//" if client.language == "javascript" else "#"  # noqa: E731
    try:
        call = _snippet_call(task, provider, endpoint_url, bill_to, model, revision, tuple(values), raw)
    except InputError as err:
        return tuple(f"{mark(c)} Fix the inputs first: {err.title}\n" for c in clients)
    codes = []
    for client in clients:
        try:
            codes.append(client.render(call))
        except Exception as err:  # noqa: BLE001 - one client's snippet failing leaves the others
            codes.append(f"{mark(client)} This snippet could not be written: {type(err).__name__}: {err}\n")
    return tuple(codes)


def handler_for(task: Task):
    """The Run handler of a task's tab, with a signature naming every input (for the API docs)."""
    names = [*HEADER_ARGS]
    if task.renderer == "chat":
        names += ["history", "message", *(spec.name for spec in task.inputs[1:])]
        body = run_chat
    else:
        names += [spec.name for spec in task.inputs]
        body = run_task
    # then the budgets, the tab's session token, owner and spend guard state (gr.State: not API parameters)
    names += [spec.name for spec in task.params] + ["extra_parameters", *ADVANCED_ARGS, *GUARD_ARGS,
                                                     "session_token", "owner", "spend_guard"]
    n = len(ADVANCED_ARGS)  # the Advanced accordion's values come after the task's

    def split(args):
        """Gradio's arguments -> (the body's values with the token to send, the Advanced values, the request, and
        the keyword arguments naming whose run it is and its budget). Gradio adds the gr.Request last: its
        headers, and its session hash (public mode's limits)."""
        *args, session_usd, day_usd, session_token, owner, guard, request = args
        if user := signin.user_of(request):  # a signed-in visitor's runs are theirs in the ledger
            owner = owners.claim(owner, user)
        extra = dict(session=getattr(request, "session_hash", "") or "", address=public_mode.client_address(request),
                     owner=owner,
                     budget=spend_guard.budget_of(session_usd, day_usd), guard=guard)
        return (request_token(args[0], session_token, request), *args[1:-n]), args[-n:], extra

    if task.renderer == "chat":
        def handler(*args):
            values, advanced, extra = split(args)
            yield from body(task, *values, advanced=advanced, **extra)
    else:
        def handler(*args):
            *args, progress = args  # Gradio passes its tracked Progress last (see the signature below)
            values, advanced, extra = split(args)
            return body(task, *values, advanced=advanced, progress=progress, **extra)

    handler.__name__ = task.api_name
    # Every argument defaults to None, so API callers give only what they need (the component's own
    # initial value is the default the client sends).
    params = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None) for n in names]
    # Gradio passes the gr.Request in the parameter annotated so (not an API input): the visitor's session
    params.append(inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                                    annotation=gr.Request))
    handler.__annotations__ = {"request": gr.Request}
    if task.renderer != "chat":  # Gradio fills a Progress argument itself (positional: it looks nowhere else),
        # so the page shows the local model loading
        params.append(inspect.Parameter("progress", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=gr.Progress()))
    handler.__signature__ = inspect.Signature(params)
    return handler
