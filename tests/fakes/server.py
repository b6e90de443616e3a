"""A local fake of the Hugging Face Hub and inference router, for offline tests and benchmarks.

It answers real HTTP, in the shapes the real services use (see the recorded traffic the project was
written against): model info with ``inferenceProviderMapping``, the hf-inference task routes, and
OpenAI-compatible chat completions (JSON and SSE). ``RoutingTransport`` sends huggingface_hub's requests for
``huggingface.co`` and ``router.huggingface.co`` here, so the real ``InferenceClient`` is in the loop.

Faults on demand:
- model ``errors/status-<code>`` answers that status with the router's error body (429 sets Retry-After);
- a token starting ``hf_invalid`` gets 401 like the router;
- ``script(path_substring, [(status, headers, body), ...], token=None)`` queues answers for matching requests
  (only those sent with ``token`` when given). Besides an HTTP status, ``status`` may be ``"close"`` (drop the
  connection), ``"reset"`` (TCP reset) or ``"sleep"`` (answer 200 after ``headers["seconds"]``); a streamed
  body may yield ``CUT`` to drop the connection midway (see ``cut_stream``);
- ``refuse_gated_info()``: a gated model's info is refused (401/403 ``X-Error-Code: GatedRepo``) to whoever has no
  access, as its auth check always is;
- ``chaos(latency_s, fault_rate, fault)``: every router call waits ``latency_s``, and a seeded ``fault_rate``
  share of them answers ``fault`` instead (benchmarks);
- ``rate_limit(per_s, retry_after_s)``: a provider's rate limit, per token: a router call beyond ``per_s`` calls
  of that token in the last second answers 429 with Retry-After (so the more are sent at once, the more are
  refused; ``chaos`` refuses the same share whatever the load).

Concurrency: ``peak_in_flight`` is the most router calls it was answering at once; with ``sign_callers`` every
answer names the token it came with in ``x-fake-caller`` (``caller_mark(token)``, a hash: never the token), so
a test can check whose token reached the router from what the caller was shown.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import httpx2
from PIL import Image

from tests.fakes import answers
from tests.fakes.quiet import QuietHandler

HUB_HOSTS = ("huggingface.co",)
ROUTER_HOSTS = ("router.huggingface.co",)

# model id -> (pipeline_tag, {provider: provider_model_id}, extra info)
MODELS: dict[str, dict[str, Any]] = {
    "distilbert/distilbert-base-uncased-finetuned-sst-2-english": {"pipeline_tag": "text-classification"},
    "facebook/bart-large-mnli": {"pipeline_tag": "zero-shot-classification"},
    "dslim/bert-base-NER": {"pipeline_tag": "token-classification"},
    "facebook/bart-large-cnn": {"pipeline_tag": "summarization"},
    "google-t5/t5-base": {"pipeline_tag": "translation"},
    "sentence-transformers/all-MiniLM-L6-v2": {"pipeline_tag": "sentence-similarity", "tags": ["feature-extraction", "sentence-similarity"]},
    "google/vit-base-patch16-224": {"pipeline_tag": "image-classification"},
    "facebook/detr-resnet-50": {"pipeline_tag": "object-detection"},
    "black-forest-labs/FLUX.1-schnell": {"pipeline_tag": "text-to-image"},
    "openai/whisper-large-v3": {"pipeline_tag": "automatic-speech-recognition"},
    "HuggingFaceTB/SmolLM2-135M-Instruct": {"pipeline_tag": "text-generation", "providers": {"together": "conversational", "hf-inference": "text-generation"}},
    "meta-llama/Llama-3.1-8B-Instruct": {
        "pipeline_tag": "text-generation",
        "gated": "manual",
        "providers": {"together": "conversational", "hf-inference": "conversational"},
    },
    "Qwen/Qwen2.5-7B-Instruct": {  # three live providers, for failover and balancing
        "pipeline_tag": "text-generation",
        "providers": {"together": "conversational", "fireworks-ai": "conversational", "hf-inference": "conversational"},
    },
}


def model_info(model_id: str, authorized: bool = True) -> dict[str, Any] | None:
    """The Hub's model info for ``model_id`` (private models only for a valid token), all fields."""
    meta = MODELS.get(model_id)
    if meta is None or (meta.get("private") and not authorized):
        return None
    tag = meta["pipeline_tag"]
    providers = meta.get("providers") or {"hf-inference": tag}
    hub = HUB.get(model_id, {})
    license_ = hub.get("license", "apache-2.0")
    tags = list(meta.get("tags", [tag]))
    if "conversational" in providers.values() and "conversational" not in tags:
        tags.append("conversational")  # chat models carry it (the chat tab searches by it)
    return {
        "_id": f"id-{abs(hash(model_id)) % 10**8}",
        "id": model_id,
        "modelId": model_id,
        "author": model_id.split("/")[0],
        "private": bool(meta.get("private", False)),
        "gated": meta.get("gated", False),
        "pipeline_tag": tag,
        "library_name": hub.get("library", "transformers"),
        "tags": [*tags, hub.get("library", "transformers"), f"license:{license_}"],
        "downloads": hub.get("downloads", 1000),
        "likes": hub.get("likes", 10),
        "trendingScore": hub.get("trending", 1),
        "lastModified": "2025-03-14T09:26:53.000Z",
        "createdAt": "2023-01-02T10:00:00.000Z",
        "sha": history(model_id)[0]["id"],
        "inferenceProviderMapping": {
            p: {"status": "staging" if p in hub.get("staging", ()) else "live",
                "providerId": (meta.get("provider_ids") or {}).get(p) or model_id + ("-Turbo" if p == "together" else ""),
                "task": t, "isModelAuthor": False}
            for p, t in providers.items()
        },
        **({"widgetData": WIDGET_DATA[model_id]} if model_id in WIDGET_DATA else {}),
    }


