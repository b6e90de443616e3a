"""What the pickers ask the Hub (and the router's model list), each answer cached for a short time.

    search_models(task, text)        -> [ModelHit]        models a provider serves for this task
    model_summary(model)             -> ModelSummary      task, library, licence, downloads, likes, flags
    model_providers(model, task)     -> ProviderTable     Hub provider mapping + the router's prices and figures
    list_revisions(model)            -> Revisions         branches, tags, recent commits
    resolve_revision(model, rev)     -> Resolved          any branch, tag or commit -> full commit SHA (+ drift)
    check_token(token)               -> TokenStatus       user, organisations, role and scopes; never the token
    checked_plan(user)               -> Plan | None       a checked token's plan, by its user's name (cached only)
    model_access(model, token)       -> ModelAccess       gated or not, and whether this token may use it
    widget_examples(model)           -> (dict, ...)       the model card's widget examples (``widgetData``), as given
    dataset_revision(repo, revision) -> DatasetRevision   a dataset's commit SHA at a revision, and its card's metadata
    dataset_files(repo, revision)    -> (DatasetFile, ...) a dataset's files at a revision, with their sizes
    dataset_file(repo, path, revision) -> bytes            one file of a dataset, read into memory (never cached)

Everything goes through huggingface_hub: ``HfApi`` for the Hub, and its shared HTTP client for the router's
``GET /v1/models``, so the capture hooks (and the tests' routing transport) see every request. A failure
comes out as the PlaygroundError that ``errors.translate`` makes of it; nothing here words errors itself.

Caching: one process-wide ``TTLCache`` keyed by (question, arguments, hash of the token). It is the only
module-level state besides configuration, and it may live here because a user's answers are found only
with the hash of their own token, so no one sees another's private models. The raw token is never a key,
never logged. Only answers are cached, never failures; but when the Hub cannot be reached at all, that is
remembered for ``DOWN_S`` seconds so that the pickers answer at once instead of waiting again.

Listing calls (search, commits) go through huggingface_hub's backoff, which retries 429s (the Hub's rate
limits) and network errors for up to half a minute. A picker does not wait that long: when a listing has
not answered within ``PROBE_AFTER_S``, one plain request checks that the Hub can be reached at all (it fails
at once offline), and after ``WAIT_S`` the picker stops waiting and says so.
"""

from __future__ import annotations

import contextvars
import hashlib
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, TypeVar

import httpx2
from huggingface_hub import HfApi
from huggingface_hub.hf_api import RepoFile
from huggingface_hub.errors import GatedRepoError
from huggingface_hub.inference._providers import PROVIDERS
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

from . import public_mode
from .errors import NetworkError, PlaygroundError, TimeoutError, translate
from .plans import Plan, plan_of
from .tasks import get_task

__all__ = [
    "ModelHit",
    "ModelSummary",
    "ProviderOffer",
    "ProviderTable",
    "Commit",
    "Revisions",
    "Resolved",
    "TokenStatus",
    "ModelAccess",
    "TTLCache",
    "search_models",
    "model_summary",
    "model_providers",
    "list_revisions",
    "resolve_revision",
    "check_token",
    "checked_plan",
    "model_access",
    "widget_examples",
    "DatasetFile",
    "DatasetRevision",
    "dataset_revision",
    "dataset_files",
    "dataset_file",
    "PARQUET_REVISION",
    "clear_cache",
    "is_commit",
    "served_filter",
    "SORTS",
    "ROUTER_MODELS_URL",
    "INFERENCE_PERMISSION",
    "NEW_TOKEN_URL",
]

HUB_URL = "https://huggingface.co"
ROUTER_MODELS_URL = "https://router.huggingface.co/v1/models"
SORTS = {"trending": "trending_score", "downloads": "downloads", "likes": "likes"}
TTL_S = {"search": 120, "model": 300, "router": 300, "refs": 120, "commits": 120, "revision": 60, "whoami": 300,
         "access": 120, "dataset-files": 120, "dataset-revision": 60}
