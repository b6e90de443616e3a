"""Reliability on the one service path: retries, failover, load balancing and cooldowns.

The service hands its call step to ``Failover.call(attempt)``::

    for each provider of the Route (those cooling down last, at most 1 + max_fallbacks of them):
        tenacity.Retrying(...)(attempt, provider)    # 408, 429, 5xx, timeouts, broken connections
    -> the value of the first attempt that succeeds; every attempt is kept in ``Failover.attempts``

- ``RetryPolicy``: the settings (attempts, backoff base and cap, Retry-After cap, deadline, cooldowns,
  failover); the defaults follow LiteLLM's Router.
- ``Route``: the providers a run may try, in order: the one asked for, then the fallbacks the user listed or,
  for ``auto``/``:fastest``/``:cheapest``, the model's other live providers from the Hub's provider mapping;
  ``balance`` orders the live providers by calls in flight.
- ``ProviderHealth`` (one per process: ``HEALTH``): failures in a row, cooldowns and calls in flight. A
  provider that fails ``cooldown_after`` times in a row cools down for every run of the process; one that
  answers 429 cools down for that token only (limits are per account). Tokens are known by a keyed hash
  (``token_key``), never by value, so this state holds no secret and may live at module level.
- Calls in flight are bounded per provider and token (limits are per account): at most ``per_token_limit``
  at once (``PLAYGROUND_MAX_PER_TOKEN``, default 16; a stream counts until it ends); the next one waits for a
  place, within its run's deadline. The local backend and custom endpoints are not bounded here: the local
  engine keeps its own line (``concurrency.LOCAL_ENGINE``), and a custom endpoint is the user's own server.

A cooling provider is skipped while another candidate is left; a run whose every candidate is cooling down
still calls the one that recovers first (as LiteLLM does with a single deployment), so a cooldown never
fails a run on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import secrets
import threading
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, TypeVar

import tenacity
from huggingface_hub.inference._providers import PROVIDERS
from huggingface_hub.inference._providers._common import _fetch_inference_provider_mapping

from . import capture
from .errors import RETRYABLE_STATUS, PlaygroundError, ProviderError

__all__ = [
    "RetryPolicy",
    "NO_RETRY",
    "BALANCE",
    "Attempt",
    "Cooldown",
    "ProviderHealth",
    "HEALTH",
    "Route",
    "route_for",
    "live_providers",
    "Failover",
    "token_key",
    "is_retryable",
]

T = TypeVar("T")

BALANCE = "balance"
ROUTER_POLICIES = ("auto", ":fastest", ":cheapest")
_DIRECT = ("local", "custom")  # one server, nothing to fail over to
PER_TOKEN_LIMIT = 16  # calls in flight per provider and token, unless PLAYGROUND_MAX_PER_TOKEN says otherwise


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one run tries. Defaults follow LiteLLM's Router (2 retries, Retry-After up to 60 s,
    else 0.5 s x 2^n capped at 8 s with jitter, cooldown after 3 failures or at once on a 429, 5 fallbacks)."""

    attempts: int = 3  # per provider: the first call and 2 retries (1 = no retry)
    base_s: float = 0.5  # backoff before retry n: base_s * 2^(n-1) plus up to base_s of jitter...
    cap_s: float = 8.0  # ...and never more than cap_s
    retry_after_cap_s: float = 60.0  # a longer Retry-After is not waited for: the provider is left
    deadline_s: float = 120.0  # the whole run: no wait or attempt starts past it
    cooldown_after: int = 3  # failures in a row that cool a provider down for the process
    cooldown_s: float = 10.0  # how long, when the server sent no Retry-After
    max_fallbacks: int = 5  # providers tried after the first one
    failover: bool = True  # move on to the next provider when one keeps failing


NO_RETRY = RetryPolicy(attempts=1, failover=False)


def is_retryable(err: BaseException) -> bool:
    """408, 429, 500, 502, 503, 504, timeouts and broken connections; never 400, 401, 403, 404 or 422."""
    if not isinstance(err, PlaygroundError) or not err.retryable:
        return False
    return err.status is None or err.status in RETRYABLE_STATUS


# ------------------------------------------------------------------------------------------ health

_TOKEN_KEY_SECRET = secrets.token_bytes(32)  # per process: the keys cannot be matched to tokens elsewhere


def token_key(token: str | None) -> str:
    """The key of a token in the health registry: a keyed hash, never the token itself."""
    if not token:
        return "anonymous"
    return hmac.new(_TOKEN_KEY_SECRET, token.encode(), hashlib.sha256).hexdigest()[:24]


