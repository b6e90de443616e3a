"""The Hub behind the pickers, against the fake Hub and router over real HTTP (huggingface_hub's own client)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import concurrent.futures
import threading
import time

import httpx2
import pytest

from playground import capture, errors, hub, service
from playground.service import RunRequest, Target
from tests.conftest import TOKEN
from tests.fakes.server import HEAD_SHA, history, model_info

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
SST2 = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
PRIVATE = "acme-corp/private-sentiment"


@pytest.fixture(autouse=True)
def fresh_cache():
    hub.clear_cache()
    yield
    hub.clear_cache()


def hub_requests(fake, path_start: str = "/api/") -> list:
    return [r for r in fake.received if r.path.startswith(path_start)]


def query_of(request) -> dict[str, list[str]]:
    return parse_qs(urlparse(request.path).query)


# ------------------------------------------------------------------------------------------ search


def test_search_is_filtered_by_task_and_provider(fake):
    hits = hub.search_models("text-classification", token=TOKEN, provider="hf-inference")
    assert SST2 in [h.id for h in hits]
    assert all(h.task == "text-classification" for h in hits)
    sent = query_of(hub_requests(fake, "/api/models?")[-1])
    assert sent["pipeline_tag"] == ["text-classification"] and sent["inference_provider"] == ["hf-inference"]
    # no text-classification model is served by together
    assert hub.search_models("text-classification", token=TOKEN, provider="together") == []
    # chat models are found by their conversational tag, on any provider when none is named
    chat = hub.search_models("chat-completion", "llama", token=TOKEN, provider="auto")
    assert [h.id for h in chat] == [LLAMA]
    sent = query_of(hub_requests(fake, "/api/models?")[-1])
    assert sent["filter"] == ["conversational"] and sent["inference_provider"] == ["all"] and sent["search"] == ["llama"]


def test_search_sorts_by_trending_downloads_or_likes(fake):
    trending = [h.id for h in hub.search_models("text-classification", token=TOKEN, sort="trending")]
    downloads = [h.id for h in hub.search_models("text-classification", token=TOKEN, sort="downloads")]
    assert trending[0] == "cardiffnlp/twitter-roberta-base-sentiment-latest"
    assert downloads[0] == SST2
    assert query_of(hub_requests(fake, "/api/models?")[-1])["sort"] == ["downloads"]


def test_local_target_searches_every_model_of_the_task(fake):
    hub.search_models("text-classification", provider="local")
    assert "inference_provider" not in query_of(hub_requests(fake, "/api/models?")[-1])


def test_gated_and_private_are_marked_and_private_needs_the_token(fake):
    llama = hub.search_models("chat-completion", "Llama", token=TOKEN)[0]
    assert llama.gated == "manual" and "gated" in llama.label
    with_token = {h.id: h for h in hub.search_models("text-classification", token=TOKEN)}
    assert with_token[PRIVATE].private and "private" in with_token[PRIVATE].label
    without = [h.id for h in hub.search_models("text-classification")]
    assert PRIVATE not in without
    # the anonymous search did not reuse the token's cached answer
    assert len([r for r in hub_requests(fake, "/api/models?") if "pipeline_tag=text-classification" in r.path]) == 2


# ------------------------------------------------------------------------------------------ summary and providers


def test_model_summary(fake):
    s = hub.model_summary(LLAMA, token=TOKEN)
    assert (s.task, s.library, s.license, s.gated, s.private) == ("text-generation", "transformers", "llama3.1", "manual", False)
    assert s.downloads == 5_700_000 and s.likes == 4_300 and s.last_modified.year == 2025
    text = s.markdown()
    for part in ("https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct", "5.7M", "4.3k", "gated", "llama3.1", "2025-03-14"):
        assert part in text
    assert "inferenceProviderMapping" in query_of(hub_requests(fake)[-1])["expand"]


def test_providers_and_prices_for_a_chat_model(fake):
    table = hub.model_providers(LLAMA, "chat-completion", token=TOKEN)
    assert [o.provider for o in table.offers] == ["hf-inference", "together"]  # live, cheapest first
    together = {o.provider: o for o in table.offers}["together"]
    assert together.status == "live" and together.provider_id == f"{LLAMA}-Turbo"
    assert (together.input_price, together.output_price, together.context_length) == (0.18, 0.18, 131072)
    assert together.throughput == 142.5 and together.first_token_ms == 350.0 and together.tools is True
    assert table.fastest.provider == "together" and table.cheapest.provider == "hf-inference"
    assert "$0.05 in / $0.1 out per 1M" in {o.provider: o for o in table.offers}["hf-inference"].label
    assert any(r.host == "router.huggingface.co" and r.path == "/v1/models" for r in fake.received)


def test_staging_provider_is_listed_but_never_picked_by_a_policy(fake):
    table = hub.model_providers("mistralai/Mistral-7B-Instruct-v0.3", "chat-completion")
    assert [(o.provider, o.status) for o in table.offers] == [("together", "live"), ("fireworks-ai", "staging")]
    assert table.fastest.provider == table.cheapest.provider == "together"


def test_providers_for_another_task_are_named(fake):
    # SmolLM2 is served by hf-inference for text-generation and by together for chat
    table = hub.model_providers("HuggingFaceTB/SmolLM2-135M-Instruct", "text-generation")
    assert [o.provider for o in table.offers] == ["hf-inference"] and table.other_tasks == ("conversational",)
    assert table.fastest is None  # no router figures outside chat
    assert not any(r.path == "/v1/models" for r in fake.received)


def test_providers_without_router_figures_still_list_the_mapping(fake):
    fake.script("/v1/models", [(503, {"content-type": "application/json"}, {"error": "down"})])
    table = hub.model_providers(LLAMA, "chat-completion")
    assert {o.provider for o in table.offers} == {"together", "hf-inference"}
    assert all(o.output_price is None for o in table.offers) and "could not be read" in table.figures_missing


def test_widget_examples_come_with_the_summarys_model_info(fake):
    summary = hub.model_summary(LLAMA, token=TOKEN)
    examples = hub.widget_examples(LLAMA, token=TOKEN)
    assert [e["example_title"] for e in examples] == ["Winter holidays", "Programming assistant"]
    assert examples[0]["messages"][1] == {"role": "user", "content": "Can you recommend a good destination for Winter holidays?"}
    info = [r for r in hub_requests(fake) if r.path.startswith(f"/api/models/{LLAMA}?")]
    assert len(info) == 1 and "widgetData" in query_of(info[0])["expand"] and summary.id == LLAMA
    # a model whose page has no widget examples: none, and no error
    assert hub.widget_examples("facebook/detr-resnet-50") == ()


def test_widget_examples_when_the_hub_cannot_be_reached_raise_like_every_question(offline):
    with pytest.raises(errors.NetworkError):
        hub.widget_examples(LLAMA)


# ------------------------------------------------------------------------------------------ revisions


def test_branches_tags_and_commits(fake):
    revs = hub.list_revisions(LLAMA, token=TOKEN)
    commits = history(LLAMA)
    assert dict(revs.branches) == {"main": HEAD_SHA, "dev": commits[1]["id"]}
    assert dict(revs.tags) == {"v1.0": commits[1]["id"], "v0.9": commits[2]["id"]}
    assert [c.sha for c in revs.commits] == [c["id"] for c in commits]
    assert revs.commits[0].title == "Update README.md"


@pytest.mark.parametrize("revision, index", [("main", 0), ("v1.0", 1), ("dev", 1), ("v0.9", 2)])
def test_branch_or_tag_resolves_to_the_full_sha(fake, revision, index):
    resolved = hub.resolve_revision(LLAMA, revision, token=TOKEN)
    assert resolved.sha == history(LLAMA)[index]["id"] and len(resolved.sha) == 40
    assert resolved.main_sha == HEAD_SHA
    assert any(f"/revision/{revision}" in r.path for r in fake.received)


def test_drift_when_main_moved_past_the_pin(fake):
    pinned = hub.resolve_revision(LLAMA, "v0.9")
    assert pinned.moved
    assert "main has moved 2 commits past v0.9" in pinned.drift(hub.list_revisions(LLAMA).commits)
    assert HEAD_SHA[:7] in pinned.drift()
    assert not hub.resolve_revision(LLAMA, "main").moved
    assert not hub.resolve_revision(LLAMA, HEAD_SHA).moved  # main's own commit, pinned: no drift
    assert hub.resolve_revision(LLAMA, HEAD_SHA).drift() == ""


def test_unknown_revision_is_a_clear_error(fake):
    with pytest.raises(errors.NotFoundError) as caught:
        hub.resolve_revision(LLAMA, "v9.9")
    assert "Revision 'v9.9' does not exist for meta-llama/Llama-3.1-8B-Instruct" in caught.value.title
    assert "Revision list" in caught.value.fix


def test_unknown_revision_stops_the_run_before_any_inference_call(fake):
    request = RunRequest("chat-completion", LLAMA, {"messages": [{"role": "user", "content": "hi"}]},
                         revision="no-such-branch", target=Target("together", token=TOKEN))
    for result in (service.run(request), list(service.run_stream(request))[-1]):
        assert isinstance(result.error, errors.NotFoundError)
        assert "Revision 'no-such-branch' does not exist" in result.error.display()
    assert not [r for r in fake.received if r.host == "router.huggingface.co"]


def test_run_records_the_sha_and_says_main_moved(fake):
    request = RunRequest("chat-completion", LLAMA, {"messages": [{"role": "user", "content": "hi"}]},
                         revision="v1.0", target=Target("together", token=TOKEN))
    result = service.run(request)
    assert result.ok, result.error
    sha = history(LLAMA)[1]["id"]
    assert result.revision == sha
    line = result.status_line()
    assert f"{LLAMA}@{sha[:7]}" in line and "main is now" in line and "not pinned" in line
    # the lookups are in the raw exchange, apart from the inference call
    assert any("/revision/v1.0" in e["request"]["url"] for e in result.raw()["hub_lookups"])


def test_main_is_resolved_and_shown_as_model_at_sha(fake):
    result = service.run(RunRequest("text-classification", SST2, {"text": "hi"}, target=Target("hf-inference", token=TOKEN)))
    assert result.ok and result.revision == HEAD_SHA
    assert f"{SST2}@{HEAD_SHA[:7]}" in result.status_line() and "not pinned" not in result.status_line()


# ------------------------------------------------------------------------------------------ token


def test_token_check_names_user_orgs_and_scopes_never_the_token(fake):
    status = hub.check_token(TOKEN)
    assert status.user == "tester" and status.orgs == ("acme-corp", "reading-club")
    assert status.enterprise_orgs == ("acme-corp",)
    assert status.role == "fineGrained" and hub.INFERENCE_PERMISSION in status.permissions
    assert status.can_infer and not status.problem
    assert TOKEN not in repr(status)
    assert [r.headers.get("authorization") or r.headers.get("Authorization") for r in hub_requests(fake)] == [f"Bearer {TOKEN}"]


def test_a_checked_tokens_plan_is_found_by_its_users_name_without_asking_the_hub(fake):
    assert hub.checked_plan("propaula") is None  # no token of theirs checked: nothing, and nothing asked
    hub.check_token("hf_as_propaula_" + "p" * 24)
    asked = len(hub_requests(fake))
    plan = hub.checked_plan("propaula")
    assert (plan.user, plan.plan, plan.included_usd) == ("propaula", "PRO", 2.0)
    assert [(o.name, o.plan) for o in plan.orgs] == [("acme-corp", "Team")]
    assert hub.checked_plan("tester") is None and len(hub_requests(fake)) == asked
    hub.clear_cache()
    assert hub.checked_plan("propaula") is None  # forgotten with the whoami answer


def test_invalid_token_says_so(fake):
    with pytest.raises(errors.AuthError) as caught:
        hub.check_token("hf_invalid" + "x" * 27)
    assert "Invalid" in caught.value.display() and "x" * 27 not in caught.value.display()


def test_token_without_inference_permission_says_what_to_change(fake):
    status = hub.check_token("hf_noinfer" + "a" * 27)
    assert status.can_infer is False
    assert "Make calls to Inference Providers" in status.problem and "settings/tokens" in status.problem
    assert hub.check_token("hf_read" + "a" * 30).can_infer  # a classic read token may call providers


def test_no_token_anywhere(fake):
    assert hub.check_token(None) is None and hub.check_token("  ") is None
    assert not fake.received


# ------------------------------------------------------------------------------------------ cache


def test_repeated_picks_ask_the_hub_once(fake):
    for _ in range(3):
        hub.model_summary(LLAMA, token=TOKEN)
        hub.model_providers(LLAMA, "chat-completion", token=TOKEN)
        hub.list_revisions(LLAMA, token=TOKEN)
        hub.resolve_revision(LLAMA, "v1.0", token=TOKEN)
        hub.search_models("chat-completion", "llama", token=TOKEN)
        hub.check_token(TOKEN)
    paths = [r.path.split("?")[0] for r in fake.received]
    assert sorted(paths) == sorted([
        f"/api/models/{LLAMA}",  # summary and providers share one model info
        "/v1/models",
        f"/api/models/{LLAMA}/refs",
        f"/api/models/{LLAMA}/commits/main",
        f"/api/models/{LLAMA}/revision/v1.0",
        f"/api/models/{LLAMA}/revision/main",
        "/api/models",
        "/api/whoami-v2",
    ])


def test_concurrent_picks_share_one_hub_call(fake):
    # the UI asks for the summary and the providers of one model at once, from several threads
    fake.script(f"/api/models/{LLAMA}?", [("sleep", {"seconds": "0.3"}, model_info(LLAMA))])  # a slow Hub
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: hub.model_summary(LLAMA, token=TOKEN), range(8)))
    assert len(hub_requests(fake)) == 1


def test_cache_is_per_token(fake):
    hub.model_summary(LLAMA, token=TOKEN)
    hub.model_summary(LLAMA, token="hf_" + "b" * 34)
    hub.model_summary(LLAMA, token=TOKEN)
    assert len(hub_requests(fake)) == 2


def test_cache_entries_expire():
    cache = hub.TTLCache()
    calls = []
    assert cache.get_or_compute(("k",), 60, lambda: calls.append(1) or "a") == "a"
    assert cache.get_or_compute(("k",), 60, lambda: calls.append(1) or "b") == "a"
    cache.put(("k",), "old", ttl=-1)  # already expired
    assert cache.get_or_compute(("k",), 60, lambda: calls.append(1) or "c") == "c"
    assert len(calls) == 2


# ------------------------------------------------------------------------------------------ no network


class _Offline(httpx2.BaseTransport):
    def handle_request(self, request):
        raise httpx2.ConnectError("[Errno -2] Name or service not known", request=request)


@pytest.fixture
def offline(fake_hf):
    capture.install(_Offline())
    yield
    capture.install(fake_hf.transport())


def test_no_network_says_the_hub_could_not_be_reached(offline):
    with pytest.raises(errors.NetworkError) as caught:
        hub.model_summary(LLAMA)
    assert "Name or service not known" in caught.value.message
    # then every question is answered at once: the Hub is remembered unreachable for a while
    with pytest.raises(errors.NetworkError) as caught:
        hub.search_models("chat-completion", "llama")
    assert "Hub could not be reached" in caught.value.title
    assert "Hub could not be reached" in hub_failure(lambda: hub.list_revisions(LLAMA)).title


def test_a_listing_does_not_wait_for_the_backoff_when_offline(offline, fake_hf, monkeypatch):
    # huggingface_hub retries network errors of listings for ~30 s; a probe finds the Hub unreachable first
    monkeypatch.setattr(hub, "PROBE_AFTER_S", 0.05)
    started = time.perf_counter()
    err = hub_failure(lambda: hub.search_models("chat-completion", "llama"))
    assert isinstance(err, errors.NetworkError) and "Name or service not known" in err.message
    assert time.perf_counter() - started < hub.WAIT_S  # not the timeout: the probe's own error
    # the abandoned listing goes on retrying in its thread; with the network back, it ends on its own
    capture.install(fake_hf.transport())
    for thread in [t for t in threading.enumerate() if t.name == "hub-listing"]:
        thread.join(timeout=20)
        assert not thread.is_alive()


def hub_failure(call) -> errors.PlaygroundError:
    with pytest.raises(errors.PlaygroundError) as caught:
        call()
    return caught.value


def test_a_run_goes_on_when_the_hub_is_unreachable(offline, fake_hf):
    capture.install(_OnlyRouter(fake_hf.url))
    result = service.run(RunRequest("text-classification", SST2, {"text": "hi"}, revision="main",
                                    target=Target("custom", endpoint_url=f"{fake_hf.url}/models/{SST2}")))
    assert result.ok  # a custom endpoint needs no Hub at all
    result = service.run(RunRequest("chat-completion", LLAMA, {"messages": [{"role": "user", "content": "hi"}]},
                                    target=Target("auto", token=TOKEN)))
    assert result.ok, result.error
    assert result.revision == "main" and "revision main not checked" in result.status_line()


class _OnlyRouter(httpx2.BaseTransport):
    """The router answers (the fake), the Hub does not."""

    def __init__(self, fake_url: str) -> None:
        from tests.fakes.server import RoutingTransport

        self._inner = RoutingTransport(fake_url)

    def handle_request(self, request):
        if request.url.host == "huggingface.co":
            raise httpx2.ConnectError("[Errno -2] Name or service not known", request=request)
        return self._inner.handle_request(request)


# ------------------------------------------------------------------------------------------ datasets


def test_dataset_files_are_listed_with_sizes_and_cached_per_token(fake):
    from tests.fakes.answers import DATASETS

    files = hub.dataset_files("playground-tests/reviews")
    expected = DATASETS["playground-tests/reviews"]["files"]
    assert {f.path: f.size for f in files} == {p: len(b) for p, b in expected.items()}  # files only, no folders
    hub.dataset_files("playground-tests/reviews")
    assert len(hub_requests(fake, "/api/datasets/")) == 1  # asked once
    hub.dataset_files("playground-tests/reviews", token=TOKEN)
    assert len(hub_requests(fake, "/api/datasets/")) == 2  # another token: asked again, its own answer


def test_a_dataset_revision_names_its_commit_and_its_card_and_is_cached(fake):
    from tests.fakes.answers import dataset_commit

    found = hub.dataset_revision("playground-tests/carded")
    assert found.sha == dataset_commit("playground-tests/carded", "main") and found.revision == "main"
    assert [c["config_name"] for c in found.card["configs"]] == ["short", "reviews"] and found.card["license"] == "mit"
    assert hub.dataset_revision("playground-tests/carded") == found
    assert [r.path.split("?")[0] for r in hub_requests(fake, "/api/datasets/")] == [
        "/api/datasets/playground-tests/carded/revision/main"]  # asked once
    assert hub.dataset_revision("playground-tests/scripted", hub.PARQUET_REVISION).sha == dataset_commit(
        "playground-tests/scripted", hub.PARQUET_REVISION)  # a branch's own commit
    with pytest.raises(errors.NotFoundError) as caught:
        hub.dataset_revision("playground-tests/carded", "v9")
    assert "Revision 'v9' does not exist for the dataset" in caught.value.title
    with pytest.raises(errors.NotFoundError):  # a private dataset without a token that reads it
        hub.dataset_revision("acme-corp/private-tickets")


def test_a_private_datasets_files_are_found_only_with_a_token_that_reads_it(fake):
    with pytest.raises(errors.NotFoundError) as caught:
        hub.dataset_files("acme-corp/private-tickets")
    assert "Dataset 'acme-corp/private-tickets' not found" in caught.value.title
    assert [f.path for f in hub.dataset_files("acme-corp/private-tickets", token=TOKEN)] == [
        "README.md", "data/train-00000-of-00001.parquet"]


def test_a_dataset_file_is_downloaded_into_memory_with_the_hubs_metadata(fake):
    from pathlib import Path

    from huggingface_hub import constants

    from tests.fakes.answers import DATASETS

    data = hub.dataset_file("playground-tests/scripted", "default/train/0000.parquet", hub.PARQUET_REVISION)
    assert data == DATASETS["playground-tests/scripted"]["converted"]["default/train/0000.parquet"]
    head, get = [r for r in fake.received if "/resolve/" in r.path]
    assert (head.method, get.method) == ("HEAD", "GET")
    assert head.path == "/datasets/playground-tests/scripted/resolve/refs%2Fconvert%2Fparquet/default/train/0000.parquet"
    # downloaded into a temporary folder, removed at once: never into the cache the server's users share
    assert not (Path(constants.HF_HUB_CACHE) / "datasets--playground-tests--scripted").exists()
