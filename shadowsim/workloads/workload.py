"""The :class:`Workload`: applications x time x resources at a fixed interval.

A workload is what every other part of shadowsim consumes: the simulator replays it as
demand, shadow forecasters learn from it, the allocation engine decides on it. Real traces
and the synthetic generator all produce one.

Demand units follow :mod:`shadowsim.resources`: CPU in vCPU, memory in MiB, disk and network
in KB/s.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ShadowSimError
from shadowsim.resources import N_RESOURCES, RESOURCES
from shadowsim.workloads.repairs import RepairReport


class Priority(IntEnum):
    """Business priority class of an application; higher is served first under contention."""

    LOW = 0
    """Batch or best-effort work: may be throttled or moved first."""
    MEDIUM = 1
    """Standard interactive services."""
    HIGH = 2
    """Business-critical services: protected from contention and never moved out."""

    @property
    def weight(self) -> float:
        """Default weight of an SLA violation of this class in costs and rewards."""
        return _PRIORITY_WEIGHTS[self]


_PRIORITY_WEIGHTS = {Priority.LOW: 1.0, Priority.MEDIUM: 3.0, Priority.HIGH: 10.0}


class WorkloadError(ShadowSimError, ValueError):
    """A workload's arrays are inconsistent (shapes, NaN, negative demand)."""


@dataclass(frozen=True, eq=False)
class Workload:
    """Demand of ``n_apps`` applications over ``n_ticks`` regular ticks.

    A workload does not change once made: a ``demand`` array that owns its memory becomes
    read-only when the workload takes it (so copies derived from it, such as the
    simulator's shared tick-major demand, cannot go stale); write to a copy instead.

    Attributes:
        demand: ``(n_apps, n_ticks, 4)`` demand per resource, units per :class:`Resource`.
        interval_s: Length of one tick, s.
        app_ids: One id per application.
        priority: ``(n_apps,)`` :class:`Priority` values.
        sla_response_s: ``(n_apps,)`` target response time, s.
        sla_max_error_rate: ``(n_apps,)`` highest tolerated share of failed requests.
        active: ``(n_apps, n_ticks)`` True where the application existed (was provisioned).
        provisioned: ``(n_apps, 4)`` VM size the trace reports, or None when unknown.
        start_time_s: Unix time of tick 0, s (0 when the source has no absolute time).
        source: Human-readable origin, e.g. ``bitbrains:/path/to/dir``.
        repairs: Every repair made while reading and resampling.
    """

    demand: NDArray[np.float64]
    interval_s: float
    app_ids: tuple[str, ...]
    priority: NDArray[np.int8]
    sla_response_s: NDArray[np.float64]
    sla_max_error_rate: NDArray[np.float64]
    active: NDArray[np.bool_] | None = None
    provisioned: NDArray[np.float64] | None = None
    start_time_s: float = 0.0
    source: str = "unknown"
    repairs: RepairReport = field(default_factory=RepairReport)

    def __post_init__(self) -> None:
        d = self.demand
        if d.ndim != 3 or d.shape[2] != N_RESOURCES:
            raise WorkloadError(
                f"demand must have shape (n_apps, n_ticks, {N_RESOURCES}), got {d.shape}"
            )
        n_apps, n_ticks, _ = d.shape
        if n_apps == 0 or n_ticks == 0:
            raise WorkloadError(f"workload from {self.source} is empty: shape {d.shape}")
        if not np.isfinite(d).all():
            app, tick, res = np.argwhere(~np.isfinite(d))[0]
            raise WorkloadError(
                f"demand of app {self.app_ids[app]!r} at tick {tick} for {RESOURCES[res].name} "
                "is not finite; fill gaps before building a Workload"
            )
        if (d < 0).any():
            app, tick, res = np.argwhere(d < 0)[0]
            raise WorkloadError(
                f"demand of app {self.app_ids[app]!r} at tick {tick} for {RESOURCES[res].name} "
                f"is negative ({d[app, tick, res]})"
            )
        if not self.interval_s > 0:
            raise WorkloadError(f"interval_s must be > 0, got {self.interval_s}")
        if len(self.app_ids) != n_apps or len(set(self.app_ids)) != n_apps:
            raise WorkloadError(f"need {n_apps} distinct app_ids, got {len(self.app_ids)}")
        for name in ("priority", "sla_response_s", "sla_max_error_rate"):
            arr = getattr(self, name)
            if arr.shape != (n_apps,):
                raise WorkloadError(f"{name} must have shape ({n_apps},), got {arr.shape}")
        if self.active is not None and self.active.shape != (n_apps, n_ticks):
            raise WorkloadError(
                f"active must have shape {(n_apps, n_ticks)}, got {self.active.shape}"
            )
        if self.provisioned is not None and self.provisioned.shape != (n_apps, N_RESOURCES):
            raise WorkloadError(
                f"provisioned must have shape {(n_apps, N_RESOURCES)}, got {self.provisioned.shape}"
            )
        if d.base is None:  # taken, not viewed: nobody changes it from now on
            d.setflags(write=False)

    @property
    def n_apps(self) -> int:
        """Number of applications."""
        return int(self.demand.shape[0])

    @property
    def n_ticks(self) -> int:
        """Number of ticks."""
        return int(self.demand.shape[1])

    @property
    def duration_s(self) -> float:
        """Covered time, s."""
        return self.n_ticks * self.interval_s

    def window(self, start: int, stop: int) -> Workload:
        """Ticks ``[start, stop)`` of every application, as a new workload."""
        if not 0 <= start < stop <= self.n_ticks:
            raise WorkloadError(
                f"window [{start}, {stop}) is outside the workload's {self.n_ticks} ticks"
            )
        return replace(
            self,
            demand=self.demand[:, start:stop],
            active=None if self.active is None else self.active[:, start:stop],
            start_time_s=self.start_time_s + start * self.interval_s,
        )

    def select(self, apps: NDArray[np.intp] | list[int]) -> Workload:
        """A workload of the chosen application indices only, in the given order."""
        idx = np.asarray(apps, dtype=np.intp)
        return replace(
            self,
            demand=self.demand[idx],
            app_ids=tuple(self.app_ids[i] for i in idx),
            priority=self.priority[idx],
            sla_response_s=self.sla_response_s[idx],
            sla_max_error_rate=self.sla_max_error_rate[idx],
            active=None if self.active is None else self.active[idx],
            provisioned=None if self.provisioned is None else self.provisioned[idx],
        )

    def data_key(self) -> str:
        """A short name of this demand data, e.g. ``synthetic-3f9a1c2b7d``.

        The source's kind (its text before the first ``:``) and a 40-bit hash of the demand
        (bit for bit), the application ids, the interval, the start time and the activity.
        Two workloads share the key only when forecasters trained on them see the same data:
        what makes registered shadow models of different data sets distinct (see
        ``experiments.simulate``). Letters, digits and ``-`` only.
        """
        digest = hashlib.blake2b(digest_size=5)
        clock = (float(self.interval_s), float(self.start_time_s))
        digest.update(repr((self.app_ids, clock, self.demand.shape)).encode())
        digest.update(np.ascontiguousarray(self.demand, dtype=np.float64).data)
        if self.active is not None:
            digest.update(np.packbits(self.active).data)
        kind = re.sub(r"[^a-z0-9]+", "-", self.source.split(":", 1)[0].lower()).strip("-")
        return f"{kind or 'workload'}-{digest.hexdigest()}"

    def ticks_for(self, duration_s: float) -> int:
        """Number of whole ticks in ``duration_s`` seconds (at least 1)."""
        return max(1, round(duration_s / self.interval_s))
