"""The pool sizing rule's two inputs in one compiled call: :class:`FusedPoolSizer`.

A pool decision (one every ``every_ticks`` ticks) reads the forecast error level and the
cluster load. The reference computes them with some ten small numpy calls, whose code is
out of the caches by the time the next decision comes: about 40 us per decision inside an
environment step, for well under 10 us of work. :class:`FusedPoolSizer` fills the
per-application error sums and computes the load in one numba call, then takes the same
``float64`` dot of the priority weights with those sums as the reference: the same levels,
bit for bit, so the same pool targets.

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import ClusterState
from shadowsim.engine.pool_sizing import _CPU, _MEMORY, PoolSizer
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.jit import njit

F64 = NDArray[np.float64]


@njit
def _inputs(  # pragma: no cover - compiled
    error: F64, used: F64, capacity: F64, per_app: F64
) -> float:
    """``per_app = error[:, CPU] + error[:, MEMORY]``; returns the load level.

    The load is as :meth:`PoolSizer.load_level`: per resource the hosts' usage and
    capacity summed host by host (numpy's order for a reduction over the first axis), the
    ratio with the capacity floored at 1e-12, and the largest ratio (NaN if any is NaN).
    """
    for a in range(per_app.shape[0]):
        per_app[a] = error[a, _CPU] + error[a, _MEMORY]
    top = -np.inf
    for r in range(capacity.shape[1]):
        total_used = used[0, r]
        total_capacity = capacity[0, r]
        for h in range(1, capacity.shape[0]):
            total_used += used[h, r]
            total_capacity += capacity[h, r]
        # np.maximum(capacity, 1e-12): NaN stays NaN
        ratio = total_used / (1e-12 if total_capacity < 1e-12 else total_capacity)
        if ratio != ratio:
            return np.nan
        if ratio > top:
            top = ratio
    return top


class FusedPoolSizer(PoolSizer):
    """:class:`PoolSizer` whose :meth:`levels` is one compiled call (same levels)."""

    _per_app: F64 | None = None  # the per-application error sums, made on first use

    def levels(self, state: ClusterState, forecast_error: F64) -> tuple[float, float]:
        """``(error_level(forecast_error), load_level(state))``, as the reference."""
        used, capacity = state.host_used, state.host_capacity
        per_app = self._per_app
        if per_app is None:
            per_app = self._per_app = np.empty(self._weights.shape[0])
        if (
            forecast_error.shape != (per_app.shape[0], N_RESOURCES)
            or used.shape != capacity.shape
            or used.ndim != 2
            or capacity.shape[0] == 0
            or not (used.flags.c_contiguous and capacity.flags.c_contiguous)
            or not forecast_error.dtype == used.dtype == capacity.dtype == np.float64
        ):  # the reference's own result or error (a reduction in numpy's order of another layout)
            return super().levels(state, forecast_error)
        load = _inputs(forecast_error, used, capacity, per_app)
        return self._error_level_of(per_app), float(load)
