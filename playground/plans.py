"""The account's plan and its included Inference Providers credits, read from the Hub's ``whoami`` answer.

    plan_of(me)        -> Plan      the user's plan (PRO, Free, or unknown) and their Team/Enterprise organisations
    Plan.included_usd               the user's included monthly credits (None: unknown)
    OrgPlan.per_seat_usd            an organisation's included credits per seat (shared among its members)

What ``whoami-v2`` says: ``isPro`` (the user's PRO subscription), ``periodEnd`` (Unix seconds, or null), and
``orgs``, each with ``isEnterprise`` (a Team or Enterprise plan) and, on current Hubs, ``plan`` (which of the two).
Nothing is guessed: a field the answer lacks makes the plan "unknown", never Free.

The included credits are not in any answer the playground receives: they come from the Inference Providers
pricing page, kept once here (``INCLUDED_USD``) with its address and date, and shown as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

__all__ = ["Plan", "OrgPlan", "plan_of", "INCLUDED_USD", "PRICING_URL", "PRICING_AS_OF", "UNKNOWN", "FREE", "PRO",
           "TEAM_OR_ENTERPRISE"]

PRICING_URL = "https://huggingface.co/docs/inference-providers/pricing"
PRICING_AS_OF = "2025-11"
UNKNOWN, FREE, PRO, TEAM_OR_ENTERPRISE = "unknown", "Free", "PRO", "Team or Enterprise"
# Included monthly credits in USD, per the pricing page (PRICING_URL) as of PRICING_AS_OF. Free users get none:
# they pay as they go with purchased credits. An organisation's are per seat, shared among its members, and spent
# only by runs billed to it (bill-to). They pay for the Hub's other compute (Endpoints, Spaces, Jobs) too.
INCLUDED_USD = {FREE: 0.0, PRO: 2.0, TEAM_OR_ENTERPRISE: 2.0}
# An organisation's ``plan`` as whoami names it -> how the page names it (another value is shown as given).
_ORG_PLANS = {"team": "Team", "enterprise": "Enterprise", "enterprise_plus": "Enterprise Plus",
              "plus": "Enterprise Plus"}


@dataclass(frozen=True)
class OrgPlan:
    """One of the user's organisations on a Team or Enterprise plan."""

    name: str
    plan: str  # "Team", "Enterprise", ... as whoami's ``plan`` says; "Team or Enterprise" when it says only isEnterprise

    @property
    def per_seat_usd(self) -> float:
        return INCLUDED_USD[TEAM_OR_ENTERPRISE]


@dataclass(frozen=True)
class Plan:
    """What the Hub said of an account's plan: the user's own, and their Team or Enterprise organisations."""

    user: str
    plan: str = UNKNOWN  # PRO | Free | unknown
    period_end: datetime | None = None  # the end of the paid period, when the Hub gives it
    orgs: tuple[OrgPlan, ...] = ()  # organisations on a Team or Enterprise plan
    orgs_unknown: tuple[str, ...] = ()  # organisations whose plan the answer does not say

    @property
    def included_usd(self) -> float | None:
        """The user's included monthly credits (None when the plan is unknown)."""
        return INCLUDED_USD.get(self.plan)


def _org_plan(org: dict[str, Any]) -> str | None:
    """An organisation's Team/Enterprise plan name; "" when it has none; None when the answer does not say."""
    plan = org.get("plan")
    enterprise = org.get("isEnterprise")
    if isinstance(plan, str) and plan.strip():
        named = _ORG_PLANS.get(plan.strip().lower())
        if named or enterprise is True:
            return named or plan.strip()
        if enterprise is False or plan.strip().lower() == "free":
            return ""
    if isinstance(enterprise, bool):
        return TEAM_OR_ENTERPRISE if enterprise else ""
    return None


def plan_of(me: dict[str, Any]) -> Plan:
    """The plan in a ``whoami`` answer (see the module's docstring)."""
    user = str(me.get("name") or "?")
    is_pro = me.get("isPro")
    plan = (PRO if is_pro else FREE) if isinstance(is_pro, bool) and me.get("type", "user") == "user" else UNKNOWN
    end = me.get("periodEnd")
    period_end = datetime.fromtimestamp(end, timezone.utc) if isinstance(end, (int, float)) and end > 0 else None
    orgs, unknown = [], []
    for org in me.get("orgs") or []:
        name = org.get("name") if isinstance(org, dict) else None
        if not name:
            continue
        named = _org_plan(org)
        if named is None:
            unknown.append(name)
        elif named:
            orgs.append(OrgPlan(name, named))
    return Plan(user, plan, period_end, tuple(orgs), tuple(unknown))
