"""The settings every real-trace reader shares, as a dataclass base of the readers' configs.

Each reader's config (``BitbrainsConfig``, ``PlanetLabConfig``, ...) derives from
:class:`TraceConfig`, so ``path``, ``interval_s``, the gap handling, ``max_apps`` and the
metadata rule are spelled the same in every reader and in Hydra (``workload.interval_s=600``).
The configs are frozen dataclasses that validate themselves and work without Hydra; enum
fields also accept a member's name or value as a string (``gap_policy="forward_fill"``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from shadowsim.errors import ConfigError, UnknownNameError
from shadowsim.workloads.metadata import MetadataConfig
from shadowsim.workloads.tick_fill import GapPolicy, InactiveFill

__all__ = ["TraceConfig", "enum_member", "positive_number"]

E = TypeVar("E", bound=Enum)


@dataclass(frozen=True)
class TraceConfig:
    """Settings shared by every real-trace reader.

    Attributes:
        path: The trace: a folder or a file, as each reader documents. Required.
        interval_s: Tick length of the resampled workload, s.
        gap_policy: How gaps of at most ``max_gap_s`` and missing values are filled
            (:class:`~shadowsim.workloads.tick_fill.GapPolicy`).
        max_gap_s: Longest gap that is filled, s; longer gaps are marked inactive.
        inactive_fill: What inactive ticks hold
            (:class:`~shadowsim.workloads.tick_fill.InactiveFill`).
        max_apps: Keep only the first ``max_apps`` applications in natural order of their
            ids (``2`` before ``10``); None keeps all.
        metadata: The rule that assigns priorities and SLA targets
            (:class:`~shadowsim.workloads.metadata.MetadataConfig`).
    """

    path: str = ""
    interval_s: float = 300.0
    gap_policy: GapPolicy = GapPolicy.LINEAR
    max_gap_s: float = 1800.0
    inactive_fill: InactiveFill = InactiveFill.ZERO
    max_apps: int | None = None
    metadata: MetadataConfig = field(default_factory=MetadataConfig)

    def __post_init__(self) -> None:
        if isinstance(self.path, os.PathLike):
            object.__setattr__(self, "path", os.fspath(self.path))
        if not isinstance(self.path, str):
            raise ConfigError("path", f"must be a folder or file path, got {self.path!r}")
        positive_number(self, "interval_s")
        positive_number(self, "max_gap_s", allow_zero=True, allow_inf=True)
        object.__setattr__(
            self, "gap_policy", enum_member(GapPolicy, self.gap_policy, "gap_policy")
        )
        object.__setattr__(
            self, "inactive_fill", enum_member(InactiveFill, self.inactive_fill, "inactive_fill")
        )
        n = self.max_apps
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ConfigError("max_apps", f"must be None or an integer >= 1, got {n!r}")
        if isinstance(self.metadata, Mapping):
            object.__setattr__(self, "metadata", MetadataConfig(**dict(self.metadata)))
        if not isinstance(self.metadata, MetadataConfig):
            raise ConfigError("metadata", f"must be a MetadataConfig, got {self.metadata!r}")

    @property
    def trace_path(self) -> Path:
        """``path`` as an existing :class:`~pathlib.Path`.

        Raises:
            ConfigError: ``path`` is empty or does not exist.
        """
        if not self.path:
            raise ConfigError(
                "path",
                "no trace given; set it to the trace folder or file "
                "(e.g. workload.path=../shared/traces/bitbrains_rnd/2013-8)",
            )
        path = Path(self.path).expanduser()
        if not path.exists():
            raise ConfigError("path", f"{path} does not exist; check the spelling and the folder")
        return path


def enum_member(enum_cls: type[E], value: object, key: str) -> E:
    """``value`` as a member of ``enum_cls``: a member, or its name or value in any case.

    Raises:
        ConfigError: ``value`` names no member; the message suggests close names.
    """
    if isinstance(value, enum_cls):
        return value
    if isinstance(value, str):
        for member in enum_cls:
            if value.lower() in (member.name.lower(), str(member.value).lower()):
                return member
    known = [str(m.value).lower() for m in enum_cls]
    unknown = UnknownNameError(enum_cls.__name__, str(value).lower(), known)
    raise ConfigError(key, str(unknown))


def positive_number(
    config: Any, key: str, *, allow_zero: bool = False, allow_inf: bool = False
) -> float:
    """Check that ``config.<key>`` is a number > 0 (or >= 0), finite unless ``allow_inf``.

    Raises:
        ConfigError: It is not a number or out of range.
    """
    value = getattr(config, key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(key, f"must be a number, got {value!r}")
    number = float(value)
    low_ok = number >= 0 if allow_zero else number > 0
    if math.isnan(number) or not low_ok or (math.isinf(number) and not allow_inf):
        bound = ">= 0" if allow_zero else "> 0"
        finite = "" if allow_inf else "finite "
        raise ConfigError(key, f"must be a {finite}number {bound}, got {value!r}")
    return number
