"""The Usage & cost page (its own route, ``/usage``): the owner's runs totalled per day, model and provider
(calls, tokens, estimated cost, errors, p50/p95 latency), read from the run ledger (``Ledger.usage``), never
kept anywhere else.

    build(demo)                             the page (called inside ``demo.route``); builds and wires only
    open_page(stored, span, since, until)   on load: the browser's owner value checked (``owners.load``), then view
    view(state, span, since, until)         everything the page shows, as plain values
    view_custom(state, since, until)        a date picked: the span becomes the custom range
    account(state, request)                 the linked Hub user's plan, its included credits, and this month's estimate

Costs are the ledger's estimates (``ledger.cost``): a run whose cost is unknown is counted as such, never
summed as a guess. Days are UTC days.

The plan is what the Hub's ``whoami`` said of a token of the Hub user this browser is linked to (the token line
checked it, or the visitor signed in), read from ``hub``'s cache (``hub.checked_plan``): the page has no token and
never receives one. A signed-in visitor's token is read from the session on the server (``signin.token_of``), never
from the page. The included credits come from the pricing page's table (``plans``), said to be that.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from typing import Any

import gradio as gr
import pandas as pd

from .. import hub, ledger, owners, plans, signin
from ..errors import PlaygroundError

__all__ = ["build", "open_page", "view", "view_custom", "account", "date_range", "money", "SPANS", "DEFAULT_SPAN",
           "CUSTOM"]

SPANS = ("Today", "Last 7 days", "Last 30 days", "All time")
CUSTOM = "Custom range"
DEFAULT_SPAN = "Last 30 days"
_SPAN_DAYS = {"Today": 1, "Last 7 days": 7, "Last 30 days": 30}
MAX_FILLED_DAYS = 400  # a longer range's cost line shows only the days that have runs
TABLE_COLUMNS = ["provider", "calls", "errors", "tokens", "cost (USD)", "cost unknown", "p50 ms", "p95 ms"]
NOTE = ("Estimates from the run ledger. A chat run is priced by its tokens × the router's per-1M-token prices of "
        "the provider that served it; other runs say how their provider bills, and count as *unknown*: "
        "never a guessed number. Your bill is at [huggingface.co/settings/billing]"
        "(https://huggingface.co/settings/billing). Days are UTC days.")


def money(value: float) -> str:
    """Dollars, with enough decimals to show a fraction of a cent: $0, $0.0000068, $0.0123, $12.34."""
    if value == 0:
        return "$0"
    if abs(value) >= 0.01:
        return f"${value:,.4f}".rstrip("0").rstrip(".") if abs(value) < 1 else f"${value:,.2f}"
    decimals = -math.floor(math.log10(abs(value))) + 1
    return f"${value:.{decimals}f}"


def _day(value: Any) -> date | None:
    """A DateTime box's value (``YYYY-MM-DD``, with or without a time; a timestamp; a datetime) as a day."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc).date()
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise gr.Error(f"'{value}' is not a date: use YYYY-MM-DD.") from None


def date_range(span: str, since: Any = None, until: Any = None,
               today: date | None = None) -> tuple[date | None, date | None]:
    """The first and last day (both included; None: open) of a span, or of the custom range typed."""
    today = today or datetime.now(timezone.utc).date()
    if span == CUSTOM:
        first, last = _day(since), _day(until)
        if first and last and first > last:
            first, last = last, first
        return first, last
    if span in _SPAN_DAYS:
        return today - timedelta(days=_SPAN_DAYS[span] - 1), today
    return None, None


