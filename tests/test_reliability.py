"""Retries, failover, balancing and cooldowns on the one service path, against the fault-injecting fake router.

Real HTTP, the real InferenceClient; waits are kept tiny (backoff base 10 ms) except where a test checks that a
Retry-After is honoured as sent.
"""

from __future__ import annotations

import inspect
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from playground import handlers, reliability, service
from playground.errors import (AuthError, NetworkError, ProviderError, RateLimitError, ServerError, TimeoutError,
                               ValidationError)
from playground.reliability import HEALTH, ProviderHealth, RetryPolicy, token_key
from playground.service import RunRequest, Target
from playground.tasks import TASKS
from tests.conftest import TOKEN
from tests.fakes.server import CHAT_REPLY, chat_answer, cut_stream

QWEN = "Qwen/Qwen2.5-7B-Instruct"  # live on together, fireworks-ai, hf-inference
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"  # live on together, hf-inference (fireworks-ai in staging)
FAST = RetryPolicy(base_s=0.01, cap_s=0.05)
JSON = {"content-type": "application/json"}


def chat(target: Target, model: str = QWEN, text: str = "Capital of France?") -> RunRequest:
    return RunRequest("chat-completion", model, {"messages": [{"role": "user", "content": text}]}, target=target)


def calls(result: service.RunResult) -> list[service.capture.Exchange]:
    """The inference calls of a run (Hub lookups left out)."""
    return [e for e in result.exchanges if not e.is_hub_lookup]


def send(task_id: str, **values) -> tuple:
    """Call a tab's Run handler as Gradio does (every input, by name; the rest None); the last output."""
    handler = handlers.handler_for(TASKS[task_id])
    args = [values.get(name) for name, p in inspect.signature(handler).parameters.items() if p.kind != p.KEYWORD_ONLY]
    out = handler(*args)
    return list(out)[-1] if inspect.isgenerator(out) else out


def box_text(box) -> str:
    return box.get("text", "") if isinstance(box, dict) else (box or "")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------------------------------------ retries


def test_429_with_retry_after_is_waited_then_succeeds(fake):
    fake.script("/together/", [(429, {**JSON, "retry-after": "1"}, {"error": "Too many requests"})])
    result = service.run(chat(Target("together", token=TOKEN, retry=FAST)))
    assert result.ok, result.error
    assert [e.status for e in calls(result)] == [429, 200]
    assert [a.waited_s for a in result.attempts] == [0.0, 1.0]  # Retry-After as sent, not the backoff
    assert calls(result)[1].wait_before_s == 1.0
    assert result.retries == 1 and result.waited_s == 1.0
    assert "served by together after 1 retry (waited 1.0 s)" in result.status_line()
    raw = result.raw()
    assert [a["status"] for a in raw["attempts"]] == [429, 200]
    assert raw["exchanges"][-1]["waited_before_s"] == 1.0
    assert raw["exchanges"][-1]["note"] == "attempt 2 · together · retry after 429"


def test_503_three_times_then_success_backs_off_exponentially(fake):
    fake.script("/together/", [(503, JSON, {"error": "Service Unavailable"})] * 3)
    policy = RetryPolicy(attempts=4, base_s=0.01, cap_s=0.03)
    result = service.run(chat(Target("together", token=TOKEN, retry=policy)))
    assert result.ok, result.error
    assert [e.status for e in calls(result)] == [503, 503, 503, 200]
    waits = [a.waited_s for a in result.attempts]
    assert waits[0] == 0.0
    assert 0.01 <= waits[1] <= 0.02 and 0.02 <= waits[2] <= 0.03 and waits[3] == 0.03  # base·2^n + jitter, capped
    assert result.provider_served == "together" and result.retries == 3
    assert HEALTH.cooldown("together", token_key(TOKEN)) is None  # the success ended its streak


