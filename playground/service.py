"""The one service path every run takes, whatever the task, provider or endpoint.

    the spend guard  ->  resolve the target  ->  prepare the inputs  ->  build the InferenceClient  ->  call
        ->  capture the exchange  ->  shape one RunResult  ->  record it in the ledger (queued, off the path)

The guard step comes first (``spend_guard.held_back``): a request whose ``guard`` budget its estimate would pass
comes back at once as a RunResult whose error is a HeldBackError (the page's question), with nothing sent, billed
or recorded.

The call step goes through ``reliability.Failover``: retries with backoff, cooldowns and failover to the
model's next provider, each attempt recorded (status, wait before it, provider) in the raw exchange.

``run(request)`` returns a RunResult; ``run_stream(request)`` yields ``StreamDelta`` text as it arrives
and ends with the RunResult; ``run_bundle(requests)`` sends several inputs of a task that bundles in one request
and returns one RunResult each (each recorded on its own). A local run first waits for its turn at the engine
(``concurrency.LOCAL_ENGINE``): ``run`` tells ``on_wait`` how many are ahead, ``run_stream`` yields ``InLine``.
Nothing here keeps per-user state: the token travels inside the request, the exchange is recorded through a context
variable (``capture.recording``).
"""

from __future__ import annotations

import base64
import inspect
import io
import itertools
import json
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx2
from huggingface_hub import InferenceClient, get_token
from huggingface_hub.inference._generated import types as hf
from huggingface_hub.inference._providers import PROVIDERS
from huggingface_hub.inference._providers.hf_inference import HFInferenceTask
from PIL import Image, UnidentifiedImageError

from . import capture, concurrency, hub, ledger, reliability
from . import netguard, public_mode, spend_guard
from .errors import AnswerShapeError, HeldBackError, InputError, PlaygroundError, ProviderError, StoppedError, translate
from .reliability import RetryPolicy
from .params import json_value
from .tasks import Input, Task, get_task

__all__ = [
    "Target",
    "RunRequest",
    "RunResult",
    "StreamDelta",
    "InLine",
    "run",
    "run_stream",
    "run_bundle",
    "prepare_input",
    "rerun",
    "POLICIES",
    "LOCAL",
    "CUSTOM",
]

LOCAL = "local"
CUSTOM = "custom"
POLICIES = ("auto", ":fastest", ":cheapest")
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_AUDIO_BYTES = 50 * 1024 * 1024
_MODEL_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?(:[\w.\-]+)?$")


@dataclass(frozen=True)
class Target:
    """Where a run goes and how hard it tries. ``token`` never appears in repr, logs or results."""

    provider: str = "auto"  # "auto", ":fastest", ":cheapest", "balance", a provider name, "custom", "local"
    token: str | None = field(default=None, repr=False)
    endpoint_url: str | None = None
    bill_to: str | None = None
    timeout: float | None = 120.0  # read timeout of one attempt (longest wait for a byte)
    connect_timeout: float = 10.0
    idle_timeout: float | None = 60.0  # streams: the longest silence between two chunks
    fallbacks: tuple[str, ...] = ()  # providers to fail over to, in order (else the model's live providers)
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass
class RunRequest:
    task: str
    model: str
    inputs: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    revision: str = "main"
    target: Target = field(default_factory=Target)
    source: str = "api"  # where it was asked from, as the ledger records it: tab, chat, compare, batch, api
    owner: str = field(default="", repr=False)  # the browser's opaque owner key: whose history the run joins
    hub_user: str | None = None  # the Hub user name, when known: the run is theirs too
    session: str = ""  # the Gradio session asking: public mode limits the local backend per session
    address: str = ""  # and the network address it comes from (``public_mode.client_address``)
    batch_id: str = ""  # a row of a batch (``playground.batch``): the ledger keeps both, so a batch resumes
    batch_row: str = ""  # without running a finished row again
    comparison_id: str = ""  # a pane of a Compare comparison (``playground.compare``): the ledger keeps both, so
    comparison_pane: int | None = None  # the comparison reopens and is shared from its runs
    comparison_kind: str = ""  # "providers": a run of "all providers of this model" (else the panes' own targets)
    guard: spend_guard.Guard | None = None  # the spend guard's budget, session start and "Run anyway" (None: none)


@dataclass
class StreamDelta:
    text: str  # the new piece
    so_far: str  # everything received so far
    reasoning: str = ""  # the model's reasoning so far (``reasoning_content`` or ``reasoning`` deltas)
    tool_calls: list[dict[str, str]] = field(default_factory=list)  # so far: {"id", "name", "arguments"}


@dataclass
class InLine:
    """A local run waiting for the engine: ``ahead`` runs are before it (0: its turn has come)."""

    ahead: int


def _add_tool_call_pieces(calls: dict[int, dict[str, str]], pieces: list[Any]) -> None:
    """Assemble streamed tool calls: the first piece of a call names it, the next ones extend its arguments."""
    for piece in pieces:
        call = calls.setdefault(piece.get("index") or 0, {"id": "", "name": "", "arguments": ""})
        function = piece.get("function") or {}
        call["id"] = piece.get("id") or call["id"]
        call["name"] = function.get("name") or call["name"]
        call["arguments"] += function.get("arguments") or ""


