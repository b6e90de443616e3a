"""Error translation: every status and failure becomes one PlaygroundError that names the fix."""

from __future__ import annotations

import json
import socket

import huggingface_hub
import pytest

from playground import errors, handlers, service
from playground.reliability import NO_RETRY
from playground.service import RunRequest, Target
from playground.tasks import TASKS
from tests.conftest import TOKEN

# Translation is tested on single attempts; retries and failover are tested in test_reliability.py.


def _run_against(fake, status: int) -> service.RunResult:
    url = f"{fake.url}/models/errors/status-{status}"
    return service.run(RunRequest("text-classification", "owner/model", {"text": "hi"},
                                  target=Target("custom", token=TOKEN, endpoint_url=url, retry=NO_RETRY)))


@pytest.mark.parametrize(
    "status, cls, words",
    [
        (401, errors.AuthError, ["token", "huggingface.co/settings/tokens"]),
        (403, errors.AccessError, ["gated", "accept its terms"]),
        (404, errors.NotFoundError, ["not served", "model id"]),
        (422, errors.ValidationError, ["temperature", "must be strictly positive"]),
        (429, errors.RateLimitError, ["Retry after 7 s"]),
        (500, errors.ServerError, ["temporary"]),
        (503, errors.ServerError, ["another provider"]),
    ],
)
def test_status_is_translated_with_the_fix(fake, status, cls, words):
    result = _run_against(fake, status)
    assert type(result.error) is cls
    assert result.error.status == status
    text = result.error.display()
    for word in words:
        assert word in text
    # the failed call is still in the raw exchange, as sent and as answered
    assert result.exchanges[-1].status == status
    assert result.raw()["exchanges"][-1]["response"]["body"]["error"]
    assert TOKEN not in text


def test_retry_after_is_parsed(fake):
    assert _run_against(fake, 429).error.retry_after == 7.0


def test_gated_model_links_to_its_page(fake):
    fake.script("/models/org/gated", [(403, {"content-type": "application/json"}, {"error": "Access to model org/gated is restricted."})])
    result = service.run(RunRequest("text-classification", "org/gated", {"text": "hi"},
                                    target=Target("custom", token=TOKEN, endpoint_url=f"{fake.url}/models/org/gated")))
    # a custom endpoint has no model page; a Hub model does
    assert isinstance(result.error, errors.AccessError)
    err = errors.translate(_http_error(403), model="meta-llama/Llama-3.1-8B-Instruct")
    assert "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct" in err.fix


GATED = "meta-llama/Llama-3.1-8B-Instruct"  # gated (manual approval) on the fake Hub
NO_GATE = "hf_nogate" + "g" * 28  # a token whose account has no access to gated models


@pytest.mark.parametrize("token, status, words", [(None, 401, "no token was given"),
                                                  (NO_GATE, 403, "this token has no access")])
def test_a_gated_model_is_said_to_be_gated_not_missing(fake, token, status, words):
    """The Hub refuses a gated model with ``X-Error-Code: GatedRepo`` (401 without a token, 403 for a token without
    access); huggingface_hub raises GatedRepoError, a RepositoryNotFoundError: it must not read "not found"."""
    from playground import hub

    fake.refuse_gated_info()
    hub.clear_cache()
    try:
        with pytest.raises(errors.AccessError) as caught:  # the model lookup of the pickers (summary, preflight)
            hub.model_summary(GATED, token=token)
        # and a run pinned to a revision (the service resolves it on the Hub before any inference call)
        run = service.run(RunRequest("chat-completion", GATED, {"messages": [{"role": "user", "content": "hi"}]},
                                     revision="v1.0", target=Target("hf-inference", token=token, retry=NO_RETRY)))
    finally:
        hub.clear_cache()
    assert run.exchanges[0].response_headers["x-error-code"] == "GatedRepo"
    for err in (caught.value, run.error):
        assert type(err) is errors.AccessError and err.status == status, err
        text = err.display()
        assert f"{GATED} is gated: {words}" in err.title and "not found" not in text.lower()
        assert f"Request access at https://huggingface.co/{GATED}" in err.fix
        assert "Read access to contents of all public gated repos" in err.fix  # a fine-grained token's permission
        assert NO_GATE not in text


