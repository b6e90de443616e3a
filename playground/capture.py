"""Capture of the HTTP exchange, taken from the client huggingface_hub really uses.

huggingface_hub sends every request (Hub lookups and inference calls) through one shared
``httpx2.Client`` built by the factory given to ``huggingface_hub.set_client_factory``. This module
installs that factory once, with two event hooks:

- the request hook records the request as it goes on the wire (after huggingface_hub's own hook has
  added its headers): method, URL, headers with secrets redacted, and a readable body;
- the response hook records status and headers and tees the body stream, so streamed (SSE) bodies are
  recorded as they are read, without buffering ahead of the caller.

The shared client is shared by every session, so what belongs to one run is found through a
``ContextVar`` (``recording()``): no per-user state lives at module level.
"""

from __future__ import annotations

import contextvars
import functools
import json
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import httpx2
from huggingface_hub import constants, set_client_factory
from huggingface_hub.utils._http import hf_request_event_hook

__all__ = ["Exchange", "Recorder", "recording", "install", "client_factory", "redact_text", "describe_bytes"]

REDACTED = "[redacted]"
HUB_HOSTS = ("huggingface.co", "hub-ci.huggingface.co", httpx2.URL(constants.ENDPOINT).host)
_SECRET_HEADERS = {"authorization", "x-api-key", "api-key", "cookie", "set-cookie", "proxy-authorization"}
_MAX_TEXT_BODY = 256 * 1024  # bytes of a text body kept for display
_MAX_STRING = 512  # longer JSON strings (base64 images...) are summarised
_TOKEN_RE = re.compile(r"\bhf_[A-Za-z0-9]{8,}\b")