@dataclass
class RunResult:
    task: str
    model: str
    revision: str
    provider_requested: str
    provider_served: str | None = None
    output: Any = None
    exchanges: list[capture.Exchange] = field(default_factory=list)
    latency_s: float = 0.0
    usage: dict[str, int] | None = None
    error: PlaygroundError | None = None
    retries: int = 0
    waited_s: float = 0.0
    truncated: bool = False
    notes: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict, repr=False)  # as prepared (for renderers)
    attempts: list[reliability.Attempt] = field(default_factory=list)
    request: RunRequest | None = field(default=None, repr=False)  # as asked, for ``rerun``: nothing is lost
    run_id: str | None = None  # its id in the ledger (None when it was not recorded)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def held_back(self) -> bool:
        """The spend guard held the run back: nothing was sent (``error.display()`` is the page's question)."""
        return isinstance(self.error, HeldBackError)

    @property
    def model_ref(self) -> str:
        rev = self.revision or "main"
        short = rev[:7] if re.fullmatch(r"[0-9a-f]{40}", rev) else rev
        return self.model if short == "main" else f"{self.model}@{short}"

    def status_line(self) -> str:
        state = "✅" if self.ok else "❌"
        parts = [f"{state} {self.latency_s * 1000:.0f} ms", self.model_ref]
        served = self.provider_served or self.provider_requested
        where = f"served by {served}" if self.ok else f"provider {served}"
        if self.retries:  # "served by together after 2 retries (waited 3.2 s)"
            where += f" after {self.retries} retr{'y' if self.retries == 1 else 'ies'} (waited {self.waited_s:.1f} s)"
        parts.append(where)
        if self.usage:
            parts.append(
                f"{self.usage.get('prompt_tokens', 0)} in / {self.usage.get('completion_tokens', 0)} out tokens"
            )
        if self.truncated:
            parts.append("stream cut short: reply truncated")
        parts.extend(self.notes)
        return " · ".join(parts)

    def raw(self) -> dict[str, Any]:
        """The exchange as shown in the 'Raw exchange' accordion (secrets already redacted)."""
        calls = [e for e in self.exchanges if not e.is_hub_lookup]
        lookups = [e for e in self.exchanges if e.is_hub_lookup]
        return {
            **({"run_id": self.run_id} if self.run_id else {}),  # its ledger record (the tab's run card reads it)
            "exchanges": [e.to_dict() for e in calls],
            **({"attempts": [a.to_dict() for a in self.attempts]} if self.attempts else {}),
            **({"error": self.error.to_dict()} if self.error else {}),
            **({"hub_lookups": [e.to_dict() for e in lookups]} if lookups else {}),
        }


# ------------------------------------------------------------------------------------------ inputs


def _read_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, dict) and value.get("path"):  # gradio FileData
        value = value["path"]
    if isinstance(value, (str, Path)):
        path = Path(value)
        if not path.is_file():
            raise InputError("File not found", f"{path.name} does not exist.", "Upload the file again.")
        return path.read_bytes()
    raise InputError("No file given", "", "Upload a file first.")


def _prepare_image(value: Any) -> bytes:
    if value is None or value == "":
        raise InputError("No image given", "", "Upload an image, take one with the webcam, or click an example.")
    if isinstance(value, Image.Image):
        buf = io.BytesIO()
        value.save(buf, format="PNG")
        return buf.getvalue()
    data = _read_bytes(value)
    if len(data) > MAX_IMAGE_BYTES:
        raise InputError("Image too large", f"{len(data) / 1e6:.1f} MB; the limit is {MAX_IMAGE_BYTES / 1e6:.0f} MB.", "Resize it.")
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise InputError("This file is not an image", str(err), "Upload a PNG, JPEG, WebP or GIF image.") from None
    return data


_AUDIO_MAGIC = (b"RIFF", b"ID3", b"fLaC", b"OggS", b"\x1aE\xdf\xa3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")


def _prepare_audio(value: Any) -> bytes:
    if value is None or value == "":
        raise InputError("No audio given", "", "Upload an audio file, record one, or click an example.")
    data = _read_bytes(value)
    if len(data) > MAX_AUDIO_BYTES:
        raise InputError("Audio too large", f"{len(data) / 1e6:.1f} MB; the limit is {MAX_AUDIO_BYTES / 1e6:.0f} MB.", "Trim it.")
    if not (data.startswith(_AUDIO_MAGIC) or data[4:8] == b"ftyp"):
        raise InputError("This file is not audio", "Its first bytes match no audio format.", "Upload WAV, MP3, FLAC, OGG or M4A.")
    return data


MAX_TABLE_CELLS = 20_000


