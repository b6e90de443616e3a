"""Error translation: every status and failure becomes one PlaygroundError that names the fix."""

from __future__ import annotations

import socket

import pytest

from playground import errors, service
from playground.reliability import NO_RETRY
from playground.service import RunRequest, Target
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
