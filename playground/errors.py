"""Every failure a run can meet, translated once into a message a person can act on.

The hierarchy::

    PlaygroundError            (kind, title, message, fix, status, retry_after)
     ├── InputError            bad input: empty text, not an image/audio, parameters that do not parse
     ├── AuthError             401: missing or invalid token
     ├── AccessError           403: gated or private model (or dataset), or a token without the permission;
     │                         a gated one is this whether the Hub said 401 (no token) or 403 (no access)
     ├── NotFoundError         404: model, dataset or revision not on the Hub, or not served by that provider
     ├── ValidationError       422 (and 400): what the server said about the request
     ├── RateLimitError        429: rate limited, with Retry-After when given
     ├── ServerError           5xx: the provider failed
     ├── TimeoutError          the call or the stream took too long
     ├── NetworkError          no connection at all (offline, DNS, refused)
     ├── LocalEngineError      the local backend's engine process died (SIGILL, SIGSEGV, OOM killer)
     ├── ProviderError         the provider cannot serve this task/model (raised before any call)
     ├── AnswerShapeError      a 2xx answer that huggingface_hub cannot read (an older or unknown shape)
     ├── StoppedError          the person stopped the run (Stop, a closed page)
     └── HeldBackError         the spend guard held the run back, before anything was sent (``spend_guard``)

``translate(exc, ...)`` is the only place that turns an exception into one of these; the service calls it
and the UI only displays ``PlaygroundError.display()``. Messages never contain the token.

Reading an answer that fails is the answer's problem, never the input's: ``translate`` makes it an
AnswerShapeError when the service says a 2xx answer had arrived (``answered=True``), or when the exception
was raised in huggingface_hub's answer-reading code, whatever the exception's type.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from dataclasses import dataclass
from typing import ClassVar

import httpx2
from huggingface_hub import __version__ as HF_HUB_VERSION
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    InferenceTimeoutError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from .capture import redact_text

__all__ = [
    "PlaygroundError",
    "InputError",
    "AuthError",
    "AccessError",
    "NotFoundError",
    "ValidationError",
    "RateLimitError",
    "ServerError",
    "TimeoutError",
    "NetworkError",
    "LocalEngineError",
    "ProviderError",
    "AnswerShapeError",
    "StoppedError",
    "HeldBackError",
    "translate",
    "RETRYABLE_STATUS",
]

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
TOKEN_PAGE = "https://huggingface.co/settings/tokens"


@dataclass
class PlaygroundError(Exception):
    title: str
    message: str = ""
    fix: str = ""
    status: int | None = None
    retry_after: float | None = None
    kind: str = "error"
    retryable: ClassVar[bool] = False

    def __post_init__(self) -> None:
        super().__init__(self.display())

    def display(self) -> str:
        parts = [f"**{self.title}**"]
        if self.message:
            parts.append(self.message)
        if self.fix:
            parts.append(f"Fix: {self.fix}")
        return "\n\n".join(parts)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "status": self.status,
            "title": self.title,
            "message": self.message,
            "fix": self.fix,
            "retry_after": self.retry_after,
        }


@dataclass
class InputError(PlaygroundError):
    kind: str = "input"


@dataclass
class AuthError(PlaygroundError):
    kind: str = "auth"


@dataclass
class AccessError(PlaygroundError):
    kind: str = "access"


@dataclass
class NotFoundError(PlaygroundError):
    kind: str = "not_found"


@dataclass
class ValidationError(PlaygroundError):
    kind: str = "validation"


@dataclass
class RateLimitError(PlaygroundError):
    kind: str = "rate_limit"
    retryable: ClassVar[bool] = True


@dataclass
class ServerError(PlaygroundError):
    kind: str = "server"
    retryable: ClassVar[bool] = True


@dataclass
class TimeoutError(PlaygroundError):  # noqa: A001 - shadows the builtin only inside this module
    kind: str = "timeout"
    retryable: ClassVar[bool] = True


@dataclass
class NetworkError(PlaygroundError):
    kind: str = "network"
    retryable: ClassVar[bool] = True


@dataclass
class LocalEngineError(PlaygroundError):
    """Not retried: the same input may crash the engine again; the user decides."""

    kind: str = "local_engine"


@dataclass
class ProviderError(PlaygroundError):
    kind: str = "provider"


@dataclass
class AnswerShapeError(PlaygroundError):
    """The provider answered (2xx), but not in a shape huggingface_hub reads. Not retried: the same provider
    would answer the same way."""

    kind: str = "answer_shape"


@dataclass
class StoppedError(PlaygroundError):
    """The person stopped the run (Stop, a closed page): what arrived until then is kept."""

    kind: str = "stopped"


@dataclass
class HeldBackError(PlaygroundError):
    """The spend guard held the run back before anything was sent: its estimate would pass a budget. ``message``
    says why in a sentence; ``display()`` is the guard's question as the pages show it (starting with
    ``spend_guard.ASK_MARK``, so a page knows to offer "Run anyway")."""

    kind: str = "held_back"
    question: str = ""

    def display(self) -> str:
        return self.question or super().display()


def parse_retry_after(headers) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or HTTP date) or the IETF ``RateLimit`` header."""
    value = headers.get("retry-after")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
                return max(0.0, when.timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    ratelimit = headers.get("ratelimit")
    # ``"default";r=0;t=5`` (draft 8+) or ``limit=100, remaining=0, reset=5`` (earlier drafts)
    found = _RATELIMIT_RESET.search(ratelimit or "")
    return float(found.group(1)) if found else None


_RATELIMIT_RESET = re.compile(r"(?:^|[;,\s])(?:t|reset)=(\d+(?:\.\d+)?)")


def _server_message(err: HfHubHTTPError) -> str:
    msg = err.server_message or ""
    if not msg and err.response is not None:
        try:
            data = err.response.json()
            if isinstance(data, dict):
                e = data.get("error")
                msg = e.get("message", str(e)) if isinstance(e, dict) else str(e or data.get("message") or data)
            else:
                msg = str(data)
        except Exception:
            try:
                msg = err.response.text[:500]
            except Exception:
                msg = ""
    return msg.strip()


# Where huggingface_hub reads an answer: its types' parsers, its body decoders and the providers' get_response.
_ANSWER_READERS = frozenset({
    "parse_obj", "parse_obj_as_list", "parse_obj_as_instance", "_bytes_to_dict", "_bytes_to_list", "_bytes_to_image",
    "_b64_to_image", "get_response", "_format_chat_completion_stream_output",
})


def _raised_reading_an_answer(exc: BaseException) -> bool:
    """Whether ``exc`` was raised inside huggingface_hub's answer-reading code."""
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name in _ANSWER_READERS and "huggingface_hub" in code.co_filename:
            return True
        tb = tb.tb_next
    return False


def _short_classes(text: str) -> str:
    """``<class 'huggingface_hub.….ZeroShotClassificationOutputElement'>`` -> ``ZeroShotClassificationOutputElement``."""
    return re.sub(r"<class '(?:\w+\.)*(\w+)'>", r"\1", text)


def translate(
    exc: BaseException,
    *,
    model: str = "",
    provider: str = "",
    secrets: tuple[str, ...] = (),
    local_available: bool = True,
    revision: str = "",
    answered: bool = False,
    repo_type: str = "model",
) -> PlaygroundError:
    """Turn any exception of a run into a PlaygroundError. The only such translation in the project.

    ``answered``: the call had got a 2xx answer when ``exc`` was raised (so reading it failed).
    ``repo_type``: "dataset" when ``model`` names a Hub dataset (the Batch page reading one), not a model."""
    if repo_type == "dataset":
        err = _translate_dataset(exc, repo=model, revision=revision)
    else:
        err = _translate(exc, model=model, provider=provider, local_available=local_available, revision=revision,
                         answered=answered)
    err.message = redact_text(err.message, secrets)
    err.fix = redact_text(err.fix, secrets)
    err.title = redact_text(err.title, secrets)
    err.args = (err.display(),)
    return err


def _translate(exc: BaseException, *, model: str, provider: str, local_available: bool, revision: str = "",
               answered: bool = False) -> PlaygroundError:
    if isinstance(exc, PlaygroundError):
        return exc
    where = f" by {provider}" if provider else ""
    model_page = f"https://huggingface.co/{model}" if model and not model.startswith("http") else ""
    other = "Try another provider" + (" or the local backend (provider: Local)." if local_available else ".")

    if isinstance(exc, RevisionNotFoundError):  # a Hub lookup at a revision (before any inference call)
        return NotFoundError(
            f"Revision '{revision}' does not exist for {model or 'this model'}",
            _server_message(exc),
            "Pick a branch, tag or commit from the Revision list, or type main.",
            status=404,
        )
    if isinstance(exc, GatedRepoError):  # before RepositoryNotFoundError, its parent class
        return _gated(exc, f"The model {model or '(no id)'}", model_page)
    if isinstance(exc, RepositoryNotFoundError):  # the Hub answers 404 (or 401) for missing and private repos
        return NotFoundError(
            f"Model '{model}' not found on the Hub",
            _server_message(exc),
            "Check the model id (owner/name). If the model is private, paste a token that can read it.",
            status=exc.response.status_code if exc.response is not None else 404,
        )
    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        status = exc.response.status_code
        said = _server_message(exc)
        if status == 401:
            return AuthError(
                "Invalid or missing token (401)",
                said,
                f"Paste a valid token in the Token box (create one with the 'Make calls to Inference Providers' "
                f"permission at {TOKEN_PAGE}), or set HF_TOKEN.",
                status=401,
            )
        if status == 403:
            return AccessError(
                "Access denied (403): the model is gated or private, or the token lacks a permission",
                said,
                (f"Open {model_page} and accept its terms or request access, then retry with the same token. " if model_page else "")
                + f"If the token is fine-grained, give it the 'Make calls to Inference Providers' permission at {TOKEN_PAGE}.",
                status=403,
            )
        if status == 404:
            return NotFoundError(
                f"Not found (404): '{model}' is not served{where}",
                said,
                "Check the model id (owner/name) and revision, or pick a provider that serves this model for this task.",
                status=404,
            )
        if status in (400, 422):
            return ValidationError(
                f"The server rejected the request ({status})",
                said,
                "Change the parameters it names (open the Parameters accordion) and run again.",
                status=status,
            )
        if status == 429:
            retry = parse_retry_after(exc.response.headers)
            wait = f"Retry after {retry:.0f} s." if retry is not None else "Wait a little before retrying."
            return RateLimitError(
                "Rate limited (429)", said, f"{wait} {other} A PRO or Enterprise account has higher limits.",
                status=429, retry_after=retry,
            )
        if status == 408 or status == 504:
            return TimeoutError(f"The provider timed out ({status})", said, other, status=status)
        if status >= 500:
            retry = parse_retry_after(exc.response.headers)
            return ServerError(
                f"The provider failed ({status})", said,
                f"It is usually temporary: run again in a moment. {other}", status=status, retry_after=retry,
            )
        return PlaygroundError(f"HTTP {status}", said, "", status=status)

    if isinstance(exc, (InferenceTimeoutError, httpx2.TimeoutException)):
        return TimeoutError("The call timed out", str(exc), f"Raise the timeout in Advanced, or: {other}")
    if isinstance(exc, OfflineModeIsEnabled):
        return NetworkError("Offline mode is on (HF_HUB_OFFLINE)", str(exc), other)
    if provider == "local" and isinstance(exc, (httpx2.TransportError, ConnectionError)):
        from .local_backend import supervisor  # the connection broke: did the engine process die?

        try:
            port = exc.request.url.port  # which engine process the run was talking to
        except (AttributeError, RuntimeError):
            port = None
        ended = supervisor.stopped_engine(port)
        if ended is not None:
            return LocalEngineError(
                f"The local engine stopped: {ended.cause}; it is restarting",
                f"The engine process (pid {ended.pid}) ended during the run; the app is fine. "
                f"What arrived before it stopped is kept. ({type(exc).__name__}: {exc})",
                "Run again: a new engine process is starting and loads the model on first use. If it stops "
                "again the same way, rebuild the engine with `make clean run` (portable CPU flags).",
            )
    if isinstance(exc, httpx2.RemoteProtocolError) and "complete message body" in str(exc):
        return NetworkError(
            "The connection broke before the answer was complete", f"{type(exc).__name__}: {exc}",
            f"What arrived is kept. Run again, or: {other}",
        )
    if isinstance(exc, (httpx2.ConnectError, httpx2.NetworkError, httpx2.RemoteProtocolError, ConnectionError)):
        return NetworkError(
            "Could not reach the server", f"{type(exc).__name__}: {exc}",
            f"Check your network or the endpoint URL. {other}",
        )
    if isinstance(exc, json.JSONDecodeError):  # a 200 whose body does not parse: the provider's fault
        return ServerError(
            "The provider's answer is not valid JSON", f"{exc}",
            f"It is usually temporary (a cut or garbled answer): run again. {other}",
        )
    if answered or _raised_reading_an_answer(exc):  # before ValueError: a response problem is never an input problem
        return AnswerShapeError(
            f"The provider answered in a shape that huggingface_hub {HF_HUB_VERSION} cannot read",
            f"Reading the answer{f' from {provider}' if provider else ''} failed: {type(exc).__name__}: "
            f"{_short_classes(str(exc))}",
            "The answer is kept in the raw exchange. Try another provider or model for this task, or a newer "
            "huggingface_hub if one reads this shape.",
        )
    if isinstance(exc, ValueError):
        text = str(exc)
        if "not supported" in text or "provider" in text.lower() or "mapping" in text.lower():
            return ProviderError("This provider cannot run this model for this task", text, other)
        if "api_key" in text or "log in" in text:
            return AuthError(
                "A token is needed for this provider",
                text,
                f"Paste a token in the Token box (create one at {TOKEN_PAGE}), or pick provider 'Local'.",
            )
        return InputError("Invalid input", text, "Correct the input and run again.")
    return PlaygroundError(f"Unexpected error: {type(exc).__name__}", str(exc), "Please report this with the raw exchange.")


def _gated(exc: GatedRepoError, repo: str, page: str) -> AccessError:
    """A gated repo (a model or a dataset, named in ``repo``) that the Hub would not open: 401 when no token was
    sent, 403 when the token's account has no access. ``huggingface_hub`` raises GatedRepoError for both (the Hub's
    ``X-Error-Code: GatedRepo``), a subclass of RepositoryNotFoundError: asked first, it is never "not found"."""
    status = exc.response.status_code if exc.response is not None else None
    return AccessError(
        f"{repo} is gated: {'this token has no access' if status == 403 else 'no token was given'}",
        _server_message(exc),
        f"Request access at {page or 'its Hub page'} (accept its terms), then paste a token of the account that has "
        f"access in the token box (a fine-grained token needs 'Read access to contents of all public gated repos you "
        f"can access').",
        status=status,
    )


def _translate_dataset(exc: BaseException, *, repo: str, revision: str) -> PlaygroundError:
    """A Hub dataset that could not be read (its file list, one of its files): the same kinds as a model's
    failures, worded for a dataset and its page. Failures that are not the Hub's own go through ``_translate``."""
    page = f"https://huggingface.co/datasets/{repo}"
    status = exc.response.status_code if isinstance(exc, HfHubHTTPError) and exc.response is not None else None
    said = _server_message(exc) if isinstance(exc, HfHubHTTPError) else ""
    if isinstance(exc, RevisionNotFoundError):
        return NotFoundError(f"Revision '{revision}' does not exist for the dataset {repo}", said,
                             f"Type a branch, tag or commit of the dataset (see {page}/tree/main), or main.", status=404)
    if isinstance(exc, GatedRepoError):
        return _gated(exc, f"The dataset {repo}", page)
    if isinstance(exc, RepositoryNotFoundError):
        return NotFoundError(
            f"Dataset '{repo}' not found on the Hub", said,
            "Check the repo id (owner/name, as in the dataset's page address). If the dataset is private, paste a "
            f"token that can read it (create one at {TOKEN_PAGE}).",
            status=status or 404,
        )
    if status == 401:
        return AuthError("Invalid or missing token (401)", said,
                         f"Paste a valid token in the token box (create one at {TOKEN_PAGE}), or set HF_TOKEN.", status=401)
    if status == 403:
        return AccessError(
            f"Access denied (403) to the dataset {repo}", said,
            f"Paste a token with read access to it: request access at {page}, and give a fine-grained token read "
            f"access to this repo at {TOKEN_PAGE}.",
            status=403,
        )
    if status == 429:
        retry = parse_retry_after(exc.response.headers)
        return RateLimitError("The Hub rate limited the download (429)", said,
                              f"Retry after {retry:.0f} s." if retry is not None else "Wait a little and load it again.",
                              status=429, retry_after=retry)
    if status is not None and status >= 500:
        return ServerError(f"The Hub failed ({status})", said, "It is usually temporary: load it again in a moment.",
                           status=status)
    if isinstance(exc, (httpx2.TimeoutException, httpx2.TransportError, ConnectionError, OfflineModeIsEnabled)):
        return NetworkError("The Hub could not be reached", f"{type(exc).__name__}: {exc}",
                            "Check your network (the server's access to huggingface.co), then load it again; or "
                            "download the file yourself and upload it.")
    return _translate(exc, model=repo, provider="", local_available=False, revision=revision)
