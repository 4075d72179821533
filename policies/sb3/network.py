"""Checks of network-shape hyper-parameters shared by every SB3 algorithm's config."""

from __future__ import annotations

from collections.abc import Iterable

from shadowsim.errors import ConfigError


def check_arch(value: object, key: str = "net_arch") -> tuple[int, ...]:
    """Hidden layer sizes as a tuple of positive ints (YAML lists accepted).

    Raises:
        ConfigError: Not a sequence of positive integers.
    """
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ConfigError(f"agent.{key}", f"must be a list of layer sizes, got {value!r}")
    sizes = list(value)
    if any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise ConfigError(f"agent.{key}", f"layer sizes must be positive ints, got {sizes!r}")
    return tuple(int(s) for s in sizes)
