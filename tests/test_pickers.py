"""The picker handlers as plain functions (no server), against the fake Hub and router."""

from __future__ import annotations

import pytest

from playground import capture, hub, pickers
from playground.tasks import TASKS
from tests.conftest import TOKEN
from tests.fakes.server import HEAD_SHA, WIDGET_DATA, history
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
    summary, providers, revision, note, provider, card, examples = pickers.model_picked(CHAT, TOKEN, "auto", LLAMA)
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
    *_, provider, card, examples = pickers.model_picked(CHAT, TOKEN, "replicate", LLAMA)
    assert ("replicate (does not serve this model)", "replicate") in provider["choices"]


def test_non_chat_task_explains_the_policies(fake):
    summary, providers, *_, provider, card, examples = pickers.model_picked("text-classification", TOKEN, "hf-inference", SST2)
    assert "| hf-inference | live |" in providers and "$ / 1M" not in providers
    assert "chat routing policies" in providers
    assert dict((v, lab) for lab, v in provider["choices"])[":fastest"].startswith("Fastest (chat only")


def test_revision_note_warns_of_drift(fake):
    note = pickers.revision_note(TOKEN, LLAMA, "v0.9")
    assert f"`v0.9` → commit `{history(LLAMA)[2]['id'][:7]}`" in note
    assert "main has moved 2 commits past v0.9" in note and "cannot be pinned" in note
    assert "Revision 'nope' does not exist" in pickers.revision_note(TOKEN, LLAMA, "nope")


def test_model_not_on_the_hub(fake):
    summary, providers, revision, note, provider, card, examples = pickers.model_picked(CHAT, TOKEN, "auto", "nobody/nothing")
    assert "not found on the Hub" in summary
    assert values(revision) == ["main"]
    assert card["visible"] is False and examples == []  # no examples, and nothing said about them


def test_token_status_line_and_bill_to_choices(fake):
    line, bill_to = pickers.token_status(TOKEN)
    assert "✅ Token of **tester**" in line and "fine-grained" in line and "inference.serverless.write" in line
    assert TOKEN not in line
    assert bill_to["choices"] == [pickers.OWN_ACCOUNT, ("acme-corp (Enterprise)", "acme-corp")]  # reading-club cannot be billed


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


def test_a_provider_picked_by_hand_counts_as_chosen_and_takes_back_the_switched_sentence(fake):
    """After a check moved the provider from Local to auto (and the line said so), the person picks a provider
    themselves, Local again say: it counts as chosen, and the token line is written again from the check's answer,
    without the sentence. A token with no checked answer leaves the line alone (and the Hub is not asked)."""
    from playground.service import LOCAL

    checked, _ = pickers.token_typed(TOKEN)  # pasted: the token step checks it
    assert pickers.provider_after_token(TOKEN, LOCAL, False) == (pickers.SWITCHED_TO_AUTO, "auto")
    asked = len(fake.received)
    picked, line = pickers.provider_picked(TOKEN)  # the picker's own input event, Local picked again
    assert picked is True and line == checked and pickers.SWITCHED_TO_AUTO not in line and TOKEN not in line
    assert pickers.provider_after_token(TOKEN, LOCAL, picked) == ("", pickers.gr.skip())  # it stays on Local
    for unchecked in (None, "", "hf_abc", "hf_invalid" + "z" * 27):  # none, being typed, never checked
        assert pickers.provider_picked(unchecked) == (True, pickers.gr.skip())
    assert len(fake.received) == asked  # all from the check's cached answer


def test_every_picker_works_offline_with_typed_values(fake_hf):
    capture.install(_Offline())
    try:
        summary, providers, revision, note, provider, card, examples = pickers.model_picked(CHAT, TOKEN, "auto", "my-org/my-model")
        assert "The Hub could not be reached" in summary
        assert card == {"__type__": "update", "samples": [], "visible": False} and examples == []
        update = pickers.model_choices(CHAT, "my-org/my-model", TOKEN, "auto", "my-org/my-model")
        assert "The Hub could not be reached" in update["info"] and "my-org/my-model" in values(update)
        assert values(revision) == ["main"] and "cannot be pinned" in note
        assert "replicate" in values(provider)  # every provider, since the Hub cannot say which serve it
        assert "The Hub could not be reached" in pickers.revision_note(TOKEN, "my-org/my-model", "v2")
        line, bill_to = pickers.token_status(TOKEN)
        assert "The Hub could not be reached" in line and TOKEN not in line
    finally:
        capture.install(fake_hf.transport())


