"""The registry is the only place a task is declared: check every entry is complete and consistent."""

from pathlib import Path

import pytest
from huggingface_hub import InferenceClient

from playground.errors import InputError
from playground.renderers import RENDERERS
from playground.tasks import GROUPS, TASKS, get_task


@pytest.mark.parametrize("task", TASKS.values(), ids=list(TASKS))
def test_entry_is_complete(task):
    assert callable(getattr(InferenceClient, task.method))
    assert task.renderer in RENDERERS
    assert len(task.examples) >= 2
    for example in task.examples:
        assert len(example) == len(task.inputs)
        for spec, value in zip(task.inputs, example):
            if spec.kind in ("image", "audio"):
                assert Path(value).is_file(), value
    assert task.default_model in task.model_choices


def test_api_names_are_unique_and_derived():
    names = [t.api_name for t in TASKS.values()]
    assert len(names) == len(set(names))
    assert get_task("text-classification").api_name == "text_classification"


def test_unknown_task_names_the_valid_ones():
    with pytest.raises(InputError) as info:
        get_task("text-clasification")
    assert "text-classification" in info.value.message


def test_every_inferenceclient_task_has_a_tab():
    """Every task method of the installed InferenceClient is declared in the registry (and only there)."""
    import inspect

    not_tasks = {"close", "get_endpoint_info", "health_check"}
    methods = {name for name, _ in inspect.getmembers(InferenceClient, inspect.isfunction)
               if not name.startswith("_") and name not in not_tasks}
    declared = {task.method for task in TASKS.values()}
    assert methods == declared, f"missing: {methods - declared}, unknown: {declared - methods}"


def test_every_task_is_in_exactly_one_group_and_chat_comes_first():
    placed = {group: [t.id for t in TASKS.values() if t.group == group] for group in GROUPS}
    assert sorted(sum(placed.values(), [])) == sorted(TASKS)  # a group outside GROUPS would drop its task here
    assert all(placed.values()), placed
    assert placed[GROUPS[0]][0] == "chat-completion"  # what a new user sees first
    by_modality = {"image-to-text": "Vision", "document-question-answering": "Vision", "text-to-image":
                   "Image & video generation", "image-to-video": "Image & video generation", "text-to-speech": "Audio",
                   "automatic-speech-recognition": "Audio", "table-question-answering": "Tabular",
                   "summarization": "Chat & text generation", "fill-mask": "Text analysis"}
    assert {task_id: TASKS[task_id].group for task_id in by_modality} == by_modality
