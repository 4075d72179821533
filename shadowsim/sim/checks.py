"""Validation of simulator config fields: each failure is a ConfigError naming the dotted key."""

from __future__ import annotations

import math
from collections.abc import Sequence

from shadowsim.errors import ConfigError


def check_number(key: str, value: object) -> float:
    """``value`` as a finite float; raises ConfigError naming ``key`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(key, f"expected a number, got {value!r} ({type(value).__name__})")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError(key, f"expected a finite number, got {value!r}")
    return number


def check_positive(key: str, value: object) -> float:
    """``value`` as a float > 0."""
    number = check_number(key, value)
    if number <= 0:
        raise ConfigError(key, f"must be > 0, got {value!r}")
    return number


def check_non_negative(key: str, value: object) -> float:
    """``value`` as a float >= 0."""
    number = check_number(key, value)
    if number < 0:
        raise ConfigError(key, f"must be >= 0, got {value!r}")
    return number


def check_fraction(key: str, value: object, *, open_low: bool = False) -> float:
    """``value`` in [0, 1] (or (0, 1] with ``open_low``)."""
    number = check_number(key, value)
    low_ok = number > 0 if open_low else number >= 0
    if not (low_ok and number <= 1):
        span = "(0, 1]" if open_low else "[0, 1]"
        raise ConfigError(key, f"must be in {span}, got {value!r}")
    return number


def check_int(key: str, value: object, *, minimum: int) -> int:
    """``value`` as an int >= ``minimum`` (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"expected an integer, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ConfigError(key, f"must be >= {minimum}, got {value}")
    return value


def check_vector(
    key: str, value: object, length: int, *, positive: bool = False
) -> tuple[float, ...]:
    """A sequence of ``length`` finite numbers >= 0 (> 0 with ``positive``).

    Accepts any sequence (tuple, list, an OmegaConf ListConfig) and returns a tuple.
    """
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ConfigError(key, f"expected a list of {length} numbers, got {value!r}")
    if len(value) != length:
        raise ConfigError(key, f"expected {length} values (one per entry), got {len(value)}")
    check = check_positive if positive else check_non_negative
    return tuple(check(f"{key}[{i}]", v) for i, v in enumerate(value))


def check_int_vector(key: str, value: object, length: int) -> tuple[int, ...]:
    """A sequence of ``length`` integers >= 0."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ConfigError(key, f"expected a list of {length} integers, got {value!r}")
    if len(value) != length:
        raise ConfigError(key, f"expected {length} values (one per entry), got {len(value)}")
    return tuple(check_int(f"{key}[{i}]", v, minimum=0) for i, v in enumerate(value))
