"""The spend guard: an optional budget per session and per day (USD). A run whose estimate would pass a budget
is not sent: the page asks first ("Run anyway"), and a batch stops at that row.

    the request:    RunRequest.guard = Guard(budget, since_ms, approved)     what the guard needs, carried by the run
    the service:    held_back(request)  (``service.run`` / ``run_stream``, before anything is sent)
                        estimate(request)        USD and how it was found (None: unknown), from the router's prices
                        spent(owner, since_ms)   this session's and today's (UTC) estimated cost, from the ledger
                        verdict(...)             None (go on), or the question: why the run would pass a budget
                    a run held back comes back as a RunResult whose error is a HeldBackError (the question): it is
                    not sent, not billed, and not recorded in the ledger
    the pages:      the budgets are kept in the browser (localStorage, ``STORAGE_KEY``: the playground page's
                    Advanced settings set them; Compare, Present and Batch read them on load); the session's guard
                    state (``new_session``) remembers when the session began and one "Run anyway" (``approve``);
                    ``guard_of(budget, state)`` is the Guard of the session's next run

What is spent is read from the ledger (the runs' recorded estimates), never counted on the side; what is not yet
there is the runs in flight: each run the guard lets go is held as its estimate (``in_flight``) until the service
records it (``settled``), so runs sent at the same moment (a batch's rows, Compare's panes, two tabs) together stay
within a budget. The check and the hold are one step per owner. A session's
runs are this browser's runs since the session began (the page was opened). An estimate the playground cannot
make (most non-chat tasks: "unknown") counts as $0 against the budget, so such a run asks only once the budget
is already used up; the question says so.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

__all__ = ["Budget", "Guard", "Spent", "estimate", "spent", "verdict", "reason", "question_of", "held_back", "new_session", "approve",
           "take_approval", "guard_of", "budget_from_browser", "asks", "budget_of", "in_flight", "settled", "ASK_MARK", "STORAGE_KEY", "STORAGE_OBSCURER",
           "ASSUMED_COMPLETION_TOKENS", "CHARS_PER_TOKEN"]

ASK_MARK = "⏸️"  # the status line of a run the guard held back starts with it
STORAGE_KEY = "hf-playground-spend-guard"  # the budgets in the browser's localStorage: [per session, per day]
# gr.BrowserState obscures localStorage with a secret it sends to the page: fixed, so that every page (and the next
# start of the server) reads what the playground page's Advanced settings kept
STORAGE_OBSCURER = "hf-inference-playground-spend-guard-v1"
QUESTION_TITLE = "Not run yet: the spend guard asks first"
QUESTION_FIX = "Press **Run anyway** to send it, or change the budget in Advanced settings."
ASSUMED_COMPLETION_TOKENS = 1024  # a chat reply's length when max_tokens is not set
CHARS_PER_TOKEN = 4  # the usual rule of thumb for English text (the exact count needs the model's tokenizer)


@dataclass(frozen=True)
class Budget:
    """USD per session and per day (UTC); None: no limit."""

    session_usd: float | None = None
    day_usd: float | None = None

    @property
    def any(self) -> bool:
        return bool(self.session_usd) or bool(self.day_usd)


def budget_of(session_usd: Any = None, day_usd: Any = None) -> Budget:
    """A budget from the page's two boxes (empty, 0 or negative: no limit)."""

    def usd(value: Any) -> float | None:
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
        return value if value > 0 else None

    return Budget(usd(session_usd), usd(day_usd))


