"""Validation of config values shared by the engine's config dataclasses.

Every check raises :class:`~shadowsim.errors.ConfigError` naming the dotted key, what was
found and what is expected. Values coming from Hydra/YAML (lists, enum names as strings,
nested mappings) are converted to the types the dataclasses declare.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, TypeVar

import numpy as np

from shadowsim.errors import ConfigError, UnknownNameError

E = TypeVar("E", bound=Enum)
T = TypeVar("T")


def set_value(config: object, name: str, value: object) -> None:
    """Store a converted value on a (possibly frozen) dataclass instance."""
    object.__setattr__(config, name, value)


def check_number(
    key: str,
    value: object,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A real number within ``[low, high]`` (open ends where asked).

    Raises:
        ConfigError: Not a number, NaN or out of range.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ConfigError(key, f"must be a number, got {value!r}")
    number = float(value)
    if math.isnan(number):
        raise ConfigError(key, "must be a number, got NaN")
    below = number <= low if low_open else number < low
    above = number >= high if high_open else number > high
    if below or above:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        raise ConfigError(key, f"must be in {left}{low}, {high}{right}, got {number}")
    return number


def check_int(key: str, value: object, *, low: int = 0, high: int | None = None) -> int:
    """An integer within ``[low, high]``.

    Raises:
        ConfigError: Not an integer or out of range.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ConfigError(key, f"must be an integer, got {value!r}")
    number = int(value)
    if number < low or (high is not None and number > high):
        upper = "" if high is None else f" and <= {high}"
        raise ConfigError(key, f"must be an integer >= {low}{upper}, got {number}")
    return number


def check_floats(
    key: str,
    value: object,
    *,
    length: int | None = None,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    non_empty: bool = True,
    increasing: bool = False,
) -> tuple[float, ...]:
    """A tuple of numbers, each checked like :func:`check_number`.

    Raises:
        ConfigError: Not a sequence, wrong length, a bad element, or not strictly increasing.
    """
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise ConfigError(key, f"must be a list of numbers, got {value!r}")
    items = tuple(
        check_number(f"{key}[{i}]", v, low=low, high=high, low_open=low_open)
        for i, v in enumerate(value)
    )
    if length is not None and len(items) != length:
        raise ConfigError(key, f"must have {length} entries, got {len(items)}: {items}")
    if non_empty and not items:
        raise ConfigError(key, "must not be empty")
    if increasing and any(a >= b for a, b in itertools.pairwise(items)):
        raise ConfigError(key, f"must be strictly increasing, got {items}")
    return items


def check_ints(
    key: str, value: object, *, low: int = 0, non_empty: bool = True, increasing: bool = False
) -> tuple[int, ...]:
    """A tuple of integers, each ``>= low``.

    Raises:
        ConfigError: Not a sequence, a bad element, empty, or not strictly increasing.
    """
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise ConfigError(key, f"must be a list of integers, got {value!r}")
    items = tuple(check_int(f"{key}[{i}]", v, low=low) for i, v in enumerate(value))
    if non_empty and not items:
        raise ConfigError(key, "must not be empty")
    if increasing and any(a >= b for a, b in itertools.pairwise(items)):
        raise ConfigError(key, f"must be strictly increasing, got {items}")
    return items


def check_bool(key: str, value: object) -> bool:
    """A boolean (not a number or string that looks like one).

    Raises:
        ConfigError: Not a bool.
    """
    if not isinstance(value, bool | np.bool_):
        raise ConfigError(key, f"must be true or false, got {value!r}")
    return bool(value)


def check_enum(key: str, enum_cls: type[E], value: object) -> E:
    """An enum member, given as a member, its name or its value (any case).

    Raises:
        ConfigError: Unknown name, with a "did you mean" suggestion.
    """
    if isinstance(value, enum_cls):
        return value
    if isinstance(value, str):
        for member in enum_cls:
            if value.lower() in (member.name.lower(), str(member.value).lower()):
                return member
    names = [m.name.lower() for m in enum_cls]
    unknown = UnknownNameError(key.rsplit(".", 1)[-1], str(value).lower(), names)
    raise ConfigError(key, str(unknown))


def check_sub_config(key: str, cls: type[T], value: object, *, prefix: str | None = None) -> T:
    """A nested config dataclass, given as an instance or a mapping of its fields.

    Args:
        key: Dotted key of the nested config.
        cls: Its dataclass.
        value: An instance or a mapping of its fields.
        prefix: Prepended to the keys of errors raised inside ``cls`` (default ``key``;
            pass the parent's key when ``cls`` names its own keys absolutely).

    Raises:
        ConfigError: Neither, or the mapping names a field the dataclass does not have.
    """
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        for name in value:
            if name not in fields:
                unknown = UnknownNameError(f"{cls.__name__} field", str(name), sorted(fields))
                raise ConfigError(f"{key}.{name}", str(unknown))
        try:
            return cls(**{str(k): v for k, v in value.items()})
        except ConfigError as err:
            inner = f"{key if prefix is None else prefix}.{err.key}"
            raise ConfigError(inner, str(err).split(": ", 1)[-1]) from err
    raise ConfigError(
        key, f"must be a mapping of its fields or an instance of {cls.__name__}, got {value!r}"
    )


def config_dict(config: object) -> dict[str, Any]:
    """A config dataclass as plain JSON-friendly values (enums by name, tuples as lists)."""

    def plain(value: object) -> object:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, Enum):
            return value.name
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        return value

    result = plain(config)
    if not isinstance(result, dict):
        raise TypeError(f"expected a dataclass instance, got {type(config).__name__}")
    return result