def test_401_fails_at_once(fake):
    result = service.run(chat(Target("together", token="hf_invalid_Abcdefghijklmnop", retry=FAST)))
    assert isinstance(result.error, AuthError)
    assert len(result.attempts) == 1 and result.waited_s == 0
    assert len([r for r in fake.received if "/chat/completions" in r.path]) == 1


def test_422_is_not_failed_over(fake):
    fake.script("/together/", [(422, JSON, {"error": "`temperature` must be strictly positive"})])
    result = service.run(chat(Target("together", token=TOKEN, fallbacks=("fireworks-ai",), retry=FAST)))
    assert isinstance(result.error, ValidationError)
    assert [a.provider for a in result.attempts] == ["together"]


def test_read_timeout_is_retried(fake):
    body = json.loads(chat_answer({}, QWEN)[2])
    fake.script("/together/", [("sleep", {"seconds": "0.6"}, body)])
    result = service.run(chat(Target("together", token=TOKEN, timeout=0.2, retry=FAST)))
    assert result.ok, result.error
    first, second = result.attempts
    assert isinstance(first.error, TimeoutError) and first.status is None
    assert "Timeout" in calls(result)[0].error
    assert second.error is None and second.status == 200


def test_connection_reset_is_retried(fake):
    fake.script("/together/", [("reset", {}, None)])
    result = service.run(chat(Target("together", token=TOKEN, retry=FAST)))
    assert result.ok, result.error
    assert isinstance(result.attempts[0].error, NetworkError)
    assert calls(result)[0].status is None and calls(result)[0].error
    assert result.output.choices[0].message.content == "".join(CHAT_REPLY)


def test_malformed_json_is_retried(fake):
    fake.script("/together/", [(200, JSON, b'{"choices": [{"message": ')])
    result = service.run(chat(Target("together", token=TOKEN, retry=FAST)))
    assert result.ok, result.error
    assert isinstance(result.attempts[0].error, ServerError)
    assert "not valid JSON" in result.attempts[0].error.title
    assert calls(result)[0].response_body == '{"choices": [{"message": '  # what came is shown as it came


def test_retry_after_beyond_the_cap_is_not_waited_for(fake):
    fake.script("/together/", [(429, {**JSON, "retry-after": "3600"}, {"error": "Monthly credits exceeded"})])
    result = service.run(chat(Target("together", token=TOKEN, retry=FAST)))
    assert isinstance(result.error, RateLimitError) and result.error.retry_after == 3600
    assert len(result.attempts) == 1 and result.waited_s == 0


def test_the_deadline_stops_retrying(fake):
    fake.script("/together/", [(503, JSON, {"error": "down"})] * 3)
    result = service.run(chat(Target("together", token=TOKEN, retry=RetryPolicy(base_s=0.5, deadline_s=0.3))))
    assert isinstance(result.error, ServerError)
    assert len(result.attempts) == 1  # the first backoff (>= 0.5 s) would cross the deadline


# ------------------------------------------------------------------------------------------ failover


def test_provider_failing_is_replaced_by_the_next_in_the_list(fake):
    fake.script("/together/", [(500, JSON, {"error": "Internal Server Error"})] * 3)
    result = service.run(chat(Target("together", token=TOKEN, fallbacks=("fireworks-ai",), retry=FAST)))
    assert result.ok, result.error
    assert result.provider_served == "fireworks-ai"
    assert [(a.provider, a.status) for a in result.attempts] == [("together", 500)] * 3 + [("fireworks-ai", 200)]
    assert "failed over from together (500 ×3) to fireworks-ai" in result.status_line()
    assert result.raw()["attempts"][-1]["note"] == "failover from together (500)"
    # three failures in a row: together cools down for every run of the process, shown to anyone
    assert HEALTH.describe("hf_" + "SomeoneElse" * 3)[0].startswith("together cooling down, 10 s left")