PARQUET_REVISION = "refs/convert/parquet"  # the Hub's own Parquet conversion of a dataset (its dataset viewer's)
DOWN_S = 30.0  # how long "the Hub cannot be reached" is remembered
WAIT_S = 8.0  # how long a picker waits for a listing call
PROBE_AFTER_S = 1.0  # a listing slower than this: check that the Hub can be reached at all
TIMEOUT_S = 10.0  # timeout of a single Hub request
RECENT_COMMITS = 20
INFERENCE_PERMISSION = "inference.serverless.write"
NEW_TOKEN_URL = f"{HUB_URL}/settings/tokens/new?ownUserPermissions={INFERENCE_PERMISSION}&tokenType=fineGrained"
_SHA = re.compile(r"^[0-9a-f]{40}$")
_SEARCH_EXPAND = ["pipeline_tag", "downloads", "likes", "gated", "private"]
_MODEL_EXPAND = ["pipeline_tag", "library_name", "tags", "downloads", "likes", "gated", "private", "lastModified",
                 "sha", "inferenceProviderMapping", "widgetData"]
_API = HfApi()  # configuration only (the endpoint); the token is passed with each call

T = TypeVar("T")


# ------------------------------------------------------------------------------------------ cache


class TTLCache:
    """A small thread-safe cache whose entries expire. Concurrent askers of one key share one computation."""

    def __init__(self, maxsize: int = 1024) -> None:
        self.maxsize = maxsize
        self._data: dict[tuple, tuple[float, Any]] = {}
        self._busy: dict[tuple, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[bool, Any]:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return False, None
            if entry[0] <= time.monotonic():
                del self._data[key]
                return False, None
            return True, entry[1]

    def put(self, key: tuple, value: Any, ttl: float) -> None:
        with self._lock:
            now = time.monotonic()
            if len(self._data) >= self.maxsize:
                for k in [k for k, (until, _) in self._data.items() if until <= now]:
                    del self._data[k]
                while len(self._data) >= self.maxsize:
                    del self._data[min(self._data, key=lambda k: self._data[k][0])]
            self._data[key] = (now + ttl, value)

    def get_or_compute(self, key: tuple, ttl: float, compute: Callable[[], T]) -> T:
        hit, value = self.get(key)
        if hit:
            return value
        with self._lock:
            busy = self._busy.setdefault(key, threading.Lock())
        with busy:
            hit, value = self.get(key)  # computed by another asker meanwhile
            if hit:
                return value
            try:
                value = compute()
                self.put(key, value, ttl)
                return value
            finally:
                with self._lock:
                    self._busy.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_CACHE = TTLCache()
_DOWN = ("hub-down",)


def clear_cache() -> None:
    """Forget every cached answer (and that the Hub was unreachable)."""
    _CACHE.clear()


def _token(token: str | None) -> str | None:
    return (token or "").strip() or None


def _token_key(token: str | None) -> str:
    """Whose answer this is: a hash of the token that will be sent (typed, else the environment's)."""
    effective = _token(token) or public_mode.host_token()
    return hashlib.sha256(effective.encode()).hexdigest()[:16] if effective else "anonymous"


def _within(seconds: float, call: Callable[[], T]) -> T:
    """Run a listing call (huggingface_hub retries inside it) but give up waiting after ``seconds``.

    The call runs in a daemon thread, left to finish on its own if given up on (never joined at exit)."""
    outcome: dict[str, Any] = {}
    done = threading.Event()
    context = contextvars.copy_context()

    def work() -> None:
        try:
            outcome["value"] = context.run(call)
        except BaseException as exc:  # handed to the waiting caller
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name="hub-listing", daemon=True).start()
    if not done.wait(PROBE_AFTER_S):
        get_session().head(_API.endpoint, timeout=3.0)  # offline: raises at once
        if not done.wait(max(0.0, seconds - PROBE_AFTER_S)):
            raise httpx2.TimeoutException(f"The Hub did not answer within {seconds:.0f} s.")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _ask(kind: str, args: tuple, token: str | None, call: Callable[[], T], *, public: bool = False,
         bounded: bool = False, model: str = "", revision: str = "", repo_type: str = "model") -> T:
    """One question to the Hub, answered from the cache when asked within ``TTL_S[kind]`` seconds."""
    key = (kind, args, "public" if public else _token_key(token))
    return _CACHE.get_or_compute(key, TTL_S[kind], lambda: _call(call, token, bounded=bounded, model=model,
                                                                 revision=revision, repo_type=repo_type))