def _http_error(status: int):
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    response = httpx2.Response(status, json={"error": "nope"}, request=httpx2.Request("POST", "https://router.huggingface.co/x"))
    return HfHubHTTPError("boom", response=response)


def test_unknown_model_is_a_clear_404(fake):
    result = service.run(RunRequest("text-classification", "nobody/does-not-exist", {"text": "hi"},
                                    target=Target("hf-inference", token=TOKEN)))
    assert isinstance(result.error, errors.NotFoundError)
    assert "nobody/does-not-exist" in result.error.title


def test_no_network_suggests_another_provider(fake):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = service.run(RunRequest("text-classification", "x/y", {"text": "hi"},
                                    target=Target("custom", endpoint_url=f"http://127.0.0.1:{port}/models/x", retry=NO_RETRY)))
    assert isinstance(result.error, errors.NetworkError)
    assert "local backend" in result.error.fix
    assert result.exchanges and result.exchanges[0].error  # the attempt is recorded with why it failed


def test_timeout_is_translated(fake):
    fake.script("/models/slow", [("sleep", {"seconds": "1"}, {"ok": True})])
    result = service.run(RunRequest("text-classification", "x/y", {"text": "hi"},
                                    target=Target("custom", endpoint_url=f"{fake.url}/models/slow", timeout=0.2, retry=NO_RETRY)))
    assert isinstance(result.error, errors.TimeoutError)


@pytest.mark.parametrize(
    "task, model, inputs, params, words",
    [
        ("text-classification", "a/b", {"text": "   "}, {}, "Text is empty"),
        ("text-classification", "my model with spaces", {"text": "hi"}, {}, "not a valid model id"),
        ("text-classification", "", {"text": "hi"}, {}, "No model given"),
        ("image-classification", "a/b", {"image": __file__}, {}, "not an image"),
        ("automatic-speech-recognition", "a/b", {"audio": __file__}, {}, "not audio"),
        ("image-classification", "a/b", {"image": None}, {}, "No image given"),
        ("no-such-task", "a/b", {}, {}, "Unknown task"),
        ("text-classification", "a/b", {"text": "hi"}, {"nonsense": 1}, "Unknown parameter"),
    ],
)
def test_bad_input_gets_a_clear_message_before_any_call(fake, task, model, inputs, params, words):
    result = service.run(RunRequest(task, model, inputs, params, target=Target("hf-inference", token=TOKEN)))
    assert isinstance(result.error, errors.InputError), result.error
    assert words in result.error.display()
    assert result.exchanges == []  # nothing was sent
    assert not fake.received


# ------------------------------------------------------------------------------------------ answers that cannot be read


def _answered_with(fake, task_id: str, body, inputs: dict) -> service.RunResult:
    """Run ``task_id`` against a custom endpoint whose 200 answer is ``body`` (JSON), with the real InferenceClient."""
    fake.script("/odd-answer", [(200, {"content-type": "application/json"}, json.dumps(body).encode())])
    return service.run(RunRequest(task_id, "owner/model", inputs,
                                  target=Target("custom", token=TOKEN, endpoint_url=f"{fake.url}/odd-answer")))


