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