def _prepare_table(value: Any, label: str) -> dict[str, list[str]]:
    """A table as InferenceClient sends it, ``{column: [cells as text]}``, from a dataframe, Gradio's
    ``{"headers", "data"}`` or a dict of columns. Blank rows (an editor's trailing row) are dropped."""
    if value is not None and hasattr(value, "columns") and hasattr(value, "notna"):  # a pandas DataFrame
        cells = value.astype(object).where(value.notna(), None)  # empty cells (NaN, NA) -> blank
        value = {"headers": [str(c) for c in value.columns], "data": cells.values.tolist()}
    if isinstance(value, dict) and "data" in value:
        headers, rows = [str(h).strip() for h in value.get("headers") or []], value.get("data") or []
    elif isinstance(value, dict) and value and all(isinstance(v, (list, tuple)) for v in value.values()):
        lengths = {len(v) for v in value.values()}
        if len(lengths) > 1:
            raise InputError(f"{label}: columns of different lengths", f"Lengths: {sorted(lengths)}.", "Give every column the same number of cells.")
        headers, rows = [str(h).strip() for h in value], [list(r) for r in zip(*value.values())]
    elif value in (None, "", []):
        raise InputError(f"{label} is empty", "", "Fill in the table or click an example.")
    else:
        raise InputError(f"{label} is not a table", f"Got {type(value).__name__}.",
                         'Give {"headers": [...], "data": [[...], ...]} or {column: [cells]}.')
    rows = [["" if c is None else str(c).strip() for c in row] for row in rows]
    rows = [row for row in rows if any(row)]
    if not headers or not all(headers):
        raise InputError(f"{label} needs a name for every column", f"Columns: {headers}.", "Type a header above each column.")
    if len(set(headers)) != len(headers):
        raise InputError(f"{label} has two columns with the same name", f"Columns: {headers}.", "Rename one of them.")
    if not rows:
        raise InputError(f"{label} has no rows", "", "Add at least one row.")
    if any(len(row) != len(headers) for row in rows):
        raise InputError(f"{label} has rows of the wrong length", f"Every row needs {len(headers)} cells.", "Fill in or remove the short rows.")
    if len(rows) * len(headers) > MAX_TABLE_CELLS:
        raise InputError(f"{label} is too large", f"{len(rows) * len(headers)} cells; the limit is {MAX_TABLE_CELLS}.", "Send fewer rows.")
    return {h: [row[i] for row in rows] for i, h in enumerate(headers)}


def _prepare_tools(value: Any, label: str) -> list[dict[str, Any]] | None:
    tools = json_value(value, label)
    if tools is None:
        return None
    if isinstance(tools, dict):
        tools = [tools]
    example = '[{"type": "function", "function": {"name": "get_weather", "parameters": {...}}}]'
    if not isinstance(tools, list):
        raise InputError(f"{label}: expected a list of tools", f"Got {type(tools).__name__}.", f"Write e.g. {example}.")
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not str(function.get("name") or "").strip():
            raise InputError(f"{label}: tool {i + 1} has no function name", json.dumps(tool)[:200], f"Write e.g. {example}.")
        tool.setdefault("type", "function")
    return tools


def _prepare_schema(value: Any, label: str) -> dict[str, Any] | None:
    """A JSON Schema -> the ``response_format`` asking for a reply that matches it (strict).
    A full ``response_format`` (``{"type": "json_schema" | "json_object", ...}``) is passed as it is."""
    import jsonschema  # imported here: only structured-output runs need it

    schema = json_value(value, label)
    if schema is None:
        return None
    if not isinstance(schema, dict):
        raise InputError(f"{label}: expected a JSON Schema object", f"Got {type(schema).__name__}.", 'Write e.g. {"type": "object", "properties": {...}}.')
    if schema.get("type") in ("json_schema", "json_object", "text"):
        return schema
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as err:
        raise InputError(f"{label}: not a valid JSON Schema", err.message, "Fix the schema (see json-schema.org).") from None
    name = re.sub(r"[^A-Za-z0-9_-]", "_", str(schema.get("title") or "reply"))[:64]
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def _image_url(value: Any) -> str:
    """An image of a chat message as the URL sent: http(s) and data URLs as given, files checked and inlined."""
    if isinstance(value, str) and value.startswith(("http://", "https://", "data:")):
        return value
    data = _prepare_image(value)
    with Image.open(io.BytesIO(data)) as img:
        mime = Image.MIME.get(img.format or "", "image/png")
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _prepare_messages(value: Any) -> list[dict[str, Any]]:
    """OpenAI-style messages; image parts that name a file are checked (type, size) and sent inline."""
    messages = []
    for message in value or []:
        content = message.get("content")
        if isinstance(content, list):
            content = [
                {"type": "image_url", "image_url": {"url": _image_url(part["image_url"]["url"])}}
                if isinstance(part, dict) and part.get("type") == "image_url" else part
                for part in content
            ]
        messages.append({**message, "content": content})
    if not any(m.get("role") == "user" and m.get("content") for m in messages):
        raise InputError("The message is empty", "", "Type a message first.")
    return messages


def prepare_input(spec: Input, value: Any) -> Any:
    """One input checked and converted to what InferenceClient takes, by its kind; ``None`` for an optional
    input left empty (not sent). Raises InputError naming the input and the fix."""
    if spec.kind == "text":
        text = (value or "").strip() if isinstance(value, str) or value is None else str(value)
        if not text and spec.required:
            raise InputError(f"{spec.label} is empty", "", f"Type some text in '{spec.label}' or click an example.")
        return text or None
    if spec.kind == "lines":
        items = value if isinstance(value, list) else re.split(r"[\n,]" if "," in (value or "") and "\n" not in value else r"\n", value or "")
        items = [str(v).strip() for v in items if str(v).strip()]
        if not items:
            raise InputError(f"{spec.label} is empty", "", f"Give at least one entry in '{spec.label}'.")
        return items
    if spec.kind == "image":
        return _prepare_image(value)
    if spec.kind == "audio":
        return _prepare_audio(value)
    if spec.kind == "chat":
        return _prepare_messages(value)
    if spec.kind == "table":
        return _prepare_table(value, spec.label)
    if spec.kind == "tools":
        return _prepare_tools(value, spec.label.split(" (")[0])
    if spec.kind == "schema":
        return _prepare_schema(value, spec.label.split(" (")[0])
    raise ValueError(f"unknown input kind {spec.kind!r}")


