"""What a run cost, estimated honestly: a number only when it can be computed from what is known, otherwise
``None`` and a plain "unknown: <why>". Runs on the ledger's writer thread (``record.row_of``), never on the
request path, and never asks the Hub anything: the prices are the router's ``GET /v1/models`` answer that the
pickers already fetched (``hub.model_providers`` for a chat model), read from ``hub``'s cache.

    local backend                     0, nothing billed
    no request reached a provider     0 (input errors, free Hub lookups)
    custom endpoint                   unknown: billed by uptime, not per request
    chat-completion                   prompt tokens x input price + completion tokens x output price, per 1M
                                      tokens, of the provider that served, from the router's price table,
                                      with the table's date: "12 in × $0.06/1M + 30 out × $0.06/1M, together,
                                      prices of 2026-11-30"
    other tasks                       unknown, naming the provider's billing unit when it is known
                                      (``BILLING_UNITS``)

The price table: the router's answer is public and the same for everyone, so the last one seen is kept here
(``PriceTable``), dated by when this module first found it in the Hub cache (the cache keeps an answer for
``hub.TTL_S["router"]`` seconds, so that is at most minutes after it was fetched). It is used for
``MAX_AGE_S``; after that, or before the pickers ever fetched one, a chat run's cost is "unknown: no price
table cached".
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

__all__ = ["PriceTable", "price_table", "estimate", "chat_cost", "forget", "BILLING_UNITS", "MAX_AGE_S",
           "NO_PRICE_TABLE"]

MAX_AGE_S = 24 * 3600  # a price table older than a day is not used
NO_PRICE_TABLE = "unknown: no price table cached"
_ROUTER_KEY = ("router", (), "public")  # hub._router_figures' cache key (a public answer, asked with no token)
PER = 1_000_000

# How a provider bills the tasks the router's price table does not cover, where its pricing page says so.
# A unit, never a price: the numbers these units need are not in any answer the playground receives.
BILLING_UNITS = {
    "hf-inference": "by compute time (the seconds the request ran × its hardware's price per second), "
                    "which the answer does not report",
}


@dataclass(frozen=True)
class PriceTable:
    """The router's chat models and their providers' figures (``hub._router_figures``' answer), and when it
    was read."""

    read_at: datetime  # UTC
    models: dict[str, list[dict[str, Any]]]

    @property
    def date(self) -> str:
        return self.read_at.strftime("%Y-%m-%d")

    def prices(self, model: str, provider: str) -> tuple[float, float] | None:
        """USD per 1M (input, output) tokens of ``provider`` serving ``model``; None when the table has none."""
        offers = self.models.get(model)
        if offers is None:  # the router's ids and the Hub's may differ in case only
            offers = next((v for k, v in self.models.items() if k.lower() == model.lower()), [])
        for offer in offers:
            pricing = offer.get("pricing") or {}
            if offer.get("provider") == provider and _number(pricing.get("input")) and _number(pricing.get("output")):
                return float(pricing["input"]), float(pricing["output"])
        return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


_lock = threading.Lock()
_latest: list[PriceTable | None] = [None]


def price_table(now: float | None = None) -> PriceTable | None:
    """The newest router price table seen (from ``hub``'s cache, no request made), or None when there is none
    younger than ``MAX_AGE_S``."""
    from .. import hub

    now = time.time() if now is None else now
    hit, models = hub._CACHE.get(_ROUTER_KEY)
    with _lock:
        latest = _latest[0]
        if hit and isinstance(models, dict) and (latest is None or latest.models is not models):
            latest = _latest[0] = PriceTable(datetime.fromtimestamp(now, timezone.utc), models)
    if latest is None or now - latest.read_at.timestamp() > MAX_AGE_S:
        return None
    return latest


def forget() -> None:
    """Drop the price table kept here (tests; ``hub.clear_cache()`` clears the other copy)."""
    with _lock:
        _latest[0] = None


def _tokens(usage: dict[str, Any] | None) -> tuple[int, int] | None:
    usage = usage or {}
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if isinstance(prompt, int) and isinstance(completion, int) and prompt >= 0 and completion >= 0:
        return prompt, completion
    return None


def chat_cost(model: str, provider: str | None, usage: dict[str, Any] | None,
              table: PriceTable | None) -> tuple[float | None, str]:
    """A chat run's cost from its token counts and the router's prices of the provider that served it."""
    tokens = _tokens(usage)
    if tokens is None:
        return None, "unknown: the provider reported no token counts"
    prompt, completion = tokens
    counted = f"{prompt + completion} tokens ({prompt} in, {completion} out)"
    if not provider or provider.startswith("hf router"):
        return None, f"unknown: {counted}, but the provider that served is not known"
    if table is None:
        return None, f"{NO_PRICE_TABLE} ({counted}; the router's /v1/models prices are read when a chat " \
                     "model's providers are shown)"
    prices = table.prices(model, provider)
    if prices is None:
        return None, f"unknown: {counted}, but the router's price table of {table.date} has no price for " \
                     f"{provider} serving {model}"
    price_in, price_out = prices
    cost = prompt * price_in / PER + completion * price_out / PER
    return cost, (f"{prompt} in × ${price_in:g}/1M + {completion} out × ${price_out:g}/1M, {provider}, "
                  f"prices of {table.date}")


def estimate(result: Any, now: float | None = None) -> tuple[float | None, str]:
    """The run's cost in USD and how it was found; ``None`` (unknown) with the reason when it cannot be
    computed from what the run holds and the cached price table. Never a guess."""
    from ..service import CUSTOM, LOCAL

    asked = result.provider_requested
    if asked == LOCAL:
        return 0.0, "local backend: the run used this machine only, nothing is billed"
    if not [e for e in result.exchanges if not e.is_hub_lookup]:
        return 0.0, "no request reached a provider (only free Hub lookups, if any)"
    if asked == CUSTOM or result.model.startswith(("http://", "https://")):
        return None, "unknown: a dedicated endpoint is billed by its uptime, not per request"
    served = result.provider_served or asked
    if result.task == "chat-completion":
        return chat_cost(result.model, result.provider_served, result.usage, price_table(now))
    unit = BILLING_UNITS.get(served)
    if unit:
        return None, f"unknown: {served} bills {result.task} {unit}"
    return None, f"unknown: {served}'s billing unit for {result.task} is not known to the playground"
