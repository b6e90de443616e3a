"""Small helpers shared by tests: inputs for a task taken from its own registry examples."""

from __future__ import annotations

from typing import Any

from playground.tasks import Task

# The provider the fake router serves each task's default model by, when it is not hf-inference.
PROVIDER_FOR = {"chat-completion": "together", "image-to-image": "fal-ai", "text-to-speech": "fal-ai",
                "text-to-video": "fal-ai", "image-to-video": "fal-ai"}


def _chat_message(value: Any) -> tuple[str, list[str]]:
    """A chat example's message: text, or ``{"text", "files"}`` for a message with images."""
    if isinstance(value, dict):
        return value.get("text", ""), list(value.get("files") or [])
    return value, []


def example_inputs(task: Task, index: int = 0) -> dict[str, Any]:
    """The task's registry example as service inputs (by input name)."""
    values = task.examples[index]
    if task.id == "chat-completion":
        (text, files), rest = _chat_message(values[0]), values[1:]
        content = [{"type": "text", "text": text}, *({"type": "image_url", "image_url": {"url": f}} for f in files)] if files else text
        return {"messages": [{"role": "user", "content": content}],
                **{spec.name: value for spec, value in zip(task.inputs[1:], rest)}}
    return {spec.name: value for spec, value in zip(task.inputs, values)}


def api_inputs(task: Task, index: int = 0) -> dict[str, Any]:
    """The task's registry example as gradio_client keyword arguments."""
    from gradio_client import handle_file

    values = task.examples[index]
    if task.id == "chat-completion":
        text, files = _chat_message(values[0])
        return {"message": {"text": text, "files": [handle_file(f) for f in files]},
                **{spec.name: value for spec, value in zip(task.inputs[1:], values[1:])}}
    out = {}
    for spec, value in zip(task.inputs, values):
        out[spec.name] = handle_file(value) if spec.kind in ("image", "audio") else value
    return out
