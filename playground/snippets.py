"""Code that reproduces a run outside the playground, derived from the task's registry entry.

The snippet reads the token from ``HF_TOKEN``: the token typed in the page never appears in it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .service import CUSTOM, LOCAL
from .tasks import Task

__all__ = ["python_snippet"]


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, (list, dict)):  # JSON's true/false/null are not Python: keep JSON's look, Python's words
        return re.sub(r'"(?:[^"\\]|\\.)*"|\b(true|false|null)\b',
                      lambda m: {"true": "True", "false": "False", "null": "None"}.get(m.group(1), m.group(0)),
                      json.dumps(value, ensure_ascii=False))
    return repr(value)


def python_snippet(task: Task, model: str, provider: str, inputs: dict[str, Any], params: dict[str, Any],
                   endpoint_url: str | None = None, bill_to: str | None = None, local_url: str | None = None) -> str:
    """A runnable Python snippet calling ``InferenceClient`` exactly as the playground does."""
    client_args: list[str] = []
    model_arg = model
    if provider == LOCAL:
        base = local_url or "http://127.0.0.1:<port>"
        if task.id == "chat-completion":
            client_args.append(f'base_url="{base}/v1"')
        else:
            model_arg = f"{base}/models/{model}" + (f"/pipeline/{task.id}" if task.id in ("feature-extraction", "sentence-similarity") else "")
    elif provider == CUSTOM:
        if task.id == "chat-completion":
            client_args.append(f"base_url={_literal(endpoint_url or '')}")
        else:
            model_arg = endpoint_url or ""
        client_args.append('api_key=os.environ.get("HF_TOKEN")')
    else:
        policy = provider in (":fastest", ":cheapest")
        client_args.append(f'provider="{"auto" if policy else provider}"')
        client_args.append('api_key=os.environ["HF_TOKEN"]')
        if policy and task.id == "chat-completion":
            model_arg = f"{model}{provider}"
        if bill_to:
            client_args.append(f"bill_to={_literal(bill_to)}")

    first = task.inputs[0]
    lines = ["import os", "", "from huggingface_hub import InferenceClient", "",
             f"client = InferenceClient({', '.join(client_args)})"]
    call_args: list[str] = []
    if task.id == "chat-completion":
        messages = []
        if inputs.get("system"):
            messages.append({"role": "system", "content": inputs["system"]})
        messages.extend(inputs.get("messages") or [{"role": "user", "content": "Hello!"}])
        lines.append(f"messages = {json.dumps(messages, ensure_ascii=False, indent=4)}")
        call_args.append("messages")
    elif first.kind in ("image", "audio"):
        call_args.append(f'"{first.kind}.{"png" if first.kind == "image" else "wav"}"  # a path, URL or bytes')
    else:
        call_args.append(_literal(inputs.get(first.name, first.placeholder)))
    call_args.append(f"model={_literal(model_arg)}")
    for spec in task.inputs[1:]:
        if spec.name in inputs and spec.name != "system":
            call_args.append(f"{spec.name}={_literal(inputs[spec.name])}")
    for key, value in params.items():
        call_args.append(f"{key}={_literal(value)}")
    if task.id == "chat-completion":
        call_args.append("stream=True")
        lines.append(f"for chunk in client.{task.method}({', '.join(call_args)}):")
        lines.append("    if chunk.choices:")
        lines.append('        print(chunk.choices[0].delta.content or "", end="")')
    else:
        lines.append(f"result = client.{task.method}(")
        lines.extend(f"    {a}," for a in call_args)
        lines.append(")")
        lines.append("print(result)")
    return "\n".join(lines) + "\n"
