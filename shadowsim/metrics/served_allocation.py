"""Which allocation served a snapshot's usage, so metrics pair usage with it.

A :class:`~shadowsim.cluster_state.ClusterState` reports the ``allocation`` in force at the
time of the snapshot (the end of the interval it accounts), but the interval's usage was
served by the allocation in force *during* the interval. The two differ when a scaling change
lands inside an interval and takes effect from the next tick boundary, as in the simulator
(:mod:`shadowsim.sim`): a change decided at a tick boundary lands ``latency_s`` later, at the
first tick boundary at or after that time. Per resource, with a control interval of one tick
of ``tick_s``:

* latency **not a whole number of ticks** (the default 15 s / 30 s / 5 s at 300 s ticks): the
  change lands inside a tick; the snapshot that closes that tick already shows it, but it
  serves only from the next tick. The allocation that served tick ``t`` is the one the
  snapshot of tick ``t - 1`` reports (:attr:`ServedAllocation.reported_early` True);
* latency a **whole number of ticks** (including 0, and a live backend where a change is in
  force when ``apply`` returns): the change is in force from the boundary where it lands and
  the first snapshot that shows it is the one closing the first tick it served. The allocation
  that served tick ``t`` is the one tick ``t``'s own snapshot reports.

:class:`ServedAllocation` keeps the previous snapshot and hands out, per snapshot, the
``(C, 4)`` allocation that served it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import ClusterState
from shadowsim.errors import ConfigError, ShadowSimError
from shadowsim.resources import N_RESOURCES

_WHOLE_TICK_TOLERANCE = 1e-9
"""A latency within this many ticks of a whole number of ticks lands on a tick boundary."""


class ServedAllocation:
    """Pairs each snapshot with the ``(C, 4)`` allocation that served its interval.

    Args:
        reported_early: Per resource (CPU, MEMORY, DISK, NETWORK): True when a snapshot shows
            an allocation change one tick before it serves (take the previous snapshot's
            allocation), False when it shows it from the first tick it served (take the
            snapshot's own).

    Raises:
        ConfigError: ``reported_early`` does not have one entry per resource.
    """

    def __init__(self, reported_early: Sequence[bool]) -> None:
        early = tuple(bool(x) for x in reported_early)
        if len(early) != N_RESOURCES:
            raise ConfigError(
                "metrics.reported_early",
                f"needs one entry per resource ({N_RESOURCES}), got {len(early)}",
            )
        self.reported_early = early
        self._early = np.asarray(early, dtype=np.bool_)
        self._any_early = bool(self._early.any())
        self._previous: NDArray[np.float64] | None = None

    @classmethod
    def as_reported(cls) -> ServedAllocation:
        """Every snapshot's own allocation served it (changes in force when applied)."""
        return cls((False,) * N_RESOURCES)

    @classmethod
    def for_latency(cls, latency_s: Sequence[float], tick_s: float) -> ServedAllocation:
        """The pairing for a backend whose changes land on tick boundaries after a latency.

        Args:
            latency_s: Scaling actuation latency per resource, s (>= 0).
            tick_s: Length of a tick (= the control interval), s (> 0).

        Raises:
            ConfigError: A latency is negative or not finite, or ``tick_s`` is not positive.
        """
        if not (math.isfinite(tick_s) and tick_s > 0.0):
            raise ConfigError("metrics.tick_s", f"must be a positive number of s, got {tick_s}")
        early: list[bool] = []
        for i, latency in enumerate(latency_s):
            if not (math.isfinite(latency) and latency >= 0.0):
                raise ConfigError(
                    f"cluster.scaling.latency_s[{i}]", f"must be >= 0 s, got {latency}"
                )
            ticks = latency / tick_s
            early.append(abs(ticks - round(ticks)) > _WHOLE_TICK_TOLERANCE)
        return cls(early)

    def start(self, initial: ClusterState | None) -> None:
        """Begin an episode; ``initial`` is the snapshot before its first accounted tick.

        Args:
            initial: The last snapshot before the episode (its allocation serves the first
                tick where changes are reported early), or None when there is none (then the
                first snapshot added must not need it).
        """
        self._previous = None if initial is None else np.array(initial.allocation, copy=True)

    def served(self, state: ClusterState) -> NDArray[np.float64]:
        """The ``(C, 4)`` allocation that served ``state``'s interval; remembers ``state``.

        Raises:
            ShadowSimError: Changes are reported early and no earlier snapshot is known
                (call :meth:`start` with the snapshot before the episode).
        """
        current = np.asarray(state.allocation, dtype=np.float64)
        previous = self._previous
        self._previous = np.array(current, copy=True)
        if not self._any_early:
            return current
        if previous is None:
            raise ShadowSimError(
                f"the allocation that served tick {state.tick} is the previous snapshot's "
                f"(resources {self.reported_early} report changes one tick early), but no "
                "earlier snapshot is known: pass the snapshot before the episode to start()"
            )
        if previous.shape != current.shape:
            raise ShadowSimError(
                f"snapshot of tick {state.tick} has allocation shape {current.shape}, the "
                f"previous one {previous.shape}: start() a new episode for another cluster"
            )
        return np.where(self._early, previous, current)
