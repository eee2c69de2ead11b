"""Checks for values read from experiment files, before they reach code written for the
right kind: a number where a number is due, a list where a list is, and so on.

Each check raises ValueError naming the field ("racer 2 learning rate must be a number,
got 'abc'"), so a lab can check a whole state first and change nothing when it is bad.
The ranges themselves stay with the controls and configs that own them.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, Iterable, Mapping

__all__ = ["shown", "require_mapping", "require_number", "require_list", "require_flag", "require_text",
           "require_choice", "check_field_kinds"]


def shown(value: Any) -> str:
    """A value as a message shows it: short, whatever its size."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def require_mapping(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be an object of settings, got {shown(value)}")
    return value


def require_number(value: Any, what: str, lo: float = -math.inf, hi: float = math.inf, *, integer: bool = False) -> float:
    """A finite number (a whole one when ``integer``) from ``lo`` to ``hi``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what} must be a {'whole ' if integer else ''}number, got {shown(value)}")
    if integer and not isinstance(value, numbers.Integral):
        if not (math.isfinite(value) and value == int(value)):
            raise ValueError(f"{what} must be a whole number, got {shown(value)}")
    # Python compares an int of any size with a float exactly; float(10**400) would raise.
    if not (isinstance(value, numbers.Integral) or math.isfinite(value)):
        raise ValueError(f"{what} must be a finite number, got {shown(value)}")
    if not lo <= value <= hi:
        raise ValueError(f"{what} must be between {lo:g} and {hi:g}, got {shown(value)}")
    return value


def require_list(value: Any, what: str, min_len: int = 0, max_len: int | None = None) -> list:
    if not isinstance(value, list):
        raise ValueError(f"{what} must be a list, got {shown(value)}")
    if len(value) < min_len or (max_len is not None and len(value) > max_len):
        wanted = f"{min_len} to {max_len}" if max_len is not None else f"at least {min_len}"
        raise ValueError(f"{what} must have {wanted} entries, got {len(value)}")
    return value


def require_flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be true or false, got {shown(value)}")
    return value


def require_text(value: Any, what: str, max_len: int = 10_000) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, got {shown(value)}")
    if len(value) > max_len:
        raise ValueError(f"{what} is {len(value)} characters long; at most {max_len}")
    return value


def require_choice(value: Any, choices: Iterable[Any], what: str) -> Any:
    """One of ``choices``, compared in Python (a list or dict is refused, not hashed)."""
    choices = list(choices)
    if not any(type(value) is type(c) and value == c for c in choices):
        raise ValueError(f"{what} must be one of {', '.join(map(str, choices))}, got {shown(value)}")
    return value


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, bool, numbers.Real))


def _kind(f: dataclasses.Field) -> str | None:
    """bool, int, float, str or tuple: what the field's annotation says it holds."""
    annotation = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    annotation = annotation.replace("typing.", "").strip()
    if annotation in ("bool", "int", "float", "str"):
        return annotation
    if annotation.startswith(("tuple", "Tuple")):
        return "tuple"
    return None


def check_field_kinds(cls: type, values: Mapping[str, Any], what: str) -> None:
    """Each of ``values`` that is a field of the dataclass ``cls`` has the kind its
    annotation names: true/false for a bool, a whole number for an int, a finite number
    for a float, text for a str, a list of plain values for a tuple (numbers for a tuple
    of floats or ints). The class's own checks then judge the ranges."""
    for f in dataclasses.fields(cls):
        if f.name not in values:
            continue
        kind, v, name = _kind(f), values[f.name], f"{what} {f.name!r}"
        if kind == "bool":
            require_flag(v, name)
        elif kind == "int":
            require_number(v, name, integer=True)
        elif kind == "float":
            require_number(v, name)
        elif kind == "str":
            require_text(v, name)
        elif kind == "tuple":
            if not (isinstance(v, list) and all(_scalar(x) for x in v)):
                raise ValueError(f"{name} must be a list of plain values, got {shown(v)}")
            item = str(f.type)
            for i, x in enumerate(v):
                if "float" in item or "int" in item:
                    require_number(x, f"{name} entry {i + 1}", integer="int" in item)
                elif "bool" in item:
                    require_flag(x, f"{name} entry {i + 1}")
                elif "str" in item:
                    require_text(x, f"{name} entry {i + 1}", max_len=200)