def _prepare_inputs(task: Task, inputs: dict[str, Any]) -> dict[str, Any]:
    """Validate and convert inputs, by name; the task's first input is the call's positional argument.
    An optional input left empty is not sent; the system prompt becomes the first chat message."""
    prepared = {}
    for spec in task.inputs:
        value = prepare_input(spec, inputs.get(spec.name))
        if value is not None:
            prepared[spec.name] = value
    system = prepared.pop("system", None)
    if system is not None and task.id == "chat-completion":
        prepared["messages"] = [{"role": "system", "content": system}, *prepared["messages"]]
    return prepared


def _check_model(model: str) -> str:
    model = (model or "").strip()
    if not model:
        raise InputError("No model given", "", "Pick a model or type its id (owner/name).")
    if model.startswith(("http://", "https://")):
        return model
    if not _MODEL_ID.match(model):
        raise InputError(
            f"'{model}' is not a valid model id",
            "A model id looks like owner/name, without spaces.",
            "Copy the id from the model page, e.g. distilbert/distilbert-base-uncased-finetuned-sst-2-english.",
        )
    return model


# ------------------------------------------------------------------------------------------ client

# huggingface_hub 2.4 has InferenceClient.tabular_regression but no provider helper for it: every call,
# even to an endpoint URL, raises "Task 'tabular-regression' not supported". Its request is the same as
# tabular-classification's ({"table": ...} to the model's URL), so the generic hf-inference helper serves it.
PROVIDERS["hf-inference"].setdefault("tabular-regression", HFInferenceTask("tabular-regression"))


@dataclass(frozen=True)
class _Plan:
    """What to build and what to call: the resolved target of one run."""

    client_kwargs: dict[str, Any]
    model_arg: str
    provider_label: str
    own_server: str | None = None  # the local backend's URL: the app's own server, reached even in public mode


def _plan(task: Task, model: str, target: Target) -> _Plan:
    token = (target.token or "").strip() or None
    common = dict(token=token, timeout=target.timeout, **public_mode.no_host_token(token))
    provider = (target.provider or "auto").strip()
    if provider == LOCAL:
        local_model(task, model)  # raises, naming what is served, before anything is sent
        from . import local_backend

        base = local_backend.ensure_running()
        # the local server needs no token: none is sent (not even one from the environment)
        plan = _endpoint_plan(task, model, base, dict(timeout=target.timeout, headers={"authorization": None}),
                              LOCAL, local=True)
        return replace(plan, own_server=base)
    if provider == CUSTOM:
        url = (target.endpoint_url or "").strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise InputError("No endpoint URL", "Provider 'custom endpoint' needs the server's URL.", "Type a URL such as https://xyz.endpoints.huggingface.cloud")
        return _endpoint_plan(task, model, url, common, f"custom endpoint {url}", local=False)
    if model.startswith(("http://", "https://")):
        return _endpoint_plan(task, "", model, common, f"endpoint {model}", local=False)
    public_mode.require_token(token)  # else huggingface_hub would send the host's token
    if target.bill_to:
        common["bill_to"] = target.bill_to.strip()
    if provider in (":fastest", ":cheapest"):
        if task.id == "chat-completion":
            return _Plan(dict(provider="auto", **common), f"{model}{provider}", f"auto{provider}")
        # Routing policies are a chat feature of the router; other tasks take the model's first provider.
        return _Plan(dict(provider="auto", **common), model, "auto")
    return _Plan(dict(provider=provider or "auto", **common), model, provider)


def local_model(task: Task, model: str):
    """The local backend's entry for this task and model; a ProviderError naming what it serves otherwise."""
    from . import local_backend  # imported lazily: the engines are heavy

    served = local_backend.catalog()
    models = served.get(task.id, [])
    if not models:
        tasks = ", ".join(t for t, ms in served.items() if ms)
        raise ProviderError(
            f"The local backend does not run {task.label.lower()}",
            f"On this machine it serves: {tasks}.",
            "Paste a Hugging Face token and pick a provider (Auto works), or open one of those tabs.",
        )
    for entry in models:
        if entry.model_id == model:
            return entry
    raise ProviderError(
        f"'{model}' is not available on the local backend",
        f"For {task.label.lower()} it serves: {', '.join(m.model_id for m in models)}.",
        "Pick one of those models, or another provider.",
    )


def _endpoint_plan(task: Task, model: str, base: str, common: dict, label: str, local: bool) -> _Plan:
    if task.id == "chat-completion":
        base_url = base if base.endswith("/v1") or not local else f"{base}/v1"
        return _Plan(dict(base_url=base_url, **common), model or "tgi", label)
    if local:
        url = f"{base}/models/{model}"
        if task.id in ("feature-extraction", "sentence-similarity"):
            url += f"/pipeline/{task.id}"
        return _Plan(common, url, label)
    return _Plan(common, base, label)


_SIG_CACHE: dict[str, frozenset[str]] = {}


def _accepted_kwargs(method: str) -> frozenset[str]:
    if method not in _SIG_CACHE:
        _SIG_CACHE[method] = frozenset(inspect.signature(getattr(InferenceClient, method)).parameters) - {"self"}
    return _SIG_CACHE[method]


