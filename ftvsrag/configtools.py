"""Build typed dataclass configs from plain dicts (YAML), with errors a person can act on."""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from ftvsrag.errors import UserInputError

T = TypeVar("T")


NOT_KEYED = "not_keyed"
"""Metadata of a setting that changes no stage's output (where logs go): left out of cache keys."""


KEYED_UNLESS_DEFAULT = "keyed_unless_default"
"""Metadata of a setting added after stages were cached: left out of cache keys while it holds its
default, so adding it moves no cached stage's key."""


def field(default: Any, help: str, keyed: bool = True, key_default: bool = True) -> Any:
    """A dataclass field that carries its help string in its metadata; `keyed=False` for a setting
    no stage output depends on, which `ftvsrag.stages.stage_key` leaves out; `key_default=False`
    for one it leaves out only while the setting holds its default."""
    metadata = {
        "help": help,
        **({} if keyed else {NOT_KEYED: True}),
        **({} if key_default else {KEYED_UNLESS_DEFAULT: True}),
    }
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    if dataclasses.is_dataclass(default):
        return dataclasses.field(default_factory=lambda: dataclasses.replace(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def from_dict(cls: type[T], data: Any, where: str = "") -> T:
    """Build `cls` from `data`, rejecting unknown keys (with the nearest valid one) and wrong types."""
    if not isinstance(data, dict):
        raise UserInputError(f"{where or 'config'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in data.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in fields:
            raise UserInputError(f"unknown config key '{path}'{_did_you_mean(str(key), fields)}")
        kwargs[key] = _coerce(hints[key], value, path)
    return cls(**kwargs)


def load_yaml_config(cls: type[T], path: Path, overrides: typing.Sequence[str] = ()) -> T:
    """Read a YAML file into `cls`, after applying `a.b=value` overrides (values parsed as YAML)."""
    if not path.is_file():
        raise UserInputError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise UserInputError(f"{path}: not valid YAML ({str(error).strip().splitlines()[0]})") from None
    for override in overrides:
        apply_override(raw, override)
    try:
        return from_dict(cls, raw)
    except UserInputError as error:
        raise UserInputError(f"{path}: {error}") from None


def apply_override(raw: dict[str, Any], override: str) -> None:
    """Set `a.b=value` in a nested dict; the value is parsed as YAML (numbers, lists, null)."""
    key, sep, text = override.partition("=")
    if not sep or not key:
        raise UserInputError(f"override {override!r} is not of the form key=value (e.g. train.epochs=5)")
    *parents, leaf = key.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise UserInputError(f"override {override!r}: '{part}' is not a section")
    node[leaf] = yaml.safe_load(text)


def to_yaml(config: Any) -> str:
    """The resolved config as YAML, fields in declaration order (what a run folder keeps)."""
    return yaml.safe_dump(dataclasses.asdict(config), sort_keys=False)


_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _did_you_mean(key: str, valid: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else f" (valid keys: {', '.join(sorted(valid))})"


def _coerce(hint: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value if value is not None else {}, path)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _coerce(option, value, path)
            except UserInputError as error:
                errors.append(error)
        raise errors[0]
    if origin is typing.Literal:
        if value not in args:
            raise UserInputError(f"config key '{path}' must be one of {list(args)}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise UserInputError(f"config key '{path}' must be a list, got {value!r}")
        return [_coerce(args[0], item, f"{path}[{i}]") for i, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise UserInputError(f"config key '{path}' must be a mapping, got {value!r}")
        return {_coerce(args[0], k, path): _coerce(args[1], v, f"{path}.{k}") for k, v in value.items()}
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool):
        if type(value) is not hint:
            raise UserInputError(f"config key '{path}' must be {_TYPE_WORDS[hint]}, got {value!r}")
        return value
    return value
