"""Public mode: the playground served to anyone with the link (a Space, a team server) without being
turned against its host.

It is on when the app runs on a Hugging Face Space (``SPACE_ID`` is set), with ``python app.py --public``, or
with ``PLAYGROUND_PUBLIC=1``; off otherwise (``make run`` on a laptop, where a custom endpoint on localhost is
the point). It is process-wide configuration, read from the environment once at start (``configure``), the
same for every visitor. In public mode:

- visitors' URLs (custom endpoints, models given as URLs, image and audio URLs) reach public addresses only,
  checked after DNS resolution and on every redirect (``netguard``), unless ``PLAYGROUND_ALLOW_HOSTS`` names
  the host or its network (comma-separated: ``gpu-box.internal,10.0.0.0/8``);
- an upload, or an image or audio URL Gradio downloads, may be at most ``PLAYGROUND_MAX_FILE_SIZE`` (default
  ``20mb``);
- the local backend, the one loopback server the app reaches itself, gives each session
  ``PLAYGROUND_LOCAL_RUNS_PER_MINUTE`` runs a minute (default 10) and replies of at most
  ``PLAYGROUND_LOCAL_MAX_TOKENS`` tokens (default 256);
- tokens come from each visitor: the host's ``HF_TOKEN`` or saved login (``hf auth login``) is never used for a
  visitor's run (``host_token()`` is None, huggingface_hub's implicit token is off) and never sent
  (``netguard`` refuses a request that would carry it).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import httpx2
from huggingface_hub import close_session, constants, get_token

from . import netguard
from .errors import TOKEN_PAGE, AuthError, RateLimitError

__all__ = [
    "PUBLIC_ENV",
    "PublicMode",
    "CONFIG",
    "configure",
    "from_environment",
    "guard",
    "host_token",
    "no_token_note",
    "require_token",
    "no_host_token",
    "limit_local",
    "SessionRuns",
    "LOCAL_RUNS",
]

PUBLIC_ENV = "PLAYGROUND_PUBLIC"
logger = logging.getLogger(__name__)
_IMPLICIT_TOKEN_OFF = constants.HF_HUB_DISABLE_IMPLICIT_TOKEN  # as the environment set it, before public mode
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}


@dataclass(frozen=True)
class PublicMode:
    enabled: bool = False
    reason: str = ""  # what turned it on: "--public", "SPACE_ID (a Space)", "PLAYGROUND_PUBLIC=1"
    rule: netguard.Rule = field(default_factory=netguard.Rule)
    max_file_size: int = 20 * 1024**2  # bytes
    local_max_tokens: int = 256
    local_runs_per_minute: int = 10

    def launch_options(self) -> dict[str, Any]:
        """Keyword arguments of ``Blocks.launch``: Gradio refuses a larger upload (413) and says why."""
        return {"max_file_size": self.max_file_size} if self.enabled else {}


def _size(text: str, name: str) -> int:
    found = _SIZE.match(text)
    if not found:
        raise ValueError(f"{name}: '{text}' is not a size (write e.g. 20mb, 500kb or a number of bytes).")
    return int(float(found.group(1)) * _UNITS[(found.group(2) or "b").lower()])


def _count(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name}: '{value}' is not a positive whole number.")
    return int(value)


def from_environment(public: bool = False, environ: Mapping[str, str] = os.environ) -> PublicMode:
    """The configuration for this process: ``public`` is the ``--public`` flag. A ValueError names a bad setting."""
    if public:
        reason = "--public"
    elif environ.get("SPACE_ID"):
        reason = "SPACE_ID (a Space)"
    elif environ.get(PUBLIC_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        reason = f"{PUBLIC_ENV}={environ[PUBLIC_ENV]}"
    else:
        return PublicMode()
    return PublicMode(
        enabled=True,
        reason=reason,
        rule=netguard.Rule(netguard.AllowList.parse(environ.get(netguard.ALLOW_ENV)), host_token=get_token()),
        max_file_size=_size(environ.get("PLAYGROUND_MAX_FILE_SIZE", "") or "20mb", "PLAYGROUND_MAX_FILE_SIZE"),
        local_max_tokens=_count(environ, "PLAYGROUND_LOCAL_MAX_TOKENS", 256),
        local_runs_per_minute=_count(environ, "PLAYGROUND_LOCAL_RUNS_PER_MINUTE", 10),
    )


def configure(public: bool = False) -> PublicMode:
    """Read the configuration (once, at start: ``app.py`` passes its ``--public`` flag) and apply it."""
    global CONFIG
    CONFIG = from_environment(public)
    _apply(CONFIG)
    return CONFIG


def _apply(config: PublicMode) -> None:
    """Make the libraries that send requests follow ``config``."""
    # huggingface_hub adds the machine's token to a request given none (e.g. its provider-mapping lookup)
    constants.HF_HUB_DISABLE_IMPLICIT_TOKEN = config.enabled or _IMPLICIT_TOKEN_OFF
    if config.enabled or "gradio.processing_utils" in sys.modules:
        from gradio import processing_utils

        if config.enabled:  # Gradio's downloads of image and audio URLs
            processing_utils.async_transport = netguard.GradioDownloads(config.rule, config.max_file_size)
        elif isinstance(processing_utils.async_transport, netguard.GradioDownloads):
            processing_utils.async_transport = None
    close_session()  # huggingface_hub's shared client is made again, through ``guard``
    if config.enabled:
        allow = config.rule.allow
        logger.info("Public mode on (%s): visitors' URLs reach public addresses only (allowed besides: %s); "
                    "uploads up to %d bytes; local backend %d runs a minute per session, %d tokens a reply",
                    config.reason, ", ".join([*sorted(allow.hosts), *map(str, allow.networks)]) or "none",
                    config.max_file_size, config.local_runs_per_minute, config.local_max_tokens)


CONFIG = from_environment()  # on a Space, public from the first import, whoever starts the app
if CONFIG.enabled:
    _apply(CONFIG)


def guard(transport: httpx2.BaseTransport | None) -> httpx2.BaseTransport | None:
    """The shared client's transport (``capture.client_factory``): ``transport`` itself, or in public mode the
    network guard around it."""
    return netguard.GuardedTransport(CONFIG.rule, transport) if CONFIG.enabled else transport


# ------------------------------------------------------------------------------------------ tokens


def host_token() -> str | None:
    """The machine's own token (HF_TOKEN, ``hf auth login``) for a run that typed none; None in public mode."""
    return None if CONFIG.enabled else get_token()