def _call_kwargs(task: Task, params: dict[str, Any], extra_inputs: dict[str, Any]) -> dict[str, Any]:
    accepted = _accepted_kwargs(task.method)
    kwargs = dict(extra_inputs)
    unknown = {}
    for key, value in params.items():
        (kwargs if key in accepted else unknown)[key] = value
    if unknown:
        if "extra_body" in accepted:
            kwargs["extra_body"] = {**kwargs.get("extra_body", {}), **unknown}
        else:
            raise InputError(
                f"Unknown parameter{'s' if len(unknown) > 1 else ''} for {task.label}: {', '.join(unknown)}",
                f"This task accepts: {', '.join(sorted(accepted - {'model', 'stream', task.inputs[0].name}))}.",
                "Remove it from the extra parameters.",
            )
    return kwargs


# ------------------------------------------------------------------------------------------ run


def _served_by(exchanges: list[capture.Exchange], fallback: str) -> str:
    for ex in reversed(exchanges):
        if ex.status is None:
            continue
        header = ex.response_headers.get("x-inference-provider")
        if header:
            return header
        host = ex.host
        if host.startswith("router."):
            parts = ex.url.split("/", 4)
            if len(parts) > 3 and parts[3] and parts[3] not in ("v1", "models"):
                return parts[3]
            return "hf router (auto)"
        if host in ("huggingface.co", "hub-ci.huggingface.co"):
            continue
        break
    return fallback


def _answer(rec: capture.Recorder) -> capture.Exchange | None:
    """The last call's answer when it came back 2xx and whole: an exception raised after it is about reading
    the answer (its shape), not about the request."""
    last = rec.last()
    if last is None or last.is_hub_lookup or last.status is None or not 200 <= last.status < 300 or last.error:
        return None
    return last


def _zero_shot_lists(body: Any) -> list[hf.ZeroShotClassificationOutputElement] | None:
    """``{"sequence", "labels": [...], "scores": [...]}``, the transformers pipeline's own shape."""
    labels, scores = (body.get("labels"), body.get("scores")) if isinstance(body, dict) else (None, None)
    if not (isinstance(labels, list) and isinstance(scores, list) and len(labels) == len(scores)
            and all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in scores)):
        return None  # (a list longer than the exchange keeps is summarised there, and not read)
    return [hf.ZeroShotClassificationOutputElement(label=str(label), score=float(score))
            for label, score in zip(labels, scores)]


# Older answer shapes that huggingface_hub no longer reads but whose reading is plain: task -> (what is read, reader).
LEGACY_SHAPES = {
    "zero-shot-classification": ('{"labels": [...], "scores": [...]}', "labels/scores", _zero_shot_lists),
}


def _read_legacy(task: Task, rec: capture.Recorder) -> tuple[Any, str] | None:
    """The last answer read in its task's known older shape, with the note that says so; None if it is not one."""
    answer, legacy = _answer(rec), LEGACY_SHAPES.get(task.id)
    if answer is None or legacy is None:
        return None
    shape, reading, read = legacy
    output = read(answer.response_body)
    return None if output is None else (output, f"answer in the legacy shape {shape}, read as {reading}")


def _usage_of(output: Any) -> dict[str, int] | None:
    usage = getattr(output, "usage", None)
    if usage is None and isinstance(output, dict):
        usage = output.get("usage")
    if not usage:
        return None
    return {k: int(usage[k]) for k in ("prompt_tokens", "completion_tokens", "total_tokens") if usage.get(k) is not None}


def _new_result(request: RunRequest) -> RunResult:
    return RunResult(
        task=request.task,
        model=(request.model or "").strip(),
        revision=(request.revision or "main").strip() or "main",
        provider_requested=request.target.provider,
        request=request,
    )


def _secrets(target: Target) -> tuple[str, ...]:
    """Every token this run may send: the one typed and the one from the environment (in public mode the
    machine's token is never sent, and still redacted)."""
    return tuple(s for s in {(target.token or "").strip(), get_token() or ""} if s)


def _pin_revision(model: str, revision: str, target: Target) -> tuple[str, list[str]]:
    """Resolve the revision to its full commit SHA before any inference call; returns (SHA, notes for the run).

    A pinned revision the Hub does not know (or will not show) stops the run here. With the default ``main``,
    a model unknown to the Hub is left for the provider to answer. An unreachable Hub never stops a run: the
    revision is then kept as typed, and the run says so."""
    revision = (revision or "main").strip() or "main"
    if target.provider == LOCAL:
        return revision, []  # the local backend names the revision it serves (see _local_revision)
    if target.provider == CUSTOM or model.startswith(("http://", "https://")):
        return revision, []  # a custom server runs whatever it was deployed with
    try:
        pinned = hub.resolve_revision(model.split(":")[0], revision, token=target.token)
    except PlaygroundError as err:
        if err.retryable:
            return revision, [f"revision {revision} not checked: {err.title[:1].lower()}{err.title[1:]}"]
        if revision == "main":
            return revision, []
        raise
    notes = [pinned.drift()] if pinned.moved else []
    if revision != "main" and target.provider != LOCAL:
        notes.append("revision recorded, not pinned: serverless providers run their own deployment")
    return pinned.sha, notes


