"""The spend guard (playground/spend_guard.py): a run whose estimate would pass the session's or the day's budget
asks first (and "Run anyway" sends it once); a batch stops at it. Real chat runs through the chat tab's handler,
priced from the fake router's price table, spending read back from the ledger."""

from __future__ import annotations

import inspect
import time

import pytest

from playground import handlers, hub, ledger, owners, spend_guard
from playground.ledger import cost
from playground.service import RunRequest, Target
from playground.spend_guard import Budget, Spent
from playground.tasks import TASKS
from tests.conftest import TOKEN

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"  # the fake router: together $0.18/$0.18 per 1M tokens
QUESTION = "What is the capital of France?"  # 30 characters: 7 tokens by the ÷ 4 rule


@pytest.fixture
def priced(fake, tmp_path):
    """A ledger of its own and the router's price table cached (as the chat tab's providers table does)."""
    hub.clear_cache()
    cost.forget()
    store = ledger.configure(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    hub.model_providers(LLAMA, "chat-completion", token=TOKEN)
    yield store
    ledger.configure()
    hub.clear_cache()
    cost.forget()


def chat(owner_state, guard, max_tokens=20, **budgets):
    handler = handlers.handler_for(TASKS["chat-completion"])
    values = {"owner": owner_state, "token": TOKEN, "provider": "together", "model": LLAMA, "spend_guard": guard,
              "message": {"text": QUESTION, "files": []}, "max_tokens": max_tokens, **budgets}
    return list(handler(*[values.get(n) for n in inspect.signature(handler).parameters]))[-1]


def request(max_tokens=None, provider="together", task="chat-completion") -> RunRequest:
    params = {} if max_tokens is None else {"max_tokens": max_tokens}
    return RunRequest(task, LLAMA, {"messages": [{"role": "user", "content": QUESTION}]}, params,
                      target=Target(provider, token=TOKEN))


def test_the_estimate_is_the_prompt_and_the_longest_reply_at_the_routers_prices(priced):
    usd, basis = spend_guard.estimate(request(max_tokens=20))
    assert usd == pytest.approx((7 + 20) * 0.18 / 1e6)
    assert basis.startswith("about 7 in (characters ÷ 4) + up to 20 out (max_tokens) tokens at together's prices")
    usd, basis = spend_guard.estimate(request())
    assert usd == pytest.approx((7 + 1024) * 0.18 / 1e6) and "assumed, max_tokens not set" in basis
    auto, basis = spend_guard.estimate(request(20, provider="auto"))  # the dearest provider serving it
    assert auto == pytest.approx((7 + 20) * 0.18 / 1e6) and "the dearest provider auto may choose" in basis
    assert spend_guard.estimate(request(provider="local")) == (0.0, "local backend: nothing is billed")
    assert spend_guard.estimate(request(task="text-classification"))[0] is None


def test_a_run_that_would_pass_the_session_budget_asks_first_then_runs_when_told(priced):
    me, guard = owners.load(None)[1], spend_guard.new_session()
    one_run = (12 + 7) * 0.18 / 1e6  # what the fake router's answer costs
    budget = dict(budget_session_usd=one_run * 1.5)
    first = chat(me, guard, **budget)
    assert first[2].startswith("✅"), first  # within the budget: sent
    held = chat(me, guard, **budget)  # $0.0000034 spent + about $0.0000049 estimated > $0.0000051
    history, message, status, raw = held
    assert spend_guard.asks(status) and "session budget" in status and "Run anyway" in status, status
    assert message == {"text": QUESTION, "files": []}  # kept for "Run anyway"
    assert raw == {"__type__": "update"}  # the last raw exchange stays
    assert priced.flush(10) and priced.list_runs(owners.owner_of(me)).total == 1  # nothing was sent
    spend_guard.approve(guard)  # "Run anyway"
    assert chat(me, guard, **budget)[2].startswith("✅")
    assert spend_guard.asks(chat(me, guard, **budget)[2])  # the approval was for one run
    assert priced.flush(10) and priced.list_runs(owners.owner_of(me)).total == 2
    # a new session starts at $0: the same budget lets its first run through
    assert chat(me, spend_guard.new_session(), **budget)[2].startswith("✅")


def test_the_daily_budget_counts_every_run_of_the_day_and_no_budget_never_asks(priced):
    me = owners.load(None)[1]
    for _ in range(2):
        assert chat(me, spend_guard.new_session(), budget_day_usd=1.0)[2].startswith("✅")
    spent = spend_guard.spent(owners.owner_of(me), int(time.time() * 1000))
    assert spent.day_usd == pytest.approx(2 * 19 * 0.18 / 1e6) and spent.session_usd == 0
    held = chat(me, spend_guard.new_session(), budget_day_usd=2.5 * 19 * 0.18 / 1e6)[2]
    assert spend_guard.asks(held) and "daily budget" in held and "today (UTC)" in held
    assert chat(me, spend_guard.new_session())[2].startswith("✅")  # no budget: never asks
    other = owners.load(None)[1]  # another browser's day is its own
    assert chat(other, spend_guard.new_session(), budget_day_usd=2.5 * 19 * 0.18 / 1e6)[2].startswith("✅")


def test_the_service_path_holds_back_a_request_past_its_budget(priced, fake):
    """The guard is the service path's first step: a request carrying a budget (``RunRequest.guard``) is sent until
    the next would pass it; that one comes back held back, with nothing sent to the router, billed or recorded."""
    from playground import service

    me = owners.load(None)[1]
    owner = owners.owner_of(me)
    guard = spend_guard.Guard(Budget(session_usd=3.5 * 27 * 0.18 / 1e6), int(time.time() * 1000) - 1)
    sent = 0
    for _ in range(10):
        row = request(max_tokens=20)
        row.owner, row.source, row.guard = owner.key, "batch", guard
        result = service.run(row)
        if result.held_back:
            break
        assert result.ok
        sent += 1
    assert sent == 4  # each run costs $0.0000034 (19 tokens) and is estimated at $0.0000049 (27 tokens)
    question = result.error.display()
    assert spend_guard.asks(question) and "session budget" in question and "Run anyway" in question
    assert result.error.kind == "held_back" and result.exchanges == [] and result.run_id is None
    routed = [r for r in fake.received if "chat/completions" in r.path]
    assert len(routed) == 4  # the held-back run never reached the router
    assert priced.flush(10) and priced.list_runs(owner).total == 4  # nor the ledger
    streamed = list(service.run_stream(row))  # the streaming path asks the same question, before anything is sent
    assert len(streamed) == 1 and streamed[0].held_back and streamed[0].error.display() == question
    assert len([r for r in fake.received if "chat/completions" in r.path]) == 4
    row.guard = spend_guard.Guard(guard.budget, guard.since_ms, approved=True)  # "Run anyway"
    assert service.run(row).ok
    row.guard = None  # no guard (an API call): never held back
    assert service.run(row).ok


def test_runs_sent_at_once_together_stay_within_the_budget(priced, fake):
    """Runs in flight count against the budget until they are recorded: eight rows sent at the same moment (a
    batch, Compare's panes) with a budget for three and a half of them send three; the others ask first. (Each
    read only the ledger, where none of the others was yet, and all eight went.)"""
    from concurrent.futures import ThreadPoolExecutor

    from playground import service

    owner = owners.owner_of(owners.load(None)[1])
    guard = spend_guard.Guard(Budget(session_usd=3.5 * 27 * 0.18 / 1e6), int(time.time() * 1000) - 1)
    rows = []
    for _ in range(8):
        row = request(max_tokens=20)
        row.owner, row.source, row.guard = owner.key, "batch", guard
        rows.append(row)
    fake.chaos(latency_s=0.5)  # every run is still in flight when the last one is checked
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(service.run, rows))
    assert sum(r.ok for r in results) == 3 and sum(r.held_back for r in results) == 5
    assert len([r for r in fake.received if "chat/completions" in r.path]) == 3
    fake.chaos()
    assert priced.flush(10) and priced.list_runs(owner).total == 3
    assert spend_guard.in_flight(owner) == Spent(0, 0)  # each run's reservation ends with it, held back or not
    # recorded now at their real cost ($0.0000034 each): a fourth run fits, a fifth does not
    assert service.run(rows[3]).ok and service.run(rows[4]).held_back