# ------------------------------------------------------------------------------------------ Hub data
# What the Hub knows besides the provider mapping: numbers for the model card summary, refs and commits,
# and the router's per-provider figures (``GET /v1/models``) for chat models.

HEAD_SHA = "714eb0fa89d2f80546fda750413ed43d93601a13"  # main of every fake repo
FAKE_USER = "tester"
# (name, isEnterprise, plan): as current Hubs answer, a Team or Enterprise organisation's ``plan`` names which; an
# organisation without one has no ``plan`` field here (as older Hubs answer for every organisation)
FAKE_ORGS = (("acme-corp", True, "team"), ("reading-club", False, None))
PRO_PERIOD_END = 1798761600  # 2027-01-01T00:00:00Z: the end of a PRO user's paid period (whoami's ``periodEnd``)

HUB: dict[str, dict[str, Any]] = {
    "distilbert/distilbert-base-uncased-finetuned-sst-2-english": {"downloads": 3_412_000, "likes": 812, "trending": 40},
    "cardiffnlp/twitter-roberta-base-sentiment-latest": {"downloads": 2_100_000, "likes": 650, "trending": 55, "license": "cc-by-4.0"},
    "acme-corp/private-sentiment": {"downloads": 12, "likes": 0, "trending": 0, "license": "other"},
    "HuggingFaceTB/SmolLM2-135M-Instruct": {
        "downloads": 510_000, "likes": 190, "trending": 30,
        "router": {"together": dict(input=0.06, output=0.06, context=8192, throughput=310.2, ttft=180.0, tools=False, structured=True)},
    },
    "meta-llama/Llama-3.1-8B-Instruct": {
        "downloads": 5_700_000, "likes": 4_300, "trending": 90, "license": "llama3.1",
        "git_tags": {"v1.0": 1, "v0.9": 2}, "branches": {"dev": 1},
        "router": {
            "together": dict(input=0.18, output=0.18, context=131072, throughput=142.5, ttft=350.0, tools=True, structured=True),
            "hf-inference": dict(input=0.05, output=0.10, context=32768, throughput=61.3, ttft=820.0, tools=False, structured=True),
        },
    },
    "mistralai/Mistral-7B-Instruct-v0.3": {
        "downloads": 800_000, "likes": 2_000, "trending": 20, "staging": ("fireworks-ai",),
        "router": {"together": dict(input=0.20, output=0.20, context=32768, throughput=120.0, ttft=400.0, tools=True, structured=True)},
    },
    "Qwen/Qwen2.5-7B-Instruct": {
        "downloads": 2_900_000, "likes": 1_200, "trending": 70,
        "router": {
            "together": dict(input=0.30, output=0.30, context=32768, throughput=95.0, ttft=420.0, tools=True, structured=True),
            "fireworks-ai": dict(input=0.20, output=0.20, context=32768, throughput=180.0, ttft=300.0, tools=True, structured=False),
            "hf-inference": dict(input=0.10, output=0.15, context=32768, throughput=40.0, ttft=900.0, tools=False, structured=False),
        },
    },
}

# The model page widget's examples (``widgetData``): the card's ``widget:`` list, else the Hub's default inputs
# for the task (SST-2's and MiniLM's are those defaults, which the registry's first examples repeat).
_SAMPLES = "https://huggingface.co/datasets/mishig/sample_images/resolve/main"
WIDGET_DATA: dict[str, list[dict[str, Any]]] = {
    "distilbert/distilbert-base-uncased-finetuned-sst-2-english": [{"text": "I like you. I love you"}],
    "cardiffnlp/twitter-roberta-base-sentiment-latest": [
        {"text": "Covid cases are increasing fast!", "example_title": "Sentiment"},
    ],
    "facebook/bart-large-mnli": [
        {"text": "I have a problem with my iphone that needs to be resolved asap!",
         "candidate_labels": "urgent, not urgent, phone, tablet, computer", "multi_class": True},
        {"text": "Last week I upgraded my iOS version and ever since then my phone has been overheating whenever I use your app.",
         "candidate_labels": "mobile, website, billing, account access", "multi_class": False},
        {"text": "A new model offers an explanation for how the Galilean satellites formed around the solar system’s "
                 "largest world. Konstantin Batygin did not set out to solve one of the solar system’s most puzzling "
                 "mysteries when he went for a run up a hill in Nice, France.",
         "candidate_labels": "space & cosmos, scientific discovery, microbiology, robots, archeology",
         "multi_class": True, "example_title": "Astronomy"},
    ],
    "sentence-transformers/all-MiniLM-L6-v2": [
        {"source_sentence": "That is a happy person",
         "sentences": ["That is a happy dog", "That is a very happy person", "Today is a sunny day"]},
    ],
    "HuggingFaceTB/SmolLM2-135M-Instruct": [
        {"messages": [{"role": "user", "content": "Hi, what can you help me with?"}]},
        {"messages": [{"role": "user", "content": "What is 84 * 3 / 2?"}]},
        {"messages": [{"role": "user", "content": "Tell me an interesting fact about the universe!"}]},
    ],
    "meta-llama/Llama-3.1-8B-Instruct": [  # as recorded for Meta-Llama-3-70B-Instruct
        {"example_title": "Winter holidays", "messages": [
            {"role": "system", "content": "You are a helpful and honest assistant. Please, respond concisely and truthfully."},
            {"role": "user", "content": "Can you recommend a good destination for Winter holidays?"}]},
        {"example_title": "Programming assistant", "messages": [
            {"role": "system", "content": "You are a helpful and honest code and programming assistant. Please, respond "
                                          "concisely and truthfully."},
            {"role": "user", "content": "Write a function that computes the nth fibonacci number."}]},
    ],
    "google/vit-base-patch16-224": [
        {"src": f"{_SAMPLES}/tiger.jpg", "example_title": "Tiger"},
        {"src": f"{_SAMPLES}/teapot.jpg", "example_title": "Teapot"},
        {"src": f"{_SAMPLES}/palace.jpg", "example_title": "Palace"},
    ],
    "openai/clip-vit-large-patch14": [
        {"src": f"{_SAMPLES}/cat-dog-music.png", "candidate_labels": "playing music, playing sports",
         "example_title": "Cat & Dog"},
    ],
    "deepset/roberta-base-squad2": [
        {"text": "Where do I live?", "context": "My name is Wolfgang and I live in Berlin"},
        {"text": "Where do I live?", "context": "My name is Sarah and I live in London"},
    ],
    "google/tapas-base-finetuned-wtq": [
        {"text": "How many stars does the transformers repository have?",
         "table": {"Repository": ["Transformers", "Datasets", "Tokenizers"], "Stars": [36542, 4512, 3934],
                   "Contributors": [651, 77, 34], "Programming language": ["Python", "Python", "Rust, Python and NodeJS"]},
         "example_title": "Stars"},
    ],
    "openai/whisper-large-v3": [
        {"src": "https://cdn-media.huggingface.co/speech_samples/sample1.flac", "example_title": "Librispeech sample 1"},
    ],
}

