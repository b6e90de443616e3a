"""The exchange is captured from huggingface_hub's own client: as sent, redacted, readable."""

from __future__ import annotations

import httpx2

from playground import capture, service
from playground.service import RunRequest, Target
from tests.conftest import TOKEN


def test_request_and_response_are_captured_as_sent(fake):
    result = service.run(RunRequest("text-classification", "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
                                    {"text": "I like you"}, {"top_k": 2}, target=Target("hf-inference", token=TOKEN)))
    ex = result.exchanges[-1].to_dict()
    assert ex["request"]["method"] == "POST"
    assert ex["request"]["url"] == "https://router.huggingface.co/hf-inference/models/distilbert/distilbert-base-uncased-finetuned-sst-2-english"
    assert ex["request"]["headers"]["authorization"] == "Bearer [redacted]"
    assert ex["request"]["headers"]["content-type"] == "application/json"
    assert "x-amzn-trace-id" in ex["request"]["headers"]  # added by huggingface_hub's own hook: captured after it
    assert ex["request"]["body"] == {"inputs": "I like you", "parameters": {"top_k": 2}}
    assert ex["response"]["status"] == 200
    assert ex["response"]["headers"]["x-inference-provider"] == "hf-inference"
    assert ex["response"]["body"][0][0]["label"] == "POSITIVE"
    # what the server received is what the capture says was sent
    sent = [r for r in fake.received if r.path.startswith("/hf-inference/")][-1]
    assert sent.body == b'{"inputs":"I like you","parameters":{"top_k":2}}' or b'"I like you"' in sent.body


def test_binary_bodies_are_described_not_dumped(fake):
    img = service.run(RunRequest("image-classification", "google/vit-base-patch16-224",
                                 {"image": "assets/street.png"}, target=Target("hf-inference", token=TOKEN)))
    body = img.exchanges[-1].to_dict()["request"]["body"]
    assert body.startswith("<1945 bytes image/png")
    out = service.run(RunRequest("text-to-image", "black-forest-labs/FLUX.1-schnell", {"prompt": "a fox"},
                                 target=Target("hf-inference", token=TOKEN)))
    assert out.exchanges[-1].to_dict()["response"]["body"].endswith("bytes image/png>")


def test_long_base64_strings_are_summarised():
    rec = capture.Recorder()
    body = capture.readable_body(b'{"inputs": "data:image/png;base64,' + b"A" * 5000 + b'"}', "application/json", rec)
    assert body["inputs"].startswith("<data:image/png;base64, ") and len(body["inputs"]) < 60


def test_redaction_of_secret_headers_and_token_shaped_strings():
    rec = capture.Recorder(secrets=(TOKEN,))
    headers = capture.redact_headers(httpx2.Headers({"Authorization": f"Bearer {TOKEN}", "x-echo": f"t={TOKEN}", "x-api-key": "sk-1"}), rec)
    assert headers == {"authorization": "Bearer [redacted]", "x-echo": "t=[redacted]", "x-api-key": "[redacted]"}
    assert capture.redact_text("leaked hf_abcdefghijklmnopqrstuvwxyz") == "leaked [redacted]"


def test_runs_in_parallel_keep_their_own_exchanges(fake):
    from concurrent.futures import ThreadPoolExecutor

    def one(i):
        token = f"hf_Parallel{i:04d}abcdefghijklmnopqrstuvwx"
        r = service.run(RunRequest("text-classification", "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
                                   {"text": f"text number {i}"}, target=Target("hf-inference", token=token)))
        return i, token, r

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(24)))
    for i, token, r in results:
        bodies = [e.request_body for e in r.exchanges if e.method == "POST"]
        assert bodies == [{"inputs": f"text number {i}", "parameters": {}}]
        assert token not in repr(r.raw())