@dataclass(frozen=True)
class Cooldown:
    provider: str
    until: float  # on the registry's clock
    reason: str  # "rate limited (429)", "3 failures in a row (503)"

    def left(self, now: float) -> float:
        return max(0.0, self.until - now)


class ProviderHealth:
    """Failures in a row, cooldowns and calls in flight, per provider. Thread-safe; holds no secret.

    Server-error cooldowns are per provider for the whole process; rate-limit cooldowns are keyed by
    ``(token_key, provider)``. Only Hub provider names are tracked: a custom endpoint's URL is never kept.
    Calls in flight are counted per provider, and bounded per ``(token_key, provider)`` (``busy``).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, per_token_limit: int | None = None) -> None:
        self.clock = clock
        self.per_token_limit = per_token_limit or int(os.environ.get("PLAYGROUND_MAX_PER_TOKEN") or PER_TOKEN_LIMIT)
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)  # notified whenever a call in flight ends
        self._streak: Counter[str] = Counter()
        self._server: dict[str, Cooldown] = {}
        self._limited: dict[tuple[str, str], Cooldown] = {}
        self._in_flight: Counter[str] = Counter()
        self._per_token: Counter[tuple[str, str]] = Counter()
        self._turn = itertools.count()

    @staticmethod
    def tracks(provider: str | None) -> bool:
        return bool(provider) and provider in PROVIDERS

    def succeeded(self, provider: str | None) -> None:
        if not self.tracks(provider):
            return
        with self._lock:
            self._streak.pop(provider, None)
            self._server.pop(provider, None)

    def failed(self, provider: str | None, key: str, err: PlaygroundError, policy: RetryPolicy) -> Cooldown | None:
        """Count a retryable failure; return the cooldown it starts, if any."""
        if not self.tracks(provider):
            return None
        now = self.clock()
        wait = err.retry_after if err.retry_after is not None else policy.cooldown_s
        with self._lock:
            if err.status == 429:  # the account's limit: this token only, at once
                cooldown = Cooldown(provider, now + wait, "rate limited (429)")
                self._prune(now)
                self._limited[(key, provider)] = max(cooldown, self._limited.get((key, provider), cooldown), key=_until)
                return cooldown
            self._streak[provider] += 1
            streak = self._streak[provider]
            if streak < policy.cooldown_after:
                return None
            why = f"{err.status}" if err.status else err.kind
            cooldown = Cooldown(provider, now + wait, f"{streak} failures in a row ({why})")
            self._server[provider] = cooldown
            return cooldown

    def cooldown(self, provider: str, key: str) -> Cooldown | None:
        """The cooldown that keeps ``provider`` from this token's runs now, if any (the longer one)."""
        now = self.clock()
        with self._lock:
            found = [c for c in (self._server.get(provider), self._limited.get((key, provider))) if c and c.until > now]
        return max(found, key=_until) if found else None

    def cooldowns(self, key: str) -> list[Cooldown]:
        """What a person with this token should know: every provider cooling down for them."""
        now = self.clock()
        with self._lock:
            found = [c for c in self._server.values() if c.until > now]
            found += [c for (k, _), c in self._limited.items() if k == key and c.until > now]
        return sorted(found, key=_until)

    def describe(self, token: str | None) -> list[str]:
        """``["together cooling down, 12 s left (rate limited (429))", ...]`` for this token."""
        now = self.clock()
        return [f"{c.provider} cooling down, {c.left(now):.0f} s left ({c.reason})" for c in self.cooldowns(token_key(token))]

    @contextmanager
    def busy(self, provider: str, key: str = "anonymous", wait_s: float | None = None) -> Iterator[float]:
        """A call in flight to ``provider`` with the token keyed ``key``; yields how long it waited for its place.
        With ``per_token_limit`` calls of that token already in flight there, it waits up to ``wait_s`` (None:
        as long as it takes) for one to end, then raises a ProviderError. The local backend and custom
        endpoints are counted, never bounded."""
        pair, started = (key, provider), time.monotonic()
        bounded = provider not in _DIRECT
        with self._room:
            if bounded and not self._room.wait_for(lambda: self._per_token[pair] < self.per_token_limit, wait_s):
                raise ProviderError(
                    f"Too many runs at once on {provider} with this token",
                    f"{self.per_token_limit} were already in flight, and none ended within {wait_s or 0:.0f} s.",
                    "Wait for them to finish, or raise the deadline in Advanced (the host sets the limit with "
                    "PLAYGROUND_MAX_PER_TOKEN).")
            self._per_token[pair] += 1
            self._in_flight[provider] += 1
        try:
            yield time.monotonic() - started
        finally:
            with self._room:
                self._in_flight[provider] -= 1
                self._per_token[pair] -= 1
                if not self._per_token[pair]:
                    del self._per_token[pair]
                self._room.notify_all()

    def in_flight(self, provider: str) -> int:
        with self._lock:
            return self._in_flight[provider]

    def balanced(self, providers: list[str]) -> list[str]:
        """Least in flight first; ties in turn (round robin), so parallel runs spread even before they start."""
        if not providers:
            return []
        with self._lock:
            turn = next(self._turn) % len(providers)
            rotated = providers[turn:] + providers[:turn]
            return sorted(rotated, key=lambda p: self._in_flight[p])

    def clear(self) -> None:
        with self._lock:
            self._streak.clear()
            self._server.clear()
            self._limited.clear()

    def _prune(self, now: float) -> None:
        for k in [k for k, c in self._limited.items() if c.until <= now]:
            del self._limited[k]


