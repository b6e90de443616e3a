"""The playground as tools for agents: every registry task is an MCP tool (Gradio's MCP server, ``--mcp``).

    enabled(flag)        -> bool        ``--mcp`` or PLAYGROUND_MCP=1
    tool_for(task)       -> function    typed, documented from the registry, named as the task's API endpoint
    register(demo)       -> None        each task's tool as a ``gr.api`` endpoint; the page's Run endpoints unlisted

A tool's name is the task's API name (``text_classification``), its description the registry's, and its
parameters are the API endpoint's names (the task's inputs, ``model``, ``provider``, ``revision``, ``bill_to``,
then the task's parameters), typed from the registry's ``ParamSpec``s. There is no token argument an agent could
echo: the token travels in each MCP client's ``Authorization: Bearer hf_…`` header, which Gradio's MCP server
passes on to the call (``handlers.request_token`` reads it), else the server's own token as for any caller.
Every call goes through the one service path and is recorded in the ledger (source ``mcp``).
"""

from __future__ import annotations

import inspect
import json
import os
from typing import Any, Literal, Optional

import gradio as gr

from . import hub, service
from .errors import PlaygroundError
from .handlers import request_token
from .params import ParamSpec
from .renderers import to_jsonable
from .service import RunRequest, RunResult, Target
from .tasks import TASKS, Input, Task

__all__ = ["ENV", "enabled", "tool_for", "register", "TOOL_PREFIX"]

ENV = "PLAYGROUND_MCP"
TOOL_PREFIX = "mcp_"  # the tools' endpoint names: /mcp_text_classification (the tool itself: text_classification)
_INPUT_TYPES = {"text": str, "lines": list[str], "image": gr.FileData, "audio": gr.FileData, "table": dict[str, list[str]],
                "tools": str, "schema": str}
_PARAM_TYPES = {"int": int, "float": float, "bool": bool, "str": str, "list": list[str]}
_INPUT_HELP = {
    "image": "The image: a URL (https://…) or a file.",
    "audio": "The audio: a URL (https://…) or a file.",
    "table": "The table as {column name: [cells, as text]}.",
    "lines": "A list of strings.",
    "tools": "Optional: a JSON list of OpenAI-style function tools the model may call (nothing is executed).",
    "schema": "Optional: a JSON Schema the reply must match (structured output).",
}


def enabled(flag: bool = False) -> bool:
    """MCP is on with ``--mcp`` or the environment variable PLAYGROUND_MCP=1 (true, yes)."""
    return flag or os.environ.get(ENV, "").strip().lower() in ("1", "true", "yes")


def _param_type(spec: ParamSpec) -> Any:
    if spec.type == "choice" and spec.choices:
        return Literal[tuple(spec.choices)]
    return _PARAM_TYPES.get(spec.type, str)


def _help(text: str) -> str:
    return " ".join((text or "").split())


def _signature(task: Task) -> tuple[inspect.Signature, list[str]]:
    """The tool's parameters (the API endpoint's names, typed) and the docstring's ``Args:`` lines."""
    P = inspect.Parameter
    params, args = [], []
    chat = task.renderer == "chat"
    inputs = [Input("message", "text", "The user's message."), *task.inputs[1:]] if chat else list(task.inputs)
    for spec in inputs:
        kind = spec.kind
        annotation = _INPUT_TYPES[kind]
        required = spec.required and kind not in ("tools", "schema")
        params.append(P(spec.name, P.POSITIONAL_OR_KEYWORD, annotation=annotation if required else Optional[annotation],
                        **({} if required else {"default": None})))
        args.append(f"{spec.name}: {_help(_INPUT_HELP.get(kind) or spec.info or spec.label)}")
    header = [
        ("model", task.default_model, f"Hub model id (default {task.default_model})."),
        ("provider", "auto", "Inference provider: auto (the user's order), a provider name (together, hf-inference, "
                             "…), :fastest or :cheapest (chat)."),
        ("revision", "main", "Branch, tag or commit of the model (recorded; serverless providers cannot pin it)."),
        ("bill_to", "", "Organisation to bill (Team or Enterprise), empty for the caller's own account."),
    ]
    for name, default, text in header:
        params.append(P(name, P.POSITIONAL_OR_KEYWORD, annotation=str, default=default))
        args.append(f"{name}: {text}")
    for spec in task.params:
        params.append(P(spec.name, P.POSITIONAL_OR_KEYWORD, annotation=Optional[_param_type(spec)], default=None))
        bounds = (f" ({spec.minimum:g} to {spec.maximum:g})" if spec.minimum is not None and spec.maximum is not None
                  else "")
        args.append(f"{spec.name}: {(_help(spec.help) or spec.label).rstrip('.')}{bounds}. Empty: the server's default.")
    params.append(P("request", P.POSITIONAL_OR_KEYWORD, annotation=gr.Request, default=None))
    return inspect.Signature(params, return_annotation=str), args