MODELS.update({
    "cardiffnlp/twitter-roberta-base-sentiment-latest": {"pipeline_tag": "text-classification"},
    "acme-corp/private-sentiment": {"pipeline_tag": "text-classification", "private": True},
    "mistralai/Mistral-7B-Instruct-v0.3": {"pipeline_tag": "text-generation",
                                           "providers": {"together": "conversational", "fireworks-ai": "conversational"}},
})
MODELS.update(answers.MODELS)  # the tasks added after the spine (answers.py)

_TITLES = ("Update README.md", "Upload model.safetensors", "Add tokenizer files", "initial commit")


def history(model_id: str) -> list[dict[str, Any]]:
    """The commits of main, newest first, in the shape of ``GET /api/models/{id}/commits/{rev}``."""
    shas = [HEAD_SHA] + [hashlib.sha1(f"{model_id}@{i}".encode()).hexdigest() for i in range(1, len(_TITLES))]
    return [
        {"id": sha, "title": title, "message": "", "authors": [{"user": FAKE_USER, "avatar": ""}],
         "date": f"2025-0{3 - min(i, 2)}-1{4 - i}T09:26:53.000Z"}
        for i, (sha, title) in enumerate(zip(shas, _TITLES))
    ]


def refs(model_id: str) -> dict[str, Any]:
    """``GET /api/models/{id}/refs``: branches and tags, each with its target commit."""
    commits, hub = history(model_id), HUB.get(model_id, {})
    ref = lambda kind, name, i: {"name": name, "ref": f"refs/{kind}/{name}", "targetCommit": commits[i]["id"]}  # noqa: E731
    return {
        "branches": [ref("heads", "main", 0)] + [ref("heads", n, i) for n, i in hub.get("branches", {}).items()],
        "converts": [],
        "tags": [ref("tags", n, i) for n, i in hub.get("git_tags", {}).items()],
        "pullRequests": [],
    }


def resolve(model_id: str, revision: str) -> str | None:
    """A branch, tag or full commit SHA -> the commit SHA, or None when the revision does not exist."""
    known = refs(model_id)
    for ref in known["branches"] + known["tags"]:
        if revision in (ref["name"], ref["ref"]):
            return ref["targetCommit"]
    return revision if revision in {c["id"] for c in history(model_id)} else None


def search(query: dict[str, list[str]], authorized: bool) -> list[dict[str, Any]]:
    """``GET /api/models?search=&pipeline_tag=&filter=&inference_provider=&sort=&limit=&expand=``."""
    first = lambda key: (query.get(key) or [""])[0]  # noqa: E731
    text, served = first("search").lower(), first("inference_provider")
    hits = []
    for model_id in MODELS:
        info = model_info(model_id, authorized)
        if info is None or text not in model_id.lower():
            continue
        if first("pipeline_tag") and info["pipeline_tag"] != first("pipeline_tag"):
            continue
        if any(f not in info["tags"] for f in query.get("filter", [])):
            continue
        live = {p for p, m in info["inferenceProviderMapping"].items() if m["status"] == "live"}
        wanted = set(served.split(",")) if served else set()
        if served and not (live if "all" in wanted else live & wanted):
            continue
        hits.append(info)
    if first("sort"):
        hits.sort(key=lambda i: i.get(first("sort")) or 0, reverse=True)
    if first("limit"):
        hits = hits[: int(first("limit"))]
    return [_expanded(i, query.get("expand") or query.get("expand[]")) for i in hits]