def _call(call: Callable[[], T], token: str | None, *, bounded: bool = False, model: str = "", revision: str = "",
          repo_type: str = "model") -> T:
    """Ask the Hub (not cached): its failure comes out translated, and an unreachable Hub is remembered."""
    if _CACHE.get(_DOWN)[0]:
        raise NetworkError("The Hub could not be reached", f"No answer from {HUB_URL} in the last {DOWN_S:.0f} s.",
                           "Check your network; meanwhile type the value you need, it is used as typed.")
    try:
        return _within(WAIT_S, call) if bounded else call()
    except Exception as exc:
        err = translate(exc, model=model, revision=revision, secrets=tuple(filter(None, [_token(token)])),
                        repo_type=repo_type)
        if isinstance(err, (NetworkError, TimeoutError)):
            _CACHE.put(_DOWN, True, DOWN_S)
        raise err from None


# ------------------------------------------------------------------------------------------ search


def _compact(n: int | None) -> str:
    n = n or 0
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}".rstrip("0").rstrip(".") + unit
    return str(n)


@dataclass(frozen=True)
class ModelHit:
    """One search result, as the model dropdown shows it."""

    id: str
    task: str | None = None
    downloads: int = 0
    likes: int = 0
    gated: str | bool = False  # "auto" | "manual" | False
    private: bool = False

    @property
    def label(self) -> str:
        flags = (["🔒 private"] if self.private else []) + (["🔑 gated"] if self.gated else [])
        return " · ".join([self.id, *flags, f"↓{_compact(self.downloads)} ♥{_compact(self.likes)}"])


def _search_filter(task_id: str) -> dict[str, str]:
    """Chat models carry the ``conversational`` tag whatever their pipeline tag; other tasks are pipeline tags."""
    return {"filter": "conversational"} if task_id == "chat-completion" else {"pipeline_tag": task_id}


def served_filter(provider: str | None) -> str | None:
    """The ``inference_provider`` of a search: the named provider, or any; none for local and custom targets."""
    provider = (provider or "auto").strip()
    if provider in PROVIDERS:
        return provider
    return None if provider in ("local", "custom") else "all"


def search_models(task_id: str, text: str = "", *, token: str | None = None, provider: str | None = None,
                  sort: str = "trending", limit: int = 20) -> list[ModelHit]:
    """Models for this task (by ``pipeline_tag``) whose id contains ``text``, served by ``provider`` (or by any
    inference provider), most trending (or downloaded, or liked) first. Private ones appear when the token
    can see them."""
    text, served = (text or "").strip(), served_filter(provider)

    def call() -> list[ModelHit]:
        found = _API.list_models(search=text or None, inference_provider=served, sort=SORTS[sort], limit=limit,
                                 expand=_SEARCH_EXPAND, token=_token(token), **_search_filter(task_id))
        return [ModelHit(m.id, m.pipeline_tag, m.downloads or 0, m.likes or 0, m.gated or False, bool(m.private))
                for m in found]

    return _ask("search", (task_id, text, served, sort, limit), token, call, bounded=True)


# ------------------------------------------------------------------------------------------ summary


@dataclass(frozen=True)
class ModelSummary:
    id: str
    task: str | None
    library: str | None
    license: str | None
    downloads: int
    likes: int
    gated: str | bool
    private: bool
    last_modified: datetime | None
    sha: str | None

    @property
    def url(self) -> str:
        return f"{HUB_URL}/{self.id}"

    def markdown(self) -> str:
        flags = (["🔒 private"] if self.private else []) + ([f"🔑 gated ({self.gated} approval)"] if self.gated else [])
        when = self.last_modified.strftime("%Y-%m-%d") if self.last_modified else "?"
        facts = [f"**[{self.id}]({self.url})**", self.task or "no task tag", self.library or "no library",
                 f"licence {self.license or '?'}", f"↓ {_compact(self.downloads)} downloads (30 days)",
                 f"♥ {_compact(self.likes)}", *flags, f"updated {when}"]
        return " · ".join(facts)


def _model_info(model: str, token: str | None):
    return _ask("model", (model,), token, lambda: _API.model_info(model, expand=_MODEL_EXPAND, token=_token(token),
                                                                  timeout=TIMEOUT_S), model=model)


def model_summary(model: str, *, token: str | None = None) -> ModelSummary:
    info = _model_info(model, token)
    license_ = next((t.split(":", 1)[1] for t in info.tags or [] if t.startswith("license:")), None)
    return ModelSummary(info.id, info.pipeline_tag, info.library_name, license_, info.downloads or 0,
                        info.likes or 0, info.gated or False, bool(info.private), info.last_modified, info.sha)


