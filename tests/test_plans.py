"""The account's plan and included credits (playground/plans.py), from whoami answers shaped as the Hub's."""

from __future__ import annotations

from datetime import datetime, timezone

from playground import plans


def whoami(**fields) -> dict:
    """A whoami-v2 answer of a user, with the given fields (those the plan is read from) over a free user's."""
    me = {"type": "user", "id": "u1", "name": "alice", "fullname": "Alice", "canPay": False, "isPro": False,
          "periodEnd": None, "orgs": [], "auth": {"type": "access_token", "accessToken": {"role": "read"}}}
    return {**me, **fields}


def org(name: str, **fields) -> dict:
    return {"type": "org", "id": f"o-{name}", "name": name, "fullname": name.title(), "roleInOrg": "read", **fields}


def test_a_free_user_has_no_included_credits():
    plan = plans.plan_of(whoami())
    assert (plan.user, plan.plan, plan.included_usd, plan.period_end) == ("alice", "Free", 0.0, None)
    assert plan.orgs == () and plan.orgs_unknown == ()


def test_a_pro_user_has_two_dollars_a_month_and_their_period_end():
    plan = plans.plan_of(whoami(isPro=True, canPay=True, periodEnd=1798761600))
    assert (plan.plan, plan.included_usd) == ("PRO", 2.0)
    assert plan.period_end == datetime(2027, 1, 1, tzinfo=timezone.utc)


def test_team_and_enterprise_organisations_get_two_dollars_per_seat():
    plan = plans.plan_of(whoami(orgs=[
        org("acme-corp", isEnterprise=True, plan="team"),
        org("megacorp", isEnterprise=True, plan="enterprise"),
        org("old-hub", isEnterprise=True),  # an older Hub: isEnterprise alone, not which of the two
        org("reading-club", isEnterprise=False),
        org("free-org", isEnterprise=False, plan="free"),
    ]))
    assert [(o.name, o.plan, o.per_seat_usd) for o in plan.orgs] == [
        ("acme-corp", "Team", 2.0), ("megacorp", "Enterprise", 2.0), ("old-hub", "Team or Enterprise", 2.0)]
    assert plan.orgs_unknown == ()
    assert plan.plan == "Free"  # the user's own plan is theirs, whatever their organisations'


def test_what_the_answer_does_not_say_is_unknown_never_free():
    plan = plans.plan_of({"type": "user", "name": "bob", "orgs": [org("mystery"), org("named", plan="academia")]})
    assert (plan.plan, plan.included_usd) == ("unknown", None)  # no isPro: unknown, not a free user
    assert plan.orgs == () and plan.orgs_unknown == ("mystery", "named")
    assert plans.plan_of(whoami(isPro="yes")).plan == "unknown"  # not a boolean: not read as one
    app = plans.plan_of({"type": "app", "name": "some-app", "isPro": False})  # an app's token: no user plan
    assert (app.plan, app.included_usd) == ("unknown", None)


def test_the_table_says_where_it_comes_from():
    assert plans.PRICING_URL == "https://huggingface.co/docs/inference-providers/pricing"
    assert plans.PRICING_AS_OF == "2025-11"
    assert plans.INCLUDED_USD == {"Free": 0.0, "PRO": 2.0, "Team or Enterprise": 2.0}