def _expanded(info: dict[str, Any], expand: list[str] | None) -> dict[str, Any]:
    """With ``expand``, the Hub answers only those properties (plus ``_id`` and ``id``)."""
    if not expand:
        return info
    return {"_id": info["_id"], "id": info["id"], **{k: info[k] for k in expand if k in info}}


def whoami(auth: str) -> dict[str, Any] | None:
    """``GET /api/whoami-v2``. Tokens ``hf_read…`` are classic read tokens, ``hf_noinfer…`` fine-grained ones
    without the inference permission, ``hf_nogate…`` fine-grained ones that cannot read gated repos, ``hf_noorg…``
    fine-grained ones with no permission on any organisation; any other token is fine-grained with the inference
    permission on the user and on the organisation ``acme-corp``. A token ``hf_as_<name>_…`` is user ``<name>``'s
    (tests of whose runs are whose); any other is ``FAKE_USER``'s. A user whose name starts with ``pro`` has a PRO
    subscription (``isPro``, ``periodEnd``); the others are free users."""
    token = auth.removeprefix("Bearer ").strip()
    if not auth.startswith("Bearer ") or not token:
        return None
    user = token.split("_")[2] if token.startswith("hf_as_") and token.count("_") >= 3 else FAKE_USER
    if token.startswith("hf_read"):
        access = {"displayName": "read-only", "role": "read", "createdAt": "2024-06-01T10:00:00.000Z"}
    else:
        perms = ["repo.content.read"] + ([] if token.startswith("hf_noinfer") else ["inference.serverless.write"])
        scoped = [{"entity": {"_id": "u1", "type": "user", "name": user}, "permissions": perms}]
        if not token.startswith("hf_noorg"):
            scoped.append({"entity": {"_id": "o0", "type": "org", "name": FAKE_ORGS[0][0]}, "permissions": perms})
        access = {
            "displayName": "playground", "role": "fineGrained", "createdAt": "2025-01-10T10:00:00.000Z",
            "fineGrained": {
                "canReadGatedRepos": not token.startswith("hf_nogate"),
                "global": ["discussion.write"],
                "scoped": scoped,
            },
        }
    return {
        "type": "user", "id": "u1", "name": user, "fullname": "Test User", "email": "tester@example.com",
        "emailVerified": True, "canPay": True, "isPro": user.startswith("pro"),
        "periodEnd": PRO_PERIOD_END if user.startswith("pro") else None, "avatarUrl": "",
        "orgs": [{"type": "org", "id": f"o{i}", "name": name, "fullname": name.title(), "isEnterprise": enterprise,
                  "canPay": enterprise, "roleInOrg": "write", "avatarUrl": "", **({"plan": plan} if plan else {})}
                 for i, (name, enterprise, plan) in enumerate(FAKE_ORGS)],
        "auth": {"type": "access_token", "accessToken": access},
    }


def router_models() -> dict[str, Any]:
    """``GET https://router.huggingface.co/v1/models``: chat models with each live provider's figures."""
    data = []
    for model_id, meta in MODELS.items():
        figures = HUB.get(model_id, {}).get("router")
        if not figures:
            continue
        providers = []
        for provider, f in figures.items():
            providers.append({
                "provider": provider, "status": "live", "context_length": f["context"],
                "pricing": {"input": f["input"], "output": f["output"]},
                "supports_tools": f["tools"], "supports_structured_output": f["structured"],
                "first_token_latency_ms": f["ttft"], "throughput": f["throughput"], "is_model_author": False,
            })
        data.append({"id": model_id, "object": "model", "created": 1730000000, "owned_by": model_id.split("/")[0],
                     "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
                     "providers": providers})
    return {"object": "list", "data": data}


def _png(width: int = 64, height: int = 48, color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, format="PNG")
    return buf.getvalue()


def task_answer(task: str, body: Any) -> tuple[int, dict[str, str], bytes]:
    """The router's hf-inference answer for ``task``, in its true shape."""
    inputs = body.get("inputs") if isinstance(body, dict) else None
    params = (body.get("parameters") if isinstance(body, dict) else None) or {}
    j = lambda obj: (200, {"content-type": "application/json"}, json.dumps(obj).encode())  # noqa: E731
    if task == "text-classification":
        return j([[{"label": "POSITIVE", "score": 0.9998695850372314}, {"label": "NEGATIVE", "score": 0.00013043530634604394}]])
    if task == "zero-shot-classification":
        labels = params.get("candidate_labels") or ["a", "b"]
        scores = [round(1 / (i + 1.5), 4) for i in range(len(labels))]
        return j([{"label": label, "score": s} for label, s in zip(labels, scores)])
    if task == "token-classification":
        text = inputs or ""
        out = []
        for word, group in (("Sarah Jessica Parker", "PER"), ("Jessica", "PER"), ("New York", "LOC"), ("Hugging Face", "ORG")):
            start = text.find(word)
            if start >= 0:
                out.append({"entity_group": group, "score": 0.99, "word": word, "start": start, "end": start + len(word)})
        return j(out)
    if task == "summarization":
        return j([{"summary_text": "The tower is 324 metres tall, the tallest structure in Paris."}])
    if task == "translation":
        return j([{"translation_text": "Mein Name ist Wolfgang und ich lebe in Berlin"}])
    if task == "feature-extraction":  # a list of texts (a bundle): one vector each, its first number the text's
        base = [round(0.01 * i, 4) for i in range(384)]  # length, so that a test sees which answer is whose
        if isinstance(inputs, list):
            return j([[float(len(str(text)))] + base[1:] for text in inputs])
        return j([base])
    if task == "sentence-similarity":
        others = (inputs or {}).get("sentences", [])
        return j([round(0.9 - 0.3 * i, 4) for i in range(len(others))])
    if task == "image-classification":
        return j([{"label": "tabby cat", "score": 0.87}, {"label": "tiger cat", "score": 0.1}])
    if task == "object-detection":
        return j([
            {"label": "cat", "score": 0.98, "box": {"xmin": 10, "ymin": 5, "xmax": 40, "ymax": 30}},
            {"label": "remote", "score": 0.91, "box": {"xmin": 2, "ymin": 2, "xmax": 20, "ymax": 12}},
        ])
    if task == "text-to-image":
        return 200, {"content-type": "image/png"}, _png()
    if task == "automatic-speech-recognition":
        return j({"text": "hello world"})
    if task == "text-generation":
        return j([{"generated_text": " there lived a fox."}])
    more = answers.task_answer(task, body)
    if more is not None:
        return more
    return 400, {"content-type": "application/json"}, json.dumps({"error": f"unknown task {task}"}).encode()