def widget_examples(model: str, *, token: str | None = None) -> tuple[dict[str, Any], ...]:
    """The example inputs of the model page's widget (the card's ``widget:``, else the Hub's default for the
    task), as the Hub gives them: dicts whose keys depend on the task. Read from the same cached model info
    as the summary, so after a summary this asks the Hub nothing."""
    data = _model_info(model, token).widget_data
    return tuple(example for example in data if isinstance(example, dict)) if isinstance(data, list) else ()


# ------------------------------------------------------------------------------------------ providers


@dataclass(frozen=True)
class ProviderOffer:
    """One provider serving the model: the Hub's mapping, and for chat models the router's figures."""

    provider: str
    status: str  # "live" | "staging" | "error"
    provider_id: str  # the provider's own id of the model
    task: str
    input_price: float | None = None  # USD per 1M input tokens
    output_price: float | None = None  # USD per 1M output tokens
    context_length: int | None = None
    throughput: float | None = None  # output tokens per second, from the router's latest probe
    first_token_ms: float | None = None
    tools: bool | None = None
    structured: bool | None = None

    @property
    def price(self) -> str:
        if self.input_price is None and self.output_price is None:
            return ""
        return f"${self.input_price or 0:g} in / ${self.output_price or 0:g} out per 1M"

    @property
    def label(self) -> str:
        """The provider dropdown's label: name, status, price."""
        return " · ".join(filter(None, [self.provider, self.status, self.price]))


@dataclass(frozen=True)
class ProviderTable:
    model: str
    task: str  # the task the providers were asked for (the Hub's name: "conversational" for chat)
    offers: tuple[ProviderOffer, ...] = ()
    other_tasks: tuple[str, ...] = ()  # tasks the model is served for, if not this one
    figures_missing: str = ""  # why the router's prices are missing, when they are

    @property
    def live(self) -> list[ProviderOffer]:
        return [o for o in self.offers if o.status == "live"]

    @property
    def fastest(self) -> ProviderOffer | None:
        """What ``:fastest`` picks: the live provider with the highest throughput."""
        timed = [o for o in self.live if o.throughput is not None]
        return max(timed, key=lambda o: o.throughput) if timed else None

    @property
    def cheapest(self) -> ProviderOffer | None:
        """What ``:cheapest`` picks: the live provider with the lowest price per output token."""
        priced = [o for o in self.live if o.output_price is not None]
        return min(priced, key=lambda o: (o.output_price, o.input_price or 0)) if priced else None


def _router_figures() -> dict[str, list[dict[str, Any]]]:
    """The router's chat models: model id -> its providers' figures (public, the same for everyone)."""

    def call() -> dict[str, list[dict[str, Any]]]:
        response = get_session().get(ROUTER_MODELS_URL, headers=build_hf_headers(token=False), timeout=TIMEOUT_S)
        hf_raise_for_status(response)
        return {m["id"]: m.get("providers") or [] for m in response.json().get("data", [])}

    return _ask("router", (), None, call, public=True)


def model_providers(model: str, task_id: str, *, token: str | None = None) -> ProviderTable:
    """Providers that serve ``model`` for this task (live first, cheapest first), with prices for chat models."""
    task = get_task(task_id).provider_task
    info = _model_info(model, token)
    mapping = info.inference_provider_mapping or []
    figures: dict[str, dict[str, Any]] = {}
    missing = ""
    if task == "conversational":
        try:
            figures = {p["provider"]: p for p in _router_figures().get(model, [])}
        except PlaygroundError as err:
            missing = f"Prices and speeds unavailable: the router's model list could not be read ({err.title})."
    offers = []
    for m in mapping:
        if m.task != task:
            continue
        f = figures.get(m.provider, {})
        pricing = f.get("pricing") or {}
        offers.append(ProviderOffer(
            m.provider, m.status, m.provider_id, m.task, pricing.get("input"), pricing.get("output"),
            f.get("context_length"), f.get("throughput"), f.get("first_token_latency_ms"),
            f.get("supports_tools"), f.get("supports_structured_output"),
        ))
    offers.sort(key=lambda o: (o.status != "live", o.output_price is None, o.output_price or 0, o.provider))
    others = tuple(sorted({m.task for m in mapping if m.task != task}))
    return ProviderTable(model, task, tuple(offers), others, missing)


