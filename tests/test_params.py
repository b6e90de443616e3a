"""Parameters come from huggingface_hub's generated classes; bad values get clear messages."""

import pytest
from huggingface_hub.inference._generated import types as hf

from playground.errors import InputError
from playground.params import from_hf, parse_values


def test_types_choices_and_help_come_from_the_generated_class():
    top_k, fn = from_hf(hf.TextClassificationParameters, ["top_k", "function_to_apply"], top_k=dict(minimum=1, maximum=10))
    assert (top_k.type, top_k.minimum, top_k.maximum) == ("int", 1, 10)
    assert "top K" in top_k.help
    assert fn.type == "choice" and fn.choices == ("sigmoid", "softmax", "none")


def test_parse_values_merges_form_and_json():
    specs = from_hf(hf.TextClassificationParameters, ["top_k", "function_to_apply"], top_k=dict(minimum=1, maximum=10))
    assert parse_values(specs, [3, ""], '{"function_to_apply": "softmax"}') == {"top_k": 3, "function_to_apply": "softmax"}
    assert parse_values(specs, [None, None], "") == {}


@pytest.mark.parametrize(
    "values, extra, words",
    [
        ([50, ""], "", "out of range"),
        ([2.5, ""], "", "not a whole number"),
        ([None, "bogus"], "", "must be one of"),
        ([None, None], "{not json", "not valid JSON"),
        ([None, None], "[1, 2]", "must be a JSON object"),
    ],
)
def test_bad_parameters_are_named(values, extra, words):
    specs = from_hf(hf.TextClassificationParameters, ["top_k", "function_to_apply"], top_k=dict(minimum=1, maximum=10))
    with pytest.raises(InputError) as info:
        parse_values(specs, values, extra)
    assert words in info.value.display()


def test_booleans_have_three_states_so_the_server_default_is_kept():
    (normalize,) = from_hf(hf.FeatureExtractionInput, ["normalize"])
    assert normalize.type == "bool"
    assert parse_values((normalize,), [""], "") == {}  # not sent: the server decides
    assert parse_values((normalize,), ["false"], "") == {"normalize": False}
    assert parse_values((normalize,), ["true"], "") == {"normalize": True}
    assert parse_values((normalize,), [False], "") == {"normalize": False}  # API callers may pass a bool
    with pytest.raises(InputError):
        parse_values((normalize,), ["maybe"], "")


def test_numbers_typed_in_a_blank_box_are_read_and_a_blank_box_sends_nothing():
    """A number parameter without a default is a text box: Gradio's Number shows and sends 0 for None
    (gradio#6728), which would send temperature=0 and top_p=0 with every run."""
    specs = from_hf(hf.TextClassificationParameters, ["top_k", "function_to_apply"], top_k=dict(minimum=1, maximum=10))
    assert parse_values(specs, [" 3 ", ""], "") == {"top_k": 3}
    assert parse_values(specs, ["3.0", ""], "") == {"top_k": 3}
    assert parse_values(specs, ["", ""], "") == {}
    (temperature,) = from_hf(hf.ChatCompletionInput, ["temperature"])
    assert parse_values((temperature,), ["0.7"], "") == {"temperature": 0.7}
    for bad, words in (("warm", "Give float"), ("nan", "not a finite number"), ("2.5", None)):
        if words is None:  # a float parameter takes 2.5
            assert parse_values((temperature,), [bad], "") == {"temperature": 2.5}
            continue
        with pytest.raises(InputError) as info:
            parse_values((temperature,), [bad], "")
        assert words in info.value.display()


def test_a_number_parameter_without_a_default_starts_blank_in_the_form():
    from playground.ui import _param_component  # noqa: PLC0415

    (temperature,) = from_hf(hf.ChatCompletionInput, ["temperature"])
    box = _param_component(temperature)
    assert box.value in ("", None) and box.placeholder == "(server default)"
