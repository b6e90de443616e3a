"""HTTP server speaking the protocols Hugging Face's providers speak, backed by local engines.

Routes (what ``huggingface_hub.InferenceClient`` calls, unchanged):

* ``POST /v1/chat/completions`` and ``POST /models/{model_id}/v1/chat/completions`` - OpenAI chat
  completions, JSON or SSE (``data: {...}`` chunks, ``data: [DONE]``; a usage chunk when
  ``stream_options.include_usage`` is true; usage always in the JSON response).
* ``GET /v1/models`` (and ``/v1/models/{model_id}``) - OpenAI model list.
* ``POST /models/{model_id}`` - hf-inference task route: text-generation (TGI-style
  ``[{"generated_text": ...}]``, SSE when ``"stream": true``) for LLMs; feature-extraction or
  sentence-similarity (chosen from the shape of ``inputs``) for embedding models.
* ``POST /models/{model_id}/pipeline/{task}`` - explicit task (feature-extraction, sentence-similarity, ...).

Errors are ``{"error": "..."}`` bodies like the HF router's (text-generation validation errors also
carry TGI's ``"error_type": "validation"``). Responses carry ``x-inference-provider: local`` and
``x-sha: <revision>``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from . import discovery as _catalog
from . import engines as _engines
from .discovery import CHAT, FEATURE_EXTRACTION, SENTENCE_SIMILARITY, TASKS, TEXT_GENERATION
from .engines import InvalidRequestError, ModelLoadError, UnknownModelError

# Module level on purpose: FastAPI resolves the (postponed) ``Request`` annotations from module globals.
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

PROVIDER_HEADER = "x-inference-provider"
PROVIDER_NAME = "local"

# text-generation defaults (TGI semantics)
DEFAULT_MAX_NEW_TOKENS = 100
MAX_EMBEDDING_INPUTS = 512
# Placeholders InferenceClient puts in the body when the model is given as a URL.
_PLACEHOLDER_MODELS = {"", "dummy", "tgi", "local"}


class HTTPFailure(Exception):
    def __init__(self, status: int, message: str, error_type: str | None = None, model: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.model = model


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def _headers(model_id: str | None) -> dict[str, str]:
    headers = {PROVIDER_HEADER: PROVIDER_NAME, "x-compute-type": "cpu"}
    if model_id:
        model = _catalog.find(model_id)
        if model is not None and model.revision:
            headers["x-sha"] = model.revision
    return headers


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _sse(obj: Any) -> bytes:
    return f"data: {_dumps(obj)}\n\n".encode()


def _parse_json(body: bytes) -> Any:
    if not body.strip():
        raise HTTPFailure(400, "Request body is empty: expected a JSON object.")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPFailure(400, f"Malformed JSON body: {exc}") from exc


def _require_object(payload: Any) -> dict:
    if not isinstance(payload, dict):
        raise HTTPFailure(400, f"Expected a JSON object, got {type(payload).__name__}.")
    return payload


def _resolve(model_id: str, task: str) -> str:
    """404 if the model is unknown for every task, 400 if it exists but cannot run ``task``."""
    if _catalog.find(model_id, task) is not None:
        return model_id
    other_tasks = _catalog.tasks_of(model_id)
    if other_tasks:
        raise HTTPFailure(
            400,
            f"Model '{model_id}' cannot run task '{task}' on the local backend; it serves: {', '.join(other_tasks)}.",
            model=model_id,
        )
    raise HTTPFailure(404, str(UnknownModelError(model_id, task)))


def _number(params: dict, key: str, *, kind: type = float, low: float | None = None, high: float | None = None,
            low_open: bool = False, high_open: bool = False) -> Any:
    value = params.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not float(value).is_integer()):
        raise InvalidRequestError(f"`{key}` must be {'an integer' if kind is int else 'a number'}, got {value!r}")
    value = kind(value)
    if low is not None and (value < low or (low_open and value == low)):
        raise InvalidRequestError(f"`{key}` must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise InvalidRequestError(f"`{key}` must be {'<' if high_open else '<='} {high}, got {value}")
    return value


def _stop_list(value: Any, key: str = "stop") -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value):
        raise InvalidRequestError(f"`{key}` must be a non-empty string or a list of non-empty strings")
    return value


_END = object()


def _next(iterator: Iterator) -> Any:
    try:
        return next(iterator)
    except StopIteration:
        return _END


# --------------------------------------------------------------------------------------------
# chat completions (OpenAI)
# --------------------------------------------------------------------------------------------


def _message_text(content: Any, model_id: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict):
                raise InvalidRequestError("message content parts must be objects")
            if part.get("type") == "text":
                texts.append(str(part.get("text") or ""))
            else:
                raise InvalidRequestError(
                    f"Content of type '{part.get('type')}' is not supported by {model_id} (text only)."
                )
        return "\n".join(texts)
    raise InvalidRequestError("message content must be a string or a list of content parts")


def _chat_kwargs(payload: dict, model_id: str) -> dict[str, Any]:
    """Validate an OpenAI chat request and map it to ``Llama.create_chat_completion`` arguments."""
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequestError("`messages` must be a non-empty list", status=400, error_type=None)
    converted = []
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise InvalidRequestError("each message must be an object with a string `role`", status=400, error_type=None)
        role = message["role"]
        if role not in ("system", "user", "assistant", "developer"):
            raise InvalidRequestError(f"Messages with role '{role}' are not supported by the local backend.")
        converted.append({"role": "system" if role == "developer" else role,
                          "content": _message_text(message.get("content"), model_id)})
    if not any(m["content"].strip() for m in converted):
        raise InvalidRequestError("`messages` contain no text", status=400, error_type=None)

    unsupported = []
    if payload.get("tools"):
        unsupported.append("tools")
    if payload.get("logprobs") or payload.get("top_logprobs"):
        unsupported.append("logprobs")
    if payload.get("n") not in (None, 1):
        unsupported.append("n>1")
    if unsupported:
        raise InvalidRequestError(f"Not supported by the local backend ({model_id}): {', '.join(unsupported)}.")

    kwargs: dict[str, Any] = {"messages": converted, "model": model_id}
    max_tokens = payload.get("max_tokens", payload.get("max_completion_tokens"))
    if max_tokens is not None:
        kwargs["max_tokens"] = _number({"max_tokens": max_tokens}, "max_tokens", kind=int, low=1)
    for key, low, high in (("temperature", 0, 2), ("top_p", 0, 1), ("frequency_penalty", -2, 2),
                           ("presence_penalty", -2, 2)):
        value = _number(payload, key, low=low, high=high)
        if value is not None:
            kwargs[key] = value
    top_k = _number(payload, "top_k", kind=int, low=0)
    if top_k is not None:
        kwargs["top_k"] = top_k
    repetition_penalty = _number(payload, "repetition_penalty", low=0, low_open=True)
    if repetition_penalty is not None:
        kwargs["repeat_penalty"] = repetition_penalty
    seed = _number(payload, "seed", kind=int)
    if seed is not None:
        kwargs["seed"] = seed
    stop = _stop_list(payload.get("stop"))
    if stop:
        kwargs["stop"] = stop
    logit_bias = payload.get("logit_bias")
    if logit_bias:
        if not isinstance(logit_bias, dict):
            raise InvalidRequestError("`logit_bias` must be an object mapping token ids to biases")
        try:
            kwargs["logit_bias"] = {int(k): float(v) for k, v in logit_bias.items()}
        except (TypeError, ValueError) as exc:
            raise InvalidRequestError(f"invalid `logit_bias`: {exc}") from exc
    response_format = payload.get("response_format")
    if response_format:
        kwargs["response_format"] = _response_format(response_format)
    return kwargs


def _response_format(fmt: Any) -> dict | None:
    if not isinstance(fmt, dict) or not isinstance(fmt.get("type"), str):
        raise InvalidRequestError("`response_format` must be an object with a `type`")
    kind = fmt["type"]
    if kind == "text":
        return None
    if kind in ("json_object", "json"):
        schema = fmt.get("value", fmt.get("schema"))
        return {"type": "json_object", **({"schema": schema} if schema else {})}
    if kind == "json_schema":
        spec = fmt.get("json_schema") or {}
        schema = spec.get("schema") if isinstance(spec, dict) else None
        return {"type": "json_object", **({"schema": schema} if schema else {})}
    raise InvalidRequestError(f"response_format type '{kind}' is not supported by the local backend")


def _usage(stats: _engines.GenerationStats) -> dict[str, int]:
    return {
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.completion_tokens,
        "total_tokens": stats.prompt_tokens + stats.completion_tokens,
    }


def _chat_model_id(payload: dict, path_model: str | None) -> str:
    if path_model:
        return _resolve(path_model, CHAT)
    model = payload.get("model")
    if model is not None and not isinstance(model, str):
        raise HTTPFailure(400, "`model` must be a string")
    if model is None or model.strip().lower() in _PLACEHOLDER_MODELS or model.startswith(("http://", "https://")):
        served = _catalog.served_model_ids(CHAT)
        if not served:
            raise HTTPFailure(404, str(UnknownModelError(model or "", CHAT)))
        return served[0]
    return _resolve(model, CHAT)


def _chat_sse(events: Iterator, first: Any, model_id: str, include_usage: bool) -> Iterator[bytes]:
    chunk_meta: dict[str, Any] = {}
    item = first
    try:
        while item is not _END:
            kind, value = item
            if kind == "chunk":
                value["model"] = model_id
                if not chunk_meta:
                    chunk_meta = {"id": value.get("id"), "created": value.get("created")}
                yield _sse(value)
            elif kind == "stats" and include_usage:
                yield _sse({
                    "id": chunk_meta.get("id") or f"chatcmpl-{uuid.uuid4()}",
                    "object": "chat.completion.chunk",
                    "created": chunk_meta.get("created") or int(time.time()),
                    "model": model_id,
                    "choices": [],
                    "usage": _usage(value),
                })
            item = _next(events)
    except Exception as exc:  # mid-stream failure: report it the way TGI/HF do
        logger.exception("local backend chat stream failed")
        yield _sse({"error": f"{type(exc).__name__}: {exc}", "error_type": "generation"})
    yield b"data: [DONE]\n\n"


# --------------------------------------------------------------------------------------------
# text-generation (TGI / hf-inference)
# --------------------------------------------------------------------------------------------

_TGI_SUPPORTED = {
    "max_new_tokens", "temperature", "top_p", "top_k", "seed", "stop", "stop_sequences", "return_full_text",
    "do_sample", "repetition_penalty", "frequency_penalty", "typical_p", "truncate", "details",
}
# Accepted only at their neutral value.
_TGI_NEUTRAL = {
    "decoder_input_details": (None, False), "watermark": (None, False), "best_of": (None, 1),
    "top_n_tokens": (None, 0), "grammar": (None,), "adapter_id": (None, ""),
}


def _text_generation_plan(payload: dict, model_id: str) -> dict[str, Any]:
    inputs = payload.get("inputs")
    if not isinstance(inputs, str) or not inputs:
        raise InvalidRequestError("`inputs` must be a non-empty string", status=400, error_type=None)
    params = payload.get("parameters") or {}
    if not isinstance(params, dict):
        raise InvalidRequestError("`parameters` must be an object", status=400, error_type=None)
    unsupported = sorted(
        k for k, v in params.items()
        if k not in _TGI_SUPPORTED and not (k in _TGI_NEUTRAL and v in _TGI_NEUTRAL[k])
    )
    if unsupported:
        raise InvalidRequestError(
            f"Parameters not supported by the local backend ({model_id}): {', '.join(unsupported)}"
        )
    max_new_tokens = _number(params, "max_new_tokens", kind=int, low=1)
    temperature = _number(params, "temperature", low=0, low_open=True)
    top_p = _number(params, "top_p", low=0, high=1, low_open=True)
    top_k = _number(params, "top_k", kind=int, low=0, low_open=True)
    typical_p = _number(params, "typical_p", low=0, high=1, low_open=True)
    repetition_penalty = _number(params, "repetition_penalty", low=0, low_open=True)
    frequency_penalty = _number(params, "frequency_penalty", low=-2, high=2)
    seed = _number(params, "seed", kind=int, low=0)
    truncate = _number(params, "truncate", kind=int, low=1)
    stop = _stop_list(params.get("stop"), "stop") + _stop_list(params.get("stop_sequences"), "stop_sequences")
    do_sample = bool(params.get("do_sample"))

    # TGI samples when asked to, or when any warper departs from its neutral value.
    sampling = do_sample or any((
        temperature is not None and temperature != 1.0,
        top_k is not None and top_k != 0,
        top_p is not None and top_p < 1.0,
        typical_p is not None and typical_p < 1.0,
    ))
    kwargs: dict[str, Any] = {
        "max_tokens": max_new_tokens or DEFAULT_MAX_NEW_TOKENS,
        "stop": stop,
        "repeat_penalty": repetition_penalty or 1.0,
        "frequency_penalty": frequency_penalty or 0.0,
        "min_p": 0.0,
        "model": model_id,
    }
    if sampling:
        seed = seed if seed is not None else _engines.new_seed()
        kwargs.update(
            temperature=temperature if temperature is not None else 1.0,
            top_p=top_p if top_p is not None else 1.0,
            top_k=top_k or 0,
            typical_p=typical_p if typical_p is not None else 1.0,
            seed=seed,
        )
    else:
        seed = None
        kwargs.update(temperature=0.0, top_k=1, top_p=1.0)  # greedy
    return {
        "inputs": inputs,
        "kwargs": kwargs,
        "seed": seed,
        "truncate": truncate,
        "return_full_text": bool(params.get("return_full_text", False)),
        "details": bool(params.get("details", False)),
        "stream": bool(payload.get("stream", False)),
    }


def _prompt_for(engine: _engines.LlamaCppEngine, plan: dict) -> str | list[int]:
    if plan["truncate"] is None:
        return plan["inputs"]
    tokens = engine.tokenize(plan["inputs"])
    if len(tokens) <= plan["truncate"]:
        return tokens
    bos = engine.llm.token_bos()
    kept = tokens[-plan["truncate"]:]
    return [bos, *kept] if tokens and tokens[0] == bos and kept[0] != bos else kept


def _tgi_finish_reason(llama_reason: str | None, stats: _engines.GenerationStats) -> str:
    if llama_reason == "stop":
        return "eos_token" if stats.ended_on_eog else "stop_sequence"
    return "length"


def _tgi_details(finish_reason: str, stats: _engines.GenerationStats, seed: int | None) -> dict:
    return {"finish_reason": finish_reason, "generated_tokens": stats.sampled_tokens, "seed": seed}


def _run_text_generation(model_id: str, plan: dict) -> list[dict]:
    engine = _engines.get_engine(model_id)
    response, stats = engine.complete(_prompt_for(engine, plan), plan["kwargs"])
    choice = response["choices"][0]
    text = choice.get("text") or ""
    if plan["return_full_text"]:
        text = plan["inputs"] + text
    out: dict[str, Any] = {"generated_text": text}
    if plan["details"]:
        out["details"] = _tgi_details(_tgi_finish_reason(choice.get("finish_reason"), stats), stats, plan["seed"])
    return [out]


def _text_generation_sse(events: Iterator, first: Any, plan: dict) -> Iterator[bytes]:
    index = 0
    pieces: list[str] = []
    finish = None
    last_token = None
    item = first
    try:
        while item is not _END:
            kind, value = item
            if kind == "chunk":
                chunk, last_token = value
                choice = chunk["choices"][0]
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
                text = choice.get("text") or ""
                if text:
                    pieces.append(text)
                    index += 1
                    yield _sse({
                        "index": index,
                        "token": {"id": last_token, "text": text, "logprob": None, "special": False},
                        "generated_text": None,
                        "details": None,
                    })
            elif kind == "stats":
                generated = "".join(pieces)
                if plan["return_full_text"]:
                    generated = plan["inputs"] + generated
                yield _sse({
                    "index": index + 1,
                    "token": {"id": last_token, "text": "", "logprob": None, "special": True},
                    "generated_text": generated,
                    "details": _tgi_details(_tgi_finish_reason(finish, value), value, plan["seed"])
                    if plan["details"] else None,
                })
            item = _next(events)
    except Exception as exc:
        logger.exception("local backend text-generation stream failed")
        yield _sse({"error": f"{type(exc).__name__}: {exc}", "error_type": "generation"})


# --------------------------------------------------------------------------------------------
# feature-extraction / sentence-similarity
# --------------------------------------------------------------------------------------------


def _feature_extraction(model_id: str, payload: dict) -> Any:
    inputs = payload.get("inputs")
    single = isinstance(inputs, str)
    texts = [inputs] if single else inputs
    if not isinstance(texts, list) or not texts:
        raise InvalidRequestError("`inputs` must be a non-empty string or a non-empty list of strings",
                                  status=400, error_type=None)
    if not all(isinstance(t, str) and t for t in texts):
        raise InvalidRequestError("every input must be a non-empty string", status=400, error_type=None)
    if len(texts) > MAX_EMBEDDING_INPUTS:
        raise InvalidRequestError(f"at most {MAX_EMBEDDING_INPUTS} inputs per request, got {len(texts)}")
    nested = payload.get("parameters") if isinstance(payload.get("parameters"), dict) else {}
    params = {**nested, **{k: v for k, v in payload.items() if k not in ("inputs", "parameters")}}
    normalize = params.get("normalize")
    truncate = params.get("truncate")
    for key, value in (("normalize", normalize), ("truncate", truncate)):
        if value is not None and not isinstance(value, bool):
            raise InvalidRequestError(f"`{key}` must be a boolean")
    encoding_format = params.get("encoding_format") or "float"
    if encoding_format not in ("float", "base64"):
        raise InvalidRequestError("`encoding_format` must be 'float' or 'base64'")
    engine = _engines.get_engine(model_id)
    vectors = engine.embed(
        texts,
        normalize=True if normalize is None else normalize,
        truncate=truncate,
        truncation_direction=params.get("truncation_direction"),
        prompt_name=params.get("prompt_name"),
        dimensions=_number(params, "dimensions", kind=int, low=1),
    )
    if encoding_format == "base64":
        return _engines.vectors_as_base64(vectors)
    return vectors.tolist()


def _sentence_similarity(model_id: str, payload: dict) -> list[float]:
    inputs = payload.get("inputs")
    if not isinstance(inputs, dict):
        raise InvalidRequestError(
            "`inputs` must be an object with `source_sentence` and `sentences`", status=400, error_type=None
        )
    source = inputs.get("source_sentence")
    sentences = inputs.get("sentences")
    if not isinstance(source, str) or not source:
        raise InvalidRequestError("`source_sentence` must be a non-empty string", status=400, error_type=None)
    if not isinstance(sentences, list) or not sentences or not all(isinstance(s, str) and s for s in sentences):
        raise InvalidRequestError("`sentences` must be a non-empty list of non-empty strings", status=400,
                                  error_type=None)
    if len(sentences) + 1 > MAX_EMBEDDING_INPUTS:
        raise InvalidRequestError(f"at most {MAX_EMBEDDING_INPUTS - 1} sentences per request")
    return _engines.get_engine(model_id).similarity(source, sentences)


# --------------------------------------------------------------------------------------------
# FastAPI application
# --------------------------------------------------------------------------------------------


def create_app() -> FastAPI:
    app = FastAPI(title="Playground local inference backend", docs_url=None, redoc_url=None, openapi_url=None)

    def error_response(exc: Exception, model_id: str | None = None) -> JSONResponse:
        if isinstance(exc, HTTPFailure):
            status, message, error_type, model_id = exc.status, exc.message, exc.error_type, exc.model or model_id
        elif isinstance(exc, UnknownModelError):
            status, message, error_type, model_id = 404, str(exc), None, None
        elif isinstance(exc, InvalidRequestError):
            status, message, error_type = exc.status, str(exc), exc.error_type
        elif isinstance(exc, ModelLoadError):
            status, message, error_type = 500, str(exc), None
        elif isinstance(exc, ValueError):  # llama.cpp: prompt longer than the context window, bad grammar...
            status, message, error_type = 422, str(exc), "validation"
        else:
            logger.exception("local backend request failed")
            status, message, error_type = 500, f"Internal error in the local backend: {type(exc).__name__}: {exc}", None
        body: dict[str, Any] = {"error": message}
        if error_type:
            body["error_type"] = error_type
        return JSONResponse(body, status_code=status, headers=_headers(model_id))

    @app.exception_handler(StarletteHTTPException)
    async def _http_exc(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        if exc.status_code == 404:
            detail = f"No route {request.method} {request.url.path} on the local backend."
        return JSONResponse({"error": detail}, status_code=exc.status_code, headers=_headers(None))

    @app.exception_handler(RequestValidationError)
    async def _validation_exc(request: Request, exc: RequestValidationError):
        return JSONResponse({"error": str(exc)}, status_code=422, headers=_headers(None))

    async def call(fn: Callable, *args, model_id: str | None = None):
        started = time.perf_counter()
        try:
            result = await run_in_threadpool(fn, *args)
        except Exception as exc:
            return error_response(exc, model_id)
        headers = _headers(model_id)
        headers["x-compute-time"] = f"{time.perf_counter() - started:.4f}"
        return JSONResponse(result, headers=headers)

    async def stream(events: Iterator, to_sse: Callable[..., Iterator[bytes]], model_id: str,
                     cancel: threading.Event, *args):
        # Fetch the first event before answering so load/validation errors become HTTP errors.
        try:
            first = await run_in_threadpool(_next, events)
        except Exception as exc:
            cancel.set()
            return error_response(exc, model_id)
        sse = to_sse(events, first, *args)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        def put(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # event loop closed: server stopped
                cancel.set()

        def produce() -> None:
            # One thread drives the whole generation and hands each SSE piece to the event loop: no
            # per-token thread-pool round trip, and the generators are closed by the thread that runs
            # them (which releases the model lock) as soon as the client is gone.
            try:
                for piece in sse:
                    if cancel.is_set():
                        break
                    put(piece)
            except Exception:  # pragma: no cover - the SSE generators report their own errors
                logger.exception("local backend stream producer failed")
            finally:
                sse.close()
                events.close()
                put(_END)

        async def body():
            threading.Thread(target=produce, name="local-backend-stream", daemon=True).start()
            try:
                while True:
                    piece = await queue.get()
                    if piece is _END:
                        return
                    yield piece
            finally:  # client gone or stream done: the producer stops at its next token
                cancel.set()

        headers = {**_headers(model_id), "cache-control": "no-cache", "x-accel-buffering": "no"}
        return StreamingResponse(body(), media_type="text/event-stream", headers=headers)

    async def read_payload(request: Request) -> dict:
        return _require_object(_parse_json(await request.body()))

    # -- OpenAI -------------------------------------------------------------------------------

    async def chat(request: Request, path_model: str | None):
        try:
            payload = await read_payload(request)
            model_id = _chat_model_id(payload, path_model)
            kwargs = _chat_kwargs(payload, model_id)
            streaming = payload.get("stream", False)
            stream_options = payload.get("stream_options") or {}
            if not isinstance(stream_options, dict):
                raise InvalidRequestError("`stream_options` must be an object", status=400, error_type=None)
        except Exception as exc:
            return error_response(exc, path_model)

        if not streaming:
            def run():
                engine = _engines.get_engine(model_id)
                response, stats = engine.chat(kwargs)
                response["model"] = model_id
                response["usage"] = _usage(stats) if stats.prompt_tokens else response.get("usage")
                return response

            return await call(run, model_id=model_id)

        try:
            engine = await run_in_threadpool(_engines.get_engine, model_id)
        except Exception as exc:
            return error_response(exc, model_id)
        cancel = threading.Event()
        events = engine.chat_stream(kwargs, cancel)
        return await stream(events, _chat_sse, model_id, cancel, model_id, bool(stream_options.get("include_usage")))

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        return await chat(request, None)

    @app.post("/models/{model_id:path}/v1/chat/completions")
    async def model_chat_completions(model_id: str, request: Request):
        return await chat(request, model_id)

    def model_card(model_id: str) -> dict:
        entries = [m for m in _catalog.all_models() if m.model_id == model_id]
        first = entries[0]
        try:
            created = int(os.path.getmtime(first.path))
        except OSError:
            created = 0
        return {
            "id": model_id,
            "object": "model",
            "created": created,
            "owned_by": "local",
            "tasks": [m.task for m in entries],
            "revision": first.revision,
            "engine": first.engine,
            "source": first.source,
        }

    @app.get("/v1/models")
    async def list_models():
        data = [model_card(mid) for mid in _catalog.served_model_ids()]
        return JSONResponse({"object": "list", "data": data}, headers=_headers(None))

    @app.get("/v1/models/{model_id:path}")
    async def get_model(model_id: str):
        if _catalog.find(model_id) is None:
            return error_response(UnknownModelError(model_id))
        return JSONResponse(model_card(model_id), headers=_headers(model_id))

    # -- hf-inference task routes -------------------------------------------------------------

    async def run_task(request: Request, model_id: str, task: str):
        try:
            payload = await read_payload(request)
            _resolve(model_id, task)
        except Exception as exc:
            return error_response(exc, model_id if _catalog.find(model_id) else None)

        if task == FEATURE_EXTRACTION:
            return await call(_feature_extraction, model_id, payload, model_id=model_id)
        if task == SENTENCE_SIMILARITY:
            return await call(_sentence_similarity, model_id, payload, model_id=model_id)
        if task == TEXT_GENERATION:
            try:
                plan = _text_generation_plan(payload, model_id)
            except Exception as exc:
                return error_response(exc, model_id)
            if not plan["stream"]:
                return await call(_run_text_generation, model_id, plan, model_id=model_id)
            try:
                engine = await run_in_threadpool(_engines.get_engine, model_id)
            except Exception as exc:
                return error_response(exc, model_id)
            cancel = threading.Event()
            events = engine.complete_stream(_prompt_for(engine, plan), plan["kwargs"], cancel)
            return await stream(events, _text_generation_sse, model_id, cancel, plan)
        if task == CHAT:
            return error_response(HTTPFailure(400, f"Use POST /models/{model_id}/v1/chat/completions for chat."), model_id)
        return error_response(HTTPFailure(400, f"Unknown task '{task}'."), model_id)

    @app.post("/models/{model_id:path}/pipeline/{task}")
    async def pipeline(model_id: str, task: str, request: Request):
        if task not in TASKS or task == CHAT:
            served = [t for t in TASKS if t != CHAT]
            return error_response(
                HTTPFailure(400, f"Unknown task route '{task}'. The local backend serves pipeline tasks: {', '.join(served)}."),
                model_id if _catalog.find(model_id) else None,
            )
        return await run_task(request, model_id, task)

    @app.post("/models/{model_id:path}")
    async def model_default_task(model_id: str, request: Request):
        tasks = _catalog.tasks_of(model_id)
        if not tasks:
            return error_response(UnknownModelError(model_id))
        if TEXT_GENERATION in tasks:
            return await run_task(request, model_id, TEXT_GENERATION)
        # Embedding model: the shape of `inputs` says which task (like the Hub's widget routing).
        try:
            payload = _parse_json(await request.body())
        except Exception as exc:
            return error_response(exc, model_id)
        is_similarity = isinstance(payload, dict) and isinstance(payload.get("inputs"), dict)
        task = SENTENCE_SIMILARITY if is_similarity and SENTENCE_SIMILARITY in tasks else tasks[0]
        return await run_task(request, model_id, task)

    # -- engine state, for the app that supervises this process -----------------------------------

    def state_of(model_id: str) -> dict:
        if _catalog.find(model_id) is None:
            raise UnknownModelError(model_id)
        slot = _engines._slot(model_id)  # noqa: SLF001 - the registry's own view
        engine = slot.engine
        return {"model": model_id, "state": _engines.load_state(model_id), "load_seconds": slot.load_seconds,
                "busy": bool(engine is not None and engine.lock.locked())}

    @app.get("/local/state/{model_id:path}")
    async def local_state(model_id: str):
        try:
            return JSONResponse(state_of(model_id), headers=_headers(None))
        except Exception as exc:
            return error_response(exc)

    @app.post("/local/load/{model_id:path}")
    async def local_load(model_id: str):
        """Load a model now (blocking until it is ready); answers its state."""
        def load() -> dict:
            _engines.warm(model_id)
            return state_of(model_id)

        return await call(load)

    @app.get("/health")
    async def health():
        preload = _preloading[0]
        body = {"status": "ok", "pid": os.getpid()}
        if preload is not None:
            body["libraries"] = "importing" if preload.is_alive() else "imported"
        return JSONResponse(body, headers=_headers(None))

    @app.get("/")
    async def root():
        return JSONResponse(
            {"provider": PROVIDER_NAME, "models": {t: _catalog.served_model_ids(t) for t in TASKS}},
            headers=_headers(None),
        )

    return app


# --------------------------------------------------------------------------------------------
# The engine process: ``python -m playground.local_backend`` (started by supervisor.py)
# --------------------------------------------------------------------------------------------


_preloading: list[threading.Thread | None] = [None]  # the engine process's one library preload, if asked


def _exit_when_parent_goes() -> None:
    """The app holds our stdin open; when it ends (even by SIGKILL) stdin reaches EOF and we leave."""
    import sys

    try:
        while sys.stdin.buffer.read(65536):
            pass
    finally:
        os._exit(0)


def main(argv: list[str] | None = None) -> None:
    """Serve the local backend on 127.0.0.1, print ``LISTENING <port>`` on stdout, then serve until told to stop.

    Native engines (llama.cpp, torch) run in this process only: if one crashes, the app survives and
    restarts us (see supervisor.py)."""
    import argparse
    import sys

    import uvicorn

    parser = argparse.ArgumentParser(description="The playground's local inference backend (engine process).")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--preload", action="store_true", help="import the engines' libraries at start")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="local engine: %(levelname)s %(name)s: %(message)s")

    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says
    # TCP, and without it every small response waits ~40 ms for a delayed ACK (Nagle). Setting it
    # on the listener too makes accepted sockets inherit it on Linux.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    print(f"LISTENING {sock.getsockname()[1]}", flush=True)
    os.dup2(2, 1)  # from now on stdout goes to stderr: nobody reads the pipe any more
    threading.Thread(target=_exit_when_parent_goes, name="parent-watch", daemon=True).start()
    if args.preload:
        _preloading[0] = _engines.preload_libraries()
    config = uvicorn.Config(
        create_app(),
        log_level="warning",
        access_log=False,
        lifespan="off",
        ws="none",
        loop="asyncio",
        timeout_graceful_shutdown=2,
    )
    uvicorn.Server(config).run(sockets=[sock])
    sys.exit(0)