def test_a_429_fails_over_at_once_and_cools_down_for_that_token_only(fake):
    fake.script("/together/", [(429, {**JSON, "retry-after": "30"}, {"error": "Too many requests"})])
    result = service.run(chat(Target("together", token=TOKEN, fallbacks=("fireworks-ai",), retry=FAST)))
    assert result.ok and result.provider_served == "fireworks-ai"
    assert [a.provider for a in result.attempts] == ["together", "fireworks-ai"] and result.waited_s == 0
    again = service.run(chat(Target("together", token=TOKEN, fallbacks=("fireworks-ai",), retry=FAST)))
    assert [a.provider for a in again.attempts] == ["fireworks-ai"]  # together skipped, not called
    assert any(n.startswith("skipped together (cooling down, 30 s left") for n in again.notes)
    other = service.run(chat(Target("together", token="hf_" + "OtherToken" * 3, fallbacks=("fireworks-ai",))))
    assert [a.provider for a in other.attempts] == ["together"]  # another account is not rate limited


def test_auto_fails_over_to_the_models_other_live_providers(fake):
    failing = {**JSON, "x-inference-provider": "together"}  # the router names the provider it picked
    fake.script("/v1/chat/completions", [(503, failing, {"error": "Service Unavailable"})] * 3)
    result = service.run(chat(Target("auto", token=TOKEN, retry=FAST)))
    assert result.ok, result.error
    assert [a.who for a in result.attempts] == ["together"] * 3 + ["fireworks-ai"]  # together not tried again
    assert calls(result)[-1].url == "https://router.huggingface.co/fireworks-ai/inference/v1/chat/completions"
    assert "failed over from together (503 ×3) to fireworks-ai" in result.status_line()


def test_only_live_providers_for_the_task_are_candidates(fake):
    assert reliability.live_providers(QWEN, "chat-completion") == ["together", "fireworks-ai", "hf-inference"]
    assert reliability.live_providers(LLAMA, "chat-completion") == ["together", "hf-inference"]  # fireworks: staging
    assert reliability.live_providers("HuggingFaceTB/SmolLM2-135M-Instruct", "text-generation") == ["hf-inference"]


def test_a_named_provider_is_kept_without_fallbacks(fake):
    fake.script("/together/", [(503, JSON, {"error": "down"})] * 3)
    result = service.run(chat(Target("together", token=TOKEN, retry=FAST)))
    assert isinstance(result.error, ServerError)
    assert {a.provider for a in result.attempts} == {"together"} and len(result.attempts) == 3


def test_failover_off_keeps_auto_on_one_provider(fake):
    fake.script("/v1/chat/completions", [(503, JSON, {"error": "down"})] * 3)
    policy = RetryPolicy(base_s=0.01, failover=False)
    result = service.run(chat(Target("auto", token=TOKEN, retry=policy)))
    assert isinstance(result.error, ServerError) and len(result.attempts) == 3


def test_balance_spreads_runs_over_live_providers(fake):
    served = [service.run(chat(Target("balance", token=TOKEN))).provider_served for _ in range(6)]
    assert sorted(served) == ["fireworks-ai"] * 2 + ["hf-inference"] * 2 + ["together"] * 2


def test_balance_prefers_the_least_busy():
    health = ProviderHealth()
    with health.busy("together"), health.busy("together"), health.busy("fireworks-ai"):
        assert health.balanced(["together", "fireworks-ai", "hf-inference"])[0] == "hf-inference"
        assert health.balanced(["together", "fireworks-ai"])[0] == "fireworks-ai"
    assert health.in_flight("together") == 0


