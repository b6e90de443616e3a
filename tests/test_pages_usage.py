"""The Usage & cost page's handlers (playground/pages/usage.py): what it shows matches runs recorded through the
real service path (the real InferenceClient against the fake router), for this browser's owner only."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from playground import hub, ledger, owners, service
from playground.ledger import cost
from playground.pages import usage
from playground.reliability import RetryPolicy
from playground.service import RunRequest, Target
from tests.conftest import TOKEN
from tests.test_owners import as_user

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"  # the fake router prices together at $0.18 in / $0.18 out per 1M
SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"


@pytest.fixture
def store(tmp_path):
    hub.clear_cache()
    cost.forget()
    store = ledger.configure(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    yield store
    ledger.configure()
    hub.clear_cache()
    cost.forget()


def browser() -> dict:
    """A new browser's owner value, as the page's load gives it."""
    stored, state = owners.load(None)
    assert stored == state and owners.owner_of(state).key
    return state


def chat(state: dict, text: str, model: str = LLAMA, token: str = TOKEN) -> service.RunResult:
    request = RunRequest("chat-completion", model, {"messages": [{"role": "user", "content": text}]},
                         target=Target("together", token=token, retry=RetryPolicy(attempts=1)),
                         **owners.run_fields(state, "chat", token))
    return list(service.run_stream(request))[-1]


def classify(state: dict, text: str, token: str = TOKEN) -> service.RunResult:
    return service.run(RunRequest("text-classification", SST2, {"text": text}, target=Target("hf-inference", token=token),
                                  **owners.run_fields(state, "tab", token)))


def test_the_page_shows_the_days_runs_of_this_browser(fake, store):
    mine, theirs = browser(), browser()
    hub.model_providers(LLAMA, "chat-completion", token=TOKEN)  # the chat tab's providers table: prices cached
    runs = [chat(mine, "Capital of France?"), chat(mine, "And of Italy?"), classify(mine, "I like you")]
    fake.script("/together/", [(500, {"content-type": "application/json"}, {"error": "Internal Server Error"})])
    runs.append(chat(mine, "boom"))  # reached together, which failed: no token counts, its cost unknown
    classify(theirs, "not mine")
    assert [r.ok for r in runs] == [True, True, True, False]
    assert store.flush(30)

    summary, per_day, calls, by_model, latency, table = usage.view(mine, "Today")
    today = datetime.now(timezone.utc).date().isoformat()
    priced = [r for r in runs[:2]]
    spent = sum(r.usage["prompt_tokens"] * 0.18 / 1e6 + r.usage["completion_tokens"] * 0.18 / 1e6 for r in priced)
    tokens = sum(r.usage["total_tokens"] for r in priced)
    assert f"**Today ({today})**: 4 calls · {tokens:,} tokens · **{usage.money(spent)}** estimated · 1 error · " \
           "2 runs of unknown cost (not in the sum)" in summary
    assert per_day["day"].dt.strftime("%Y-%m-%d").tolist() == [today]
    assert per_day["cost_usd"].tolist() == [pytest.approx(spent)]
    assert sorted(zip(calls["provider"], calls["calls"])) == [("hf-inference", 1), ("together", 3)]
    models = dict(zip(by_model["model"], by_model["cost_usd"]))
    assert models == {LLAMA: pytest.approx(spent), SST2: 0.0}  # unknown costs are not summed as $0 guesses...

    rows = {row["provider"]: row for row in table.to_dict("records")}
    assert set(rows) == {"together", "hf-inference"}
    together = [r for r in runs if r.provider_served == "together"]
    assert (rows["together"]["calls"], rows["together"]["errors"], rows["together"]["tokens"]) == (3, 1, tokens)
    assert rows["together"]["cost (USD)"] == usage.money(spent) and rows["together"]["cost unknown"] == 1  # ...but counted
    assert rows["hf-inference"]["cost unknown"] == 1 and rows["hf-inference"]["cost (USD)"] == "$0"
    ms = sorted(r.latency_s * 1000 for r in together)
    assert rows["together"]["p50 ms"] == round(np.percentile(ms, 50))
    assert rows["together"]["p95 ms"] == round(np.percentile(ms, 95))
    bars = dict(zip(latency["provider"], latency["ms"]))
    assert bars["together · p50"] == pytest.approx(np.percentile(ms, 50), abs=0.05)
    assert bars["together · p95"] == pytest.approx(np.percentile(ms, 95), abs=0.05)

    other = usage.view(theirs, "Today")  # the other browser sees its one run, none of mine
    assert "**Today" in other[0] and ": 1 call ·" in other[0] and other[2]["calls"].tolist() == [1]
    forged = usage.view({"key": "made-up.0000"}, "All time")
    assert "**Today" in forged[0] and "no runs" in forged[0] and forged[5].empty


def test_the_date_range_selects_the_runs(fake, store):
    mine = browser()
    classify(mine, "today")
    assert store.flush(30)
    today = datetime.now(timezone.utc).date()
    _, per_day, calls, *_ , table = usage.view(mine, "Last 7 days")
    assert len(per_day) == 7 and per_day["cost_usd"].tolist() == [0.0] * 7  # every day of the span, $0 where none
    assert table["calls"].tolist() == [1]
    before = (today - timedelta(days=10)).isoformat(), (today - timedelta(days=1)).isoformat()
    summary, per_day, calls, *_ = usage.view(mine, usage.CUSTOM, *before)
    assert "no runs" in summary and calls.empty and f"Range ({before[0]} to {before[1]})" in summary
    span, summary, *_ = usage.view_custom(mine, today.isoformat(), None)
    assert span == usage.CUSTOM and f"Range (from {today.isoformat()})" in summary and ": 1 call ·" in summary


def test_date_ranges_and_money():
    today = date(2026, 11, 30)
    assert usage.date_range("Today", today=today) == (today, today)
    assert usage.date_range("Last 30 days", today=today) == (date(2026, 11, 1), today)
    assert usage.date_range("All time", today=today) == (None, None)
    assert usage.date_range(usage.CUSTOM, "2026-11-20", "2026-11-02 00:00:00", today=today) == (
        date(2026, 11, 2), date(2026, 11, 20))  # the other way round: swapped
    with pytest.raises(Exception, match="not a date"):
        usage.date_range(usage.CUSTOM, "yesterday-ish")
    assert [usage.money(v) for v in (0, 0.00000684, 0.0123, 0.5, 12.345)] == [
        "$0", "$0.0000068", "$0.0123", "$0.5", "$12.35"]


def test_a_ledger_that_cannot_be_read_is_said_plainly(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(b"this is not a database " * 500)
    try:
        ledger.configure(f"sqlite:///{path}", probe_s=0.1)
        summary, *frames = usage.view(browser(), "Today")
        assert summary == "⚠️ Usage cannot be read: the database file is damaged."
        assert all(f.empty for f in frames)
    finally:
        ledger.configure()


def whoami_calls(fake) -> int:
    return sum(1 for r in fake.received if r.path == "/api/whoami-v2")


def test_the_plan_of_the_linked_hub_user_and_this_months_estimate_against_its_credits(fake, store):
    """A PRO user's token checked in one browser: Usage shows their plan, its $2.00, their Team organisation and
    the month's estimate against it, from the cached whoami answer (no Hub call per page load); a free user's
    browser shows no included credits; after the cache has forgotten the answer, the plan is unknown."""
    pro, free = as_user("propat"), as_user("freddie")
    mine, theirs, lone = browser(), browser(), browser()
    line = usage.account(lone)
    assert "**Plan**: unknown: this browser is not linked to a Hub user" in line and "$2.00" not in line

    hub.model_providers(LLAMA, "chat-completion", token=pro)  # the chat tab's providers table: prices cached
    for token, state in ((pro, mine), (free, theirs)):
        hub.check_token(token)  # the token line's check (whoami, cached)
        owners.link_checked(token, state)
    runs = [chat(mine, "Capital of France?", token=pro), chat(mine, "And of Italy?", token=pro),
            classify(mine, "I like you", token=pro)]
    assert all(r.ok for r in runs) and store.flush(30)
    spent = sum(r.usage["total_tokens"] * 0.18 / 1e6 for r in runs[:2])

    asked = whoami_calls(fake)
    today = datetime.now(timezone.utc).date()
    line = usage.account(mine)
    assert whoami_calls(fake) == asked  # read from the cache: the page asked the Hub nothing
    assert ("**Plan of propat**: PRO (paid period ends 2027-01-01) · included monthly credits: **$2.00 a month** "
            "(per the [Inference Providers pricing page](https://huggingface.co/docs/inference-providers/pricing) "
            "as of 2025-11)") in line, line
    assert "**Team or Enterprise organisations**: **acme-corp** (Team): $2.00 a month per seat" in line
    assert "reading-club" not in line  # not on a Team or Enterprise plan
    month = f"**This month ({today.strftime('%Y-%m')}, UTC)**: **{usage.money(spent)}** estimated of the $2.00 " \
            f"included ({spent / 2:.1%}) · 1 run of unknown cost not counted. An estimate"
    assert month in line, line
    assert pro not in line and free not in line

    line = usage.account(theirs)
    assert "**Plan of freddie**: Free · included monthly credits: **none**: runs are paid with purchased " \
           "pay-as-you-go credits" in line, line
    assert f"**This month ({today.strftime('%Y-%m')}, UTC)**: **$0** estimated, with no included credits." in line

    hub.clear_cache()  # five minutes later: the whoami answer is gone, and the page does not make one up
    line = usage.account(mine)
    assert "**Plan of propat**: unknown: no token of theirs was checked in the last 5 minutes" in line, line
    assert "(the included credits are unknown)" in line and "$2.00" not in line and whoami_calls(fake) == asked


def test_a_signed_in_visitors_plan_is_asked_once_with_their_session_token(fake, store):
    """No token checked in this browser, but the visitor signed in: their OAuth token (read from the session on the
    server, never from the page) is checked once; the next page loads read the cached answer."""
    from tests.test_signin import oauth_info, request_with

    token = as_user("prosigner")
    request = request_with(oauth_info(token, user="prosigner"))
    asked = whoami_calls(fake)
    line = usage.account(browser(), request)
    assert "**Plan of prosigner**: PRO" in line and "**$2.00 a month**" in line, line
    assert whoami_calls(fake) == asked + 1
    assert "**Plan of prosigner**: PRO" in usage.account(browser(), request) and whoami_calls(fake) == asked + 1
    assert token not in line