# ------------------------------------------------------------------------------------------ revisions


@dataclass(frozen=True)
class Commit:
    sha: str
    title: str
    date: datetime | None

    @property
    def short(self) -> str:
        return self.sha[:7]


@dataclass(frozen=True)
class Revisions:
    branches: tuple[tuple[str, str], ...] = ()  # (name, commit SHA)
    tags: tuple[tuple[str, str], ...] = ()
    commits: tuple[Commit, ...] = ()  # main's most recent, newest first


def list_revisions(model: str, *, token: str | None = None) -> Revisions:
    refs = _ask("refs", (model,), token, lambda: _API.list_repo_refs(model, token=_token(token)), model=model)
    commits = _ask("commits", (model, "main"), token,
                   lambda: _API.list_repo_commits(model, revision="main", token=_token(token))[:RECENT_COMMITS],
                   bounded=True, model=model, revision="main")
    return Revisions(
        tuple((b.name, b.target_commit) for b in refs.branches),
        tuple((t.name, t.target_commit) for t in refs.tags),
        tuple(Commit(c.commit_id, c.title, c.created_at) for c in commits),
    )


@dataclass(frozen=True)
class Resolved:
    """A revision as asked, the commit it names, and where main is now."""

    model: str
    requested: str
    sha: str
    main_sha: str

    @property
    def short(self) -> str:
        return self.sha[:7]

    @property
    def moved(self) -> bool:
        """main is no longer at the pinned commit."""
        return self.requested != "main" and self.sha != self.main_sha

    def drift(self, main_history: tuple[Commit, ...] = ()) -> str:
        """Say how far main has moved past the pinned commit ('' when it has not)."""
        if not self.moved:
            return ""
        shas = [c.sha for c in main_history]
        if self.sha in shas:
            n = shas.index(self.sha)
            return (f"⚠️ main has moved {n} commit{'s' if n > 1 else ''} past {self.requested} ({self.short}); "
                    f"main is now {self.main_sha[:7]}.")
        return f"⚠️ main is now {self.main_sha[:7]}, not {self.short}: the pinned commit is not main's latest."


def resolve_revision(model: str, revision: str = "main", *, token: str | None = None) -> Resolved:
    """Resolve a branch, tag or commit to its full commit SHA (``model_info(revision=...)``), and main's SHA.

    Raises NotFoundError when the revision (or the model) does not exist, NetworkError when the Hub cannot
    be reached."""
    revision = (revision or "main").strip() or "main"

    def sha_of(rev: str) -> str:
        return _ask("revision", (model, rev), token,
                    lambda: _API.model_info(model, revision=rev, expand=["sha"], token=_token(token), timeout=TIMEOUT_S).sha,
                    model=model, revision=rev)

    sha = sha_of(revision)
    return Resolved(model, revision, sha, sha if revision == "main" else sha_of("main"))


def is_commit(revision: str) -> bool:
    return bool(_SHA.match(revision or ""))


# ------------------------------------------------------------------------------------------ token


@dataclass(frozen=True)
class TokenStatus:
    """What the Hub says about a token (``whoami``). Holds nothing that would let anyone use it."""

    user: str
    orgs: tuple[str, ...] = ()
    enterprise_orgs: tuple[str, ...] = ()
    role: str = "unknown"  # "read" | "write" | "fineGrained" | ...
    permissions: tuple[str, ...] = ()  # a fine-grained token's permissions (global and on the user's namespace)
    can_infer: bool | None = None  # None: the Hub did not say
    can_read_gated: bool | None = None
    from_environment: bool = False
    billable: tuple[str, ...] = ()  # the organisations this token may bill (``bill_to``)

    @property
    def problem(self) -> str:
        """What to change for this token to call Inference Providers ('' when nothing)."""
        if self.can_infer is False:
            return (f"This fine-grained token cannot call Inference Providers. Edit it at {HUB_URL}/settings/tokens "
                    f"and tick 'Make calls to Inference Providers', or create one with it: {NEW_TOKEN_URL}")
        return ""

    def why_not_billable(self, org: str) -> str:
        """Why runs cannot be billed to ``org`` ('' when they can)."""
        if org in self.billable:
            return ""
        if org not in self.enterprise_orgs:
            return "not on a Team or Enterprise plan"
        return "this fine-grained token has no 'Make calls to Inference Providers' permission on it"


