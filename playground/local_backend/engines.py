"""Engines that run the local models, loaded lazily, once, thread-safely.

Engine choice (measured on this 2-core CPU machine with SmolLM2-135M-Instruct):

* llama-cpp-python on the packaged Q4_1 GGUF loads in ~0.25-0.4 s and generates ~110 tokens/s;
  transformers loading the same GGUF (it dequantises to fp32) takes ~18 s and runs ~12 tokens/s.
  llama.cpp also applies the chat template stored in the GGUF, so chat needs no extra files.
* sentence-transformers for all-MiniLM-L6-v2 is the reference implementation of that model's
  pooling + normalisation, so vectors match what the Hub's sentence-transformers pipeline returns.
  Its model load is ~0.2 s; importing the library (torch, transformers, scikit-learn) costs ~5 s the
  first time in a process.

Concurrency: a llama.cpp context is not thread-safe, so each model has one generation lock held for
the whole generation (a stream holds it until it is exhausted or closed). A fast tokenizer is not
safe to reconfigure from several threads either, so embedding calls are serialised per model too.
Different models run in parallel.
"""

from __future__ import annotations

import base64
import importlib
import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from . import discovery as _catalog
from .discovery import ENGINE_LLAMA_CPP, ENGINE_SENTENCE_TRANSFORMERS, LocalModel

logger = logging.getLogger(__name__)

LLAMA_N_CTX = 2048
LLAMA_N_THREADS = 2


