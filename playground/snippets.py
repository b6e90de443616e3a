"""Code that reproduces a run outside the playground, in every client: one generator per client, never one per task.

    Call  (the registry's task, the model, the target, the inputs and parameters: what was asked)
    Wire  (the captured request: method, URL, headers less the secrets, body: what was sent)
        ->  CLIENTS: huggingface_hub, requests, openai (Python) · @huggingface/inference, fetch, openai (JavaScript) · curl

The library snippets (huggingface_hub, @huggingface/inference) call the task's method with the run's model,
provider, inputs and parameters: the library resolves the route itself, as it did in the run. The HTTP snippets
(requests, fetch, curl) and openai are written from the captured request, so they send what the run sent: its URL
(the provider's route, its model id, the endpoint), its headers (bill-to, content type) and its body.

The token is read from ``HF_TOKEN`` and is never written into a snippet. A file is named by its path (the user's
file's name): the snippet reads it and sends it as the run did (raw bytes, base64, or a data URL). A revision is
recorded by the run but no target pins it from the call: a comment says so.
"""

from __future__ import annotations

import base64
import inspect
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal
from urllib.parse import urlsplit

from .tasks import Task

__all__ = [
    "File", "Wire", "Call", "Client", "CLIENTS", "clients_for", "snippets", "wire_from_raw", "python_huggingface_hub", "python_snippet",
    "CLIENT_HEADERS",
]

LOCAL, CUSTOM = "local", "custom"  # the service's names for the local backend and a custom endpoint
POLICIES = (":fastest", ":cheapest")
ROUTER_HOST = "router.huggingface.co"

# Headers that name the client or the connection, not the request: every client sends its own.
CLIENT_HEADERS = frozenset({"host", "user-agent", "accept", "accept-encoding", "accept-language", "connection",
                            "content-length", "transfer-encoding", "x-amzn-trace-id"})


@dataclass(frozen=True)
class File:
    """A file the user gave, by its path, and how the request carried it: the bytes themselves, base64 text, or
    a ``data:`` URL (with the MIME type the run wrote in it)."""

    path: str
    encoding: Literal["raw", "base64", "data-url"] = "raw"
    mime: str = ""

    @property
    def name(self) -> str:
        """The name the snippet reads it by: the user's file's own name."""
        return Path(self.path).name or self.path


@dataclass(frozen=True)
class Wire:
    """The captured inference request, with the secrets out and the files back in."""

    method: str
    url: str
    headers: dict[str, str]  # what the request meant (bill-to, content type...), less CLIENT_HEADERS and secrets
    body: Any  # a JSON value (File leaves where a file went), a File (a raw body), or None
    authorized: bool = True  # a token was sent (Authorization): the snippet sends HF_TOKEN's
    answer: str = "json"  # how the answer came: "json", "event-stream" or "binary"
    answer_type: str = ""  # the answer's content type
    follow_ups: int = 0  # requests the run made after this one (polling a queue, downloading the file)
    unresolved: tuple[str, ...] = ()  # values the exchange kept only in part (none when every value was found)

    @property
    def provider(self) -> str | None:
        """The provider the router sent it to (``/together/v1/...``), when the URL names one."""
        parts = urlsplit(self.url)
        first = parts.path.strip("/").split("/")[0]
        return first if parts.hostname == ROUTER_HOST and first not in ("", "v1", "models") else None


@dataclass(frozen=True)
class Call:
    """One run as the snippets reproduce it."""

    task: Task
    model: str
    provider: str  # as chosen: auto, :fastest, :cheapest, a provider, custom, local (or balance)
    inputs: dict[str, Any]  # by input name, as InferenceClient takes them; files as File
    params: dict[str, Any] = field(default_factory=dict)
    revision: str = "main"
    endpoint_url: str | None = None
    bill_to: str | None = None
    local_url: str | None = None
    wire: Wire | None = None


# ------------------------------------------------------------------------------------------ the captured request

_DATA_URL = re.compile(r"^<(data:([^;,]*);base64), (\d+) chars>$")
_CUT = re.compile(r"^(.*)… <(\d+) chars>$", re.S)
_BYTES = re.compile(r"^<(\d+) bytes ([^ >]*)")


def _b64_len(size: int) -> int:
    return 4 * math.ceil(size / 3)


