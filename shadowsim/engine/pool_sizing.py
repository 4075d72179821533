"""Automatic spare-pool sizing from overall load and recent forecast accuracy.

Every ``every_ticks`` ticks the pool target is recomputed:

- ``err`` = priority-weighted mean over applications of their recent relative forecast
  error (mean of CPU and memory), clipped to ``[0, error_cap]``;
- ``load`` = the busiest resource's cluster-wide usage share ``max_r sum_h used / sum_h
  capacity``;
- total spares ``n = clip(round(C * (base_share + load_share * load + error_share * err)),
  min_spares, floor(max_share * C))`` with C the number of components: **worse accuracy,
  more spares**;
- readiness mix, with urgency ``u = clip(err / warm_error, 0, 1)``: ``warm = round(n *
  (min_warm_share + (1 - min_warm_share) * u))`` spares are warm, of which ``round(warm * u)``
  are RUNNING_IDLE and the rest PAUSED; the other ``n - warm`` are HIBERNATED (none STOPPED):
  **worse accuracy, warmer spares**.

A policy that controls the pool (``ControlSource.POLICY``) picks the share ``n / C`` itself;
the same mix rule then splits it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import ClusterSpec, ClusterState
from shadowsim.engine.config_checks import check_int, check_number, set_value
from shadowsim.errors import ConfigError
from shadowsim.readiness import N_READINESS, Readiness
from shadowsim.resources import Resource
from shadowsim.workloads.workload import Priority

F64 = NDArray[np.float64]
DEFAULT_PRIORITY_WEIGHTS: tuple[float, ...] = tuple(level.weight for level in Priority)
_CPU, _MEMORY = int(Resource.CPU), int(Resource.MEMORY)  # plain ints index faster


@dataclass(frozen=True)
class PoolSizingConfig:
    """Parameters of the automatic pool sizing rule (see the module docstring).

    Attributes:
        every_ticks: Ticks between two pool decisions, >= 1.
        base_share: Spares always kept, share of C, in [0, 1].
        load_share: Extra spares per unit of cluster load, share of C, >= 0.
        error_share: Extra spares per unit of relative forecast error, share of C, >= 0.
        error_cap: Largest relative forecast error taken into account, > 0.
        max_share: Most spares, share of C, in [0, 1].
        min_spares: Fewest spares, >= 0.
        warm_error: Relative error at which every spare is warm and most run idle, > 0.
        min_warm_share: Share of spares kept warm even with perfect forecasts, in [0, 1].
    """

    every_ticks: int = 6
    base_share: float = 0.01
    load_share: float = 0.02
    error_share: float = 0.1
    error_cap: float = 1.0
    max_share: float = 0.2
    min_spares: int = 0
    warm_error: float = 0.3
    min_warm_share: float = 0.25

    def __post_init__(self) -> None:
        set_value(self, "every_ticks", check_int("every_ticks", self.every_ticks, low=1))
        set_value(self, "min_spares", check_int("min_spares", self.min_spares, low=0))
        for key in ("base_share", "max_share", "min_warm_share"):
            set_value(self, key, check_number(key, getattr(self, key), low=0.0, high=1.0))
        for key in ("load_share", "error_share"):
            set_value(self, key, check_number(key, getattr(self, key), low=0.0))
        for key in ("error_cap", "warm_error"):
            set_value(self, key, check_number(key, getattr(self, key), low=0.0, low_open=True))
        if self.base_share > self.max_share:
            raise ConfigError(
                "base_share", f"must be <= max_share ({self.max_share}), got {self.base_share}"
            )


class PoolSizer:
    """Computes spare-pool targets per :class:`Readiness` state.

    Args:
        spec: The cluster's static description.
        config: The rule's parameters.
        priority_weights: Weight per class LOW, MEDIUM, HIGH for averaging errors.
    """

    def __init__(
        self,
        spec: ClusterSpec,
        config: PoolSizingConfig | None = None,
        priority_weights: tuple[float, ...] = DEFAULT_PRIORITY_WEIGHTS,
    ) -> None:
        self.config = config or PoolSizingConfig()
        self.n_components = spec.n_components
        weights = np.asarray(priority_weights, dtype=np.float64)[np.asarray(spec.priority, np.intp)]
        total = weights.sum()
        self._weights = weights / total if total > 0 else np.full(spec.n_apps, 1.0 / spec.n_apps)
        self._ticks = 0

    def reset(self) -> None:
        """Restart the decision schedule (the first :meth:`due` call is due)."""
        self._ticks = 0

    def due(self) -> bool:
        """True on the ticks where the pool target is recomputed (counts the call)."""
        due = self._ticks % self.config.every_ticks == 0
        self._ticks += 1
        return due

    def error_level(self, forecast_error: F64) -> float:
        """Priority-weighted mean relative error of CPU and memory, clipped to ``error_cap``."""
        return self._error_level_of(forecast_error[:, _CPU] + forecast_error[:, _MEMORY])

    def _error_level_of(self, per_app: F64) -> float:
        """The error level from ``(A,)`` per-application CPU + memory errors."""
        level = 0.5 * float(self._weights @ per_app)
        if math.isnan(level):
            return self.config.error_cap
        return min(max(level, 0.0), self.config.error_cap)

    def levels(self, state: ClusterState, forecast_error: F64) -> tuple[float, float]:
        """``(error_level(forecast_error), load_level(state))``: what one pool decision reads."""
        return self.error_level(forecast_error), self.load_level(state)

    @staticmethod
    def load_level(state: ClusterState) -> float:
        """Usage share of the busiest resource over the whole cluster."""
        capacity = np.add.reduce(state.host_capacity, axis=0)  # as .sum(axis=0)
        used = np.add.reduce(state.host_used, axis=0)
        return float((used / np.maximum(capacity, 1e-12)).max())

    def auto_share(
        self,
        state: ClusterState,
        forecast_error: F64,
        *,
        error_level: float | None = None,
        load_level: float | None = None,
    ) -> float:
        """The rule's total spare share of C (before rounding and clipping).

        Args:
            state: The latest snapshot (cluster load).
            forecast_error: ``(A, 4)`` recent relative forecast errors.
            error_level: ``error_level(forecast_error)`` when the caller has it already.
            load_level: ``load_level(state)`` when the caller has it already.
        """
        cfg = self.config
        level = self.error_level(forecast_error) if error_level is None else error_level
        load = self.load_level(state) if load_level is None else load_level
        return cfg.base_share + cfg.load_share * load + cfg.error_share * level

    def targets(
        self, share: float, forecast_error: F64, *, error_level: float | None = None
    ) -> tuple[int, ...]:
        """Pool targets per readiness state for a total of ``share * C`` spares.

        Args:
            share: Wanted spares as a share of C (clipped to the config's bounds).
            forecast_error: ``(A, 4)`` recent relative forecast errors (sets the mix).
            error_level: ``error_level(forecast_error)`` when the caller has it already.
        """
        cfg = self.config
        c = self.n_components
        n = round(c * share)
        n = min(max(n, cfg.min_spares), max(cfg.min_spares, math.floor(cfg.max_share * c)))
        level = self.error_level(forecast_error) if error_level is None else error_level
        urgency = min(1.0, level / cfg.warm_error)
        warm = round(n * (cfg.min_warm_share + (1.0 - cfg.min_warm_share) * urgency))
        running = round(warm * urgency)
        out = [0] * N_READINESS
        out[Readiness.RUNNING_IDLE] = running
        out[Readiness.PAUSED] = warm - running
        out[Readiness.HIBERNATED] = n - warm
        return tuple(out)