def test_calls_in_flight_are_bounded_per_provider_and_token():
    health = ProviderHealth(per_token_limit=2)
    mine, theirs = token_key(TOKEN), token_key("hf_" + "OtherToken" * 3)
    first, second = health.busy("together", mine), health.busy("together", mine)
    first.__enter__(), second.__enter__()
    with pytest.raises(ProviderError, match="Too many runs at once on together with this token"):
        with health.busy("together", mine, wait_s=0.05):
            pass
    # another token, another provider, the local backend (its own line) and custom endpoints are not held up
    with health.busy("together", theirs), health.busy("fireworks-ai", mine), health.busy("local", mine), \
            health.busy("local", mine), health.busy("custom", mine):
        assert health.in_flight("together") == 3
    with ThreadPoolExecutor(1) as pool:  # the next call waits for a place, and gets the first one freed
        def third() -> float:
            with health.busy("together", mine, wait_s=10) as waited:
                return waited
        waiting = pool.submit(third)
        time.sleep(0.2)
        assert not waiting.done()
        first.__exit__(None, None, None)
        assert 0.15 < waiting.result(timeout=5) < 5
    second.__exit__(None, None, None)
    assert health.in_flight("together") == 0


def test_a_stream_keeps_its_place_in_flight_until_it_ends(fake):
    events = service.run_stream(chat(Target("together", token=TOKEN, retry=FAST)))
    next(events)  # its first piece has arrived; the rest is being read
    assert HEALTH.in_flight("together") == 1
    assert list(events)[-1].ok and HEALTH.in_flight("together") == 0
    abandoned = service.run_stream(chat(Target("together", token=TOKEN, retry=FAST)))
    next(abandoned)
    abandoned.close()  # the reader went away midway
    assert HEALTH.in_flight("together") == 0


# ------------------------------------------------------------------------------------------ cooldowns


def test_cooldowns_by_token_and_by_provider():
    clock, policy = Clock(), RetryPolicy(cooldown_after=3, cooldown_s=10)
    health = ProviderHealth(clock)
    a, b = token_key("hf_tokenAaaaaaaaaaaaaaaaaaaa"), token_key("hf_tokenBbbbbbbbbbbbbbbbbbbb")
    health.failed("together", a, RateLimitError("Rate limited (429)", status=429, retry_after=12), policy)
    assert health.cooldown("together", a).reason == "rate limited (429)"
    assert health.cooldown("together", b) is None
    assert health.describe("hf_tokenAaaaaaaaaaaaaaaaaaaa") == ["together cooling down, 12 s left (rate limited (429))"]
    assert health.describe("hf_tokenBbbbbbbbbbbbbbbbbbbb") == []
    for _ in range(2):
        assert health.failed("groq", a, ServerError("down", status=502), policy) is None
    assert health.failed("groq", b, ServerError("down", status=502), policy).reason == "3 failures in a row (502)"
    assert health.cooldown("groq", a) and health.cooldown("groq", b)  # server errors: everyone
    clock.now += 10.5
    assert health.cooldown("groq", a) is None and health.cooldown("together", a) is not None
    clock.now += 2
    assert health.cooldown("together", a) is None


def test_a_success_ends_the_streak():
    health, policy = ProviderHealth(), RetryPolicy(cooldown_after=3)
    for _ in range(2):
        health.failed("groq", "k", ServerError("down", status=503), policy)
    health.succeeded("groq")
    for _ in range(2):
        assert health.failed("groq", "k", ServerError("down", status=503), policy) is None


def test_custom_endpoints_are_never_tracked():
    health, policy = ProviderHealth(), RetryPolicy(cooldown_after=1)
    assert health.failed("custom endpoint https://secret.example/v1", "k", ServerError("x", status=503), policy) is None
    assert health.cooldowns("k") == []


def test_token_keys_hide_the_token():
    key = token_key(TOKEN)
    assert TOKEN not in key and TOKEN[3:] not in key and key == token_key(TOKEN) != token_key(TOKEN + "x")


# ------------------------------------------------------------------------------------------ streams


def test_stream_cut_after_5_chunks_keeps_what_arrived(fake):
    fake.script("/together/", [cut_stream(CHAT_REPLY, after=5)])
    events = list(service.run_stream(chat(Target("together", token=TOKEN, retry=FAST))))
    deltas, result = events[:-1], events[-1]
    assert [d.text for d in deltas] == CHAT_REPLY[:5]
    assert result.output == "".join(CHAT_REPLY[:5]) and result.truncated
    assert isinstance(result.error, NetworkError) and "before the answer was complete" in result.error.title
    assert len(result.attempts) == 1  # not retried behind the user's back: the text was shown
    body = result.raw()["exchanges"][-1]["response"]["body"]
    assert len(body["sse_events"]) == 5 and body["truncated"] is True
    assert "stream cut short" in result.status_line()