def _token_status(me: dict[str, Any], from_environment: bool) -> TokenStatus:
    access = ((me.get("auth") or {}).get("accessToken")) or {}
    role = access.get("role") or (me.get("auth") or {}).get("type") or "unknown"
    fine = access.get("fineGrained") or {}
    user = me.get("name") or "?"
    permissions = list(fine.get("global") or [])
    on_org: dict[str, list[str]] = {}  # a fine-grained token's permissions on each organisation
    for scope in fine.get("scoped") or []:
        entity = scope.get("entity") or {}
        if entity.get("type") == "user" or entity.get("name") == user:
            permissions += scope.get("permissions") or []
        elif entity.get("type") == "org" and entity.get("name"):
            on_org[entity["name"]] = list(scope.get("permissions") or [])
    if role in ("read", "write"):
        can_infer: bool | None = True
    elif role == "fineGrained":
        can_infer = INFERENCE_PERMISSION in permissions
    else:
        can_infer = None
    orgs = me.get("orgs") or []
    # Runs are billed to an organisation on a Team or Enterprise plan (whoami's ``isEnterprise``), and a
    # fine-grained token needs the inference permission on that organisation too.
    billable = tuple(o["name"] for o in orgs if o.get("name") and o.get("isEnterprise") and (
        role != "fineGrained" or INFERENCE_PERMISSION in on_org.get(o["name"], [])))
    return TokenStatus(
        user,
        tuple(o["name"] for o in orgs if o.get("name")),
        tuple(o["name"] for o in orgs if o.get("name") and o.get("isEnterprise")),
        role,
        tuple(dict.fromkeys(permissions)),
        can_infer,
        fine.get("canReadGatedRepos") if role == "fineGrained" else None,
        from_environment,
        billable,
    )


def check_token(token: str | None) -> TokenStatus | None:
    """Who the token (typed, else the environment's) belongs to and what it may do; None without any token.

    Raises AuthError for a token the Hub refuses, NetworkError when the Hub cannot be reached."""
    typed = _token(token)
    effective = typed or public_mode.host_token()
    if not effective:
        return None
    me = _ask("whoami", (), typed, lambda: _whoami(effective))
    return _token_status(me, from_environment=typed is None)


def _whoami(token: str) -> dict[str, Any]:
    """The Hub's ``whoami`` answer, also kept under the user's name for as long (``checked_plan``)."""
    me = _API.whoami(token=token)
    if isinstance(me, dict) and me.get("name"):
        _CACHE.put(("whoami-of", me["name"]), me, TTL_S["whoami"])
    return me


def checked_user(token: str | None) -> str | None:
    """The Hub user name of a token the Hub checked in the last few minutes (``check_token``'s cached answer),
    else None. Never asks the Hub: a run's owner is known at no cost to the run."""
    found, me = _CACHE.get(("whoami", (), _token_key(token)))
    return (me.get("name") or None) if found and isinstance(me, dict) else None


def checked_plan(user: str | None) -> Plan | None:
    """The plan of Hub user ``user`` (``plans.plan_of``) from the ``whoami`` answer of a token of theirs checked in
    the last ``TTL_S["whoami"]`` seconds, else None. Never asks the Hub: a page without a token (Usage) reads what
    the token line (or a sign-in) already asked."""
    found, me = _CACHE.get(("whoami-of", (user or "").strip()))
    return plan_of(me) if found and isinstance(me, dict) else None


# ------------------------------------------------------------------------------------------ model access


@dataclass(frozen=True)
class ModelAccess:
    """Whether a model is gated, and whether the token (typed, else the environment's) may use it."""

    model: str
    gated: str | bool  # "auto" | "manual" | False
    access: bool  # the Hub's auth check passed (always True for a model that is not gated)
    token: bool  # a token was checked (False: anonymous)

    @property
    def url(self) -> str:
        return f"{HUB_URL}/{self.model}"

    def markdown(self) -> str:
        """One line for the model's summary, said before any run ('' for a model that is not gated)."""
        if not self.gated:
            return ""
        if self.access:
            return f"🔓 Gated ({self.gated} approval): this token has access."
        if not self.token:
            return (f"🔒 Gated ({self.gated} approval): paste a token of an account that has access; "
                    f"request access at {self.url}.")
        return (f"🔒 Gated ({self.gated} approval): **this token has no access**. Accept the terms or request "
                f"access at {self.url} (a fine-grained token also needs 'Read access to contents of all public "
                f"gated repos you can access'); runs will be refused with 403 until then.")