def no_token_note() -> str:
    """The header's token line while a visitor has typed no token, in public mode ("" otherwise)."""
    if not CONFIG.enabled:
        return ""
    return (f"🌐 Public deployment: paste **your own token** to use Inference Providers (the host's is never used). "
            f"Without one, runs go to the shared **local backend**: {CONFIG.local_runs_per_minute} runs a minute, "
            f"replies up to {CONFIG.local_max_tokens} tokens.")


def require_token(token: str | None) -> None:
    """A provider run in public mode needs the visitor's own token (none would mean the host's)."""
    if CONFIG.enabled and not token:
        raise AuthError(
            "Paste your own Hugging Face token to use Inference Providers",
            "This is a public deployment: each visitor's runs use their own token, never the host's.",
            f"Paste a token in the Token box (create one with the 'Make calls to Inference Providers' permission "
            f"at {TOKEN_PAGE}), or pick provider Local, which needs none.",
        )


def no_host_token(token: str | None) -> dict[str, Any]:
    """InferenceClient arguments for a run to an endpoint URL with no token typed, in public mode: no
    Authorization header at all (huggingface_hub would fill in the host's token)."""
    return {"headers": {"authorization": None}} if CONFIG.enabled and not token else {}


# ------------------------------------------------------------------------------------------ local backend