class _Finder:
    """Puts back what the exchange kept only in part (long text, base64 and data URLs, binary bodies), from the
    texts and files the user gave; a value found nowhere is left as kept, and named."""

    def __init__(self, texts: list[str], files: list[str]):
        self.texts = [t for text in texts if isinstance(text, str) for t in (text, text.strip())]
        self.files = [f for f in dict.fromkeys(files) if f and Path(f).is_file()]
        self.unresolved: list[str] = []

    def _b64(self, path: str) -> str:
        return base64.b64encode(Path(path).read_bytes()).decode()

    def string(self, value: str) -> Any:
        if m := _DATA_URL.match(value):
            head, mime, length = m.group(1), m.group(2), int(m.group(3))
            for path in self.files:
                if len(head) + 1 + _b64_len(Path(path).stat().st_size) == length:
                    return File(path, "data-url", mime)
        elif m := _CUT.match(value):
            prefix, length = m.group(1), int(m.group(2))
            for text in self.texts:
                if len(text) == length and text.startswith(prefix):
                    return text
            for path in self.files:
                if _b64_len(Path(path).stat().st_size) == length and self._b64(path).startswith(prefix):
                    return File(path, "base64")
        else:
            return value
        self.unresolved.append(value[:80])
        return value

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.string(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value

    def body(self, body: Any) -> Any:
        if isinstance(body, str) and (m := _BYTES.match(body)):
            size = int(m.group(1))
            for path in self.files:
                if Path(path).stat().st_size == size:
                    return File(path)
            self.unresolved.append(body)
            return body
        return self.value(body)


def wire_from_raw(raw: str | dict | None, texts: list[str] = (), files: list[str] = ()) -> Wire | None:
    """The Wire of a run's raw exchange (the JSON the page shows): its last inference request that sent something
    (a queue's later polls and downloads are counted, not reproduced). ``texts`` and ``files`` are what the user
    gave, to put back the values the exchange kept only in part. None when no request was sent."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else None
        except ValueError:
            return None
    exchanges = [e for e in (raw or {}).get("exchanges") or [] if isinstance(e, dict) and e.get("request")]
    if not exchanges:
        return None
    sending = [i for i, e in enumerate(exchanges) if e["request"].get("method") != "GET"]
    index = sending[-1] if sending else len(exchanges) - 1
    # a request retried or failed over is sent again: what follows the last one sent is its follow-ups
    request, response = exchanges[index]["request"], exchanges[index].get("response") or {}
    finder = _Finder(list(texts), list(files))
    headers = {k: v for k, v in (request.get("headers") or {}).items()
               if k.lower() not in CLIENT_HEADERS and k.lower() != "authorization" and "[redacted]" not in str(v)}
    answer_type = ((response.get("headers") or {}).get("content-type") or "").split(";")[0].strip().lower()
    answer = ("event-stream" if "event-stream" in answer_type
              else "json" if not answer_type or "json" in answer_type or answer_type.startswith("text/") else "binary")
    return Wire(
        method=request.get("method") or "POST",
        url=request.get("url") or "",
        headers=headers,
        body=finder.body(request.get("body")),
        authorized=any(k.lower() == "authorization" for k in request.get("headers") or {}),
        answer=answer,
        answer_type=answer_type,
        follow_ups=len(exchanges) - index - 1,
        unresolved=tuple(finder.unresolved),
    )


# ------------------------------------------------------------------------------------------ shared pieces


def _files_in(value: Any) -> list[File]:
    if isinstance(value, File):
        return [value]
    if isinstance(value, list):
        return [f for v in value for f in _files_in(v)]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _files_in(v)]
    return []


def _json_with(value: Any, expression: Callable[[File], str], indent: int | None = 4,
               words: dict[str, str] | None = None) -> str:
    """``value`` as JSON text (in the target language's words for true/false/null), each File written as
    ``expression(file)`` (which includes its own quotes if it is a string in the target language)."""
    files: list[File] = []

    def mark(v: Any) -> Any:
        if isinstance(v, File):
            files.append(v)
            return f"@@file-{len(files) - 1}@@"
        if isinstance(v, list):
            return [mark(x) for x in v]
        if isinstance(v, dict):
            return {k: mark(x) for k, x in v.items()}
        return v

    text = json.dumps(mark(value), ensure_ascii=False, indent=indent)
    if words:
        text = re.sub(r'"(?:[^"\\]|\\.)*"|\b(true|false|null)\b',
                      lambda m: words.get(m.group(1), m.group(0)) if m.group(1) else m.group(0), text)
    return re.sub(r'"@@file-(\d+)@@"', lambda m: expression(files[int(m.group(1))]), text)


def _revision_comment(call: Call, mark: str) -> list[str]:
    """Where the revision cannot be pinned from the call (everywhere today), say so instead of pinning nothing."""
    revision = (call.revision or "main").strip() or "main"
    if revision == "main":
        return []
    if call.provider == LOCAL:
        why = "the local backend runs the one revision it has loaded (the run checked it is this one)"
    elif call.provider == CUSTOM or call.model.startswith(("http://", "https://")):
        why = "an endpoint runs the revision it was deployed with (deploy it at this revision to pin it)"
    else:
        why = "serverless providers run their own deployment of the model"
    return [f"{mark} Revision {revision}: it cannot be pinned here: {why}."]


def _wire_comments(call: Call, mark: str) -> list[str]:
    wire = call.wire
    lines = []
    if wire and wire.follow_ups:
        lines.append(f"{mark} The run then made {wire.follow_ups} more request{'s' if wire.follow_ups > 1 else ''} "
                     "(polling, downloading the result): see the raw exchange; the library snippet makes them for you.")
    if wire and wire.unresolved:
        lines.append(f"{mark} Some values were kept only in part by the exchange: replace the ones marked '… <N chars>'.")
    return lines


def _code(lines: list[str], mark: str) -> str:
    """A snippet's text: its lines, with a blank line after the comments that open it (``mark``: # or //)."""
    if lines and lines[0].startswith(mark):
        lines.insert(next((i for i, line in enumerate(lines) if not line.startswith(mark)), len(lines)), "")
    return "\n".join(lines) + "\n"


def _no_wire(mark: str) -> str:
    return f"{mark} Run first: this snippet is written from the request the run sends.\n"


def _sdk_provider(call: Call) -> str:
    """The provider the library snippets name: the one chosen, or (balance, failover) the one that served."""
    if call.provider in (*POLICIES, "auto", "", None):
        return "auto"
    served = call.wire.provider if call.wire else None
    return served or call.provider


def _chat_messages(call: Call) -> list[dict[str, Any]]:
    """The messages as sent: the captured body's when there is one (images as sent), else the inputs'."""
    if call.wire and isinstance(call.wire.body, dict) and "messages" in call.wire.body:
        return call.wire.body["messages"]
    messages = []
    if call.inputs.get("system"):
        messages.append({"role": "system", "content": call.inputs["system"]})
    messages.extend(call.inputs.get("messages") or [{"role": "user", "content": "Hello!"}])
    return messages


def _chat_options(call: Call) -> dict[str, Any]:
    """The chat request's other fields as sent (parameters, tools, response_format, stream_options)."""
    if call.wire and isinstance(call.wire.body, dict) and "messages" in call.wire.body:
        return {k: v for k, v in call.wire.body.items() if k not in ("model", "messages", "stream")}
    options = {k: v for k, v in call.inputs.items() if k not in ("messages", "system")}
    options.update(call.params)
    options["stream_options"] = {"include_usage": True}  # as the playground asks
    return options


def _is_chat(task: Task) -> bool:
    return task.provider_task == "conversational"


# ------------------------------------------------------------------------------------------ Python

_PY_WORDS = {"true": "True", "false": "False", "null": "None"}


def _py(value: Any, indent: int | None = None) -> str:
    return _json_with(value, _py_file, indent=indent, words=_PY_WORDS)


def _py_file(f: File) -> str:
    data = f'Path({json.dumps(f.name)}).read_bytes()'
    if f.encoding == "base64":
        return f"base64.b64encode({data}).decode()"
    if f.encoding == "data-url":
        return f'"data:{f.mime};base64," + base64.b64encode({data}).decode()'
    return data


def _py_imports(value: Any, *extra: str) -> list[str]:
    files = _files_in(value)
    lines = [*extra]
    if any(f.encoding != "raw" for f in files):
        lines.append("import base64")
    lines.append("import os")
    if files:
        lines.append("from pathlib import Path")
    return sorted(set(lines), key=lambda line: (line.startswith("from"), line))


def _accepted_kwargs(method: str) -> frozenset[str]:
    from huggingface_hub import InferenceClient

    return frozenset(inspect.signature(getattr(InferenceClient, method)).parameters) - {"self"}


def python_huggingface_hub(call: Call) -> str:
    """InferenceClient, called as the playground calls it."""
    task, provider = call.task, call.provider
    client_args: list[str] = []
    model_arg = call.model
    if provider == LOCAL:
        base = call.local_url or "http://127.0.0.1:<port>"
        if _is_chat(task):
            client_args.append(f'base_url="{base}/v1"')
        else:
            model_arg = f"{base}/models/{call.model}" + (
                f"/pipeline/{task.id}" if task.id in ("feature-extraction", "sentence-similarity") else "")
    elif provider == CUSTOM:
        if _is_chat(task):
            client_args.append(f"base_url={_py(call.endpoint_url or '')}")
        else:
            model_arg = call.endpoint_url or ""
        client_args.append('api_key=os.environ.get("HF_TOKEN")')
    else:
        client_args.append(f"provider={_py(_sdk_provider(call))}")
        client_args.append('api_key=os.environ["HF_TOKEN"]')
        if provider in POLICIES and _is_chat(task):
            model_arg = f"{call.model}{provider}"
        if call.bill_to:
            client_args.append(f"bill_to={_py(call.bill_to)}")

    body: list[str] = []
    call_args: list[str] = []
    if _is_chat(task):
        messages = _chat_messages(call)
        options = _chat_options(call)
        body.append(f"messages = {_py(messages, indent=4)}")
        call_args.append("messages")
        call_args.append(f"model={_py(model_arg)}")
        accepted = _accepted_kwargs(task.method)
        unknown = {k: v for k, v in options.items() if k not in accepted}
        call_args += [f"{k}={_py(v)}" for k, v in options.items() if k in accepted]
        if unknown:
            call_args.append(f"extra_body={_py(unknown)}")
        call_args.append("stream=True")
        body.append(f"for chunk in client.{task.method}({', '.join(call_args)}):")
        body.append("    if chunk.choices:")
        body.append('        print(chunk.choices[0].delta.content or "", end="")')
        imports = _py_imports(messages)
    else:
        first = task.inputs[0]
        value = call.inputs.get(first.name, first.placeholder)
        call_args.append(_py(value))  # a file is read and sent as bytes, as the run sent it
        call_args.append(f"model={_py(model_arg)}")
        for spec in task.inputs[1:]:
            if call.inputs.get(spec.name) is not None:
                call_args.append(f"{spec.name}={_py(call.inputs[spec.name])}")
        accepted = _accepted_kwargs(task.method)
        unknown = {k: v for k, v in call.params.items() if k not in accepted}
        call_args += [f"{k}={_py(v)}" for k, v in call.params.items() if k in accepted]
        if unknown and "extra_body" in accepted:
            call_args.append(f"extra_body={_py(unknown)}")
        body.append(f"result = client.{task.method}(")
        body.extend(f"    {a}," for a in call_args)
        body.append(")")
        out = _media_file(call)
        if out is None:
            body.append("print(result)")
        elif task.renderer in ("image", "slider"):  # a PIL image
            body += [f"result.save({_py(out)})", f"print({_py('saved ' + out)})"]
        else:  # bytes
            body += [f"with open({_py(out)}, \"wb\") as f:", "    f.write(result)", f"print({_py('saved ' + out)})"]
        imports = _py_imports(list(call.inputs.values()))
    lines = [*_revision_comment(call, "#"), *imports, "", "from huggingface_hub import InferenceClient", "",
             f"client = InferenceClient({', '.join(client_args)})", *body]
    return _code(lines, "#")


def _py_headers(wire: Wire) -> str:
    items = []
    if wire.authorized:
        items.append('    "Authorization": f"Bearer {os.environ[\'HF_TOKEN\']}",')
    items += [f"    {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in wire.headers.items()]
    return "{\n" + "\n".join(items) + "\n}" if items else "{}"


def _ext(content_type: str) -> str:
    import mimetypes

    return (mimetypes.guess_extension(content_type or "") or ".bin").lstrip(".")


def _media_file(call: Call) -> str | None:
    """Where a snippet saves a task's media output (an image, a sound, a video), or None for other outputs: the type
    the run's answer had when it came as bytes, else the renderer's usual one (a provider answering with a URL)."""
    usual = {"image": "png", "slider": "png", "audio": "wav", "video": "mp4"}.get(call.task.renderer)
    if usual is None:
        return None
    wire = call.wire
    known = _ext(wire.answer_type) if wire is not None and wire.answer == "binary" and wire.answer_type else ""
    return f"output.{known if known and known != 'bin' else usual}"


def python_requests(call: Call) -> str:
    """The captured request, sent with requests."""
    wire = call.wire
    if wire is None:
        return _no_wire("#")
    extra = ["import json"] if wire.answer == "event-stream" else []
    lines = [*_revision_comment(call, "#"), *_wire_comments(call, "#"), *_py_imports(wire.body, *extra),
             "", "import requests", "", f"url = {json.dumps(wire.url)}", f"headers = {_py_headers(wire)}"]
    send = f"requests.request({json.dumps(wire.method)}, url, headers=headers"
    if isinstance(wire.body, File):
        send += f", data={_py_file(wire.body)}"
    elif wire.body is not None:
        lines.append(f"payload = {_py(wire.body, indent=4)}")
        send += ", json=payload"
    if wire.answer == "event-stream":
        send += ", stream=True"
    lines += [f"response = {send})", "response.raise_for_status()"]
    if wire.answer == "event-stream":
        lines += ["for line in response.iter_lines():",
                  '    if line.startswith(b"data:") and line.strip() != b"data: [DONE]":',
                  "        chunk = json.loads(line[5:])",
                  '        for choice in chunk.get("choices") or []:',
                  '            print(choice["delta"].get("content") or "", end="")']
    elif wire.answer == "binary":
        out = f"output.{_ext(wire.answer_type)}"
        lines += [f"Path({json.dumps(out)}).write_bytes(response.content)", f'print("saved {out}")']
        if "from pathlib import Path" not in lines:
            lines.insert(lines.index("import os") + 1, "from pathlib import Path")
    else:
        lines.append("print(response.json())")
    return _code(lines, "#")


_OPENAI_CHAT_ARGS = frozenset({
    "messages", "model", "stream", "stream_options", "temperature", "top_p", "max_tokens", "max_completion_tokens",
    "stop", "seed", "tools", "tool_choice", "parallel_tool_calls", "response_format", "frequency_penalty",
    "presence_penalty", "logprobs", "top_logprobs", "n", "logit_bias", "user", "reasoning_effort", "metadata",
})


def _openai_target(call: Call) -> tuple[str, str]:
    """(base URL, model) of the captured chat request: the route the run took, the model id it sent."""
    wire = call.wire
    base = wire.url.split("?")[0]
    base = base[: -len("/chat/completions")] if base.endswith("/chat/completions") else base
    model = wire.body.get("model", call.model) if isinstance(wire.body, dict) else call.model
    return base, model


def _openai_key(call: Call, python: bool) -> tuple[str, str | None]:
    """The api key expression, and a comment when the target needs none."""
    if call.wire and not call.wire.authorized:
        return '"not-needed"', "the server needs no token; the client insists on one"
    return ('os.environ["HF_TOKEN"]', None) if python else ("process.env.HF_TOKEN", None)


def _openai_parts(call: Call, python: bool) -> tuple[str, str, str, str | None, dict[str, Any]]:
    """What an openai client's snippet needs from the captured chat request: the base URL, the model, the api key
    expression and why it is a placeholder (or None), and the body less the model."""
    base, model = _openai_target(call)
    key, why = _openai_key(call, python)
    body = call.wire.body if call.wire is not None and isinstance(call.wire.body, dict) else {}
    return base, model, key, why, {k: v for k, v in body.items() if k != "model"}


def python_openai(call: Call) -> str:
    """The captured chat request, sent with the openai client (the router's OpenAI-compatible route)."""
    wire = call.wire
    if wire is None:
        return _no_wire("#")
    base, model, key, why, body = _openai_parts(call, python=True)
    known = {k: v for k, v in body.items() if k in _OPENAI_CHAT_ARGS}
    unknown = {k: v for k, v in body.items() if k not in _OPENAI_CHAT_ARGS}
    client_args = [f"    base_url={json.dumps(base)},", f"    api_key={key},{f'  # {why}' if why else ''}"]
    headers = {k: v for k, v in wire.headers.items() if k.lower() != "content-type"}
    if headers:
        client_args.append(f"    default_headers={_py(headers)},")
    args = [f"    model={_py(model)},"] + [f"    {k}={_py(v, indent=4).replace(chr(10), chr(10) + '    ')},"
                                           for k, v in known.items()]
    if unknown:
        args.append(f"    extra_body={_py(unknown)},")
    lines = [*_revision_comment(call, "#"), *_wire_comments(call, "#"), *_py_imports(body), "",
             "from openai import OpenAI", "", "client = OpenAI(", *client_args, ")",
             "stream = client.chat.completions.create(", *args, ")"]
    if body.get("stream"):
        lines += ["for chunk in stream:", "    if chunk.choices:",
                  '        print(chunk.choices[0].delta.content or "", end="")']
    else:
        lines.append("print(stream.choices[0].message.content)")
    return _code(lines, "#")


# ------------------------------------------------------------------------------------------ JavaScript

def _js_file(f: File, blob: bool = False) -> str:
    data = f"await readFile({json.dumps(f.name)})"
    if f.encoding == "base64":
        return f"new Blob([{data}])" if blob else f'({data}).toString("base64")'
    if f.encoding == "data-url":
        return f'"data:{f.mime};base64," + ({data}).toString("base64")'
    return f"new Blob([{data}])" if blob else data


def _js(value: Any, indent: int | None = 4, blob: bool = False) -> str:
    """A JavaScript object literal: JSON, with plain keys unquoted (a key starts a line when indented)."""
    text = _json_with(value, lambda f: _js_file(f, blob), indent=indent)
    return re.sub(r'^(\s*)"([A-Za-z_$][\w$]*)": ', r"\1\2: ", text, flags=re.M) if indent else text


def _js_imports(value: Any, write: bool = False) -> list[str]:
    names = (["readFile"] if _files_in(value) else []) + (["writeFile"] if write else [])
    return [f'import {{ {", ".join(names)} }} from "node:fs/promises";'] if names else []


def _indent(text: str, by: str = "    ") -> str:
    return text.replace("\n", "\n" + by)


_JS_PRINT_STREAM = [
    "for await (const chunk of stream) {",
    '    if (chunk.choices?.length) process.stdout.write(chunk.choices[0].delta.content ?? "");',
    "}",
]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# Registry input names that the task specs (and so @huggingface/inference) spell otherwise.
_SPEC_NAMES = {"sentence": "source_sentence", "other_sentences": "sentences"}


def _js_task_args(call: Call) -> dict[str, Any]:
    """The task's arguments in the task-spec form @huggingface/inference takes: ``inputs`` and ``parameters``.

    Sent to hf-inference (or an endpoint) as JSON, the request's own body is that form: it is passed as it was
    sent (the library sends these arguments as the body), with the files as Blobs. Otherwise the form is built
    from the registry: the first input, the other inputs (a spec parameter goes in ``parameters``), the parameters."""
    from huggingface_hub.inference._generated import types as hf

    wire, task = call.wire, call.task
    on_hf_inference = wire is not None and (wire.provider == "hf-inference" or call.provider in (CUSTOM, LOCAL))
    if on_hf_inference and isinstance(wire.body, dict):
        return dict(wire.body)
    spec_params = getattr(hf, f"{''.join(p.title() for p in task.id.split('-'))}Parameters", None)
    spec_fields = set(getattr(spec_params, "__dataclass_fields__", {}) or {})
    params = dict(call.params)
    data = {}
    for spec in task.inputs:
        value = call.inputs.get(spec.name)
        if value is None:
            continue
        if spec is not task.inputs[0] and spec.name in spec_fields:
            params[spec.name] = value
        else:
            data[_SPEC_NAMES.get(spec.name, spec.name)] = value
    first = task.inputs[0].name
    args: dict[str, Any] = {"inputs": data[first] if list(data) == [first] else data}
    if params:
        args["parameters"] = params
    return args


def js_huggingface_inference(call: Call) -> str:
    """@huggingface/inference's InferenceClient, the task's method with the run's model, provider and inputs."""
    task = call.task
    head: dict[str, Any] = {}
    if call.provider == LOCAL:
        base = call.local_url or "http://127.0.0.1:<port>"
        head["endpointUrl"] = f"{base}/v1" if _is_chat(task) else f"{base}/models/{call.model}" + (
            f"/pipeline/{task.id}" if task.id in ("feature-extraction", "sentence-similarity") else "")
        head["model"] = call.model
    elif call.provider == CUSTOM:
        head["endpointUrl"] = call.endpoint_url or ""
        if _is_chat(task) and call.model:
            head["model"] = call.model
    else:
        chat_policy = call.provider in POLICIES and _is_chat(task)
        head["model"] = f"{call.model}{call.provider}" if chat_policy else call.model
        head["provider"] = _sdk_provider(call)
    options = {"billTo": call.bill_to} if call.bill_to and call.provider not in (CUSTOM, LOCAL) else {}
    if _is_chat(task):
        args = {**head, "messages": _chat_messages(call), **_chat_options(call)}
        call_line = f"const stream = client.chatCompletionStream({_js(args)}"
        tail = _JS_PRINT_STREAM
        out = None
    else:
        args = {**head, **_js_task_args(call)}
        call_line = f"const output = await client.{_camel(task.method)}({_js(args, blob=True)}"
        out = _media_file(call)  # the library answers media as a Blob: saved to a file
        tail = ([f"await writeFile({json.dumps(out)}, Buffer.from(await output.arrayBuffer()));",
                 f'console.log("saved {out}");'] if out else ["console.log(output);"])
    call_line += f", {_js(options)});" if options else ");"
    token = "process.env.HF_TOKEN" if call.provider != LOCAL else ""
    lines = [*_revision_comment(call, "//"), *_js_imports(args, write=out is not None),
             'import { InferenceClient } from "@huggingface/inference";', "",
             f"const client = new InferenceClient({token});", "", call_line, *tail]
    return _code(lines, "//")


def _js_headers(wire: Wire) -> list[str]:
    items = []
    if wire.authorized:
        items.append("Authorization: `Bearer ${process.env.HF_TOKEN}`,")
    items += [f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in wire.headers.items()]
    return items


def js_fetch(call: Call) -> str:
    """The captured request, sent with fetch (Node 18+)."""
    wire = call.wire
    if wire is None:
        return _no_wire("//")
    binary = wire.answer == "binary"
    options = [f"    method: {json.dumps(wire.method)},", "    headers: {",
               *(f"        {h}" for h in _js_headers(wire)), "    },"]
    if isinstance(wire.body, File):
        options.append(f"    body: {_js_file(wire.body)},")
    elif wire.body is not None:
        options.append(f"    body: JSON.stringify({_indent(_js(wire.body))}),")
    lines = [*_revision_comment(call, "//"), *_wire_comments(call, "//"), *_js_imports(wire.body, write=binary),
             *([""] if wire.body is not None and _files_in(wire.body) or binary else []),
             f"const response = await fetch({json.dumps(wire.url)}, {{", *options, "});",
             "if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);"]
    if wire.answer == "event-stream":
        lines += ["const decoder = new TextDecoder();", 'let pending = "";',
                  "for await (const bytes of response.body) {",
                  "    pending += decoder.decode(bytes, { stream: true });",
                  '    const lines = pending.split("\\n");',
                  "    pending = lines.pop();",
                  "    for (const line of lines) {",
                  '        if (!line.startsWith("data:") || line.trim() === "data: [DONE]") continue;',
                  "        const chunk = JSON.parse(line.slice(5));",
                  '        for (const choice of chunk.choices ?? []) process.stdout.write(choice.delta.content ?? "");',
                  "    }", "}"]
    elif binary:
        out = f"output.{_ext(wire.answer_type)}"
        lines += [f"await writeFile({json.dumps(out)}, Buffer.from(await response.arrayBuffer()));",
                  f'console.log("saved {out}");']
    else:
        lines.append("console.log(await response.json());")
    return _code(lines, "//")


def js_openai(call: Call) -> str:
    """The captured chat request, sent with the openai package (the router's OpenAI-compatible route)."""
    wire = call.wire
    if wire is None:
        return _no_wire("//")
    base, model, key, why, body = _openai_parts(call, python=False)
    headers = {k: v for k, v in wire.headers.items() if k.lower() != "content-type"}
    client = [f"    baseURL: {json.dumps(base)},", f"    apiKey: {key},{f' // {why}' if why else ''}"]
    if headers:
        client.append(f"    defaultHeaders: {_js(headers, indent=None)},")
    lines = [*_revision_comment(call, "//"), *_wire_comments(call, "//"), *_js_imports(body),
             'import OpenAI from "openai";', "", "const client = new OpenAI({", *client, "});", "",
             f"const stream = await client.chat.completions.create({_js({'model': model, **body})});"]
    lines += _JS_PRINT_STREAM if body.get("stream") else ["console.log(stream.choices[0].message.content);"]
    return _code(lines, "//")


# ------------------------------------------------------------------------------------------ shell


def _sh(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _sh_file(f: File) -> str:
    """A file inside a JSON string of an unquoted here-document: command substitution."""
    data = f"$(base64 < {_sh(f.name)} | tr -d '\\n')"
    return f'"data:{f.mime};base64,{data}"' if f.encoding == "data-url" else f'"{data}"'


def curl(call: Call) -> str:
    """The captured request, sent with curl."""
    wire = call.wire
    if wire is None:
        return _no_wire("#")
    args = [_sh(wire.url)]
    if wire.method not in ("POST", "GET") or (wire.method == "POST" and wire.body is None):
        args.append(f"-X {wire.method}")
    if wire.answer == "event-stream":
        args.append("-N")
    args.append("--fail-with-body")
    if wire.authorized:
        args.append('-H "Authorization: Bearer $HF_TOKEN"')
    args += [f"-H {_sh(f'{k}: {v}')}" for k, v in wire.headers.items()]
    heredoc = None
    if isinstance(wire.body, File):
        if not any(k.lower() == "content-type" for k in wire.headers):
            args.append("-H 'Content-Type:'")  # sent without one, as the run did (curl would say form data)
        args.append(f"--data-binary @{_sh(wire.body.name)}")
    elif wire.body is not None and _files_in(wire.body):
        text = _json_with(wire.body, lambda f: "@@@" + str(id(f)) + "@@@", indent=4)
        escaped = text.replace("\\", "\\\\").replace("$", "\\$").replace("`", "\\`")
        files = {str(id(f)): f for f in _files_in(wire.body)}
        heredoc = re.sub(r"@@@(\d+)@@@", lambda m: _sh_file(files[m.group(1)]), escaped)
        args.append("--data-binary @-")
    elif wire.body is not None:
        args.append(f"-d {_sh(json.dumps(wire.body, ensure_ascii=False, indent=4))}")
    if wire.answer == "binary":
        args.append(f"-o output.{_ext(wire.answer_type)}")
    lines = [*_revision_comment(call, "#"), *_wire_comments(call, "#")]
    command = "curl " + " \\\n    ".join(args)
    if heredoc is not None:
        command += " <<EOF\n" + heredoc + "\nEOF"
    return "\n".join([*lines, command]) + "\n"


# ------------------------------------------------------------------------------------------ the clients


@dataclass(frozen=True)
class Client:
    """One tab of the Code accordion."""

    id: str
    label: str
    language: str  # gr.Code's language
    render: Callable[[Call], str]
    openai_route: bool = False  # only for tasks the router serves on its OpenAI-compatible route


CLIENTS: tuple[Client, ...] = (
    Client("python-huggingface_hub", "Python · huggingface_hub", "python", python_huggingface_hub),
    Client("python-requests", "Python · requests", "python", python_requests),
    Client("python-openai", "Python · openai", "python", python_openai, openai_route=True),
    Client("js-huggingface_inference", "JavaScript · @huggingface/inference", "javascript", js_huggingface_inference),
    Client("js-fetch", "JavaScript · fetch", "javascript", js_fetch),
    Client("js-openai", "JavaScript · openai", "javascript", js_openai, openai_route=True),
    Client("curl", "Shell · curl", "shell", curl),
)


def clients_for(task: Task) -> tuple[Client, ...]:
    """The clients that can run ``task``: openai only where the router has an OpenAI-compatible route (chat)."""
    return tuple(c for c in CLIENTS if not c.openai_route or _is_chat(task))


def snippets(call: Call) -> dict[str, str]:
    """Every client's snippet for ``call``, by client id, in the order of ``clients_for``."""
    return {c.id: c.render(call) for c in clients_for(call.task)}



def python_snippet(task: Task, model: str, provider: str, inputs: dict[str, Any], params: dict[str, Any],
                   endpoint_url: str | None = None, bill_to: str | None = None, local_url: str | None = None) -> str:
    """The huggingface_hub snippet from the inputs alone (no captured request), as run cards show it."""
    return python_huggingface_hub(Call(task, model, provider, inputs, params, endpoint_url=endpoint_url,
                                       bill_to=bill_to, local_url=local_url))
