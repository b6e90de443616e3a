"""The picker handlers as plain functions (no server), against the fake Hub and router."""

from __future__ import annotations

import pytest

from playground import capture, hub, pickers
from tests.conftest import TOKEN
from tests.fakes.server import HEAD_SHA, history
from tests.test_hub import LLAMA, SST2, _Offline

CHAT = "chat-completion"


@pytest.fixture(autouse=True)
def fresh_cache():
    hub.clear_cache()
    yield
    hub.clear_cache()


def values(update) -> list[str]:
    return [value for _, value in update["choices"]]


def labels(update) -> list[str]:
    return [label for label, _ in update["choices"]]


def test_typing_searches_the_hub_and_keeps_any_id(fake):
    update = pickers.model_choices(CHAT, "llama", TOKEN, "auto", "my/own-model")
    assert values(update) == [LLAMA]
    assert "gated" in labels(update)[0] and "matching 'llama'" in update["info"]
    assert "value" not in update  # the typed text stays as it is


def test_search_follows_the_provider_picked(fake):
    update = pickers.model_choices("text-classification", "", TOKEN, "together", None)
    assert "served by together" in update["info"]
    update = pickers.model_choices("text-classification", "", TOKEN, "hf-inference", None)
    assert SST2 in values(update) and "served by hf-inference" in update["info"]


def test_picking_a_model_shows_summary_providers_prices_and_revisions(fake):
    summary, providers, revision, note, provider = pickers.model_picked(CHAT, TOKEN, "auto", LLAMA)
    assert "llama3.1" in summary and "gated" in summary
    assert "| together | live | `meta-llama/Llama-3.1-8B-Instruct-Turbo` | $0.18 | $0.18 | 131,072 | 142 tok/s | 0.35 s | yes | yes |" in providers
    assert "**:fastest** picks **together** now: the highest throughput, 142 tok/s" in providers
    assert "**:cheapest** picks **hf-inference** now: the lowest output price, $0.1 per 1M output tokens" in providers
    assert values(revision) == ["main", "dev", "v1.0", "v0.9", *[c["id"] for c in history(LLAMA)]]
    assert "v1.0 · tag · " in labels(revision)[2] and revision["value"] == "main"
    assert f"`main` → commit `{HEAD_SHA[:7]}`" in note and "cannot be pinned to a commit" in note
    # the header's provider dropdown offers the providers serving the model, with status and price
    options = dict((value, label) for label, value in provider["choices"])
    assert options["together"] == "together · live · $0.18 in / $0.18 out per 1M"
    assert options[":fastest"].startswith("Fastest → together now (142 tok/s")
    assert options[":cheapest"] == "Cheapest → hf-inference now ($0.1 per 1M output tokens)"
    assert "replicate" not in options and {"auto", "local", "custom"} <= set(options)


def test_provider_that_does_not_serve_the_model_stays_selectable_and_says_so(fake):
    *_, provider = pickers.model_picked(CHAT, TOKEN, "replicate", LLAMA)
    assert ("replicate (does not serve this model)", "replicate") in provider["choices"]


def test_non_chat_task_explains_the_policies(fake):
    summary, providers, *_ , provider = pickers.model_picked("text-classification", TOKEN, "hf-inference", SST2)
    assert "| hf-inference | live |" in providers and "$ / 1M" not in providers
    assert "chat routing policies" in providers
    assert dict((v, lab) for lab, v in provider["choices"])[":fastest"].startswith("Fastest (chat only")


def test_revision_note_warns_of_drift(fake):
    note = pickers.revision_note(TOKEN, LLAMA, "v0.9")
    assert f"`v0.9` → commit `{history(LLAMA)[2]['id'][:7]}`" in note
    assert "main has moved 2 commits past v0.9" in note and "cannot be pinned" in note
    assert "Revision 'nope' does not exist" in pickers.revision_note(TOKEN, LLAMA, "nope")


def test_model_not_on_the_hub(fake):
    summary, providers, revision, note, provider = pickers.model_picked(CHAT, TOKEN, "auto", "nobody/nothing")
    assert "not found on the Hub" in summary
    assert values(revision) == ["main"]


def test_token_status_line_and_bill_to_choices(fake):
    line, bill_to = pickers.token_status(TOKEN)
    assert "✅ Token of **tester**" in line and "fine-grained" in line and "inference.serverless.write" in line
    assert TOKEN not in line
    assert bill_to["choices"] == [pickers.OWN_ACCOUNT, ("acme-corp (Enterprise)", "acme-corp"), ("reading-club", "reading-club")]


def test_invalid_token_line(fake):
    line, bill_to = pickers.token_status("hf_invalid" + "z" * 27)
    assert line.startswith("❌ **The Hub refused this token**") and "z" * 27 not in line
    assert bill_to["choices"] == [pickers.OWN_ACCOUNT]


def test_token_without_inference_permission_line(fake):
    line, _ = pickers.token_status("hf_noinfer" + "a" * 27)
    assert line.startswith("⚠️") and "Make calls to Inference Providers" in line


def test_token_is_checked_while_typing_only_once_whole(fake):
    assert pickers.token_typed("hf_abc") == (pickers.gr.skip(), pickers.gr.skip())
    assert not fake.received
    line, _ = pickers.token_typed("hf_" + "A" * 34)
    assert "tester" in line and len(fake.received) == 1
    assert pickers.token_typed("")[0] == pickers.NO_TOKEN


def test_every_picker_works_offline_with_typed_values(fake_hf):
    capture.install(_Offline())
    try:
        summary, providers, revision, note, provider = pickers.model_picked(CHAT, TOKEN, "auto", "my-org/my-model")
        assert "The Hub could not be reached" in summary
        update = pickers.model_choices(CHAT, "my-org/my-model", TOKEN, "auto", "my-org/my-model")
        assert "The Hub could not be reached" in update["info"] and "my-org/my-model" in values(update)
        assert values(revision) == ["main"] and "cannot be pinned" in note
        assert "replicate" in values(provider)  # every provider, since the Hub cannot say which serve it
        assert "The Hub could not be reached" in pickers.revision_note(TOKEN, "my-org/my-model", "v2")
        line, bill_to = pickers.token_status(TOKEN)
        assert "The Hub could not be reached" in line and TOKEN not in line
    finally:
        capture.install(fake_hf.transport())