CHAT_REPLY = ["Paris", " is", " the", " capital", " of", " France", "."]


def chat_answer(body: dict, provider_model: str) -> tuple[int, dict[str, str], Any]:
    """OpenAI-compatible chat, JSON or SSE; tools, structured output, images and reasoning as answers.chat_turn says."""
    turn = answers.chat_turn(body, provider_model)
    pieces = CHAT_REPLY if turn["content"] is None else turn["content"]
    usage = {"prompt_tokens": 12, "completion_tokens": len(pieces), "total_tokens": 12 + len(pieces)}
    calls = [{"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
             for c in turn["tool_calls"]]
    if not body.get("stream"):
        message = {"role": "assistant", "content": "".join(pieces) or None,
                   **({turn["reasoning_field"]: "".join(turn["reasoning"])} if turn["reasoning"] else {}),
                   **({"tool_calls": calls} if calls else {})}
        return 200, {"content-type": "application/json"}, json.dumps({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": provider_model,
            "choices": [{"index": 0, "finish_reason": turn["finish_reason"], "message": message}],
            "usage": usage,
        }).encode()

    def chunk(delta: dict, finish: str | None = None) -> bytes:
        data = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": provider_model,
                "choices": [{"index": 0, "delta": {"role": "assistant", **delta}, "finish_reason": finish}], "usage": None}
        return f"data: {json.dumps(data)}\n\n".encode()

    def events():
        for thought in turn["reasoning"]:
            yield chunk({"content": None, turn["reasoning_field"]: thought})
        for piece in pieces:
            yield chunk({"content": piece})
        for i, call in enumerate(calls):  # a call's name first, then its arguments in two pieces
            args = call["function"]["arguments"]
            yield chunk({"tool_calls": [{"index": i, "id": call["id"], "type": "function",
                                         "function": {"name": call["function"]["name"], "arguments": ""}}]})
            for part in (args[: len(args) // 2], args[len(args) // 2:]):
                yield chunk({"tool_calls": [{"index": i, "function": {"arguments": part}}]})
        if calls or turn["reasoning"]:
            yield chunk({}, turn["finish_reason"])
        if (body.get("stream_options") or {}).get("include_usage"):
            final = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": provider_model,
                     "choices": [], "usage": usage}
            yield f"data: {json.dumps(final)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    return 200, {"content-type": "text/event-stream"}, events()


CUT = b"<cut the connection here>"


def cut_stream(pieces: list[str], after: int) -> tuple[int, dict[str, str], Any]:
    """A chat SSE answer that sends ``after`` chunks of ``pieces`` and then drops the connection."""

    def events():
        for piece in pieces[:after]:
            chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": "m",
                     "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece}, "finish_reason": None}]}
            yield f"data: {json.dumps(chunk)}\n\n".encode()
        yield CUT

    return 200, {"content-type": "text/event-stream"}, events()


@dataclass
class Received:
    method: str
    host: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it arrived (tests check waits between calls)


@dataclass
class FakeState:
    received: list[Received] = field(default_factory=list)
    scripts: list[tuple[str, str | None, deque]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    latency_s: float = 0.0
    fault_rate: float = 0.0
    fault: tuple[int, dict[str, str], Any] | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    in_flight: int = 0  # router calls being answered now
    peak_in_flight: int = 0  # the most at once since the last reset
    sign_callers: bool = False
    gated_info: bool = False  # ``refuse_gated_info``: a gated model's info is refused to whoever has no access
    rate_per_s: int = 0  # ``rate_limit``: router calls a token may make in any second (0: no limit)
    rate_retry_after: float = 1.0
    rate_calls: dict[str, deque] = field(default_factory=dict)  # each token's accepted calls in the last second


def caller_mark(token: str) -> str:
    """What ``x-fake-caller`` says for a token: a short hash (the token itself is never echoed)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class _Handler(QuietHandler):
    protocol_version = "HTTP/1.1"
    state: FakeState

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle + delayed ACK add 40 ms a call
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _send(self, status: int, headers: dict[str, str], body: Any) -> None:
        self.send_response(status)
        base = {"x-request-id": "fake-req-1", **headers}
        auth = self.headers.get("authorization", "")
        if self.state.sign_callers and auth.startswith("Bearer "):
            base["x-fake-caller"] = caller_mark(auth.removeprefix("Bearer "))
        if isinstance(body, (bytes, bytearray)):
            base["content-length"] = str(len(body))
            for k, v in base.items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        base["transfer-encoding"] = "chunked"
        for k, v in base.items():
            self.send_header(k, v)
        self.end_headers()
        for piece in body:
            if piece is CUT:  # drop the connection midway: no terminating chunk
                self._drop()
                return
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def _drop(self, reset: bool = False) -> None:
        self.close_connection = True
        self.wfile.flush()
        if reset:  # SO_LINGER 0: close() sends a TCP RST instead of a FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        else:
            self.connection.shutdown(socket.SHUT_RDWR)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"content-type": "application/json", **(headers or {})}, json.dumps({"error": message}).encode())

    def do_GET(self):
        self._dispatch(b"")

    def do_HEAD(self):  # huggingface_hub asks a file's metadata (commit, ETag, size) before downloading it
        self._dispatch(b"")

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        self._dispatch(self.rfile.read(length) if length else b"")

    def _dispatch(self, raw: bytes) -> None:
        host = self.headers.get("x-fake-host", "")
        url = urlparse(self.path)
        auth = self.headers.get("authorization", "")
        state = self.state
        with state.lock:
            state.received.append(Received(self.command, host, self.path, dict(self.headers.items()), raw))
            for needle, token, queue in state.scripts:
                if needle in self.path and queue and (token is None or auth == f"Bearer {token}"):
                    scripted = queue.popleft()
                    break
            else:
                scripted = None
            router = host not in HUB_HOSTS and not url.path.startswith("/api/")
            if scripted is None and router and state.fault and state.rng.random() < state.fault_rate:
                scripted = state.fault
            if scripted is None and router and state.rate_per_s:
                scripted = self._over_rate(auth)
        if not router:
            return self._answer(url, raw, auth, host, scripted)
        with state.lock:  # a router call in flight (Hub lookups are not counted: they never wait)
            state.in_flight += 1
            state.peak_in_flight = max(state.peak_in_flight, state.in_flight)
        try:
            if state.latency_s:
                time.sleep(state.latency_s)
            self._answer(url, raw, auth, host, scripted)
        finally:
            with state.lock:
                state.in_flight -= 1

    def _over_rate(self, auth: str) -> tuple | None:
        """``rate_limit``'s answer for a call of this token now (under ``state.lock``): None when within the rate."""
        state, now = self.state, time.monotonic()
        calls = state.rate_calls.setdefault(auth, deque())
        while calls and calls[0] <= now - 1.0:
            calls.popleft()
        if len(calls) < state.rate_per_s:
            calls.append(now)
            return None
        return (429, {"content-type": "application/json", "retry-after": f"{state.rate_retry_after:g}"},
                {"error": "Rate limit reached. Please retry later."})

    def _answer(self, url, raw: bytes, auth: str, host: str, scripted: tuple | None) -> None:
        if scripted is not None:
            status, headers, body = scripted
            if status in ("close", "reset"):  # drop the connection without an answer
                return self._drop(reset=status == "reset")
            if status == "sleep":
                time.sleep(float(headers.get("seconds", 1)))
                return self._send(200, {"content-type": "application/json"}, body if isinstance(body, bytes) else json.dumps(body).encode())
            return self._send(status, headers, body if isinstance(body, (bytes, list)) or hasattr(body, "__next__") else json.dumps(body).encode())

        if auth.startswith("Bearer hf_invalid"):
            return self._error(401, "Invalid username or password.", {"www-authenticate": 'Bearer realm="Authentication required"'})

        if host in HUB_HOSTS or url.path.startswith("/api/"):
            return self._hub(url)
        return self._router(url, raw)

    def _hub(self, url) -> None:
        """The Hub API: search, model info (at a revision), refs, commits, whoami."""
        query = parse_qs(url.query)
        auth = self.headers.get("authorization", "")
        authorized = whoami(auth) is not None
        ok = lambda obj: self._send(200, {"content-type": "application/json"}, json.dumps(obj).encode())  # noqa: E731
        if url.path == "/api/whoami-v2":
            me = whoami(auth)
            return ok(me) if me else self._error(401, "Invalid credentials in Authorization header")
        if url.path in ("/api/models", "/api/models/"):
            return ok(search(query, authorized))
        if url.path.startswith(("/api/datasets/", "/datasets/")):
            return self._dataset(url, auth)
        if not url.path.startswith("/api/models/"):
            return self._error(404, "Not found")
        rest = unquote(url.path[len("/api/models/"):])
        model_id, what, revision = rest, None, None
        for marker in ("/refs", "/commits/", "/revision/", "/auth-check"):
            head, sep, tail = rest.partition(marker)
            if sep and head in MODELS:
                model_id, what, revision = head, marker.strip("/"), tail or None
                break
        info = model_info(model_id, authorized)
        if info is None:
            return self._send(404, {"content-type": "application/json", "x-error-code": "RepoNotFound",
                                    "x-error-message": "Repository not found"},
                              json.dumps({"error": "Repository not found"}).encode())
        # a gated model: no token is 401, a token that has no access 403, as the Hub answers its auth check (and,
        # with ``refuse_gated_info``, its info, refs and commits)
        refused = (401 if not authorized else 403 if auth.removeprefix("Bearer ").startswith("hf_nogate") else None
                   ) if info["gated"] else None
        if refused and (what == "auth-check" or self.state.gated_info):
            return self._gated(refused, model_id)
        if what == "auth-check":
            return ok({})
        if what == "refs":
            return ok(refs(model_id))
        if what in ("commits", "revision"):
            sha = resolve(model_id, revision or "main")
            if sha is None:
                return self._send(404, {"content-type": "application/json", "x-error-code": "RevisionNotFound",
                                        "x-error-message": f"Invalid rev id: {revision}"},
                                  json.dumps({"error": f"Invalid rev id: {revision}"}).encode())
            if what == "commits":
                commits = history(model_id)
                return ok(commits[[c["id"] for c in commits].index(sha):])
            info = {**info, "sha": sha}
        return ok(_expanded(info, query.get("expand[]") or query.get("expand")))

    def _dataset(self, url, auth: str) -> None:
        """A dataset repo (``answers.DATASETS``): ``GET /api/datasets/{id}/revision/{revision}`` (its commit and
        card), ``GET /api/datasets/{id}/tree/{revision}[/{path}]?recursive=`` and ``HEAD``/``GET
        /datasets/{id}/resolve/{revision}/{path}``, the revision URL-quoted (``refs%2Fconvert%2Fparquet``), with the
        Hub's headers and its errors (X-Error-Code)."""
        parts = url.path.split("/")  # still quoted: a revision's "/" is %2F
        api = parts[1] == "api"
        parts = parts[3:] if api else parts[2:]  # owner, name, "tree" | "resolve", revision, path...
        if len(parts) < 4 or parts[2] not in ("tree", "resolve", "revision") or parts[2] != "resolve" and not api:
            return self._error(404, "Not found")
        repo_id, what, revision, path = f"{parts[0]}/{parts[1]}", parts[2], unquote(parts[3]), unquote("/".join(parts[4:]))
        meta = answers.DATASETS.get(repo_id)
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        code = lambda status, error_code, message: self._send(status, {  # noqa: E731
            "content-type": "application/json", "x-error-code": error_code, "x-error-message": message},
            json.dumps({"error": message}).encode())
        if meta is None or (meta.get("private") and not token):
            return code(401 if not token else 404, "RepoNotFound",
                        "Invalid username or password." if not token else "Repository not found")
        if what == "revision":  # the dataset's info (a gated one's too: only its files are gated)
            info = answers.dataset_info(repo_id, revision)
            if info is None:
                return code(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return self._send(200, {"content-type": "application/json"}, json.dumps(info).encode())
        if meta.get("gated") and (not token or token.startswith("hf_nogate")):
            message = (f"Access to dataset {repo_id} is restricted. You must have access to it and be authenticated "
                       f"to access it. Please log in." if not token else
                       f"Access to dataset {repo_id} is restricted and you are not in the authorized list. "
                       f"Visit https://huggingface.co/datasets/{repo_id} to ask for access.")
            return code(401 if not token else 403, "GatedRepo", message)
        files = answers.dataset_files(repo_id, revision)
        if files is None:
            return code(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        converted = revision in (answers.PARQUET_REVISION, answers.dataset_commit(repo_id, answers.PARQUET_REVISION))
        commit = answers.dataset_commit(repo_id, answers.PARQUET_REVISION if converted else "main")
        if what == "tree":
            query = parse_qs(url.query)
            recursive = (query.get("recursive") or ["False"])[0].lower() == "true"
            if path and path not in files and not any(f.startswith(path.rstrip("/") + "/") for f in files):
                return code(404, "EntryNotFound", f"{path} does not exist on \"{revision}\"")
            return self._send(200, {"content-type": "application/json"},
                              json.dumps(answers.tree_entries(files, path, recursive)).encode())
        data = files.get(path)
        if data is None:
            return self._send(404, {"content-type": "application/json", "x-error-code": "EntryNotFound",
                                    "x-error-message": "Entry not found", "x-repo-commit": commit},
                              json.dumps({"error": "Entry not found"}).encode())
        etag = f'"{answers.blob_id(data)}"'
        headers = {"content-type": "application/octet-stream", "etag": etag, "x-repo-commit": commit,
                   "accept-ranges": "bytes", "content-disposition": f'inline; filename="{path.rsplit("/", 1)[-1]}"'}
        if path.endswith(".parquet"):  # an LFS file: the Hub names the blob's sha256 and size
            headers |= {"x-linked-etag": f'"{hashlib.sha256(data).hexdigest()}"', "x-linked-size": str(len(data))}
        return self._send(200, headers, data)

    def _gated(self, status: int, model_id: str) -> None:
        """The Hub's refusal of a gated model: its status, ``X-Error-Code: GatedRepo`` and its words for each."""
        message = (f"Access to model {model_id} is restricted. You must have access to it and be authenticated to "
                   f"access it. Please log in." if status == 401 else
                   f"Access to model {model_id} is restricted and you are not in the authorized list. "
                   f"Visit https://huggingface.co/{model_id} to ask for access.")
        self._send(status, {"content-type": "application/json", "x-error-code": "GatedRepo", "x-error-message": message},
                   json.dumps({"error": message}).encode())

    def _router(self, url, raw: bytes) -> None:
        path = url.path
        if path.rstrip("/") == "/v1/models" and self.command == "GET":
            return self._send(200, {"content-type": "application/json"}, json.dumps(router_models()).encode())
        try:
            body = json.loads(raw) if raw and self.headers.get("content-type", "").startswith("application/json") else raw
        except ValueError:
            return self._error(400, "Malformed JSON body")
        if self.headers.get("x-fake-host") in answers.FILE_HOSTS:
            return self._send(*answers.file_answer(path))
        parts = path.strip("/").split("/")
        provider = parts[0] if parts and parts[0] not in ("v1", "models") else "auto"
        if provider == "fal-ai":
            return self._send(*self._with_provider(answers.fal_answer(self.command, path, url.query, body), provider))
        if path.endswith("/chat/completions"):
            model = body.get("model", "") if isinstance(body, dict) else ""
            if model.startswith("errors/status-"):
                return self._status_error(int(model.rsplit("-", 1)[1]))
            if model.startswith("errors/"):
                return self._error(404, f"Model {model} does not exist")
            return self._send(*self._with_provider(chat_answer(body, model), provider))
        if "/models/" in path:
            rest = path.split("/models/", 1)[1]
            task = None
            if "/pipeline/" in rest:
                rest, task = rest.split("/pipeline/", 1)
            model = rest
            if model.startswith("errors/status-"):
                return self._status_error(int(model.rsplit("-", 1)[1]))
            meta = MODELS.get(model)
            if meta is None:
                return self._error(404, f"Model {model} does not exist")
            task = task or meta["pipeline_tag"]
            if isinstance(body, bytes) and body:
                body = {"inputs": body}  # raw media (image, audio) sent as the request body
            return self._send(*self._with_provider(task_answer(task, body), provider))
        return self._error(404, "Not found")

    def _with_provider(self, answer, provider):
        """The router names the provider that served; a server called directly (custom endpoint) does not."""
        status, headers, body = answer
        if self.headers.get("x-fake-host") in ROUTER_HOSTS:
            headers = {**headers, "x-inference-provider": provider}
        return status, headers, body

    def _status_error(self, status: int) -> None:
        messages = {
            401: "Invalid username or password.",
            403: "Access to model errors/status-403 is restricted. You must have access to it and be authenticated to access it.",
            404: "Model errors/status-404 does not exist",
            422: "Input validation error: `temperature` must be strictly positive",
            429: "You have exceeded your monthly included credits for Inference Providers.",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }
        headers = {"retry-after": "7"} if status == 429 else {}
        self._error(status, messages.get(status, f"error {status}"), headers)


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the listen backlog: 50 callers connecting at once must not be reset (default 5)


class FakeHF:
    """The running fake server; ``transport()`` routes huggingface_hub's hosts to it."""

    def __init__(self) -> None:
        self.state = FakeState()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.httpd = _Server(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def transport(self) -> "RoutingTransport":
        return RoutingTransport(self.url)

    def script(self, path_substring: str, answers: list[tuple[Any, dict[str, str], Any]], token: str | None = None) -> None:
        with self.state.lock:
            self.state.scripts.append((path_substring, token, deque(answers)))

    def chaos(self, latency_s: float = 0.0, fault_rate: float = 0.0,
              fault: tuple[int, dict[str, str], Any] | None = None, seed: int = 0) -> None:
        with self.state.lock:
            self.state.latency_s, self.state.fault_rate, self.state.fault = latency_s, fault_rate, fault
            self.state.rng = random.Random(seed)

    def rate_limit(self, per_s: int, retry_after_s: float = 1.0) -> None:
        """Refuse a token's router calls beyond ``per_s`` in any second, with 429 and Retry-After (0: no limit)."""
        with self.state.lock:
            self.state.rate_per_s, self.state.rate_retry_after = per_s, retry_after_s
            self.state.rate_calls.clear()

    def reset(self) -> None:
        with self.state.lock:
            self.state.rate_per_s = 0
            self.state.rate_calls.clear()
            self.state.received.clear()
            self.state.scripts.clear()
            self.state.latency_s, self.state.fault_rate, self.state.fault = 0.0, 0.0, None
            self.state.peak_in_flight, self.state.sign_callers = self.state.in_flight, False
            self.state.gated_info = False

    @property
    def received(self) -> list[Received]:
        return list(self.state.received)

    @property
    def peak_in_flight(self) -> int:
        """The most router calls answered at once since the last ``reset``."""
        return self.state.peak_in_flight

    def refuse_gated_info(self, on: bool = True) -> None:
        """Until the next ``reset``, a gated model's info, revisions, refs and commits are refused as its files are
        (401 ``GatedRepo`` without a token, 403 for a token without access), as the Hub has answered for gated repos
        (``GET /api/models/{id}/revision/main``: "Cannot access gated repo"); otherwise they are public, as usual."""
        self.state.gated_info = on

    def sign_callers(self, on: bool = True) -> None:
        """Name each answer's token in ``x-fake-caller`` (``caller_mark``), until the next ``reset``."""
        self.state.sign_callers = on


class RoutingTransport(httpx2.BaseTransport):
    """Send requests for the Hub's and the router's hosts to the fake server; others go out unchanged."""

    def __init__(self, fake_url: str) -> None:
        self._inner = httpx2.HTTPTransport()
        self._fake = httpx2.URL(fake_url)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """A copy of the request goes to the fake: the caller's request keeps its URL, so that huggingface_hub sees
        the Hub's own host where it reads ``response.request.url`` (a file's location after its metadata HEAD)."""
        if request.url.host in HUB_HOSTS + ROUTER_HOSTS + answers.FILE_HOSTS:
            request.headers["x-fake-host"] = request.url.host
            request = httpx2.Request(request.method, request.url.copy_with(
                scheme=self._fake.scheme, host=self._fake.host, port=self._fake.port), headers=request.headers,
                stream=request.stream, extensions=request.extensions)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()