# ------------------------------------------------------------------------------------------ model-card examples


def test_widget_text_goes_to_the_main_text_input_of_each_tab():
    example = {"text": "I like you. I love you", "example_title": "Love"}
    assert pickers.widget_inputs(TASKS["text-classification"], example) == {"text": "I like you. I love you"}
    assert pickers.widget_inputs(TASKS["text-generation"], example) == {"prompt": "I like you. I love you"}
    assert pickers.widget_inputs(TASKS["text-to-image"], {"text": "An astronaut"}) == {"prompt": "An astronaut"}
    assert pickers.widget_inputs(TASKS[CHAT], example) == {"messages": "I like you. I love you"}  # not the system prompt
    # a question and its context; a question and its table ({column: [cells]})
    assert pickers.widget_inputs(TASKS["question-answering"], {"text": "Where do I live?", "context": "In Berlin."}) == {
        "question": "Where do I live?", "context": "In Berlin."}
    table = pickers.widget_inputs(TASKS["table-question-answering"], {"text": "How many?", "table": {"A": [1, 2], "B": ["x"]}})
    assert table == {"table": {"headers": ["A", "B"], "data": [["1", "x"], ["2", ""]]}, "query": "How many?"}
    rows = pickers.widget_inputs(TASKS["tabular-regression"], {"structured_data": {"Length": [23.2, 24]}})
    assert rows == {"table": {"headers": ["Length"], "data": [["23.2"], ["24"]]}}


def test_widget_zero_shot_labels_go_to_the_labels_input():
    example = {"text": "My phone overheats.", "candidate_labels": "mobile, website, billing", "multi_class": False}
    assert pickers.widget_inputs(TASKS["zero-shot-classification"], example) == {
        "text": "My phone overheats.", "candidate_labels": "mobile, website, billing"}
    # in a tab without labels, the text alone
    assert pickers.widget_inputs(TASKS["text-classification"], example) == {"text": "My phone overheats."}


def test_widget_sentence_similarity_gives_one_sentence_a_line():
    example = {"source_sentence": "That is a happy person", "sentences": ["That is a happy dog", "Today is a sunny day"]}
    assert pickers.widget_inputs(TASKS["sentence-similarity"], example) == {
        "sentence": "That is a happy person", "other_sentences": "That is a happy dog\nToday is a sunny day"}


def test_widget_chat_messages_give_the_system_prompt_and_the_last_user_message():
    example = WIDGET_DATA[LLAMA][0]
    assert pickers.widget_inputs(TASKS[CHAT], example) == {
        "messages": "Can you recommend a good destination for Winter holidays?",
        "system": "You are a helpful and honest assistant. Please, respond concisely and truthfully."}
    turns = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
                          {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                                       {"type": "image_url", "image_url": {"url": "https://x/cat.png"}}]}]}
    assert pickers.widget_inputs(TASKS[CHAT], turns) == {"messages": "What is this?"}
    assert pickers.widget_inputs(TASKS["text-generation"], example) == {
        "prompt": "Can you recommend a good destination for Winter holidays?"}


def test_widget_image_and_audio_urls_go_to_media_inputs():
    tiger = {"src": "https://huggingface.co/datasets/mishig/sample_images/resolve/main/tiger.jpg", "example_title": "Tiger"}
    assert pickers.widget_inputs(TASKS["image-classification"], tiger) == {"image": tiger["src"]}
    assert pickers.widget_inputs(TASKS["visual-question-answering"], {**tiger, "text": "What animal?"}) == {
        "image": tiger["src"], "question": "What animal?"}
    assert pickers.widget_inputs(TASKS["zero-shot-image-classification"], {**tiger, "candidate_labels": "cat, tiger"}) == {
        "image": tiger["src"], "candidate_labels": "cat, tiger"}
    assert pickers.widget_inputs(TASKS["image-to-image"], {**tiger, "prompt": "Make it night"}) == {
        "image": tiger["src"], "prompt": "Make it night"}
    assert pickers.widget_inputs(TASKS["automatic-speech-recognition"], {"src": "https://cdn/sample1.flac"}) == {
        "audio": "https://cdn/sample1.flac"}
    # nothing of an image example fits a text tab; a path that is no URL is no image
    assert pickers.widget_inputs(TASKS["text-classification"], tiger) == {}
    assert pickers.widget_inputs(TASKS["image-classification"], {"src": "/etc/passwd"}) == {}


