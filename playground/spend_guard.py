"""The spend guard: an optional budget per session and per day (USD). A run whose estimate would pass a budget
is not sent: the page asks first (the tab's "Run anyway" button), and a batch stops (``stop_reason``).

    before a run:   estimate(request)            USD and how it was found (None: unknown), from the router's prices
                    spent(owner, session)        this session's and today's (UTC) estimated cost, from the ledger
                    verdict(...)                 None (go on), or the question: why the run would pass a budget
    the page:       Advanced settings hold the two budgets (kept in the browser); the session's guard state
                    (``new_session``) remembers when the session began and one "Run anyway" given (``approve``)

What is spent is read from the ledger (the runs' recorded estimates), never counted on the side. A session's
runs are this browser's runs since the session began (the page was opened). An estimate the playground cannot
make (most non-chat tasks: "unknown") counts as $0 against the budget, so such a run asks only once the budget
is already used up; the question says so.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

__all__ = ["Budget", "Spent", "estimate", "spent", "verdict", "stop_reason", "new_session", "approve", "take_approval",
           "asks", "budget_of", "ASK_MARK", "ASSUMED_COMPLETION_TOKENS", "CHARS_PER_TOKEN"]

ASK_MARK = "⏸️"  # the status line of a run the guard held back starts with it
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


@dataclass(frozen=True)
class Spent:
    session_usd: float
    day_usd: float


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
    now = time.time() if now is None else now
    day = datetime.fromtimestamp(now, timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
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


def verdict(budget: Budget, spent_now: Spent, cost: tuple[float | None, str]) -> str | None:
    """None when the run fits the budgets; otherwise the question the page asks (Markdown, starting ASK_MARK)."""
    usd, basis = cost
    for name, limit, used in (("session", budget.session_usd, spent_now.session_usd),
                              ("daily", budget.day_usd, spent_now.day_usd)):
        if not limit:
            continue
        span = "this session" if name == "session" else "today (UTC)"
        if usd is not None and used + usd > limit:
            return (f"{ASK_MARK} **Not run yet: the spend guard asks first.** This run is estimated at {money(usd)} "
                    f"({basis}); with {money(used)} spent {span}, it would pass your {name} budget of {money(limit)}. "
                    "Press **Run anyway** to send it, or change the budget in Advanced settings.")
        if usd is None and used >= limit:
            return (f"{ASK_MARK} **Not run yet: the spend guard asks first.** {money(used)} has been spent {span}, "
                    f"which reaches your {name} budget of {money(limit)}, and this run's cost is {basis}. "
                    "Press **Run anyway** to send it, or change the budget in Advanced settings.")
    return None


def stop_reason(request: Any, budget: Budget, owner: Any = None, since_ms: int | None = None) -> str | None:
    """For a batch: None to send ``request``, else why the batch stops here (the question the page would ask)."""
    if not budget.any:
        return None
    return verdict(budget, spent(owner, since_ms), estimate(request))


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


def check(request: Any, budget: Budget, owner: Any, state: Any) -> str | None:
    """A run handler's check: the question to show instead of running, or None to run (no budget, within it, or
    approved once)."""
    if not budget.any or take_approval(state):
        return None
    since = state.get("since_ms") if isinstance(state, dict) else None
    return verdict(budget, spent(owner, since), estimate(request))


def raw_note(question: str) -> str:
    return json.dumps({"exchanges": [], "spend_guard": question}, indent=2, ensure_ascii=False)