ADDRESS_SHARE = 3  # runs a minute per network address, in sessions' worth (``SessionRuns``)


class SessionRuns:
    """Runs a minute per visitor: per Gradio session (its hash, no secret) and per network address, which allows
    ``ADDRESS_SHARE`` times a session's runs (people behind one NAT share it), so a visitor who opens new
    sessions to get more runs is held back by their address. Keys with no run in the last minute are forgotten:
    this holds at most one minute of traffic."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._runs: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, session: str, per_minute: int, address: str = "") -> None:
        """Count one run of ``session`` from ``address``, or raise RateLimitError saying how long to wait."""
        now = self._clock()
        limits = [(f"session:{session}", per_minute)]
        if address:
            limits.append((f"address:{address}", per_minute * ADDRESS_SHARE))
        with self._lock:
            for key in [k for k, runs in self._runs.items() if not runs or now - runs[-1] >= 60]:
                del self._runs[key]
            for key, limit in limits:
                runs = self._runs.setdefault(key, deque())
                while runs and now - runs[0] >= 60:
                    runs.popleft()
                if len(runs) >= limit:
                    wait = 60 - (now - runs[0])
                    raise RateLimitError(
                        f"Local backend: {per_minute} runs a minute per visitor on this public deployment",
                        "Everyone here shares the local backend, so each visitor gets a few runs a minute.",
                        f"Wait {wait:.0f} s, or paste your own Hugging Face token and pick a provider (Auto works).",
                        status=429, retry_after=wait,
                    )
            for key, _ in limits:
                self._runs[key].append(now)

    def clear(self) -> None:
        with self._lock:
            self._runs.clear()


def client_address(request: Any) -> str:
    """The visitor's network address from Gradio's request: the peer, or, when the peer is a proxy on loopback or
    a private network (a Space's, a team's reverse proxy), the address that proxy added last to X-Forwarded-For
    (the entries before it are the visitor's own words). "" when unknown."""
    peer = getattr(getattr(request, "client", None), "host", "") or ""
    headers = getattr(request, "headers", None) or {}
    forwarded = [a.strip() for a in (headers.get("x-forwarded-for") or "").split(",") if a.strip()]
    try:
        behind_proxy = bool(forwarded) and ipaddress.ip_address(peer).is_private
    except ValueError:
        behind_proxy = False
    return forwarded[-1] if behind_proxy else peer


LOCAL_RUNS = SessionRuns()
_REPLY_LIMITS = {"chat-completion": "max_tokens", "text-generation": "max_new_tokens"}
_LIMIT_KEYS = ("max_tokens", "max_completion_tokens", "max_new_tokens")


def limit_local(task_id: str, kwargs: dict[str, Any], session: str | None,
                address: str = "") -> tuple[dict[str, Any], list[str]]:
    """A local-backend run in public mode: admitted if its session and address have runs left this minute
    (``SessionRuns``), its reply capped
    at ``local_max_tokens`` (however it was asked, extra body included). Returns the call's arguments and
    notes for the status line. Unchanged outside public mode."""
    if not CONFIG.enabled:
        return kwargs, []
    LOCAL_RUNS.admit(session or "", CONFIG.local_runs_per_minute, address)
    key, cap = _REPLY_LIMITS.get(task_id), CONFIG.local_max_tokens
    if key is None:
        return kwargs, []
    limited = dict(kwargs)
    extra = limited.pop("extra_body", None)
    if extra:
        limited["extra_body"] = {k: v for k, v in extra.items() if k not in _LIMIT_KEYS}
    asked = [int(v) for v in (kwargs.get(key), *((extra or {}).get(k) for k in _LIMIT_KEYS)) if v is not None]
    limited[key] = min([cap, *asked])
    notes = [f"reply limited to {cap} tokens (public mode)"] if any(a > cap for a in asked) else []
    return limited, notes