def test_stream_failing_before_its_first_chunk_is_retried(fake):
    fake.script("/together/", [(503, JSON, {"error": "down"}), ("reset", {}, None)])
    events = list(service.run_stream(chat(Target("together", token=TOKEN, retry=FAST))))
    result = events[-1]
    assert result.ok, result.error
    assert "".join(d.text for d in events[:-1]) == "".join(CHAT_REPLY)
    assert [a.error.kind if a.error else "ok" for a in result.attempts] == ["server", "network", "ok"]


def test_stream_idle_timeout_between_chunks(fake):
    def slow():
        for i, piece in enumerate(cut_stream(CHAT_REPLY, after=3)[2]):
            if i == 2:
                time.sleep(0.5)
            yield piece

    fake.script("/together/", [(200, {"content-type": "text/event-stream"}, slow())])
    result = list(service.run_stream(chat(Target("together", token=TOKEN, idle_timeout=0.15, retry=FAST))))[-1]
    assert result.output == "".join(CHAT_REPLY[:2]) and result.truncated
    assert isinstance(result.error, TimeoutError)


def test_truncated_chat_can_be_retried_or_continued(fake):
    fake.script("/together/", [cut_stream(CHAT_REPLY, after=3)])
    where = dict(token=TOKEN, provider="together", model=LLAMA)
    history, box, status, raw = send("chat-completion", **where, history=[], message="Capital of France?")
    assert handlers._text_of(history[-1]["content"]) == "Paris is the" + handlers.TRUNCATED
    assert box_text(box) == "" and "truncated" in status and "Paris" in raw

    kept, prompt = handlers.prepare_continue(history)
    assert handlers._text_of(kept[-1]["content"]) == "Paris is the" and prompt == handlers.CONTINUE_PROMPT
    _, _, status2, raw2 = send("chat-completion", **where, history=kept, message=prompt)
    sent = json.loads(raw2)["exchanges"][-1]["request"]["body"]["messages"]
    assert sent[-2] == {"role": "assistant", "content": "Paris is the"}  # the model sees what it already said
    assert status2.startswith("✅")

    shorter, question = handlers.take_back_last_turn(history)
    assert question == "Capital of France?" and shorter == []

    # a next question, asked after the cut reply: the model is sent what it said, never the page's mark
    _, _, _, raw3 = send("chat-completion", **where, history=history, message="And of Italy?")
    sent = json.loads(raw3)["exchanges"][-1]["request"]["body"]["messages"]
    assert sent[-2] == {"role": "assistant", "content": "Paris is the"}


# ------------------------------------------------------------------------------------------ nothing lost


def test_a_failed_run_keeps_everything_and_reruns_with_another_token(fake):
    request = RunRequest("chat-completion", QWEN, {"messages": [{"role": "user", "content": "keep me"}]},
                         {"max_tokens": 7}, target=Target("together", token="hf_invalid_Abcdefghijklmnop"))
    failed = service.run(request)
    assert isinstance(failed.error, AuthError)
    assert failed.request == request and calls(failed)[0].request_body["messages"][-1]["content"] == "keep me"
    again = service.rerun(failed, token=TOKEN)
    assert again.ok
    assert calls(again)[-1].request_body == calls(failed)[0].request_body  # same inputs and parameters


