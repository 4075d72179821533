"""Prediction horizons and other durations written as text (``"5min"``, ``"1h"``, ``"1d"``).

A horizon is configured as a duration and converted to a number of ticks of the workload's
interval, so the same config works for 60 s and 300 s traces.
"""

from __future__ import annotations

import math
import re

from shadowsim.errors import ConfigError

_UNIT_S: dict[str, float] = {
    "s": 1.0,
    "sec": 1.0,
    "min": 60.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 7 * 86400.0,
}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]+)\s*$")
ACCEPTED = (
    "a number of seconds (e.g. 3600) or a number with a unit s, min (or m), h, d, w "
    "(e.g. '90s', '5min', '1h', '12h', '1d')"
)


def parse_duration(value: object, *, key: str = "horizon") -> float:
    """A duration in seconds.

    Args:
        value: ``"90s"``, ``"5min"``, ``"1h"``, ``"12h"``, ``"1d"``, ``"1w"``, or an int/float
            number of seconds (a plain numeric string counts as seconds).
        key: Config key named in the error message.

    Returns:
        The duration, s (> 0).

    Raises:
        ConfigError: The value is not a positive duration in an accepted form.
    """
    if isinstance(value, bool):
        raise ConfigError(key, f"got the boolean {value!r}; expected {ACCEPTED}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        try:
            seconds = float(text)
        except ValueError:
            match = _PATTERN.match(text)
            if match is None or match.group(2) not in _UNIT_S:
                raise ConfigError(
                    key, f"cannot read {value!r} as a duration; expected {ACCEPTED}"
                ) from None
            seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    else:
        raise ConfigError(key, f"got {type(value).__name__} {value!r}; expected {ACCEPTED}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(
            key, f"duration must be > 0 and finite, got {value!r}; expected {ACCEPTED}"
        )
    return seconds


def horizon_steps(value: object, interval_s: float, *, key: str = "horizon") -> int:
    """The number of ticks of ``interval_s`` that a duration covers.

    The duration must be a whole number of ticks (within 1e-6 relative), so that a horizon
    never silently shrinks or grows.

    Args:
        value: A duration as accepted by :func:`parse_duration`.
        interval_s: Tick length, s.
        key: Config key named in the error message.

    Returns:
        Number of ticks, >= 1.

    Raises:
        ConfigError: Bad duration, bad interval, or not a whole number of ticks.
    """
    if not (isinstance(interval_s, int | float) and math.isfinite(interval_s) and interval_s > 0):
        raise ConfigError(
            key, f"tick interval must be > 0 s to convert {value!r}, got {interval_s!r}"
        )
    seconds = parse_duration(value, key=key)
    steps = seconds / interval_s
    whole = round(steps)
    if whole < 1 or abs(steps - whole) > 1e-6 * max(1.0, steps):
        raise ConfigError(
            key,
            f"{value!r} = {seconds:g} s is not a whole number (>= 1) of {interval_s:g} s ticks "
            f"({steps:g}); use a multiple of the interval, e.g. {interval_s * max(1, whole):g}",
        )
    return int(whole)


def format_duration(seconds: float) -> str:
    """A short label for a duration in s, e.g. 300 -> ``"5min"``, 3600 -> ``"1h"``."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