def test_card_examples_leave_out_the_registrys_own_and_repeats():
    # SST-2's and MiniLM's widget examples are the Hub's defaults, which the registry's first examples are
    assert pickers.card_examples("text-classification", WIDGET_DATA[SST2]) == []
    assert pickers.card_examples("sentence-similarity", WIDGET_DATA["sentence-transformers/all-MiniLM-L6-v2"]) == []
    assert pickers.card_examples("table-question-answering", WIDGET_DATA["google/tapas-base-finetuned-wtq"]) == []
    twice = [{"text": "Covid cases are increasing fast!"}, {"text": "Covid cases are increasing fast!", "example_title": "Again"}]
    assert [e.label for e in pickers.card_examples("text-classification", twice)] == ["Covid cases are increasing fast!"]
    labels = [e.label for e in pickers.card_examples("question-answering", WIDGET_DATA["deepset/roberta-base-squad2"])]
    assert labels == ["Where do I live? · My name is Wolfgang and I live in Berlin",
                      "Where do I live? · My name is Sarah and I live in London"]


def test_picking_a_model_offers_its_card_examples_which_fill_the_tab(fake):
    zero_shot = "zero-shot-classification"
    *shown, providers, card, examples = pickers.picked_handler(zero_shot)(TOKEN, "auto", "facebook/bart-large-mnli")
    assert card["visible"] is True and [e.label for e in examples] == [label for [label] in card["samples"]]
    assert card["samples"][2] == ["Astronomy"] and card["samples"][1][0].endswith("…")  # titles, else the text, cut
    fill = pickers.card_fill_handler(zero_shot)
    assert fill(examples, 1) == (WIDGET_DATA["facebook/bart-large-mnli"][1]["text"], "mobile, website, billing, account access")
    # chat: the message and the system prompt; tools and schema emptied
    *_, card, examples = pickers.picked_handler(CHAT)(TOKEN, "auto", LLAMA)
    assert card["samples"] == [["Winter holidays"], ["Programming assistant"]]
    message, system, tools, schema = pickers.card_fill_handler(CHAT)(examples, 1)
    assert message == "Write a function that computes the nth fibonacci number."
    assert system.startswith("You are a helpful and honest code") and tools == schema == ""
    # an image: its URL in the URL box (the image emptied), then in the image (Gradio downloads it)
    *_, card, examples = pickers.picked_handler("zero-shot-image-classification")(TOKEN, "auto", "openai/clip-vit-large-patch14")
    url = WIDGET_DATA["openai/clip-vit-large-patch14"][0]["src"]
    assert pickers.card_fill_handler("zero-shot-image-classification")(examples, 0) == (None, "playing music, playing sports", url)
    assert pickers.card_fill_handler("zero-shot-image-classification", media=True)(examples, 0) == url
    # a model without widget examples the tab can take: none shown
    *_, card, examples = pickers.picked_handler("text-classification")(TOKEN, "auto", SST2)
    assert card["visible"] is False and examples == []


def test_card_examples_cost_no_hub_request_beyond_the_summarys(fake):
    model = "facebook/bart-large-mnli"
    *_, examples = pickers.model_picked("zero-shot-classification", TOKEN, "auto", model)
    assert len(examples) == 3
    info = [r for r in fake.received if r.path.startswith(f"/api/models/{model}?")]
    assert len(info) == 1 and "expand=widgetData" in info[0].path
    *_, again = pickers.model_picked("zero-shot-classification", TOKEN, "auto", model)
    assert again == examples and len([r for r in fake.received if r.path.startswith(f"/api/models/{model}?")]) == 1


def test_revision_note_on_the_local_backend_names_what_this_machine_serves(fake):
    from playground import local_backend

    served = next(m for m in local_backend.catalog()["chat-completion"] if m.model_id == "HuggingFaceTB/SmolLM2-135M-Instruct")
    note = pickers.revision_note(None, "HuggingFaceTB/SmolLM2-135M-Instruct", "main", provider="local", task_id="chat-completion")
    assert served.revision in note and "local backend" in note
    assert not [r for r in fake.received if "/api/" in r.path]  # nothing asked of the Hub
    other = pickers.revision_note(None, "HuggingFaceTB/SmolLM2-135M-Instruct", "v1.0", provider="local", task_id="chat-completion")
    assert "not on this machine" in other
    missing = pickers.revision_note(None, "meta-llama/Llama-3.1-8B-Instruct", "main", provider="local", task_id="chat-completion")
    assert "not available on the local backend" in missing