def model_access(model: str, *, token: str | None = None) -> ModelAccess:
    """Is ``model`` gated (its model info), and may this token use it (``HfApi.auth_check``, asked only for a
    gated model). Raises what ``model_summary`` raises for a model the Hub does not know or cannot be reached."""
    gated = _model_info(model, token).gated or False
    effective = _token(token) or public_mode.host_token()
    if not gated:
        return ModelAccess(model, False, True, bool(effective))

    def call() -> bool:
        try:
            _API.auth_check(model, token=effective or False)
        except GatedRepoError:
            return False
        return True

    return ModelAccess(model, gated, _ask("access", (model,), token, call, model=model), bool(effective))


# ------------------------------------------------------------------------------------------ datasets


@dataclass(frozen=True)
class DatasetFile:
    """One file of a dataset repo at a revision: its path and size in bytes (the Hub's tree listing)."""

    path: str
    size: int


def _dataset_token(token: str | None) -> str | bool:
    """The token a dataset is read with: the typed one, else the machine's (never in public mode); False: none."""
    return _token(token) or public_mode.host_token() or False


@dataclass(frozen=True)
class DatasetRevision:
    """A dataset at a revision, as the Hub's dataset info gives it: the commit that revision names now, and the
    metadata of its card (the README's YAML front matter, e.g. ``configs:``)."""

    repo_id: str
    revision: str  # as asked: a branch, a tag or a commit
    sha: str  # the commit: files listed and read at it are the same whatever is pushed meanwhile
    card: dict[str, Any]  # the card's metadata as the Hub parsed it (``cardData``); {} without a card


def dataset_revision(repo_id: str, revision: str = "main", *, token: str | None = None) -> DatasetRevision:
    """The commit SHA of the dataset at ``revision`` and its card's metadata (``HfApi.dataset_info``, one request),
    cached like ``resolve_revision``. Raises the translated NotFoundError (no such dataset or revision; a private
    one without a token that reads it) or NetworkError."""
    revision = (revision or "main").strip() or "main"

    def call() -> DatasetRevision:
        info = _API.dataset_info(repo_id, revision=revision, expand=["sha", "cardData"], token=_dataset_token(token),
                                 timeout=TIMEOUT_S)
        card = info.card_data.to_dict() if info.card_data is not None else {}
        return DatasetRevision(repo_id, revision, info.sha or "", card)

    return _ask("dataset-revision", (repo_id, revision), token, call, model=repo_id, revision=revision,
                repo_type="dataset")


def dataset_files(repo_id: str, revision: str = "main", *, token: str | None = None) -> tuple[DatasetFile, ...]:
    """Every file of the dataset at ``revision`` (recursive tree listing), cached like the other questions (per
    token hash: a private dataset's files are found only with a token that reads it). Raises the translated
    NotFoundError (no such dataset or revision; a private one without a token that reads it), AccessError (gated)
    or NetworkError."""
    revision = (revision or "main").strip() or "main"

    def call() -> tuple[DatasetFile, ...]:
        tree = _API.list_repo_tree(repo_id, recursive=True, revision=revision, repo_type="dataset",
                                   token=_dataset_token(token))
        return tuple(DatasetFile(f.path, int(f.size or 0)) for f in tree if isinstance(f, RepoFile))

    return _ask("dataset-files", (repo_id, revision), token, call, bounded=True, model=repo_id, revision=revision,
                repo_type="dataset")


def dataset_file(repo_id: str, path: str, revision: str = "main", *, token: str | None = None) -> bytes:
    """One file of the dataset (``hf_hub_download``), read into memory. It is downloaded into a temporary folder
    removed at once: a private dataset's file is never left in a cache shared by the server's users."""
    import tempfile
    from pathlib import Path

    from huggingface_hub import hf_hub_download

    revision = (revision or "main").strip() or "main"

    def call() -> bytes:
        with tempfile.TemporaryDirectory(prefix="playground-dataset-") as folder:
            local = hf_hub_download(repo_id, path, repo_type="dataset", revision=revision, cache_dir=folder,
                                    token=_dataset_token(token), etag_timeout=TIMEOUT_S)
            return Path(local).read_bytes()

    return _call(call, token, model=repo_id, revision=revision, repo_type="dataset")
