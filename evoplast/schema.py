"""Typed config sections: a TOML table -> a frozen dataclass, checked against its type hints.

The checking machinery of every ``[section]`` (:func:`build_section`), shared by
:mod:`evoplast.config` and the rule families' configs; it depends on nothing else in evoplast.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError


def _check(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{key} {message}")


def is_interval(box: Any) -> bool:
    """``[low, high]``: two finite numbers (not booleans) with low < high (a start box, a search box)."""
    return (isinstance(box, list | tuple) and len(box) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in box)
            and box[0] < box[1])


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """Check ``value`` against a type hint (int, float, str, bool, tuple, dict, Optional)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError as exc:
                # the error of the alternative of the value's own kind says what is wrong with it
                kind = typing.get_origin(arg) or arg
                same_kind = ((isinstance(value, (list, tuple)) and kind is tuple)
                             or (isinstance(value, Mapping) and kind is dict))
                errors.insert(0, str(exc)) if same_kind else errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{key} has an invalid value {value!r}")
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{key} must be finite, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        args = typing.get_args(hint)
        item = args[0] if args else Any
        if len(args) == 2 and args[1] is Ellipsis or len(args) == 1:
            return tuple(_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ConfigError(f"{key} must have {len(args)} items, got {len(value)}")
        return tuple(_coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if origin is dict or hint is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key} must be a table, got {value!r}")
        vtype = typing.get_args(hint)[1] if typing.get_args(hint) else Any
        return {str(k): _coerce(v, vtype, f"{key}.{k}") for k, v in value.items()}
    if hint is Any:
        return value
    raise TypeError(f"unsupported config type {hint!r} for {key}")  # programming error


def build_section(cls, table: Mapping[str, Any], section: str, ignore: tuple[str, ...] = ()) -> Any:
    """Instantiate the frozen dataclass ``cls`` from a TOML table, with full checking."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"[{section}] must be a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(table) - names - set(ignore))
    if unknown:
        raise ConfigError(f"unknown key {section}.{unknown[0]} (known: {', '.join(sorted(names))})")
    kwargs = {k: _coerce(v, hints[k], f"{section}.{k}") for k, v in table.items() if k in names}
    obj = cls(**kwargs)
    if hasattr(obj, "validate"):
        obj.validate()
    return obj
