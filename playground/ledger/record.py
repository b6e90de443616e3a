"""From a finished ``RunResult`` to the ledger's row: JSON-able values, media by content hash, no secret.

Runs on the ledger's writer thread, never on the request path. Everything a run carries goes through one
converter (``Converter``), which

- keeps JSON as it is, and turns what JSON cannot hold into JSON: huggingface_hub's output dataclasses into
  their fields, numpy values into numbers (a large array into an ``.npy`` file), a non-finite float into
  its text;
- stores bytes, images (as PNG), ``data:`` URLs and large arrays once, by the SHA-256 of their bytes, and
  leaves ``{"$media": sha256, "type": ..., "bytes": n}`` in their place;
- removes every secret of the run (the token typed, the environment's, anything shaped like an HF token)
  from every string, whatever field it is in.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import hashlib
import io
import math
import platform
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import capture
from . import cost

__all__ = ["SOURCES", "Media", "Row", "Converter", "row_of", "cost_of", "owner_hash", "MEDIA_KEY"]

SOURCES = ("tab", "chat", "compare", "batch", "deck", "api")  # where a run was asked from
MEDIA_KEY = "$media"
MAX_INLINE_NUMBERS = 4096  # a larger array is kept as an .npy media file
MAX_SEARCH_CHARS = 8_000
_SHA = re.compile(r"^[0-9a-f]{40}$")
_MAGIC = (
    (b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"), (b"ID3", "audio/mpeg"),
    (b"\xff\xfb", "audio/mpeg"), (b"\xff\xf3", "audio/mpeg"), (b"fLaC", "audio/flac"), (b"OggS", "audio/ogg"),
    (b"\x1aE\xdf\xa3", "video/webm"), (b"%PDF", "application/pdf"), (b"\x93NUMPY", "application/x-npy"),
)


@dataclass(frozen=True)
class Media:
    sha256: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass
class Row:
    """One run as the ledger stores it: its values (``ledger_runs`` and ``ledger_run_details`` columns, by name)
    and the media they point to."""

    values: dict[str, Any]
    media: dict[str, Media]


def content_type(data: bytes) -> str:
    """The type of a file, from its first bytes."""
    if data[:4] == b"RIFF":
        return "image/webp" if data[8:12] == b"WEBP" else "audio/wav"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    return next((t for magic, t in _MAGIC if data.startswith(magic)), "application/octet-stream")


class Converter:
    """Turns any value a run holds into JSON, collecting its media and removing its secrets."""

    def __init__(self, secrets: tuple[str, ...] = ()):
        self.secrets = tuple(s for s in secrets if s)
        self.media: dict[str, Media] = {}

    def text(self, value: str) -> str:
        if "hf_" in value or any(s in value for s in self.secrets):  # (most strings hold neither: skip the regex)
            value = capture.redact_text(value, self.secrets)
        return value.replace("\x00", "\ufffd") if "\x00" in value else value  # PostgreSQL refuses NUL

    def store(self, data: bytes, ctype: str | None = None, **extra: Any) -> dict[str, Any]:
        sha = hashlib.sha256(data).hexdigest()
        ctype = ctype or content_type(data)
        self.media.setdefault(sha, Media(sha, ctype, data))
        return {MEDIA_KEY: sha, "type": ctype, "bytes": len(data), **extra}

    def __call__(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, int)):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else str(value)
        if isinstance(value, str):
            if value.startswith("data:") and ";base64," in value[:100]:
                return self._data_url(value)
            return self.text(value)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return self.store(bytes(value))
        if isinstance(value, dict):  # huggingface_hub's output types are dicts too (their fields, in sync)
            return {self.text(str(k)): self(v) for k, v in value.items()}
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self(v) for v in value]
        if isinstance(value, Path):
            return self.text(str(value))
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: self(getattr(value, f.name)) for f in dataclasses.fields(value) if f.repr}
        kind = type(value).__module__.split(".")[0]
        if kind == "numpy":
            return self._numpy(value)
        if kind == "PIL" and hasattr(value, "save"):
            buf = io.BytesIO()
            value.save(buf, format="PNG")
            return self.store(buf.getvalue(), "image/png", size=list(value.size))
        return {"$repr": type(value).__name__, "text": self.text(repr(value))[:2000]}

    def _data_url(self, value: str) -> Any:
        head, _, payload = value.partition(",")
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            return self.text(value)
        return self.store(data, head[5:].split(";")[0] or None, encoding="data-url")

    def _numpy(self, value: Any) -> Any:
        import numpy as np

        if isinstance(value, np.generic):
            return self(value.item())
        if value.size > MAX_INLINE_NUMBERS:
            buf = io.BytesIO()
            np.save(buf, value, allow_pickle=False)
            return self.store(buf.getvalue(), "application/x-npy", shape=list(value.shape), dtype=str(value.dtype))
        return self(value.tolist())


def _strings(value: Any, out: list[str], budget: list[int]) -> None:
    """The text of a converted value (not media, not keys), for search."""
    if budget[0] <= 0:
        return
    if isinstance(value, str):
        out.append(value[: budget[0]])
        budget[0] -= len(out[-1])
    elif isinstance(value, dict):
        if MEDIA_KEY not in value:
            for v in value.values():
                _strings(v, out, budget)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out, budget)


@functools.cache
def versions() -> dict[str, str]:
    """What ran the run (the run card shows it)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for package in ("huggingface_hub", "gradio"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            pass
    return out


def _calls(exchanges: list[capture.Exchange]) -> list[capture.Exchange]:
    return [e for e in exchanges if not e.is_hub_lookup]


def cost_of(result: Any) -> tuple[float | None, str]:
    """The run's cost in USD and how it was found (``cost.estimate``): ``None`` (unknown) with the reason when
    it cannot be computed. Never a guess."""
    return cost.estimate(result)


def row_of(result: Any, run_id: str, started_ms: int, notes: list[str], secrets: tuple[str, ...]) -> Row:
    """The row for one finished run; ``notes`` are the run's notes as they were at its end."""
    request = result.request
    target = request.target if request is not None else None
    convert = Converter(secrets)
    inputs = convert(result.inputs if result.inputs else (request.inputs if request is not None else {}))
    output = convert(result.output)
    error = convert(result.error.to_dict()) if result.error is not None else None
    raw = convert(result.raw())  # redacted already by capture; converted again for NaN, NUL and secrets
    cost, basis = cost_of(result)
    calls = _calls(result.exchanges)
    usage = result.usage or {}
    values = {
        "id": run_id,
        "created_ms": started_ms,
        "owner": owner_hash(getattr(request, "owner", "") or ""),
        "hub_user": convert.text(getattr(request, "hub_user", None) or "") or None,
        "source": getattr(request, "source", "api") or "api",
        "task": result.task,
        "model": convert.text(result.model),
        "revision": convert.text(request.revision if request is not None else result.revision),
        "commit_sha": result.revision if _SHA.match(result.revision or "") else None,
        "provider_asked": result.provider_requested,
        "provider_served": convert.text(result.provider_served) if result.provider_served else None,
        "endpoint_host": calls[-1].host if calls else None,
        "status": "ok" if result.error is None else "error",
        "error_kind": error and error.get("kind"),
        "error_title": error and error.get("title"),
        "latency_ms": result.latency_s * 1000,
        "retries": result.retries,
        "waited_s": result.waited_s,
        "truncated": result.truncated,
        "prompt_tokens": usage.get("prompt_tokens"),
        "completion_tokens": usage.get("completion_tokens"),
        "total_tokens": usage.get("total_tokens"),
        "cost_usd": cost,
        "cost_basis": basis,
        "search_text": "",  # below, from the values as stored
        "batch_id": getattr(request, "batch_id", "") or None,  # a row of a batch (playground/batch.py)
        "batch_row": getattr(request, "batch_row", "") or None,
        "comparison_id": getattr(request, "comparison_id", "") or None,  # a pane of a comparison (playground/compare.py)
        "comparison_pane": getattr(request, "comparison_pane", None),
        "comparison_kind": getattr(request, "comparison_kind", "") or None,
        "inputs": inputs,
        "params": convert(dict(request.params) if request is not None else {}),
        "target": convert(_target(target)) if target is not None else {},
        "output": output,
        "exchange": raw,
        "error": error,
        "notes": convert(list(notes)),
        "versions": versions(),
    }
    text: list[str] = []
    _strings([values[k] for k in ("task", "model", "provider_served", "error_title", "inputs", "output")], text,
             [MAX_SEARCH_CHARS])
    values["search_text"] = " ".join(text).lower()
    return Row(values, convert.media)


def owner_hash(key: str) -> str:
    """What the database keeps of an owner key: its SHA-256 (the key itself is a bearer secret)."""
    return hashlib.sha256(key.encode()).hexdigest() if key else ""


def _target(target: Any) -> dict[str, Any]:
    """How the run was sent, without the token (``Target.token`` is left out by name)."""
    return {f.name: getattr(target, f.name) for f in dataclasses.fields(target) if f.name != "token"}