def test_advanced_settings_reach_the_run(fake):
    fake.script("/together/", [(503, JSON, {"error": "down"})] * 2)
    history, box, status, raw = send("chat-completion", token=TOKEN, provider="together", model=LLAMA, history=[],
                                     message="hi", attempts=1)
    assert "503" in status and box_text(box) == "hi"  # nothing arrived: the message is given back
    assert len(json.loads(raw)["attempts"]) == 1  # attempts=1: not retried
    fake.script("/hf-inference/", [(503, JSON, {"error": "down"})])
    _, status, raw = send("text-classification", token=TOKEN, provider="hf-inference", text="I like you",
                          model=TASKS["text-classification"].default_model, backoff_base_s=0.01)
    assert status.startswith("✅") and [a["status"] for a in json.loads(raw)["attempts"]] == [503, 200]
    with pytest.raises(Exception):
        handlers.reliability_settings(backoff_base_s=-1)
    assert handlers.reliability_settings(fallback_providers="together, fireworks-ai")["fallbacks"] == ("together", "fireworks-ai")


# ------------------------------------------------------------------------------------------ concurrency


def test_parallel_runs_with_distinct_tokens_through_faults(fake):
    """50 runs at once, each with its own token; even tokens meet a 429 on together and fail over."""
    tokens = [f"hf_Parallel{i:02d}Abcdefghijklmnopqrstuvwxyz" for i in range(50)]
    for i, tok in enumerate(tokens):
        if i % 2 == 0:
            fake.script("/together/", [(429, {**JSON, "retry-after": "30"}, {"error": "Too many requests"})], token=tok)

    def one(i: int) -> service.RunResult:
        return service.run(chat(Target("together", token=tokens[i], fallbacks=("hf-inference",), retry=FAST),
                                model=LLAMA, text=f"question {i}"))

    for wave in (1, 2):
        with ThreadPoolExecutor(50) as pool:
            results = list(pool.map(one, range(50)))
        assert all(r.ok for r in results), [r.error for r in results if not r.ok]  # 0 lost
        for i, r in enumerate(results):
            asked = [e.request_body["messages"][-1]["content"] for e in calls(r)]
            assert set(asked) == {f"question {i}"}  # 0 cross-run leaks in the exchanges
            others = [t for t in tokens if t != tokens[i]]
            text = repr(r.raw()) + r.status_line()
            assert not any(t in text for t in [tokens[i], *others])
            if i % 2:  # odd tokens: never rate limited, never cooled down by another token's 429
                assert [a.provider for a in r.attempts] == ["together"] and r.provider_served == "together"
            elif wave == 1:  # 429 -> cooled down for this token -> failed over at once, no wait
                assert [a.provider for a in r.attempts] == ["together", "hf-inference"] and r.waited_s == 0
            else:  # still cooling down for this token: together skipped
                assert [a.provider for a in r.attempts] == ["hf-inference"]
    # what the server received: each request carried the token of the run that asked
    for req in fake.received:
        if "/chat/completions" in req.path:
            i = int(json.loads(req.body)["messages"][-1]["content"].split()[-1])
            assert req.headers.get("authorization") == f"Bearer {tokens[i]}"
    assert sum(1 for r in fake.received if r.path.startswith("/together/")) == 50 + 25  # wave 1: 50, wave 2: odd
    for i, tok in enumerate(tokens):
        assert bool(HEALTH.describe(tok)) == (i % 2 == 0)
    assert HEALTH.in_flight("together") == 0 and HEALTH.in_flight("hf-inference") == 0


def test_gradio_client_callers_get_the_advanced_defaults_or_their_own(client, fake):
    fake.script("/hf-inference/", [(503, JSON, {"error": "down"})])
    _, status, raw = client.predict(token=TOKEN, provider="hf-inference", text="I like you", api_name="/text_classification")
    assert status.startswith("✅") and "after 1 retry" in status  # the accordion's defaults: 3 attempts
    fake.script("/hf-inference/", [(503, JSON, {"error": "down"})])
    _, status, raw = client.predict(token=TOKEN, provider="hf-inference", text="I like you", attempts=1,
                                    api_name="/text_classification")
    assert status.startswith("❌") and len(json.loads(raw)["attempts"]) == 1