def budget_from_browser(value: Any) -> Budget:
    """The budget kept in the browser (``STORAGE_KEY``'s value, ``[per session, per day]``); anything else: none."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return budget_of(*value)
    return Budget()


@dataclass(frozen=True)
class Guard:
    """What a run carries for the guard (``RunRequest.guard``): the budgets, when the session began (epoch ms;
    None: no session, only the day counts) and whether the person said "Run anyway" for this run."""

    budget: Budget = Budget()
    since_ms: int | None = None
    approved: bool = False


@dataclass(frozen=True)
class Spent:
    session_usd: float
    day_usd: float

    def __add__(self, other: "Spent") -> "Spent":
        return Spent(self.session_usd + other.session_usd, self.day_usd + other.day_usd)


def money(value: float) -> str:
    from .pages.usage import money as shown

    return shown(value)


def _text_chars(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_text_chars(v) for k, v in value.items() if k in ("content", "text"))  # not roles, not images
    if isinstance(value, list):
        return sum(_text_chars(v) for v in value)
    return 0


def estimate(request: Any) -> tuple[float | None, str]:
    """What the run is expected to cost before it is sent, and how that was estimated (None: unknown).

    A chat run: its prompt's characters ÷ 4 as input tokens and ``max_tokens`` (else 1,024) output tokens, at the
    router's prices of the provider asked (for a routing policy such as Auto: the dearest provider serving the
    model). Local runs cost nothing; other tasks' costs are unknown, as the ledger records them."""
    from .ledger import cost
    from .service import CUSTOM, LOCAL

    provider = (request.target.provider or "auto").strip()
    if provider == LOCAL:
        return 0.0, "local backend: nothing is billed"
    if provider == CUSTOM or request.model.startswith(("http://", "https://")):
        return None, "unknown: a dedicated endpoint is billed by its uptime"
    if request.task != "chat-completion":
        return None, f"unknown: the cost of {request.task} is not known before it runs"
    table = cost.price_table()
    if table is None:
        return None, "unknown: no price table cached (it is read when a chat model's providers are shown)"
    offers = [o.get("provider") for o in table.models.get(request.model, [])]
    if provider in offers:
        prices, where = table.prices(request.model, provider), provider
    else:
        priced = [(p, table.prices(request.model, p)) for p in offers]
        priced = [(p, x) for p, x in priced if x is not None]
        if not priced:
            return None, f"unknown: the router's price table has no price for {request.model}"
        where, prices = max(priced, key=lambda px: px[1][0] + px[1][1])
        where = f"{where}, the dearest provider {provider} may choose"
    if prices is None:
        return None, f"unknown: the router's price table has no price for {provider} serving {request.model}"
    prompt = max(1, _text_chars(request.inputs.get("messages")) // CHARS_PER_TOKEN)
    max_tokens = request.params.get("max_tokens")
    completion = int(max_tokens) if isinstance(max_tokens, (int, float)) and max_tokens > 0 else ASSUMED_COMPLETION_TOKENS
    said = "max_tokens" if completion != ASSUMED_COMPLETION_TOKENS or max_tokens else "assumed, max_tokens not set"
    usd = prompt * prices[0] / cost.PER + completion * prices[1] / cost.PER
    return usd, (f"about {prompt} in (characters ÷ {CHARS_PER_TOKEN}) + up to {completion} out ({said}) tokens "
                 f"at {where}'s prices of {table.date}")


def spent(owner: Any, since_ms: int | None, now: float | None = None) -> Spent:
    """The estimated cost of the owner's runs since the session began (``since_ms``) and today (UTC), read from
    the ledger (waiting a moment for runs still being written)."""
    from . import ledger

    store = ledger.current()
    if store is None or owner is None or not (owner.key or owner.hub_user):
        return Spent(0.0, 0.0)
    store.flush(2.0)
    day = _day_start(now)
    session_start = datetime.fromtimestamp(since_ms / 1000, timezone.utc) if since_ms else None
    first = min(day, session_start) if session_start else day
    totals = {"session": 0.0, "day": 0.0}
    try:
        rows = store.usage(owner, since=first, by=("day",))
        totals["day"] = sum(r.cost_usd for r in rows if r.day == day.strftime("%Y-%m-%d"))
        if session_start is not None:
            totals["session"] = sum(r.cost_usd for r in store.usage(owner, since=session_start, by=()))
    except ledger.LedgerError:
        pass  # an unreadable ledger: nothing known spent (the run itself will say "not recorded")
    return Spent(totals["session"], totals["day"])


def _day_start(now: float | None = None) -> datetime:
    """The start of today (UTC), as the budgets count a day."""
    now = time.time() if now is None else now
    return datetime.fromtimestamp(now, timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def reason(budget: Budget, spent_now: Spent, cost: tuple[float | None, str]) -> str | None:
    """None when the run fits the budgets; otherwise why it would pass one, in a sentence."""
    usd, basis = cost
    for name, limit, used in (("session", budget.session_usd, spent_now.session_usd),
                              ("daily", budget.day_usd, spent_now.day_usd)):
        if not limit:
            continue
        span = "this session" if name == "session" else "today (UTC)"
        if usd is not None and used + usd > limit:
            return (f"This run is estimated at {money(usd)} ({basis}); with {money(used)} spent {span}, it would pass "
                    f"your {name} budget of {money(limit)}.")
        if usd is None and used >= limit:
            return (f"{money(used)} has been spent {span}, which reaches your {name} budget of {money(limit)}, and "
                    f"this run's cost is {basis}.")
    return None


def question_of(why: str) -> str:
    """The question a page asks for a run held back (Markdown, starting ASK_MARK)."""
    return f"{ASK_MARK} **{QUESTION_TITLE}.** {why} {QUESTION_FIX}"


def verdict(budget: Budget, spent_now: Spent, cost: tuple[float | None, str]) -> str | None:
    """None when the run fits the budgets; otherwise the question the page asks (Markdown, starting ASK_MARK)."""
    why = reason(budget, spent_now, cost)
    return None if why is None else question_of(why)


# The runs in flight of each owner (``Owner``: key and Hub user): id(request) -> (request, its estimate in USD,
# when it was let go, epoch ms). The request is held so that its id is not reused while it is here.
_FLIGHT: dict[int, tuple[Any, Any, float, int]] = {}
_FLIGHT_LOCK = threading.Lock()
# The check and the hold of one owner's runs are one step: a lock per owner, from a fixed set (owners whose hashes
# meet share one and are checked in turn), so that a server seeing many owners keeps no lock per owner.
_OWNER_LOCKS = tuple(threading.Lock() for _ in range(64))


def in_flight(owner: Any, since_ms: int | None = None, now: float | None = None) -> Spent:
    """The estimates of the owner's runs let go and not yet recorded: since the session began (``since_ms``) and
    today (UTC)."""
    day_ms = int(_day_start(now).timestamp() * 1000)
    with _FLIGHT_LOCK:
        held = [(usd, at) for _, who, usd, at in _FLIGHT.values() if who == owner]
    return Spent(sum(usd for usd, at in held if since_ms is not None and at >= since_ms),
                 sum(usd for usd, at in held if at >= day_ms))


def settled(request: Any) -> None:
    """The service recorded the run (or ended it): it is no longer held as in flight."""
    with _FLIGHT_LOCK:
        _FLIGHT.pop(id(request), None)


def _owner_lock(owner: Any) -> threading.Lock:
    return _OWNER_LOCKS[hash(owner) % len(_OWNER_LOCKS)]


def held_back(request: Any):
    """The service path's guard step, before anything is sent: None to send ``request`` (no guard, no budget, within
    it, or approved), else the HeldBackError that says why (its ``display()`` is the page's question). A request let
    go with a budget is held as in flight until ``settled``."""
    from .errors import HeldBackError
    from .ledger import Owner

    guard = getattr(request, "guard", None)
    if guard is None or not guard.budget.any:
        return None
    owner = Owner(request.owner or "", request.hub_user)
    cost = estimate(request)
    with _owner_lock(owner):
        why = None
        if not guard.approved:
            why = reason(guard.budget, spent(owner, guard.since_ms) + in_flight(owner, guard.since_ms), cost)
        if why is None:
            with _FLIGHT_LOCK:
                _FLIGHT[id(request)] = (request, owner, cost[0] or 0.0, int(time.time() * 1000))
            return None
    return HeldBackError(QUESTION_TITLE, why, QUESTION_FIX.replace("**", ""), question=question_of(why))


# ------------------------------------------------------------------------------------------ the page's session


def new_session() -> dict[str, Any]:
    """The session's guard state (a ``gr.State``'s value, made when the session first uses it)."""
    return {"since_ms": int(time.time() * 1000), "approved": False}


def approve(state: Any) -> None:
    """"Run anyway": the next run of this session is sent whatever the budgets (once)."""
    if isinstance(state, dict):
        state["approved"] = True


def take_approval(state: Any) -> bool:
    """Whether the user said "Run anyway" for this run (the approval is used up)."""
    if isinstance(state, dict) and state.get("approved"):
        state["approved"] = False
        return True
    return False


def asks(status: str | None) -> bool:
    """Whether a status line is the guard's question (the page then shows "Run anyway")."""
    return isinstance(status, str) and status.startswith(ASK_MARK)


def guard_of(budget: Budget, state: Any) -> Guard:
    """The Guard of a session's next run: its budget, when the session began, and the "Run anyway" given, if any
    (used up here; with no budget there is nothing to approve, and an approval waits for the run that needs it)."""
    since = state.get("since_ms") if isinstance(state, dict) else None
    return Guard(budget, since, budget.any and take_approval(state))


def raw_note(question: str) -> str:
    return json.dumps({"exchanges": [], "spend_guard": question}, indent=2, ensure_ascii=False)
