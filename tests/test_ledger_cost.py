"""Cost estimates (playground/ledger/cost.py): chat runs priced by tokens × the router's per-1M prices of the
provider that served, from the price table the pickers cached, with its date; "unknown" said plainly otherwise;
never a Hub call on the run's path. Real runs: the real InferenceClient against the fake router."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from playground import hub, ledger, service
from playground.ledger import Owner, cost
from playground.reliability import RetryPolicy
from playground.service import RunRequest, Target
from playground.tasks import TASKS
from tests.conftest import TOKEN
from tests.helpers import example_inputs

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"  # the fake router: together $0.18/$0.18, hf-inference $0.05/$0.10
QWEN = "Qwen/Qwen2.5-7B-Instruct"  # together $0.30, fireworks-ai $0.20, hf-inference $0.10/$0.15
MISTRAL = "mistralai/Mistral-7B-Instruct-v0.3"  # priced for together only; fireworks-ai serves it (staging)
OWNER = "cost-owner-7d1e"
ME = Owner(OWNER)
JSON = {"content-type": "application/json"}


@pytest.fixture
def store(tmp_path):
    hub.clear_cache()
    cost.forget()
    store = ledger.configure(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    yield store
    ledger.configure()
    hub.clear_cache()
    cost.forget()


def chat(model: str = LLAMA, provider: str = "together", text: str = "Capital of France?", stream: bool = True,
         **target) -> service.RunResult:
    request = RunRequest("chat-completion", model, {"messages": [{"role": "user", "content": text}]},
                         {"max_tokens": 20}, target=Target(provider, token=TOKEN, **target), source="chat", owner=OWNER)
    return list(service.run_stream(request))[-1] if stream else service.run(request)


def recorded(store: ledger.Ledger, result: service.RunResult) -> ledger.Run:
    assert result.ok, result.error
    assert store.flush(30)
    return store.get_run(ME, result.run_id)


def router_lists(fake) -> int:
    return sum(1 for r in fake.received if r.path.rstrip("/") == "/v1/models")


def today() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")


def test_a_chat_run_is_priced_from_the_price_table_the_pickers_read(fake, store):
    hub.model_providers(LLAMA, "chat-completion", token=TOKEN)  # the chat tab's providers table reads /v1/models
    assert router_lists(fake) == 1
    streamed, plain = chat(), chat(stream=False)
    for result in (streamed, plain):
        run = recorded(store, result)
        prompt, completion = result.usage["prompt_tokens"], result.usage["completion_tokens"]
        assert (run.prompt_tokens, run.completion_tokens) == (prompt, completion) == (12, 7)
        assert run.cost_usd == pytest.approx(12 * 0.18 / 1e6 + 7 * 0.18 / 1e6)
        assert run.cost_basis == f"12 in × $0.18/1M + 7 out × $0.18/1M, together, prices of {today()}"
    assert router_lists(fake) == 1  # the runs and their records asked the router nothing more
    (day,) = store.usage(ME, by=("day",))
    assert day.cost_usd == pytest.approx(2 * 19 * 0.18 / 1e6) and day.cost_unknown == 0


def test_the_provider_that_served_is_the_one_priced_after_a_failover(fake, store):
    hub.model_providers(QWEN, "chat-completion", token=TOKEN)
    fake.script("/together/", [(500, JSON, {"error": "Internal Server Error"})] * 3)
    result = chat(QWEN, "together", fallbacks=("fireworks-ai",), retry=RetryPolicy(base_s=0.01, cap_s=0.05))
    run = recorded(store, result)
    assert run.provider_served == "fireworks-ai"
    assert run.cost_usd == pytest.approx((12 + 7) * 0.20 / 1e6)  # fireworks-ai's $0.20, not together's $0.30
    assert run.cost_basis.endswith(", fireworks-ai, prices of " + today())


def test_input_and_output_prices_apply_to_their_own_tokens(fake, store):
    hub.model_providers(LLAMA, "chat-completion", token=TOKEN)
    run = recorded(store, chat(LLAMA, "hf-inference", text="Say a lot."))
    prompt, completion = run.prompt_tokens, run.completion_tokens
    assert run.cost_usd == pytest.approx(prompt * 0.05 / 1e6 + completion * 0.10 / 1e6)
    assert run.cost_basis.startswith(f"{prompt} in × $0.05/1M + {completion} out × $0.1/1M, hf-inference")


def test_without_a_cached_price_table_the_cost_is_unknown_and_the_router_is_not_asked(fake, store):
    run = recorded(store, chat())
    assert run.cost_usd is None
    assert run.cost_basis.startswith("unknown: no price table cached (19 tokens (12 in, 7 out);")
    assert router_lists(fake) == 0  # neither the run nor its record went to fetch one


def test_a_provider_the_price_table_does_not_price_is_unknown(fake, store):
    hub.model_providers(MISTRAL, "chat-completion", token=TOKEN)
    run = recorded(store, chat(MISTRAL, "fireworks-ai"))
    assert run.cost_usd is None
    assert run.cost_basis == (f"unknown: 19 tokens (12 in, 7 out), but the router's price table of {today()} has "
                              f"no price for fireworks-ai serving {MISTRAL}")


def test_other_tasks_say_their_billing_unit_or_unknown_never_a_number(fake, store):
    hub.model_providers(LLAMA, "chat-completion", token=TOKEN)  # a price table is there: it prices chat only
    runs = {}
    for task_id, provider in (("text-classification", "hf-inference"), ("text-to-speech", "fal-ai")):
        task = TASKS[task_id]
        runs[task_id] = recorded(store, service.run(RunRequest(task_id, task.default_model, example_inputs(task),
                                                               target=Target(provider, token=TOKEN), owner=OWNER)))
    assert all(r.cost_usd is None for r in runs.values())
    assert runs["text-classification"].cost_basis.startswith(
        "unknown: hf-inference bills text-classification by compute time (the seconds the request ran")
    assert runs["text-to-speech"].cost_basis == (
        "unknown: fal-ai's billing unit for text-to-speech is not known to the playground")


def test_an_old_price_table_is_not_used():
    hub.clear_cache()
    cost.forget()
    models = {LLAMA: [{"provider": "together", "pricing": {"input": 0.18, "output": 0.18}}]}
    hub._CACHE.put(cost._ROUTER_KEY, models, 60)
    try:
        table = cost.price_table(now=1_900_000_000.0)
        assert table.date == "2030-03-17" and table.prices(LLAMA, "together") == (0.18, 0.18)
        assert table.prices(LLAMA.upper(), "together") == (0.18, 0.18) and table.prices(LLAMA, "groq") is None
        assert cost.price_table(now=1_900_000_000.0 + cost.MAX_AGE_S - 1) is table
        assert cost.price_table(now=1_900_000_000.0 + cost.MAX_AGE_S + 1) is None  # the same answer, too old now
        hub.clear_cache()
        assert cost.price_table(now=1_900_000_000.0 + 60) is table  # kept after the Hub cache let it go
    finally:
        hub.clear_cache()
        cost.forget()


@pytest.mark.parametrize("usage, why", [
    (None, "unknown: the provider reported no token counts"),
    ({"total_tokens": 19}, "unknown: the provider reported no token counts"),
])
def test_a_chat_answer_without_token_counts_is_unknown(usage, why):
    table = cost.PriceTable(datetime(2026, 11, 30, tzinfo=timezone.utc),
                            {LLAMA: [{"provider": "together", "pricing": {"input": 0.06, "output": 0.06}}]})
    assert cost.chat_cost(LLAMA, "together", usage, table) == (None, why)
    assert cost.chat_cost(LLAMA, "together", {"prompt_tokens": 12, "completion_tokens": 30}, table) == (
        pytest.approx(42 * 0.06 / 1e6), "12 in × $0.06/1M + 30 out × $0.06/1M, together, prices of 2026-11-30")
    assert cost.chat_cost(LLAMA, "hf router (auto)", {"prompt_tokens": 1, "completion_tokens": 1}, table)[1] == (
        "unknown: 2 tokens (1 in, 1 out), but the provider that served is not known")