def test_a_bundle_past_the_budget_holds_back_each_row_and_sends_nothing(priced, fake):
    """A bundle's rows take the guard step once each (``service.run_bundle``): past the budget (a run approved with
    "Run anyway" used it up), rows of unknown cost are held back, nothing is sent or recorded for them."""
    from playground import service

    owner = owners.owner_of(owners.load(None)[1])
    guard = spend_guard.Guard(Budget(session_usd=1e-6), int(time.time() * 1000) - 1)
    first = request(max_tokens=20)
    first.owner, first.guard = owner.key, spend_guard.Guard(guard.budget, guard.since_ms, approved=True)
    assert service.run(first).ok and priced.flush(10)  # $0.0000034 recorded: the budget is used up
    rows = [RunRequest("feature-extraction", "sentence-transformers/all-MiniLM-L6-v2", {"text": f"row {i}"},
                       target=Target("hf-inference", token=TOKEN)) for i in range(3)]
    for row in rows:
        row.owner, row.source, row.guard = owner.key, "batch", guard
    results = service.run_bundle(rows)
    assert [r.held_back for r in results] == [True] * 3 and all(r.exchanges == [] for r in results)
    assert "reaches your session budget" in results[0].error.display()
    assert not [r for r in fake.received if "feature-extraction" in r.path or "all-MiniLM" in r.path]
    assert priced.flush(10) and priced.list_runs(owner).total == 1
    assert spend_guard.in_flight(owner) == Spent(0, 0)


def test_unknown_costs_ask_only_once_the_budget_is_used_up():
    unknown = (None, "unknown: the cost of text-classification is not known before it runs")
    assert spend_guard.verdict(Budget(day_usd=1.0), Spent(0.0, 0.99), unknown) is None
    question = spend_guard.verdict(Budget(day_usd=1.0), Spent(0.0, 1.0), unknown)
    assert spend_guard.asks(question) and "reaches your daily budget of $1" in question
    assert spend_guard.budget_of("", None) == Budget() and spend_guard.budget_of(0, -1) == Budget()
    assert spend_guard.budget_of("0.5", 2) == Budget(0.5, 2.0)