class UnknownModelError(KeyError):
    """The model id is not in the local catalog."""

    def __init__(self, model_id: str, task: str | None = None):
        self.model_id = model_id
        self.task = task
        served = _catalog.served_model_ids(task)
        self.message = (
            f"Model '{model_id}' is not served by the local backend. "
            f"Served models: {', '.join(served) if served else '(none)'}"
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class InvalidRequestError(ValueError):
    """The request is well-formed JSON but cannot be run (bad value, unsupported option)."""

    def __init__(self, message: str, status: int = 422, error_type: str | None = "validation"):
        super().__init__(message)
        self.status = status
        self.error_type = error_type


class ModelLoadError(RuntimeError):
    """The engine failed to load the model."""


# --------------------------------------------------------------------------------------------
# llama.cpp
# --------------------------------------------------------------------------------------------


@dataclass
class _Tap:
    """Records what llama.cpp's sampler produced for one request (see LlamaCppEngine._tapped_generate)."""

    cancel: threading.Event | None = None
    prompt_tokens: int | None = None
    tokens: list[int] = field(default_factory=list)
    cancelled: bool = False


@dataclass
class GenerationStats:
    prompt_tokens: int
    completion_tokens: int  # excludes the end-of-generation token (OpenAI convention)
    sampled_tokens: int  # includes it (TGI's generated_tokens)
    ended_on_eog: bool
    cancelled: bool


class LlamaCppEngine:
    """One ``llama_cpp.Llama`` per model; all calls are serialised by ``self.lock``."""

    name = ENGINE_LLAMA_CPP

    def __init__(self, model: LocalModel):
        from llama_cpp import Llama

        self.model_id = model.model_id
        self.lock = threading.Lock()
        self._tap: _Tap | None = None
        self.llm = Llama(
            model_path=model.path,
            n_ctx=LLAMA_N_CTX,
            n_threads=LLAMA_N_THREADS,
            n_threads_batch=LLAMA_N_THREADS,
            verbose=False,
        )
        self._eog = self._eog_checker()
        # Llama._create_completion drives sampling through ``self.generate``; wrapping it on the
        # instance gives exact token counts for streams (llama.cpp reports usage only when not
        # streaming), tells an end-of-generation token from a stop sequence, and lets a
        # disconnected client stop generation early.
        self._original_generate = self.llm.generate
        self.llm.generate = self._tapped_generate  # type: ignore[method-assign]

    def _eog_checker(self):
        try:
            import llama_cpp

            vocab = self.llm._model.vocab  # noqa: SLF001 - same call llama_cpp uses internally
            return lambda tok: bool(llama_cpp.llama_vocab_is_eog(vocab, tok))
        except Exception:  # pragma: no cover - older/newer bindings
            eos = self.llm.token_eos()
            return lambda tok: tok == eos

    def _tapped_generate(self, tokens, *args, **kwargs):
        tap = self._tap
        inner = self._original_generate(tokens, *args, **kwargs)
        if tap is None:
            yield from inner
            return
        tap.prompt_tokens = len(tokens)
        try:
            for tok in inner:
                if tap.cancel is not None and tap.cancel.is_set():
                    tap.cancelled = True
                    return
                tap.tokens.append(tok)
                yield tok
        finally:
            inner.close()

    def _stats(self, tap: _Tap) -> GenerationStats:
        ended_on_eog = bool(tap.tokens) and self._eog(tap.tokens[-1])
        sampled = len(tap.tokens)
        return GenerationStats(
            prompt_tokens=tap.prompt_tokens or 0,
            completion_tokens=sampled - (1 if ended_on_eog else 0),
            sampled_tokens=sampled,
            ended_on_eog=ended_on_eog,
            cancelled=tap.cancelled,
        )

    # -- chat ---------------------------------------------------------------------------------

    def chat(self, kwargs: dict[str, Any]) -> tuple[dict, GenerationStats]:
        with self.lock:
            tap = self._tap = _Tap()
            try:
                response = self.llm.create_chat_completion(stream=False, **kwargs)
            finally:
                self._tap = None
        return response, self._stats(tap)

    def chat_stream(
        self, kwargs: dict[str, Any], cancel: threading.Event | None = None
    ) -> Iterator[tuple[str, Any]]:
        """Yields ("chunk", openai_chunk_dict) ... then ("stats", GenerationStats).

        The model lock is taken on the first ``next()`` and released when the generator finishes
        or is closed, whichever thread that happens on (``threading.Lock`` allows that).
        """
        with self.lock:
            tap = self._tap = _Tap(cancel=cancel)
            chunks = self.llm.create_chat_completion(stream=True, **kwargs)
            try:
                for chunk in chunks:
                    yield "chunk", chunk
            finally:
                self._tap = None
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        yield "stats", self._stats(tap)

    # -- raw completion (text-generation) -------------------------------------------------------

    def complete(self, prompt: str | list[int], kwargs: dict[str, Any]) -> tuple[dict, GenerationStats]:
        with self.lock:
            tap = self._tap = _Tap()
            try:
                response = self.llm.create_completion(prompt, stream=False, **kwargs)
            finally:
                self._tap = None
        return response, self._stats(tap)

    def complete_stream(
        self, prompt: str | list[int], kwargs: dict[str, Any], cancel: threading.Event | None = None
    ) -> Iterator[tuple[str, Any]]:
        """Yields ("chunk", completion_chunk, last_token_id) ... then ("stats", GenerationStats)."""
        with self.lock:
            tap = self._tap = _Tap(cancel=cancel)
            chunks = self.llm.create_completion(prompt, stream=True, **kwargs)
            try:
                for chunk in chunks:
                    yield "chunk", (chunk, tap.tokens[-1] if tap.tokens else None)
            finally:
                self._tap = None
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        yield "stats", self._stats(tap)

    def tokenize(self, text: str) -> list[int]:
        with self.lock:
            return self.llm.tokenize(text.encode("utf-8"), add_bos=self.llm._model.add_bos_token(), special=True)  # noqa: SLF001


# --------------------------------------------------------------------------------------------
# sentence-transformers
# --------------------------------------------------------------------------------------------


class SentenceTransformerEngine:
    name = ENGINE_SENTENCE_TRANSFORMERS

    def __init__(self, model: LocalModel):
        try:  # keep "Loading weights" progress bars out of the app's console
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except Exception:  # pragma: no cover
            pass
        from sentence_transformers import SentenceTransformer

        self.model_id = model.model_id
        self.lock = threading.Lock()
        self.st = SentenceTransformer(model.path, device="cpu", local_files_only=True)
        self.st.eval()
        modules = list(self.st)
        # A trailing Normalize module makes every vector unit-length; a view without it (sharing the
        # same weights) honours normalize=false like text-embeddings-inference does.
        if modules and type(modules[-1]).__name__ == "Normalize":
            self.unnormalized = SentenceTransformer(modules=modules[:-1], device="cpu")
        else:
            self.unnormalized = self.st
        self.dimension = int(self.st.get_embedding_dimension())
        self.max_seq_length = int(self.st.max_seq_length or 0)

    def _token_counts(self, texts: list[str]) -> list[int]:
        tokenizer = self.st.tokenizer
        return [len(ids) for ids in tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]]

    def embed(
        self,
        texts: list[str],
        *,
        normalize: bool = True,
        truncate: bool | None = None,
        truncation_direction: str | None = None,
        prompt_name: str | None = None,
        dimensions: int | None = None,
    ):
        import numpy as np

        if prompt_name is not None and prompt_name not in (self.st.prompts or {}):
            known = ", ".join(sorted(self.st.prompts or {})) or "(none)"
            raise InvalidRequestError(
                f"Unknown prompt_name '{prompt_name}' for {self.model_id}. Available prompts: {known}"
            )
        if dimensions is not None and not (1 <= dimensions <= self.dimension):
            raise InvalidRequestError(f"dimensions must be between 1 and {self.dimension}, got {dimensions}")
        if truncation_direction not in (None, "left", "right", "Left", "Right"):
            raise InvalidRequestError("truncation_direction must be 'left' or 'right'")

        with self.lock:
            if truncate is False and self.max_seq_length:
                counts = self._token_counts(texts)
                longest = max(counts)
                if longest > self.max_seq_length:
                    raise InvalidRequestError(
                        f"Input validation error: `inputs` must have less than {self.max_seq_length} tokens. "
                        f"Given: {longest}. Pass truncate=true to truncate it."
                    )
            tokenizer = self.st.tokenizer
            side = tokenizer.truncation_side
            if truncation_direction:
                tokenizer.truncation_side = truncation_direction.lower()
            try:
                model = self.st if normalize else self.unnormalized
                vectors = model.encode(
                    texts,
                    prompt_name=prompt_name,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                    normalize_embeddings=False,
                )
            finally:
                tokenizer.truncation_side = side
        vectors = np.asarray(vectors, dtype=np.float32)
        if dimensions is not None and dimensions < vectors.shape[-1]:
            vectors = vectors[:, :dimensions]
            if normalize:
                norms = np.linalg.norm(vectors, axis=1, keepdims=True)
                vectors = vectors / np.maximum(norms, 1e-12)
        return vectors

    def similarity(self, source: str, sentences: list[str]) -> list[float]:
        import numpy as np

        vectors = self.embed([source, *sentences], normalize=True)
        return [float(x) for x in np.clip(vectors[1:] @ vectors[0], -1.0, 1.0)]