def _local_revision(task: Task, model: str, asked: str) -> str:
    """The revision the local backend really serves; asking for another one is an error before any call."""
    served = local_model(task, model).revision
    if asked in ("main", served) or not served:
        return served or asked
    raise InputError(
        f"Revision '{asked}' of {model} is not on this machine",
        f"The local backend serves {model} at {served}.",
        "Set the revision to main (or to that one), or pick a provider.",
    )


@dataclass
class _Prepared:
    task: Task
    inputs: dict[str, Any]
    first: Any
    kwargs: dict[str, Any]
    plan: _Plan  # for the provider asked for; ``_plan_for`` gives the others of the route
    model: str
    target: Target
    revision: str = "main"  # the full commit SHA when the Hub could resolve it
    notes: list[str] = field(default_factory=list)


def _prepare(request: RunRequest) -> _Prepared:
    """Every step before the call: validate, pin the revision, resolve the target, build the client.
    Raises PlaygroundError."""
    task = get_task(request.task)
    model = _check_model(request.model)
    inputs = _prepare_inputs(task, request.inputs)
    first_name = task.inputs[0].name
    extra = {k: v for k, v in inputs.items() if k != first_name}
    kwargs = _call_kwargs(task, request.params, extra)
    limited: list[str] = []
    if request.target.provider == LOCAL:  # public mode: runs a minute per session, tokens a reply
        kwargs, limited = public_mode.limit_local(task.id, kwargs, request.session, request.address)
    revision, notes = _pin_revision(model, request.revision, request.target)
    notes += limited
    if request.target.provider == LOCAL:
        revision = _local_revision(task, model, revision)
    plan = _plan(task, model, request.target)
    return _Prepared(task, inputs, inputs[first_name], kwargs, plan, model, request.target, revision, notes)


def _plan_for(p: _Prepared, provider: str) -> _Plan:
    """The resolved target for one provider of the run's route."""
    if provider == (p.target.provider or "auto").strip():
        return p.plan
    return _plan(p.task, p.model, replace(p.target, provider=provider))


def _client(p: _Prepared, provider: str, seconds_left: float, stream: bool = False) -> tuple[_Plan, InferenceClient]:
    """One attempt's client: connect and read timeouts, never past the run's deadline. A stream's read
    timeout is its idle timeout, the longest silence allowed between two chunks."""
    plan = _plan_for(p, provider)
    read = p.target.idle_timeout if stream else p.target.timeout
    read = seconds_left if read is None else min(read, seconds_left)
    timeout = httpx2.Timeout(read, connect=min(p.target.connect_timeout, read))
    return plan, InferenceClient(**{**plan.client_kwargs, "timeout": timeout})


def _failover(p: _Prepared, rec: capture.Recorder, secrets: tuple[str, ...]) -> reliability.Failover:
    """The call step's retries, cooldowns and failover (reliability.py), for this run's route."""
    target = p.target
    route = reliability.route_for(p.task.id, p.model, target.provider, target.fallbacks, target.retry)

    def fail(exc: BaseException, provider: str) -> PlaygroundError:
        label = p.plan.provider_label if provider == (target.provider or "auto").strip() else provider
        return translate(exc, model=p.model, provider=label, secrets=secrets, answered=_answer(rec) is not None)

    def served_by(exchanges: list[capture.Exchange]) -> str | None:
        served = _served_by(exchanges, "")
        return None if not served or served.startswith("hf router") else served

    token = (target.token or "").strip() or public_mode.host_token()
    return reliability.Failover(route, target.retry, token=token, fail=fail, served_by=served_by, recorder=rec)


def rerun(result: RunResult, **target_changes: Any) -> RunResult:
    """Run a finished run again with the same inputs and parameters, e.g. ``rerun(failed, provider="groq")``
    or ``token=...``: a failed run keeps everything needed to try again."""
    request = result.request
    return run(replace(request, target=replace(request.target, **target_changes)))


def _finish(result: RunResult, rec: capture.Recorder, started: float, fallback: str,
            failover: reliability.Failover | None = None) -> RunResult:
    rec.finish()
    return _settle(result, rec, time.perf_counter() - started, fallback, failover)


def _settle(result: RunResult, rec: capture.Recorder, latency_s: float, fallback: str,
            failover: reliability.Failover | None) -> RunResult:
    """A finished run's exchange, attempts and provider on its result, and the result recorded (once)."""
    result.latency_s = latency_s
    result.exchanges = list(rec.exchanges)
    if failover is not None and failover.attempts:
        result.attempts, result.retries, result.waited_s = list(failover.attempts), failover.retries, failover.waited_s
        result.notes = [*failover.notes(), *result.notes]
        fallback = failover.attempts[-1].served_by or fallback
    result.provider_served = _served_by(result.exchanges, fallback)
    ledger.record(result)  # every run, once: queued here, written off the request path (playground/ledger)
    spend_guard.settled(result.request)  # recorded: the guard reads it from the ledger now, not as in flight
    return result


def _label(p: _Prepared | None, failover: reliability.Failover | None, asked: str) -> str:
    """The provider a run went to last, as the status line names it."""
    if p is None:
        return asked
    if failover is None or not failover.attempts:
        return p.plan.provider_label
    return _plan_for(p, failover.attempts[-1].provider).provider_label