@pytest.mark.parametrize(
    "task_id, inputs, body",
    [
        # a dict where huggingface_hub wants a list (raised while parsing)
        ("zero-shot-classification", {"text": "hi", "candidate_labels": "a, b"}, {"sequence": "hi", "labels": ["a", "b"]}),
        # an empty list where it takes the first element (raised in the client's method, after parsing)
        ("summarization", {"text": "A long text."}, []),
        # a JSON string where it wants objects
        ("text-classification", {"text": "hi"}, "POSITIVE"),
    ],
)
def test_an_answer_huggingface_hub_cannot_read_is_its_own_error_not_an_input_problem(fake, task_id, inputs, body):
    result = _answered_with(fake, task_id, body, inputs)
    err = result.error
    assert isinstance(err, errors.AnswerShapeError) and err.kind == "answer_shape", err
    assert f"huggingface_hub {huggingface_hub.__version__} cannot read" in err.title
    assert "Invalid input" not in err.title and "Correct the input" not in err.fix
    assert err.message.startswith("Reading the answer from custom endpoint")  # huggingface_hub's words follow
    assert "another provider or model" in err.fix and "raw exchange" in err.fix
    assert "<class '" not in err.message  # huggingface_hub's class reprs are shortened to their names
    answer, = result.raw()["exchanges"]  # asked once (the same provider would answer the same way): kept as it came
    assert answer["response"]["status"] == 200 and answer["response"]["body"] == body
    assert result.raw()["error"]["kind"] == "answer_shape"


def test_legacy_zero_shot_answer_is_shown_as_labels_and_scores_and_the_status_says_so(fake):
    task = TASKS["zero-shot-classification"]
    legacy = {"sequence": "I have a problem with my iPhone", "labels": ["urgent", "phone", "not urgent"],
              "scores": [0.7, 0.2, 0.1]}
    fake.script("/legacy-zero-shot", [(200, {"content-type": "application/json"}, json.dumps(legacy).encode())])
    shown, status, raw = handlers.run_task(task, TOKEN, "custom", f"{fake.url}/legacy-zero-shot", "", "owner/model", "main",
                                           "I have a problem with my iPhone", "urgent, phone, not urgent",
                                           *[None] * len(task.params), "")
    assert shown == {"urgent": 0.7, "phone": 0.2, "not urgent": 0.1}
    assert status.startswith("✅")
    assert 'answer in the legacy shape {"labels": [...], "scores": [...]}, read as labels/scores' in status
    assert json.loads(raw)["exchanges"][-1]["response"]["body"] == legacy  # the answer as it came


def test_an_unreadable_chat_stream_is_an_answer_problem(fake):
    events = [b'data: "not a chunk"\n\n', b"data: [DONE]\n\n"]
    fake.script("/odd-stream", [(200, {"content-type": "text/event-stream"}, events)])
    request = RunRequest("chat-completion", "owner/model", {"messages": [{"role": "user", "content": "hi"}]},
                         target=Target("custom", token=TOKEN, endpoint_url=f"{fake.url}/odd-stream", retry=NO_RETRY))
    *_, result = service.run_stream(request)
    assert isinstance(result.error, errors.AnswerShapeError), result.error


def test_translate_never_calls_a_response_problem_an_input_problem():
    from huggingface_hub.inference._generated import types as hf

    try:  # the exception huggingface_hub raises on the legacy zero-shot answer, without the service's evidence
        hf.ZeroShotClassificationOutputElement.parse_obj_as_list({"sequence": "hi", "labels": ["a"], "scores": [1.0]})
    except ValueError as exc:
        parsed = errors.translate(exc, provider="hf-inference")
    assert isinstance(parsed, errors.AnswerShapeError), parsed
    assert parsed.message.startswith("Reading the answer from hf-inference failed: ValueError: Invalid input data for "
                                     "ZeroShotClassificationOutputElement")
    # any failure after a 2xx answer arrived is the answer's, whatever its type
    for exc in (ValueError("odd"), KeyError("labels"), IndexError("list index out of range"), TypeError("odd")):
        assert isinstance(errors.translate(exc, answered=True), errors.AnswerShapeError)
    # and a real input problem is still one
    assert isinstance(errors.translate(ValueError("Expected binary inputs")), errors.InputError)
