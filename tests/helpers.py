"""Small helpers shared by tests: inputs for a task taken from its own registry examples."""

from __future__ import annotations

from typing import Any

from playground.tasks import Task


def example_inputs(task: Task, index: int = 0) -> dict[str, Any]:
    """The task's registry example as service inputs (by input name)."""
    values = task.examples[index]
    if task.id == "chat-completion":
        message, system = values
        return {"messages": [{"role": "user", "content": message}], "system": system}
    return {spec.name: value for spec, value in zip(task.inputs, values)}


def api_inputs(task: Task, index: int = 0) -> dict[str, Any]:
    """The task's registry example as gradio_client keyword arguments."""
    from gradio_client import handle_file

    values = task.examples[index]
    if task.id == "chat-completion":
        return {"message": values[0], "system": values[1]}
    out = {}
    for spec, value in zip(task.inputs, values):
        out[spec.name] = handle_file(value) if spec.kind in ("image", "audio") else value
    return out