def vectors_as_base64(vectors) -> list[str]:
    """OpenAI-style base64 encoding of float32 little-endian vectors."""
    import numpy as np

    return [base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode("ascii") for v in vectors]


# --------------------------------------------------------------------------------------------
# Registry: lazy, load-once, per-model locks
# --------------------------------------------------------------------------------------------

_ENGINE_CLASSES = {ENGINE_LLAMA_CPP: LlamaCppEngine, ENGINE_SENTENCE_TRANSFORMERS: SentenceTransformerEngine}


class _Slot:
    def __init__(self, model: LocalModel):
        self.model = model
        self.load_lock = threading.Lock()
        self.engine: Any = None
        self.state = "not loaded"
        self.error: str | None = None
        self.load_seconds: float | None = None


_registry_lock = threading.Lock()
_slots: dict[str, _Slot] = {}


def _slot(model_id: str) -> _Slot:
    with _registry_lock:
        slot = _slots.get(model_id)
        if slot is None:
            model = _catalog.find(model_id)
            if model is None:
                raise UnknownModelError(model_id)
            slot = _slots[model_id] = _Slot(model)
        return slot


def get_engine(model_id: str):
    """The loaded engine for ``model_id``, loading it on first use (once; concurrent callers wait)."""
    slot = _slot(model_id)
    engine = slot.engine
    if engine is not None:
        return engine
    with slot.load_lock:
        if slot.engine is not None:
            return slot.engine
        slot.state = "loading"
        slot.error = None
        started = time.perf_counter()
        try:
            engine = _ENGINE_CLASSES[slot.model.engine](slot.model)
        except Exception as exc:
            slot.state = "failed"
            slot.error = f"{type(exc).__name__}: {exc}"
            logger.exception("Local backend could not load %s", model_id)
            raise ModelLoadError(f"Could not load {model_id} with {slot.model.engine}: {slot.error}") from exc
        slot.load_seconds = time.perf_counter() - started
        slot.engine = engine
        slot.state = "ready"
        logger.info("Local backend loaded %s in %.2fs", model_id, slot.load_seconds)
        return engine


def preload_libraries() -> threading.Thread:
    """Import the engines' libraries in a background thread, so a first use pays for loading weights only.

    Importing sentence-transformers (torch, transformers, scipy) takes 4-5 s on a small machine, while the
    weights of MiniLM load in ~0.1 s. Models themselves still load lazily, on first use."""

    def _import() -> None:
        for name in ("llama_cpp", "sentence_transformers"):
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - a broken install is reported by the first real load
                pass

    thread = threading.Thread(target=_import, name="local-backend-preload", daemon=True)
    thread.start()
    return thread


def load_state(model_id: str) -> str:
    """"not loaded" | "loading" | "ready" | "failed: <reason>". Raises UnknownModelError if not served."""
    slot = _slot(model_id)
    if slot.state == "failed":
        return f"failed: {slot.error}"
    return slot.state


def load_seconds(model_id: str) -> float | None:
    """How long the (single) load of ``model_id`` took, once it is ready."""
    return _slot(model_id).load_seconds


def warm(model_id: str) -> None:
    """Load ``model_id`` now (blocking). Instant if already loaded; a failed load is retried."""
    get_engine(model_id)


def new_seed() -> int:
    return random.randint(0, 2**31 - 1)