def _begin(p: _Prepared, result: RunResult) -> concurrency.Ticket | None:
    """A prepared run: what it holds goes on the result, and a local run takes its place in its model's line
    (the engine generates one reply per model at a time)."""
    result.inputs = p.inputs
    result.revision, result.notes = p.revision, result.notes + p.notes
    return concurrency.LOCAL_ENGINE.join(p.model) if p.target.provider == LOCAL else None


def _time_in_line(ticket: concurrency.Ticket | None, result: RunResult) -> float:
    """The seconds a local run waited for its turn, noted on the result: they are not its latency."""
    if ticket is None or ticket.waited_s < 0.05:
        return 0.0
    result.notes.append(f"waited {ticket.waited_s:.1f} s in line for the local engine")
    return ticket.waited_s


def _close(clients: list[InferenceClient], failover: reliability.Failover | None,
           ticket: concurrency.Ticket | None) -> None:
    """A stream's resources, given back once it ends however it ends (each step is idempotent)."""
    for client in clients:
        client.close()
    clients.clear()
    if failover is not None:
        failover.release()
    if ticket is not None:
        ticket.leave()


def _guarded(request: RunRequest) -> RunResult:
    """The service path's first step: a new result for ``request`` after the spend guard's check
    (``spend_guard.held_back``). Its ``error`` says why the run is held back (nothing sent, billed or recorded);
    a run let go is held as in flight until ``_settle`` records it."""
    result = _new_result(request)
    result.error = spend_guard.held_back(request)
    return result


def run(request: RunRequest, on_wait: Callable[[int], None] | None = None) -> RunResult:
    """Run one request through the service path. Never raises: failures are in ``result.error``. A local run
    waiting for its turn calls ``on_wait`` with the number ahead of it (then 0)."""
    result = _guarded(request)
    if result.error is not None:
        return result  # held back: nothing sent, billed or recorded
    capture.install_default()
    secrets = _secrets(request.target)
    started = time.perf_counter()
    p = failover = ticket = None
    with capture.recording(secrets) as rec:
        try:
            p = _prepare(request)
            ticket = _begin(p, result)
            for ahead in ticket.waiting() if ticket else ():
                if on_wait is not None:
                    on_wait(ahead)
            started += _time_in_line(ticket, result)
            failover = _failover(p, rec, secrets)

            def call(provider: str, seconds_left: float) -> Any:
                plan, client = _client(p, provider, seconds_left)
                try:
                    with netguard.own_server(plan.own_server):
                        return getattr(client, p.task.method)(p.first, model=plan.model_arg, **p.kwargs)
                except Exception:  # an answer huggingface_hub cannot read may be in a known older shape
                    legacy = _read_legacy(p.task, rec)
                    if legacy is None:
                        raise  # translated by the failover's ``fail``: an AnswerShapeError if it had answered
                    result.notes.append(legacy[1])
                    return legacy[0]

            result.output = failover.call(call)
            if isinstance(result.output, Image.Image):  # decoded here, once: PIL decodes lazily, and the
                result.output.load()  # ledger's writer and the renderer read the answer from two threads
            result.usage = _usage_of(result.output)
        except Exception as exc:  # translated once, here
            capture.note_transport_error(exc)
            label = _label(p, failover, request.target.provider)
            result.error = translate(exc, model=result.model, provider=label, secrets=secrets)
        finally:
            if ticket is not None:
                ticket.leave()
        return _finish(result, rec, started, _label(p, failover, request.target.provider), failover)


def run_bundle(requests: list[RunRequest]) -> list[RunResult]:
    """Several runs in one request, for a task that bundles (``Task.bundles``: its InferenceClient method takes a
    list of its first input and answers one result per input). The requests share their task, model, revision,
    target and parameters; they differ in their inputs. The same path as ``run`` (the spend guard, prepare, the
    failover's retries, capture, the ledger), one RunResult per request, each recorded once: its output is its own
    answer (with the leading axis of one, as a one-text call answers), its latency its share of the request's, its
    exchange the bundle's request, and a note says it was bundled and with how many.

    A request the guard holds back ends alone, as ``run`` ends it; one whose inputs are bad ends through ``run``
    (refused before anything is sent, and recorded); the others go. A call that fails fails each of them with the same error. Never raises
    (but ValueError for requests that cannot share one call: a caller's bug)."""
    if not requests:
        return []
    task = get_task(requests[0].task)
    if not task.bundles:
        raise ValueError(f"{task.id} does not bundle: its InferenceClient method takes one input")
    shared = [(r.task, r.model, r.revision, r.target, r.params) for r in requests]
    if any(s != shared[0] for s in shared):
        raise ValueError("a bundle's requests share their task, model, revision, target and parameters")
    results: list[RunResult | None] = [None] * len(requests)
    going: list[tuple[int, dict[str, Any]]] = []
    for i, request in enumerate(requests):
        try:
            going.append((i, _prepare_inputs(task, request.inputs)))
        except PlaygroundError:
            results[i] = run(request)  # refused before anything is sent, and recorded, as a run alone is
    for i, _ in going:
        guarded = _guarded(requests[i])  # (one check each: a row let go is held as in flight until recorded)
        if guarded.error is not None:
            results[i] = guarded  # held back: nothing sent, billed or recorded
    going = [(i, inputs) for i, inputs in going if results[i] is None]
    if going:
        for i, result in zip([i for i, _ in going], _run_together([requests[i] for i, _ in going],
                                                                   [inputs for _, inputs in going])):
            results[i] = result
    return results