def _until(c: Cooldown) -> float:
    return c.until


HEALTH = ProviderHealth()


# ------------------------------------------------------------------------------------------ route


def live_providers(model: str, task_id: str) -> list[str]:
    """The model's providers that are live and run this task, in the Hub's order (its mapping is cached)."""
    wanted = "conversational" if task_id == "chat-completion" else task_id
    return [
        m.provider
        for m in _fetch_inference_provider_mapping(model)
        if m.status == "live" and m.task == wanted and wanted in PROVIDERS.get(m.provider, {})
    ]


@dataclass
class Route:
    """The providers one run may try, in order: ``head`` first, then ``more()`` (looked up only if needed)."""

    head: list[str]
    more: Callable[[], list[str]] | None = None
    limit: int = 1
    _more: list[str] | None = field(default=None, repr=False)

    def remaining(self, tried: list[str], avoid: set[str] = frozenset(), look_further: bool = False) -> list[str]:
        """Candidates not tried (nor to ``avoid``); the model's live providers are looked up when the head is
        used up, or at once with ``look_further``."""
        if len(tried) >= self.limit:
            return []
        left = [p for p in self.head if p not in tried and p not in avoid]
        if self.more is not None and (look_further or not left):
            if self._more is None:
                self._more = self.more()
            left += [p for p in self._more if p not in tried and p not in avoid and p not in left]
        return left


def route_for(task_id: str, model: str, provider: str, fallbacks: tuple[str, ...], policy: RetryPolicy,
              health: ProviderHealth = HEALTH) -> Route:
    """Where a run may go. A provider chosen by name is kept unless the user listed fallbacks."""
    limit = 1 + policy.max_fallbacks if policy.failover else 1
    provider = (provider or "auto").strip()
    if provider in _DIRECT or model.startswith(("http://", "https://")):
        return Route([provider])
    live = lambda: live_providers(model, task_id)  # noqa: E731
    if provider == BALANCE:
        return Route([], lambda: health.balanced(live()), limit)
    fallbacks = tuple(p.strip() for p in fallbacks if p and p.strip())
    if fallbacks:
        return Route([provider, *fallbacks], None, limit)
    if provider in ROUTER_POLICIES and policy.failover:
        if task_id == "chat-completion":  # the router picks first; then the model's providers, by name
            return Route([provider], live, limit)
        return Route([], live, limit)  # what InferenceClient's "auto" does, one provider after another
    return Route([provider])


# ------------------------------------------------------------------------------------------ attempts


@dataclass
class Attempt:
    """One call to one provider, as shown in the raw exchange."""

    number: int
    provider: str  # as asked: "together", "auto"
    waited_s: float = 0.0  # the wait just before it
    served_by: str | None = None  # who answered, when the router says
    status: int | None = None
    error: PlaygroundError | None = None
    note: str = ""

    @property
    def who(self) -> str:
        return self.served_by or self.provider

    def why(self) -> str:
        """Short: "503", "timeout", "network"."""
        if self.error is None:
            return "ok"
        return str(self.error.status or self.error.kind)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"attempt": self.number, "provider": self.who, "status": self.status,
                               "waited_before_s": round(self.waited_s, 3),
                               "outcome": "ok" if self.error is None else self.error.title}
        if self.served_by:
            out["asked"] = self.provider
        if self.note:
            out["note"] = self.note
        return out


