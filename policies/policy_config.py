"""Building and validating the config dataclasses that sit next to each policy class.

Every policy takes ``config: XConfig | None = None, **params``: either a ready config, or the
config's fields as keyword arguments (what Hydra's ``_target_`` passes from
``conf/policy/NAME.yaml``). Unknown fields raise a :class:`ConfigError` with a "did you mean".

The checks normalise YAML lists to tuples and name the offending key as ``policy.FIELD``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from shadowsim.errors import ConfigError, UnknownNameError
from shadowsim.resources import N_RESOURCES
from shadowsim.workloads.workload import Priority

C = TypeVar("C")

N_PRIORITIES = len(Priority)


def config_from(config_class: type[C], config: C | None, params: Mapping[str, Any]) -> C:
    """A config of ``config_class``: ``config`` itself, or one built from ``params``.

    Raises:
        ConfigError: Both are given, or ``params`` names a field the config lacks.
    """
    if config is not None:
        if params:
            raise ConfigError(
                "policy", f"pass either a {config_class.__name__} or keyword values, not both"
            )
        if not isinstance(config, config_class):
            raise ConfigError(
                "policy.config",
                f"expected a {config_class.__name__}, got {type(config).__name__}",
            )
        return config
    if not dataclasses.is_dataclass(config_class):
        raise ConfigError("policy", f"{config_class.__name__} is not a config dataclass")
    fields = [f.name for f in dataclasses.fields(config_class)]
    for key in params:
        if key not in fields:
            unknown = UnknownNameError(f"{config_class.__name__} field", key, fields)
            raise ConfigError(f"policy.{key}", str(unknown))
    return config_class(**dict(params))


def number(key: str, value: object, *, low: float = -math.inf, high: float = math.inf,
           low_open: bool = False, where: str = "policy") -> float:
    """``value`` as a float in ``[low, high]`` (``(low, high]`` when ``low_open``).

    Raises:
        ConfigError: Not a finite number or out of range; the message names ``WHERE.KEY``
            (``KEY`` alone when ``where`` is empty).
    """
    name = f"{where}.{key}" if where else key
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(name, f"must be a number, got {value!r}")
    out = float(value)
    too_low = out <= low if low_open else out < low
    if math.isnan(out) or too_low or out > high:
        bracket = "(" if low_open else "["
        raise ConfigError(name, f"must be in {bracket}{low}, {high}], got {value!r}")
    return out


def per_item(key: str, value: object, n: int, what: str, **bounds: Any) -> tuple[float, ...]:
    """One number per item: a scalar (used for all ``n``) or a sequence of exactly ``n``.

    Raises:
        ConfigError: Wrong length or an entry out of range.
    """
    if isinstance(value, numbers.Real):
        return (number(key, value, **bounds),) * n
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | Iterable):
        raise ConfigError(f"policy.{key}", f"must be a number or a list of {n}, got {value!r}")
    items = list(value)
    if len(items) != n:
        raise ConfigError(
            f"policy.{key}", f"needs one value per {what} ({n}) or a single value, got {value!r}"
        )
    return tuple(number(key, v, **bounds) for v in items)


def per_resource(key: str, value: object, **bounds: Any) -> tuple[float, ...]:
    """One number per resource (CPU, MEMORY, DISK, NETWORK), or one for all."""
    return per_item(key, value, N_RESOURCES, "resource (CPU, MEMORY, DISK, NETWORK)", **bounds)


def per_priority(key: str, value: object, **bounds: Any) -> tuple[float, ...]:
    """One number per priority class (LOW, MEDIUM, HIGH), or one for all."""
    return per_item(key, value, N_PRIORITIES, "priority class (LOW, MEDIUM, HIGH)", **bounds)


def per_priority_resource(key: str, value: object, **bounds: Any) -> tuple[tuple[float, ...], ...]:
    """A (LOW, MEDIUM, HIGH) x (CPU, MEMORY, DISK, NETWORK) matrix of numbers.

    Accepts one number (for all), one number per class (for all resources), or one list of
    four per class.

    Raises:
        ConfigError: Any other shape, or an entry out of range.
    """
    if isinstance(value, numbers.Real):
        row = per_resource(key, value, **bounds)
        return (row,) * N_PRIORITIES
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | Iterable):
        raise ConfigError(
            f"policy.{key}", f"must be a number, 3 numbers or 3 lists of 4, got {value!r}"
        )
    rows = list(value)
    if len(rows) != N_PRIORITIES:
        raise ConfigError(
            f"policy.{key}",
            f"needs one entry per priority class (LOW, MEDIUM, HIGH), got {len(rows)}: {value!r}",
        )
    return tuple(per_resource(f"{key}[{i}]", row, **bounds) for i, row in enumerate(rows))


def freeze(config: object, **values: object) -> None:
    """Set normalised field values on a frozen dataclass (inside ``__post_init__``)."""
    for name, value in values.items():
        object.__setattr__(config, name, value)