@dataclass
class Exchange:
    """One HTTP request and its response, ready to show as JSON."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: Any
    started: float
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: Any = None
    elapsed_s: float | None = None
    error: str | None = None
    wait_before_s: float = 0.0
    note: str | None = None
    _raw: bytearray = field(default_factory=bytearray, repr=False)
    _content_type: str = field(default="", repr=False)
    _truncated: bool = field(default=False, repr=False)
    _size: int = field(default=0, repr=False)

    @functools.cached_property
    def host(self) -> str:
        return httpx2.URL(self.url).host

    @property
    def is_hub_lookup(self) -> bool:
        """A Hub API call huggingface_hub made to resolve the model (provider mapping, model info)."""
        return self.host in HUB_HOSTS and "/api/" in self.url

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "request": {
                "method": self.method,
                "url": self.url,
                "headers": self.request_headers,
                "body": self.request_body,
            },
            "response": None
            if self.status is None
            else {
                "status": self.status,
                "headers": self.response_headers,
                "body": self.response_body,
                "elapsed_ms": None if self.elapsed_s is None else round(self.elapsed_s * 1000, 1),
            },
        }
        if self.error:
            out["error"] = self.error
        if self.wait_before_s:
            out["waited_before_s"] = round(self.wait_before_s, 3)
        if self.note:
            out["note"] = self.note
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Exchange":
        """An exchange as ``to_dict`` wrote it (a recorded run's raw exchange, secrets redacted already): what the
        views of a run reopened from the ledger read (status, headers, timing), as they read a live run's."""
        request, response = data.get("request") or {}, data.get("response") or {}
        elapsed_ms = response.get("elapsed_ms")
        return cls(method=request.get("method", ""), url=request.get("url", ""),
                   request_headers=dict(request.get("headers") or {}), request_body=request.get("body"), started=0.0,
                   status=response.get("status"), response_headers=dict(response.get("headers") or {}),
                   response_body=response.get("body"), elapsed_s=None if elapsed_ms is None else elapsed_ms / 1000,
                   error=data.get("error"), wait_before_s=float(data.get("waited_before_s") or 0.0),
                   note=data.get("note"))


class Recorder:
    """Collects the exchanges of one run. Knows the secrets it must never show."""

    def __init__(self, secrets: tuple[str, ...] = ()):
        self.secrets = tuple(s for s in secrets if s)
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self.next_wait_s = 0.0
        self.next_note: str | None = None

    def scrub(self, text: str) -> str:
        return redact_text(text, self.secrets)

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            exchange.wait_before_s, self.next_wait_s = self.next_wait_s, 0.0
            exchange.note, self.next_note = self.next_note, None
            self.exchanges.append(exchange)

    def last(self) -> Exchange | None:
        return self.exchanges[-1] if self.exchanges else None

    def finish(self) -> None:
        """Finalise bodies of responses that were never fully read (e.g. a stream cut short)."""
        for ex in self.exchanges:
            if ex.status is not None and ex.response_body is None:
                _finalise_body(ex, self)


_current: contextvars.ContextVar[Recorder | None] = contextvars.ContextVar("playground_recorder", default=None)


@contextmanager
def recording(secrets: tuple[str, ...] = ()) -> Iterator[Recorder]:
    """Record every exchange made in this context (thread / task) into a new Recorder."""
    rec = Recorder(secrets)
    previous = _current.get()
    _current.set(rec)
    try:
        yield rec
    finally:
        # A generator may resume in another context (Gradio steps streams in worker threads), so the
        # previous value is restored by ``set``; ``reset`` would refuse a token from another context.
        _current.set(previous)
        rec.finish()


def activate(rec: Recorder) -> None:
    """Make ``rec`` current again in this context (a generator resumed in a fresh context)."""
    _current.set(rec)


def current() -> Recorder | None:
    return _current.get()


# --------------------------------------------------------------------------- redaction & display


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove every secret (and anything shaped like an HF token) from a string."""
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, REDACTED)
    return _TOKEN_RE.sub(REDACTED, text)


def redact_headers(headers: httpx2.Headers, rec: Recorder) -> dict[str, str]:
    out = {}
    for k, v in headers.items():
        if k.lower() in _SECRET_HEADERS:
            scheme = v.split(" ", 1)[0] if " " in v else ""
            out[k] = f"{scheme} {REDACTED}".strip()
        else:
            out[k] = rec.scrub(v)
    return out


_MAGIC = (
    (b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"), (b"RIFF", "audio/wav or image/webp"),
    (b"ID3", "audio/mpeg"), (b"fLaC", "audio/flac"), (b"OggS", "audio/ogg"), (b"\x1aE\xdf\xa3", "video/webm"),
)


def describe_bytes(data: bytes | int, content_type: str) -> str:
    """``<N bytes type>``: binary bodies are described, never dumped into the page."""
    if isinstance(data, int):
        return f"<{data} bytes {content_type or 'application/octet-stream'}>"
    ctype = content_type.split(";")[0].strip()
    if not ctype or ctype == "application/octet-stream":
        sniffed = next((t for magic, t in _MAGIC if data.startswith(magic)), None)
        if sniffed == "audio/wav or image/webp":
            sniffed = "image/webp" if data[8:12] == b"WEBP" else "audio/wav"
        if sniffed:
            return f"<{len(data)} bytes {sniffed} (by its content; {'no content-type header' if not ctype else ctype})>"
    return f"<{len(data)} bytes {ctype or 'application/octet-stream'}>"


def _shorten(value: Any, rec: Recorder) -> Any:
    """Summarise long strings (base64 media) inside JSON so the page never holds megabytes."""
    if isinstance(value, str):
        value = rec.scrub(value)
        if len(value) > _MAX_STRING:
            if value.startswith("data:") and ";base64," in value[:100]:
                head = value.split(",", 1)[0]
                return f"<{head}, {len(value)} chars>"
            return value[:_MAX_STRING] + f"… <{len(value)} chars>"
        return value
    if isinstance(value, list):
        if len(value) > 64 and all(isinstance(v, (int, float)) for v in value):
            return [*value[:16], f"… {len(value)} numbers"]
        return [_shorten(v, rec) for v in value]
    if isinstance(value, dict):
        return {k: _shorten(v, rec) for k, v in value.items()}
    return value


def _is_text(content_type: str) -> bool:
    ct = content_type.lower()
    return ct.startswith("text/") or "json" in ct or "event-stream" in ct or ct == ""


def readable_body(data: bytes, content_type: str, rec: Recorder, truncated: bool = False) -> Any:
    if not data:
        return None
    if not _is_text(content_type):
        return describe_bytes(data, content_type)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return describe_bytes(data, content_type)
    if "event-stream" in content_type.lower():
        events = []
        for line in text.splitlines():
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            try:
                events.append(_shorten(json.loads(payload), rec))
            except ValueError:
                events.append(rec.scrub(payload))
        return {"sse_events": events, **({"truncated": True} if truncated else {})}
    try:
        return _shorten(json.loads(text), rec)
    except ValueError:
        text = rec.scrub(text)
        return text if len(text) < 4000 else text[:4000] + f"… <{len(text)} chars>"


def _finalise_body(ex: Exchange, rec: Recorder) -> None:
    if _is_text(ex._content_type):
        ex.response_body = readable_body(bytes(ex._raw), ex._content_type, rec, ex._truncated)
    else:
        ex.response_body = describe_bytes(ex._size, ex._content_type)
    ex._raw = bytearray()


# --------------------------------------------------------------------------- hooks


def _on_request(request: httpx2.Request) -> None:
    rec = _current.get()
    if rec is None:
        return
    ctype = request.headers.get("content-type", "")
    try:
        content = request.content
    except httpx2.RequestNotRead:
        content = b""
    body = readable_body(content, ctype, rec) if content else None
    ex = Exchange(
        method=request.method,
        url=rec.scrub(str(request.url)),
        request_headers=redact_headers(request.headers, rec),
        request_body=body,
        started=time.perf_counter(),
    )
    request.extensions["playground_exchange"] = ex
    rec.add(ex)


class _TeeStream(httpx2.SyncByteStream):
    def __init__(self, inner: httpx2.SyncByteStream, ex: Exchange, rec: Recorder):
        self._inner, self._ex, self._rec = inner, ex, rec

    def __iter__(self) -> Iterator[bytes]:
        ex = self._ex
        text = _is_text(ex._content_type)
        try:
            for chunk in self._inner:
                ex._size += len(chunk)
                if text and len(ex._raw) < _MAX_TEXT_BODY:
                    ex._raw.extend(chunk)
                elif text:
                    ex._truncated = True
                yield chunk
        except Exception as err:  # a body cut midway: keep what arrived
            ex.error = self._rec.scrub(f"{type(err).__name__}: {err}")
            ex._truncated = True
            raise
        finally:
            ex.elapsed_s = time.perf_counter() - ex.started
            _finalise_body(ex, self._rec)

    def close(self) -> None:
        self._inner.close()


def _on_response(response: httpx2.Response) -> None:
    ex: Exchange | None = response.request.extensions.get("playground_exchange")
    rec = _current.get()
    if ex is None or rec is None:
        return
    ex.status = response.status_code
    ex.response_headers = redact_headers(response.headers, rec)
    ex._content_type = response.headers.get("content-type", "")
    ex.elapsed_s = time.perf_counter() - ex.started
    if isinstance(response.stream, httpx2.SyncByteStream):
        response.stream = _TeeStream(response.stream, ex, rec)


def _is_loopback(url: httpx2.URL) -> bool:
    host = (url.host or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def _hub_hook(request: httpx2.Request) -> None:
    """huggingface_hub's own request hook, except that HF_HUB_OFFLINE does not block loopback: the local
    backend must answer on a machine with no network."""
    if _is_loopback(request.url) and constants.is_offline_mode():
        return
    hf_request_event_hook(request)


def client_factory(transport: httpx2.BaseTransport | None = None):
    """Return a factory of the shared ``httpx2.Client`` with the capture hooks (and an optional transport)."""

    def make() -> httpx2.Client:
        from . import public_mode  # in public mode, the network guard wraps the transport

        return httpx2.Client(
            transport=public_mode.guard(transport),
            event_hooks={"request": [_hub_hook, _on_request], "response": [_on_response]},
            follow_redirects=True,
            timeout=None,
        )

    return make


_installed_lock = threading.Lock()
_NOTHING = object()
_installed_transport: list[Any] = [_NOTHING]


def install(transport: httpx2.BaseTransport | None = None) -> None:
    """Make huggingface_hub's shared client capture exchanges. Idempotent for the same transport."""
    with _installed_lock:
        if _installed_transport[0] is transport:
            return
        set_client_factory(client_factory(transport))
        _installed_transport[0] = transport


def install_default() -> None:
    """Install the capturing client unless a transport was installed already (tests, the app)."""
    if _installed_transport[0] is _NOTHING:
        install(None)


def note_transport_error(err: BaseException) -> None:
    """Record on the last exchange a failure that produced no response (timeout, refused connection)."""
    rec = _current.get()
    if rec is None:
        return
    last = rec.last()
    if last is not None and last.status is None and last.error is None:
        last.error = rec.scrub(f"{type(err).__name__}: {err}")
        last.elapsed_s = time.perf_counter() - last.started
