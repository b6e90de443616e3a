"""Parameter specs, read from huggingface_hub's generated ``*Parameters`` classes.

The generated task types (``huggingface_hub.inference._generated.types``) already carry each
parameter's type (``int``, ``float``, ``bool``, ``Literal[...]``, ``list[str]``) and its help text (as an
attribute docstring). ``from_hf`` reads both, so the registry only adds what the specs lack: ranges and
playground defaults.
"""

from __future__ import annotations

import math

import ast
import inspect
import json
import textwrap
import types
import typing
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import Any, Literal, get_args, get_origin

from .errors import InputError

__all__ = ["ParamSpec", "from_hf", "parse_values"]

ParamType = Literal["int", "float", "bool", "choice", "str", "list"]


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: ParamType
    help: str = ""
    default: Any = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")

    def coerce(self, value: Any) -> Any:
        """Turn a UI value into the value sent; ``None`` means "not set". Raises InputError when invalid."""
        if value is None or (isinstance(value, str) and not value.strip()) or value == []:
            return None
        try:
            if self.type == "int":
                number = float(value.strip()) if isinstance(value, str) else value
                if isinstance(number, float) and not number.is_integer():
                    raise ValueError(f"{value} is not a whole number")
                value = int(number)
            elif self.type == "float":
                value = float(value.strip()) if isinstance(value, str) else float(value)
                if not math.isfinite(value):
                    raise ValueError(f"{value} is not a finite number")
            elif self.type == "bool":
                if isinstance(value, str):
                    words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
                    if value.strip().lower() not in words:
                        raise ValueError(f"'{value}' is not true or false")
                    value = words[value.strip().lower()]
                value = bool(value)
            elif self.type == "list":
                if isinstance(value, str):
                    value = [v.strip() for v in value.replace("\n", ",").split(",") if v.strip()]
                value = list(value)
            elif self.type == "choice":
                if value not in self.choices:
                    raise ValueError(f"must be one of {', '.join(self.choices)}")
            else:
                value = str(value)
        except (TypeError, ValueError) as err:
            raise InputError(f"Parameter '{self.name}' is invalid", str(err), f"Give {self.type} for {self.name}.") from err
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
                raise InputError(
                    f"Parameter '{self.name}' is out of range",
                    f"{value} is outside [{self.minimum}, {self.maximum}].",
                    f"Pick a value between {self.minimum} and {self.maximum}.",
                )
        return value


@lru_cache(maxsize=None)
def _docstrings(cls: type) -> dict[str, str]:
    """Attribute docstrings (a string literal right after an annotated field) of a dataclass."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):
        return {}
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, nxt in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if isinstance(nxt, ast.Expr) and isinstance(getattr(nxt, "value", None), ast.Constant):
                docs[node.target.id] = " ".join(str(nxt.value.value).split())
    return docs


def _kind(annotation: Any, module: types.ModuleType) -> tuple[ParamType, tuple[str, ...]]:
    if isinstance(annotation, str):
        annotation = eval(annotation, vars(module))  # generated code only: forward refs to Literal aliases
    origin = get_origin(annotation)
    args = [a for a in get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType) and args:
        return _kind(args[0], module)
    if origin is Literal:
        return "choice", tuple(str(a) for a in get_args(annotation))
    if origin is list:
        return "list", ()
    if isinstance(annotation, typing.ForwardRef):
        return _kind(annotation.__forward_arg__, module)
    return {int: "int", float: "float", bool: "bool", str: "str"}.get(annotation, "str"), ()


def from_hf(cls: type, names: list[str] | tuple[str, ...], **overrides: dict[str, Any]) -> tuple[ParamSpec, ...]:
    """ParamSpecs for ``names`` taken from a generated ``*Parameters`` class, with registry ``overrides``.

    ``overrides`` maps a parameter name to fields of ParamSpec (``minimum``, ``maximum``, ``default``...).
    A name missing from the class must be fully described in ``overrides`` (it names its ``type``).
    """
    module = inspect.getmodule(cls)
    by_name = {f.name: f for f in fields(cls)}
    docs = _docstrings(cls)
    specs = []
    for name in names:
        extra = overrides.get(name, {})
        if name in by_name:
            kind, choices = _kind(by_name[name].type, module)
            spec = ParamSpec(name=name, type=kind, help=docs.get(name, ""), choices=choices)
            spec = replace(spec, **extra)
        else:
            spec = ParamSpec(name=name, **extra)
        specs.append(spec)
    return tuple(specs)


def json_value(value: Any, label: str, fix: str = "Fix the JSON.") -> Any:
    """A JSON box's value: text parsed (``None`` when blank), anything else passed through. Raises InputError
    naming ``label`` and where the JSON breaks."""
    if not isinstance(value, str):
        return value or None
    if not value.strip():
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as err:
        raise InputError(f"{label}: not valid JSON", f"{err.msg} at line {err.lineno}, column {err.colno}.",
                         fix) from None


def json_object(value: Any, label: str, example: str = '{"name": value}') -> dict[str, Any]:
    """A JSON object typed in a box ({} when blank); InputError otherwise, naming ``label`` and the fix."""
    parsed = json_value(value, label, f"Write a JSON object, e.g. {example}.")
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise InputError(f"{label} must be a JSON object", f"Got {type(parsed).__name__}.", f"Write e.g. {example}.")
    return parsed


def parse_values(specs: tuple[ParamSpec, ...], values: list[Any], extra_json: str | None) -> dict[str, Any]:
    """Build the keyword parameters of a call from the form values and the optional JSON box."""
    params = {}
    for spec, value in zip(specs, values):
        coerced = spec.coerce(value)
        if coerced is not None:
            params[spec.name] = coerced
    extra = json_object(extra_json, "The extra parameters", '{"top_k": 3}')
    by_name = {s.name: s for s in specs}
    for key, value in extra.items():
        params[key] = by_name[key].coerce(value) if key in by_name else value
    return params