def _utc(day: date | None) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def _days(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def view(state: Any, span: str = DEFAULT_SPAN, since: Any = None, until: Any = None,
         today: date | None = None) -> tuple:
    """What the page shows for this browser's owner over the range: (summary Markdown, cost per day, calls per
    day by provider, cost by model, latency per provider, the per-provider table)."""
    today = today or datetime.now(timezone.utc).date()
    first, last = date_range(span, since, until, today)
    owner = owners.owner_of(state)
    window = dict(since=_utc(first), until=_utc(last + timedelta(days=1)) if last else None, tz=timezone.utc)
    store = ledger.current()
    try:
        if store is None:
            raise ledger.LedgerError("runs are not recorded on this server")
        by_day_provider = store.usage(owner, by=("day", "provider"), **window)
        by_model = store.usage(owner, by=("model",), **window)
        by_provider = store.usage(owner, by=("provider",), **window)
    except ledger.LedgerError as err:
        empty = _empty()
        return (f"⚠️ Usage cannot be read: {err}.", *empty)

    days: dict[str, dict[str, float]] = {}
    for row in by_day_provider:
        totals = days.setdefault(row.day, dict(calls=0, errors=0, tokens=0, cost=0.0, unknown=0))
        totals["calls"] += row.calls
        totals["errors"] += row.errors
        totals["tokens"] += row.total_tokens
        totals["cost"] += row.cost_usd
        totals["unknown"] += row.cost_unknown
    shown = list(days)
    if days:
        start = first or date.fromisoformat(min(days))
        end = last or today
        if (end - start).days < MAX_FILLED_DAYS:
            shown = _days(start, end)  # days without runs cost $0: the line says so
    cost_per_day = _frame([{"day": pd.Timestamp(d), "cost_usd": days.get(d, {}).get("cost", 0.0)} for d in shown],
                          ["day", "cost_usd"])
    calls_per_day = _frame([{"day": r.day, "provider": r.provider, "calls": r.calls} for r in by_day_provider],
                           ["day", "provider", "calls"])
    cost_by_model = _frame([{"model": r.model, "cost_usd": r.cost_usd, "tokens": r.total_tokens, "calls": r.calls}
                            for r in by_model], ["model", "cost_usd", "tokens", "calls"])
    latency = _frame([{"provider": f"{r.provider} · {name}", "percentile": name, "ms": round(ms, 1)}
                      for r in by_provider for name, ms in (("p50", r.p50_ms), ("p95", r.p95_ms))],
                     ["provider", "percentile", "ms"])
    table = _frame([{"provider": r.provider, "calls": r.calls, "errors": r.errors, "tokens": r.total_tokens,
                     "cost (USD)": money(r.cost_usd), "cost unknown": r.cost_unknown, "p50 ms": round(r.p50_ms),
                     "p95 ms": round(r.p95_ms)} for r in by_provider], TABLE_COLUMNS)
    summary = _summary(days, today, first, last)
    return summary, cost_per_day, calls_per_day, cost_by_model, latency, table


def _empty() -> tuple:
    return (_frame([], ["day", "cost_usd"]), _frame([], ["day", "provider", "calls"]),
            _frame([], ["model", "cost_usd", "tokens", "calls"]), _frame([], ["provider", "percentile", "ms"]),
            _frame([], TABLE_COLUMNS))


def _line(label: str, totals: dict[str, float] | None) -> str:
    if not totals or not totals["calls"]:
        return f"**{label}**: no runs"
    unknown = int(totals["unknown"])
    parts = [f"{int(totals['calls'])} call{'s' if totals['calls'] != 1 else ''}", f"{int(totals['tokens']):,} tokens",
             f"**{money(totals['cost'])}** estimated", f"{int(totals['errors'])} error{'s' if totals['errors'] != 1 else ''}"]
    if unknown:
        parts.append(f"{unknown} run{'s' if unknown != 1 else ''} of unknown cost (not in the sum)")
    return f"**{label}**: " + " · ".join(parts)


def _summary(days: dict[str, dict[str, float]], today: date, first: date | None, last: date | None) -> str:
    total = {k: sum(d[k] for d in days.values()) for k in ("calls", "errors", "tokens", "cost", "unknown")}
    if first and last:
        span = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
    else:
        span = f"from {first.isoformat()}" if first else (f"until {last.isoformat()}" if last else "all time")
    return "\n\n".join([_line(f"Today ({today.isoformat()})", days.get(today.isoformat())),
                        _line(f"Range ({span})", total if days else None), NOTE])


def _plan_lines(plan: plans.Plan) -> list[str]:
    source = f"per the [Inference Providers pricing page]({plans.PRICING_URL}) as of {plans.PRICING_AS_OF}"
    plan_name = plan.plan
    if plan.plan == plans.PRO and plan.period_end:
        plan_name += f" (paid period ends {plan.period_end.date().isoformat()})"
    elif plan.plan == plans.UNKNOWN:
        plan_name += " (the Hub's answer does not say whether the account is PRO)"
    included = plan.included_usd
    if included is None:
        credits = "unknown"
    elif included == 0:
        credits = "**none**: runs are paid with purchased pay-as-you-go credits"
    else:
        credits = f"**{money(included)} a month**"
    lines = [f"**Plan of {plan.user}**: {plan_name} · included monthly credits: {credits} ({source})"]
    if plan.orgs:
        each = [f"**{o.name}** ({o.plan}): {money(o.per_seat_usd)} a month per seat, shared among its members"
                for o in plan.orgs]
        lines.append("**Team or Enterprise organisations**: " + "; ".join(each) +
                     ". Spent only by runs billed to the organisation (*Bill to* on the playground page).")
    else:
        lines.append("**Team or Enterprise organisations**: none")
    if plan.orgs_unknown:
        lines[-1] += f" (the Hub's answer does not say the plan of {', '.join(plan.orgs_unknown)})"
    return lines


def _month_line(owner: ledger.Owner, store: Any, plan: plans.Plan | None, today: date) -> str:
    first = today.replace(day=1)
    label = f"**This month ({first.strftime('%Y-%m')}, UTC)**"
    try:
        if store is None:
            raise ledger.LedgerError("runs are not recorded on this server")
        rows = store.usage(owner, since=_utc(first), by=(), tz=timezone.utc)
    except ledger.LedgerError as err:
        return f"{label}: ⚠️ the estimate cannot be read: {err}."
    spent = sum(r.cost_usd for r in rows)
    unknown = sum(r.cost_unknown for r in rows)
    included = plan.included_usd if plan else None
    line = f"{label}: **{money(spent)}** estimated"
    if included:
        line += f" of the {money(included)} included ({spent / included:.1%})"
    elif included == 0:
        line += ", with no included credits"
    else:
        line += " (the included credits are unknown)"
    if unknown:
        line += f" · {unknown} run{'s' if unknown != 1 else ''} of unknown cost not counted"
    return (line + ". An estimate from the runs recorded here (this browser's and the linked Hub user's, runs billed "
            "to an organisation included), not your bill: see [huggingface.co/settings/billing]"
            "(https://huggingface.co/settings/billing).")


def account(state: Any, request: gr.Request = None, today: date | None = None) -> str:
    """The plan of the Hub user this browser is linked to (the signed-in visitor first), its included credits, its
    Team or Enterprise organisations, and this calendar month's estimated spend against the included credits.
    Asks the Hub only for a signed-in visitor's token, and then at most once per ``hub.TTL_S["whoami"]``."""
    today = today or datetime.now(timezone.utc).date()
    owner, store = owners.owner_of(state), ledger.current()
    lines, signed_in = [], signin.user_of(request)
    token = signin.token_of(request)
    if token:
        try:
            hub.check_token(token)  # the sign-in's whoami, cached like the token line's
        except PlaygroundError as err:
            lines.append(f"⚠️ The Hub could not say your plan: {err.title}.")
    try:
        linked = store.linked_users(owner) if store is not None else []
    except ledger.LedgerError:
        linked = []
    users = list(dict.fromkeys(filter(None, [signed_in, *linked])))
    plan = next(filter(None, map(hub.checked_plan, users)), None)
    if plan is not None:
        lines += _plan_lines(plan)
    elif users:
        lines.append(f"**Plan of {users[0]}**: unknown: no token of theirs was checked in the last "
                     f"{hub.TTL_S['whoami'] // 60} minutes. Paste and check it on the [playground page](/) (or sign "
                     "in), then Refresh, to see the plan and its included credits.")
    else:
        lines.append("**Plan**: unknown: this browser is not linked to a Hub user. Paste and check your token on the "
                     "[playground page](/) (or sign in), then Refresh, to see your plan and its included credits.")
    lines.append(_month_line(owner, store, plan, today))
    return "\n\n".join(lines)


def view_custom(state: Any, since: Any, until: Any) -> tuple:
    """A date typed or picked: the custom range, and its view."""
    return (CUSTOM, *view(state, CUSTOM, since, until))


def open_page(stored: Any, span: str = DEFAULT_SPAN, since: Any = None, until: Any = None) -> tuple:
    """``demo.load``: the browser's owner value checked (a new key for a new browser), kept for the session, and
    the page's view."""
    browser, state = owners.load(stored)
    return (browser, state, *view(state, span, since, until))


def build(demo: gr.Blocks) -> None:
    """The Usage & cost page's components and events (inside ``demo.route``)."""
    browser = owners.browser_state()
    state = gr.State()
    gr.Markdown("## 💸 Usage & cost\nYour runs in this browser (and under your Hub user, once a token is checked).")
    with gr.Row(equal_height=True):
        span = gr.Radio([*SPANS, CUSTOM], value=DEFAULT_SPAN, label="Dates", scale=3)
        since = gr.DateTime(label="From", include_time=False, type="string", scale=1)
        until = gr.DateTime(label="To", include_time=False, type="string", scale=1)
        refresh = gr.Button("Refresh", size="sm", scale=0)
    summary = gr.Markdown(elem_classes=["usage-summary"])
    plan = gr.Markdown(elem_classes=["usage-plan"])
    with gr.Row(equal_height=True):
        cost_line = gr.LinePlot(x="day", y="cost_usd", title="Estimated cost per day (USD)", x_title="day",
                                y_title="USD", elem_classes=["usage-cost-per-day"])
        calls_bars = gr.BarPlot(x="day", y="calls", color="provider", title="Calls per day, by provider",
                                elem_classes=["usage-calls-per-day"])
    with gr.Row(equal_height=True):
        model_bars = gr.BarPlot(x="model", y="cost_usd", title="Estimated cost by model (USD)", y_title="USD",
                                y_lim=[0, None],  # one model alone would otherwise be a bar of no height
                                tooltip=["model", "cost_usd", "tokens", "calls"], elem_classes=["usage-cost-by-model"])
        latency_bars = gr.BarPlot(x="provider", y="ms", color="percentile", title="Latency per provider (p50, p95)",
                                  y_title="ms", elem_classes=["usage-latency"])
    table = gr.Dataframe(headers=TABLE_COLUMNS, label="Per provider", interactive=False, elem_classes=["usage-table"])
    shown = [summary, cost_line, calls_bars, model_bars, latency_bars, table]
    demo.load(open_page, [browser, span, since, until], [browser, state, *shown], api_visibility="private",
              show_progress="hidden").then(account, state, plan, api_visibility="private", show_progress="hidden")
    gr.on([span.input, refresh.click], view, [state, span, since, until], shown, api_visibility="private",
          show_progress="hidden")
    refresh.click(account, state, plan, api_visibility="private", show_progress="hidden")
    gr.on([since.change, until.change], view_custom, [state, since, until], [span, *shown], api_visibility="private",
          show_progress="hidden")


if __name__ == "__main__":  # the page alone
    with gr.Blocks(title="Usage & cost") as page:
        build(page)
    page.launch()