def _file(value: Any) -> Any:
    """A file argument as the service reads it: the path Gradio stored it at."""
    if value is None:
        return None
    return getattr(value, "path", None) or (value.get("path") if isinstance(value, dict) else value)


def _answer(result: RunResult) -> str:
    """The tool's answer: the output as JSON, with where it was served. A failure is raised as the tool's error."""
    if not result.ok:
        raise gr.Error(result.error.display(), print_exception=False)
    return json.dumps({"output": to_jsonable(result.output), "model": result.model,
                       "provider": result.provider_served or result.provider_requested,
                       "status": result.status_line()}, ensure_ascii=False, default=str)


def tool_for(task: Task):
    """The MCP tool of ``task``: a function named as its API endpoint, typed and documented from the registry."""
    signature, args = _signature(task)
    chat = task.renderer == "chat"
    names = [p.name for p in signature.parameters.values()]

    def tool(*values: Any, **named: Any) -> str:
        try:
            return call(*values, **named)
        except PlaygroundError as err:  # bad input: the tool's error names it and the fix
            raise gr.Error(err.display(), print_exception=False) from None

    def call(*values: Any, **named: Any) -> str:
        bound = signature.bind(*values, **named)
        bound.apply_defaults()
        given = dict(bound.arguments)
        request = given.pop("request", None)
        token = request_token(None, None, request)
        target = Target(provider=(given.pop("provider") or "auto").strip() or "auto", token=token,
                        bill_to=(given.pop("bill_to") or "").strip() or None)
        model = (given.pop("model") or task.default_model).strip()
        revision = (given.pop("revision") or "main").strip() or "main"
        params = {s.name: v for s in task.params if (v := s.coerce(given.pop(s.name))) is not None}
        inputs = {s.name: _file(given.get(s.name)) if s.kind in ("image", "audio") else given.get(s.name)
                  for s in task.inputs if s.name in given}
        run = dict(source="mcp", hub_user=hub.checked_user(token) if token else None)
        if chat:
            inputs["messages"] = [{"role": "user", "content": given["message"]}]
            stream = service.run_stream(RunRequest(task.id, model, inputs, params, revision, target, **run))
            result = [event for event in stream if isinstance(event, RunResult)][-1]
        else:
            result = service.run(RunRequest(task.id, model, inputs, params, revision, target, **run))
        return _answer(result)

    tool.__name__ = tool.__qualname__ = task.api_name
    tool.__doc__ = "\n".join([_help(task.description) or task.label, "", "Args:", *(f"    {a}" for a in args),
                              "", "Returns:", "    The output as JSON, with the model and the provider that served it."])
    tool.__signature__ = signature
    tool.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()} | {"return": str}
    assert names[-1] == "request"
    return tool


def register(demo: gr.Blocks) -> None:
    """Inside ``demo``: each task's tool as an endpoint (``/mcp_<task>``), and the page's Run endpoints (which take a
    token argument, for gradio_client) unlisted so that they are not tools; they stay callable by their names."""
    for task in TASKS.values():
        gr.api(tool_for(task), api_name=TOOL_PREFIX + task.api_name, concurrency_limit=None)


def unlist_others(demo: gr.Blocks) -> None:
    """Once every page is built: the public endpoints that are not task tools (the Run endpoints, which take a
    token argument for gradio_client; the Batch API; load steps) are unlisted, so they are not MCP tools. They stay
    callable by name; private ones stay private."""
    for fn in demo.fns.values():
        if fn.api_visibility == "public" and not (fn.api_name or "").startswith(TOOL_PREFIX):
            fn.api_visibility = "undocumented"