class Failover:
    """Runs one call step with retries (tenacity), cooldowns and failover, and keeps every attempt.

    ``attempt(provider, seconds_left)`` makes one call; ``fail(exc, provider)`` translates its exception
    (errors.translate); ``served_by(exchanges)`` names who answered. ``clock`` and ``sleep`` are injectable.
    """

    def __init__(
        self,
        route: Route,
        policy: RetryPolicy,
        *,
        token: str | None,
        fail: Callable[[BaseException, str], PlaygroundError],
        served_by: Callable[[list[capture.Exchange]], str | None] = lambda exchanges: None,
        recorder: capture.Recorder | None = None,
        health: ProviderHealth = HEALTH,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.route, self.policy, self.health = route, policy, health
        self.attempts: list[Attempt] = []
        self.skipped: dict[str, str] = {}  # provider -> why it was skipped
        self._key = token_key(token)
        self._fail, self._served_by, self._rec = fail, served_by, recorder
        self._clock, self._sleep = clock, sleep
        self._deadline = clock() + policy.deadline_s
        self._tried: list[str] = []  # providers as asked ("auto", "together")
        self._avoid: set[str] = set()  # providers the router picked for an attempt that failed
        self._pending_wait = 0.0
        self._pending_note = ""
        self._hold = False
        self._held = ExitStack()  # the place in flight of a stream being read (``call(..., hold=True)``)
        self._backoff = tenacity.wait_exponential_jitter(multiplier=policy.base_s, max=policy.cap_s, jitter=policy.base_s)

    # -------------------------------------------------------------------------------- the loop

    def call(self, attempt: Callable[[str, float], T], hold: bool = False) -> T:
        """The value of the first attempt that succeeds; raises the last PlaygroundError otherwise. With ``hold``
        (a stream, read after the call returns) that attempt keeps its place in flight until ``release()``."""
        self._hold = hold
        last: PlaygroundError | None = None
        while True:
            try:
                provider = self._next_provider()
            except Exception as exc:  # looking up the model's providers failed
                raise self._fail(exc, self.route.head[0] if self.route.head else "auto") from exc
            if provider is None:
                raise last or ProviderError(
                    "No provider serves this model for this task",
                    "The Hub lists no live provider for it.",
                    "Pick a provider by name, a custom endpoint, or the local backend.",
                )
            self._tried.append(provider)
            try:
                return self._retrying(provider, attempt)
            except PlaygroundError as err:
                last = err
                if not self._may_move_on(err):
                    raise
                self._pending_note = f"failover from {self.attempts[-1].who} ({self.attempts[-1].why()})"

    def release(self) -> None:
        """The held stream ended (read, broken or abandoned): its place in flight goes to the next call."""
        self._held.close()

    def broke(self, exc: BaseException) -> PlaygroundError:
        """A stream that broke after its first chunk: not retried (its text was shown), but counted."""
        capture.note_transport_error(exc)
        last = self.attempts[-1]
        err = self._fail(exc, last.provider)
        last.error, last.note = err, "broke midway" + (f" · {last.note}" if last.note else "")
        if is_retryable(err):
            self.health.failed(last.served_by or last.provider, self._key, err, self.policy)
        return err

    # -------------------------------------------------------------------------------- summary

    @property
    def retries(self) -> int:
        """Attempts that repeated a call to the same provider (failovers are counted apart)."""
        return max(0, len(self.attempts) - len({a.provider for a in self.attempts}))

    @property
    def waited_s(self) -> float:
        return sum(a.waited_s for a in self.attempts)

    def notes(self) -> list[str]:
        """"failed over from together (503 ×3) to fireworks-ai", "skipped groq (cooling down, 12 s left)"."""
        out = []
        for provider, why in self.skipped.items():
            out.append(f"skipped {provider} ({why})")
        runs = [list(g) for _, g in itertools.groupby(self.attempts, key=lambda a: a.provider)]
        for before, after in zip(runs, runs[1:]):
            failures = [a for a in before if a.error]
            times = f" ×{len(failures)}" if len(failures) > 1 else ""
            out.append(f"failed over from {before[-1].who} ({before[-1].why()}{times}) to {after[0].who}")
        return out

    # -------------------------------------------------------------------------------- steps

    def _next_provider(self) -> str | None:
        """The next candidate not cooling down; if every one is, the one that recovers first."""
        options = self.route.remaining(self._tried, self._avoid)
        if not options:
            return None
        if self.health.cooldown(options[0], self._key) is None:
            return options[0]
        options = self.route.remaining(self._tried, self._avoid, look_further=True)
        cooling = {p: self.health.cooldown(p, self._key) for p in options}
        free = [p for p in options if cooling[p] is None]
        chosen = free[0] if free else min(options, key=lambda p: cooling[p].until)
        now = self.health.clock()
        for p in options[: options.index(chosen)] if free else [p for p in options if p != chosen]:
            self.skipped.setdefault(p, f"cooling down, {cooling[p].left(now):.0f} s left: {cooling[p].reason}")
        return chosen

    def _may_move_on(self, err: PlaygroundError) -> bool:
        """A provider that keeps failing, cools down or cannot serve the model is left for the next one."""
        if not (is_retryable(err) or err.kind == "provider"):
            return False  # 400, 401, 403, 404, 422: the same request would fail anywhere
        return self._clock() < self._deadline and bool(self.route.remaining(self._tried, self._avoid, look_further=True))

    def _retrying(self, provider: str, attempt: Callable[[str, float], T]) -> T:
        policy = self.policy

        def past_deadline(rs: tenacity.RetryCallState) -> bool:
            return self._clock() + rs.upcoming_sleep >= self._deadline

        def retry_after_too_long(rs: tenacity.RetryCallState) -> bool:
            err = rs.outcome.exception()
            return err.retry_after is not None and err.retry_after > policy.retry_after_cap_s

        def leave_for_next(rs: tenacity.RetryCallState) -> bool:
            """It cools down now (429, or failures in a row) and another provider is left."""
            if self.health.cooldown(provider, self._key) is None and self.health.cooldown(self.attempts[-1].who, self._key) is None:
                return False
            return bool(self.route.remaining(self._tried, self._avoid, look_further=True))

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(is_retryable),
            stop=tenacity.stop_any(tenacity.stop_after_attempt(policy.attempts), past_deadline, retry_after_too_long, leave_for_next),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        return retrying(self._one, attempt, provider)

    def _wait(self, rs: tenacity.RetryCallState) -> float:
        """Retry-After (or the RateLimit header) when the server gave one, else backoff with jitter."""
        err = rs.outcome.exception()
        if err is not None and err.retry_after is not None:
            return min(err.retry_after, self.policy.retry_after_cap_s)
        return self._backoff(rs)

    def _before_sleep(self, rs: tenacity.RetryCallState) -> None:
        self._pending_wait += rs.upcoming_sleep
        self._pending_note = f"retry after {self.attempts[-1].why()}"

    def _one(self, attempt: Callable[[str, float], T], provider: str) -> T:
        """One attempt: announce it to the recorder, call, count the outcome in the health registry."""
        record = Attempt(len(self.attempts) + 1, provider, self._pending_wait, note=self._pending_note)
        self._pending_wait, self._pending_note = 0.0, ""
        self.attempts.append(record)
        rec = self._rec
        first = len(rec.exchanges) if rec else 0
        if rec is not None:
            rec.next_wait_s = record.waited_s
            rec.next_note = f"attempt {record.number} · {provider}" + (f" · {record.note}" if record.note else "")
        left = max(0.05, self._deadline - self._clock())
        place = ExitStack()
        try:
            waited = place.enter_context(self.health.busy(provider, self._key, wait_s=left))
            if waited >= 0.05:  # the token's other runs held every place at this provider
                record.note = ", ".join(filter(None, (record.note, f"waited {waited:.1f} s for a place in flight")))
            value = attempt(provider, max(0.05, left - waited))
        except Exception as exc:
            place.close()
            capture.note_transport_error(exc)
            err = self._fail(exc, provider)
            self._settle(record, rec, first, err)
            if record.served_by:
                self._avoid.add(record.served_by)
            if is_retryable(err):
                self.health.failed(record.who, self._key, err, self.policy)
            raise err from exc
        if self._hold:
            self._held.push(place.pop_all())
        else:
            place.close()
        self._settle(record, rec, first, None)
        self.health.succeeded(record.who)
        return value

    def _settle(self, record: Attempt, rec: capture.Recorder | None, first: int, err: PlaygroundError | None) -> None:
        record.error = err
        exchanges = rec.exchanges[first:] if rec else []
        if rec is not None and not exchanges:  # nothing went on the wire: the wait belongs to no exchange
            rec.next_wait_s, rec.next_note = 0.0, None
        calls = [e for e in exchanges if not e.is_hub_lookup]
        if calls and calls[0] is not exchanges[0]:  # the wait and note belong to the call, not to a Hub lookup
            lookup = exchanges[0]
            calls[0].wait_before_s, calls[0].note = lookup.wait_before_s, lookup.note
            lookup.wait_before_s, lookup.note = 0.0, None
        answered = [e for e in exchanges if e.status is not None]
        record.status = answered[-1].status if answered else (err.status if err else None)
        served = self._served_by(exchanges)
        record.served_by = served if served and served != record.provider else None