def _run_together(requests: list[RunRequest], inputs: list[dict[str, Any]]) -> list[RunResult]:
    """``run_bundle``'s call: the inputs (checked) in one request, its answer split into one result each."""
    first = requests[0]
    results = [_new_result(r) for r in requests]
    capture.install_default()
    secrets = _secrets(first.target)
    started = time.perf_counter()
    p = failover = ticket = None
    n = len(requests)
    with capture.recording(secrets) as rec:
        try:
            p = _prepare(first)
            ticket = _begin(p, results[0])
            for result, own in zip(results[1:], inputs[1:]):
                result.inputs, result.revision, result.notes = own, p.revision, result.notes + p.notes
            for _ in ticket.waiting() if ticket else ():
                pass
            started += _time_in_line(ticket, results[0])
            failover = _failover(p, rec, secrets)
            firsts = [own[p.task.inputs[0].name] for own in inputs]

            def call(provider: str, seconds_left: float) -> Any:
                plan, client = _client(p, provider, seconds_left)
                with netguard.own_server(plan.own_server):
                    return getattr(client, p.task.method)(firsts, model=plan.model_arg, **p.kwargs)

            answer = failover.call(call)
            if len(answer) != n:
                raise AnswerShapeError(f"{len(answer)} answers to {n} inputs sent in one request",
                                       "The provider did not answer each input of the bundle.",
                                       "Run this task one row per request (the Batch page: Rows per request 1).",
                                       status=200)
            for k, result in enumerate(results):
                result.output = answer[k:k + 1]
        except Exception as exc:  # translated once, here; the same error for each request of the bundle
            capture.note_transport_error(exc)
            label = _label(p, failover, first.target.provider)
            error = translate(exc, model=results[0].model, provider=label, secrets=secrets)
            for result in results:
                result.error = error
        finally:
            if ticket is not None:
                ticket.leave()
        rec.finish()
        took = time.perf_counter() - started
        fallback = _label(p, failover, first.target.provider)
        for k, result in enumerate(results):
            result.notes.append(f"bundled: input {k + 1} of {n} in one request of {took * 1000:.0f} ms "
                                f"(this run's share: {took / n * 1000:.0f} ms)")
            _settle(result, rec, took / n, fallback, failover)
    return results


def run_stream(request: RunRequest) -> Iterator[StreamDelta | InLine | RunResult]:
    """Stream a chat reply: yields StreamDelta pieces, then the final RunResult (always). A local run waiting for
    its turn yields InLine first. A run the spend guard holds back yields only its RunResult."""
    result = _guarded(request)
    if result.error is not None:
        yield result  # held back: nothing sent, billed or recorded
        return
    capture.install_default()
    secrets = _secrets(request.target)
    started = time.perf_counter()
    text = ""
    p = failover = ticket = None
    streaming = False
    clients: list[InferenceClient] = []
    with capture.recording(secrets) as rec:
        try:
            p = _prepare(request)
            ticket = _begin(p, result)
            for ahead in ticket.waiting() if ticket else ():
                yield InLine(ahead)
                capture.activate(rec)
            started += _time_in_line(ticket, result)
            failover = _failover(p, rec, secrets)

            def open_stream(provider: str, seconds_left: float):
                plan, client = _client(p, provider, seconds_left, stream=True)
                clients.append(client)
                with netguard.own_server(plan.own_server):
                    stream = client.chat_completion(
                        p.first, model=plan.model_arg, stream=True, stream_options={"include_usage": True}, **p.kwargs
                    )
                    return stream, next(stream, None)  # a stream that breaks before its first chunk is retried

            stream, first = failover.call(open_stream, hold=True)  # its place in flight lasts as long as it does
            streaming = True
            reasoning, calls = "", {}
            for chunk in itertools.chain([first] if first is not None else [], stream):
                if chunk.usage:
                    result.usage = _usage_of(chunk)
                for choice in chunk.choices or []:
                    delta = choice.delta or {}
                    piece = delta.get("content") or ""
                    thought = delta.get("reasoning_content") or delta.get("reasoning") or ""
                    _add_tool_call_pieces(calls, delta.get("tool_calls") or [])
                    if piece or thought or delta.get("tool_calls"):
                        text, reasoning = text + piece, reasoning + thought
                        yield StreamDelta(piece, text, reasoning, [dict(c) for _, c in sorted(calls.items())])
                        capture.activate(rec)  # the consumer may resume us in another context
            result.output = text
        except GeneratorExit:  # the person pressed Stop or left: the run is recorded all the same, then closed
            capture.activate(rec)
            result.output, result.truncated = text or None, bool(text)
            result.error = StoppedError("Stopped", "The run was stopped before its reply ended."
                                        + (" The reply so far is kept." if text else ""))
            _close(clients, failover, ticket)
            _finish(result, rec, started, _label(p, failover, request.target.provider), failover)
            raise
        except Exception as exc:  # translated once, here; what arrived is kept
            capture.activate(rec)
            capture.note_transport_error(exc)
            result.output = text or None
            result.truncated = bool(text)
            if streaming:  # broke midway: not retried (its text was shown), counted against the provider
                result.error = failover.broke(exc)
            else:
                label = _label(p, failover, request.target.provider)
                result.error = translate(exc, model=result.model, provider=label, secrets=secrets)
        finally:
            _close(clients, failover, ticket)
        yield _finish(result, rec, started, _label(p, failover, request.target.provider), failover)
